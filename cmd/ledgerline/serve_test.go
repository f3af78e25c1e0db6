package main

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// The first start on an empty store prints an administrator token once; later starts do not,
// and the token works against the API.
func TestServePrintsAdminTokenOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "server.db")
	first := start(t, "serve", "--db", db, "--listen", "127.0.0.1:0")
	token := first.await(`^admin token: (\S+)$`)
	base := first.await(`serving the team server on (http://\S+),`)
	var orgs []any
	api(t, http.MethodGet, base+"/api/v1/orgs", token, http.StatusOK, &orgs)
	first.kill()

	again := start(t, "serve", "--db", db, "--listen", "127.0.0.1:0")
	base = again.await(`serving the team server on (http://\S+),`)
	api(t, http.MethodGet, base+"/api/v1/orgs", token, http.StatusOK, &orgs)
	if out := again.output(); strings.Contains(out, "admin token:") {
		t.Fatalf("a second start printed an administrator token:\n%s", out)
	}
}

func TestServeRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--tls-cert", "cert.pem"},
		{"serve", "--public-url", "ftp://example.com", "--db", filepath.Join(t.TempDir(), "s.db")},
		{"serve", "extra"},
		{"serve", "--allowed-origin", "not an origin", "--db", filepath.Join(t.TempDir(), "s.db")},
	} {
		if code, _, errOut := ledgerline(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args, code, errOut)
		}
	}
}

func TestNoteMicrophone(t *testing.T) {
	for link, want := range map[string]bool{
		"http://192.168.1.20:8080/m/x/join?t=y": true,
		"http://meet.example.com/m/x/join":      true,
		"https://meet.example.com/m/x/join":     false,
		"http://127.0.0.1:8080/m/x/join":        false,
		"http://localhost:8080/m/x/join":        false,
		"http://[::1]:8080/m/x/join":            false,
	} {
		var b bytes.Buffer
		noteMicrophone(&b, link)
		if got := b.Len() > 0; got != want {
			t.Errorf("noteMicrophone(%s) noted %v, want %v: %q", link, got, want, b.String())
		}
	}
}

// A meeting the server records itself: made with `admin meeting create`, it runs when a
// participant publishes to its WHIP link, records what they say, and stops once they have left.
func TestServeRecordsItsOwnMeetings(t *testing.T) {
	db := filepath.Join(t.TempDir(), "server.db")
	serve := start(t, "serve", "--db", db, "--listen", "127.0.0.1:0", "--model", testModel(t), "--idle-stop", "3s")
	token := serve.await(`^admin token: (\S+)$`)
	base := serve.await(`serving the team server on (http://\S+),`)
	org := admin(t, base, token, "org", "create", "Acme")
	member := admin(t, base, token, "token", "create", "--org", org, "--name", "bot")

	out := admin(t, base, member, "meeting", "create", "--title", "Kick-off")
	lines := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			lines[k] = v
		}
	}
	id, whip, join := lines["id"], lines["whip"], lines["join"]
	if id == "" || whip != base+"/whip/"+id || !strings.HasPrefix(join, base+"/m/"+id+"/join?t=") {
		t.Fatalf("meeting create printed:\n%s", out)
	}
	guest := join[strings.Index(join, "?t=")+3:]

	if code, stdout, stderr := ledgerline(t, "publish", sample, "--url", whip, "--token", guest, "--name", "Dana", "--org", "vendor", "--speed", "4"); code != 0 {
		t.Fatalf("publish: exit %d: %s%s", code, stdout, stderr)
	}
	var m struct {
		State   string `json:"state"`
		LastSeq int64  `json:"last_seq"`
	}
	waitFor(t, "the meeting to stop once its participant left", func() bool {
		api(t, http.MethodGet, base+"/api/v1/meetings/"+id, member, http.StatusOK, &m)
		return m.State == "stopped"
	})
	checkRecordedParticipant(t, base, member, id, "Dana")
}

// checkRecordedParticipant checks that a meeting the server recorded itself holds a few events,
// the participant named among them.
func checkRecordedParticipant(t *testing.T, base, token, id, name string) {
	t.Helper()
	var events []struct {
		Type    string `json:"type"`
		Speaker *struct {
			Name string `json:"name"`
		} `json:"speaker"`
	}
	api(t, http.MethodGet, base+"/api/v1/meetings/"+id+"/events", token, http.StatusOK, &events)
	named := false
	for _, e := range events {
		named = named || (e.Type == "speaker.update" && e.Speaker != nil && e.Speaker.Name == name)
	}
	if !named || len(events) < 3 {
		t.Fatalf("the meeting recorded %d events, without the participant named: %+v", len(events), events)
	}
}
