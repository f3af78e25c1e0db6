package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/ledger"
)

// A meeting sent to a team server is linked to its recap there, which outlives this process; one
// kept on this machine only is linked to its own overlay's recap, and an earlier one to nothing.
func TestRecapLinkPointsAtTheTeamServer(t *testing.T) {
	never := func() *agent.Meeting { t.Fatal("the live meeting was asked for"); return nil }
	synced := recording{target: teamTarget{server: "https://ll.example.com/"}}
	if got := synced.recapLink(never)(ledger.Meeting{ID: "m 1"}); got != "https://ll.example.com/m/m%201/recap" {
		t.Errorf("recap link of a synced meeting: %q", got)
	}
	store, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "meetings.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m, err := agent.StartMeeting(t.Context(), agent.MeetingConfig{Store: store, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	live := func() *agent.Meeting { return m }
	local := recording{}
	if got := local.recapLink(live)(ledger.Meeting{ID: m.ID()}); got != m.RecapURL() || !strings.Contains(got, "/recap?t=") {
		t.Errorf("recap link of this meeting: %q, want %q", got, m.RecapURL())
	}
	if got := local.recapLink(live)(ledger.Meeting{ID: "earlier"}); got != "" {
		t.Errorf("recap link of an earlier meeting kept here: %q, want none", got)
	}
}
