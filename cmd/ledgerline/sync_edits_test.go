package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/teamsync"
	"github.com/ledgerline/ledgerline/teamsync/synctest"
)

// A partner renames a speaker on the team server while the laptop records the call with
// --server: the rename comes back to the laptop, whose overlay shows it, and is not sent back.
// (--stay keeps the laptop following the server should the call have played before the rename
// comes back, on a slow machine.)
func TestPartnerRenameReachesTheLaptopOverlay(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a team server as a process and records a call in real time")
	}
	dir := t.TempDir()
	serve := start(t, "serve", "--db", filepath.Join(dir, "server.db"), "--listen", "127.0.0.1:0")
	token := serve.await(`^admin token: (\S+)$`)
	base := serve.await(`serving the team server on (http://\S+),`)
	acme := admin(t, base, token, "org", "create", "Acme")
	admin(t, base, token, "org", "create", "Partner Co")
	admin(t, base, token, "deal", "create", "--id", "globex", "--name", "Globex rollout", "--account", "Globex",
		"--vendor-org", acme, "--partner-org", "Partner Co")
	laptopToken := admin(t, base, token, "token", "create", "--org", "Acme", "--name", "dana-laptop")
	partnerToken := admin(t, base, token, "token", "create", "--org", "Partner Co", "--name", "pat")

	db := filepath.Join(dir, "laptop.db")
	laptop := startAgent(t, "--input", sample, "--model", testModel(t), "--speed", "4", "--stay", "--language", "en",
		"--listen", "127.0.0.1:0", "--db", db, "--deal", "globex", "--server", base, "--token", laptopToken, "--sync-timeout", "5s")
	meeting := laptop.meeting
	ws, _, err := websocket.DefaultDialer.Dial(laptop.socket()+"&since=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	// A speaker the server has heard, as the laptop sent it.
	var speaker string
	waitFor(t, "the server to hold a segment with a speaker", func() bool {
		if lastSeqOn(t, base, partnerToken, meeting) == 0 {
			return false
		}
		for _, e := range eventsOn(t, base, partnerToken, meeting) {
			if e.Type == ledger.TypeSegmentFinal && e.Segment.Speaker != "" {
				speaker = e.Segment.Speaker
				return true
			}
		}
		return false
	})

	// The partner renames the speaker on the server, as its page does.
	const name = "Pat from Partner Co"
	req, err := http.NewRequest(http.MethodPost, base+"/m/"+url.PathEscape(meeting)+"/speakers/"+url.PathEscape(speaker),
		strings.NewReader(`{"name":"`+name+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+partnerToken)
	req.Header.Set("X-Ledgerline", "1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the partner's rename: %s", resp.Status)
	}

	// The laptop's overlay shows it, as it does any change.
	renamed := func(e ledger.Event) bool {
		return e.Type == ledger.TypeSpeakerUpdate && e.Speaker.ID == speaker && e.Speaker.Name == name
	}
	var shown ledger.Event
	for deadline := time.Now().Add(time.Minute); !renamed(shown); {
		_ = ws.SetReadDeadline(deadline)
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("the laptop's overlay did not show the rename: %v\n%s", err, laptop.stderr.String())
		}
		shown = ledger.Event{}
		if err := json.Unmarshal(msg, &shown); err != nil {
			t.Fatal(err)
		}
	}
	if code := laptop.end(); code != 0 {
		t.Fatalf("run exited %d: %s", code, laptop.stderr.String())
	}

	// The laptop knows the deal as the server names it: its name and its organisations.
	if local, err := ledger.OpenSQLite(db); err != nil {
		t.Fatal(err)
	} else {
		d, err := local.Deal(context.Background(), "globex")
		local.Close()
		if err != nil || d.Name != "Globex rollout" || d.Account != "Globex" || d.Vendor != "Acme" || d.Partner != "Partner Co" {
			t.Errorf("the laptop's deal: %+v, %v; want Globex rollout, Acme and Partner Co selling to Globex", d, err)
		}
	}

	// The laptop keeps it once, as the server's, after what it recorded before; the server holds
	// the rename once: it was not sent back.
	local := localEvents(t, db, meeting)
	var back []ledger.Event
	for _, e := range local {
		if e.Origin != "" {
			back = append(back, e)
		}
	}
	if len(back) != 1 || !renamed(back[0]) || back[0].Seq != shown.Seq || !strings.HasPrefix(back[0].Origin, teamsync.ServerOrigin("laptop-")) {
		t.Fatalf("the laptop holds %+v from the server, want the rename once, as its overlay showed it (seq %d)", back, shown.Seq)
	}
	onServer := eventsOn(t, base, partnerToken, meeting)
	renames := 0
	for _, e := range onServer {
		if renamed(e) {
			renames++
		}
	}
	if renames != 1 {
		t.Errorf("the server holds the rename %d times, want once", renames)
	}
	if code, out, errOut := ledgerline(t, "sync", "--server", base, "--token", laptopToken, "--db", db); code != 0 || strings.Contains(out, "brought back") {
		t.Errorf("sync after run: exit %d: %s%s; want nothing more to bring back", code, out, errOut)
	}
	if got := len(eventsOn(t, base, partnerToken, meeting)); got != len(local) {
		t.Errorf("the server holds %d events, the laptop %d: each once on both sides", got, len(local))
	}
}

// sync brings back the changes made on the server to each meeting it sends, once, and says how
// many.
func TestSyncBringsBackChanges(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", syncToken)
	db := recordedDB(t, "m-kickoff", 3)
	t.Setenv(envToken, syncToken)
	if code, out, errOut := ledgerline(t, "sync", "--server", srv.URL, "--db", db, "--meeting", "m-kickoff"); code != 0 || strings.Contains(out, "brought back") {
		t.Fatalf("sync: exit %d, %q, %q", code, out, errOut)
	}
	for _, status := range []string{ledger.StatusOpen, ledger.StatusDone} {
		if _, err := srv.Edit(ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: "m-kickoff", By: "Pat",
			Commitment: &ledger.CommitmentInfo{ID: "c1", What: "send it", Owner: "Dana", Status: status, Confidence: 0.9}}); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := ledgerline(t, "sync", "--server", srv.URL, "--db", db)
	if code != 0 || !strings.Contains(out, `meeting m-kickoff "Kickoff": 2 changes made on the server brought back`) ||
		!strings.Contains(out, "up to date (3 events)") {
		t.Fatalf("sync after edits on the server: exit %d, %q, %q", code, out, errOut)
	}
	if code, out, errOut := ledgerline(t, "sync", "--server", srv.URL, "--db", db); code != 0 || strings.Contains(out, "brought back") {
		t.Fatalf("sync again: exit %d, %q, %q; want nothing brought back", code, out, errOut)
	}
	st, err := ledger.OpenSQLite(db, ledger.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs, err := st.Commitments(context.Background(), "m-kickoff")
	if err != nil || len(cs) != 1 || cs[0].Status != ledger.StatusDone {
		t.Fatalf("the laptop's commitments: %+v, %v; want c1 done, as the server has it", cs, err)
	}
	if s := srv.Stats(); s.Events != 3 {
		t.Errorf("the server was sent %d events, want the laptop's 3 and no change sent back", s.Events)
	}
}
