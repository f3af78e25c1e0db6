package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/ledger"
)

// A laptop recording for the team server names its mic's speaker as the server knows its token:
// the partner's member is the partner's organisation, on the partner's side, without --org; an
// --org that says otherwise, a token the server refuses and a deal it does not show the token
// stop run before anything is recorded.
func TestRunNamesTheMicByTheTokensOrganisation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a team server as a process and records a call")
	}
	dir := t.TempDir()
	serve := start(t, "serve", "--db", filepath.Join(dir, "server.db"), "--listen", "127.0.0.1:0")
	token := serve.await(`^admin token: (\S+)$`)
	base := serve.await(`serving the team server on (http://\S+),`)
	admin(t, base, token, "org", "create", "Acme")
	admin(t, base, token, "org", "create", "Partner Co")
	admin(t, base, token, "deal", "create", "--id", "globex", "--name", "Globex rollout", "--account", "Globex",
		"--vendor-org", "Acme", "--partner-org", "Partner Co")
	partnerToken := admin(t, base, token, "token", "create", "--org", "Partner Co", "--name", "pat-laptop")
	db := filepath.Join(dir, "laptop.db")
	args := func(extra ...string) []string {
		return append([]string{"run", "--input", sample, "--channels", "mic", "--me", "Pat", "--model", testModel(t), "--speed", "max",
			"--language", "en", "--listen", "127.0.0.1:0", "--db", db, "--server", base}, extra...)
	}

	for _, tc := range []struct {
		extra []string
		code  int
		want  string
	}{
		{[]string{"--token", partnerToken, "--deal", "globex", "--org", "vendor"}, 2, "your token is Partner Co's, the partner of deal \"globex\""},
		{[]string{"--token", "not-a-token", "--deal", "globex"}, 1, "refused the token"},
		{[]string{"--token", partnerToken, "--deal", "initech"}, 1, "no deal \"initech\" that your organisation may see"},
	} {
		code, out, errOut := runLocked(t, args(tc.extra...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Contains(out, "overlay:") {
			t.Errorf("run %v: exit %d, %q, %q; want %d and %q before any overlay", tc.extra, code, out, errOut, tc.code, tc.want)
		}
	}

	code, out, errOut := runLocked(t, args("--token", partnerToken, "--deal", "globex")...)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	meeting := overlayMeeting(t, out)
	var mic *ledger.SpeakerInfo
	for _, e := range eventsOn(t, base, partnerToken, meeting) {
		if e.Type == ledger.TypeSpeakerUpdate && e.Speaker.ID == "mic" {
			mic = e.Speaker
		}
	}
	if mic == nil || mic.Name != "Pat" || mic.Org != "Partner Co" || mic.Role != ledger.RolePartner {
		t.Errorf("the mic's speaker on the server: %+v, want Pat of Partner Co, the partner", mic)
	}
}
