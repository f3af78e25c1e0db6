package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/ledgerline/ledgerline/ledger"
)

// TestRunInputServesLiveOverlay replays a file through `ledgerline run`,
// watches it as a viewer would, and checks the record kept on disk.
func TestRunInputServesLiveOverlay(t *testing.T) {
	db := filepath.Join(t.TempDir(), "meetings.db")
	agent := startAgent(t, "--input", sample, "--model", testModel(t), "--speed", "4",
		"--language", "en", "--listen", "127.0.0.1:0", "--db", db)
	meeting := agent.meeting
	conn, _, err := websocket.DefaultDialer.Dial(agent.socket(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	var seen []ledger.Event
	deadline := time.Now().Add(2 * time.Minute)
	for {
		conn.SetReadDeadline(deadline)
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("socket: %v after %d events", err, len(seen))
		}
		var e ledger.Event
		if err := json.Unmarshal(msg, &e); err != nil {
			t.Fatal(err)
		}
		if e.Type.Stored() {
			seen = append(seen, e)
		}
		if e.Type == ledger.TypeMeetingState && e.State == ledger.MeetingStopped {
			break
		}
	}
	if code := agent.wait(); code != 0 {
		t.Fatalf("run exited %d: %s", code, agent.stderr.String())
	}
	finals := 0
	for i, e := range seen {
		if e.Seq != int64(i+1) {
			t.Fatalf("viewer saw seq %d at position %d: a gap or a duplicate", e.Seq, i)
		}
		if e.Type == ledger.TypeSegmentFinal {
			finals++
		}
	}
	if finals == 0 {
		t.Fatal("the viewer saw no captions")
	}

	store, err := ledger.OpenSQLite(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	stored, err := store.Since(context.Background(), meeting, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(seen) {
		t.Fatalf("%d events on disk, the viewer saw %d", len(stored), len(seen))
	}
	for i := range seen {
		a, _ := json.Marshal(seen[i])
		b, _ := json.Marshal(stored[i])
		if string(a) != string(b) {
			t.Errorf("event %d differs:\nseen   %s\nstored %s", i+1, a, b)
		}
	}
}

// TestBotTranscribesParticipantsPushedOverWHIP runs the agent with no local
// device and pushes two participants' audio to it over WebRTC.
func TestBotTranscribesParticipantsPushedOverWHIP(t *testing.T) {
	db := filepath.Join(t.TempDir(), "meetings.db")
	agent := startAgent(t, "--bot", "--model", testModel(t), "--language", "en", "--listen", "127.0.0.1:0", "--db", db)
	ctx, whip, query, meeting := context.Background(), agent.whip(), agent.token, agent.meeting

	var wg sync.WaitGroup
	for _, p := range []struct{ name, org, file string }{
		{"Alice Martin", "partner", "../../ingest/testdata/alice.wav"},
		{"Bob Silva", "buyer", "../../ingest/testdata/bob.wav"},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out, errOut strings.Builder
			code := run(ctx, []string{"publish", p.file, "--url", whip, "--token", query, "--name", p.name, "--org", p.org, "--speed", "2"},
				strings.NewReader(""), &out, &errOut)
			if code != 0 {
				t.Errorf("publish %s: exit %d: %s", p.name, code, errOut.String())
			} else if !strings.HasPrefix(out.String(), "published ") || !strings.Contains(out.String(), p.name) {
				t.Errorf("publish %s said %q, want what it published", p.name, out.String())
			}
		}()
	}
	wg.Wait()
	if code := agent.end(); code != 0 { // the bot runs until stopped; stopping flushes what was said
		t.Fatalf("run exited %d: %s", code, agent.stderr.String())
	}
	store, err := ledger.OpenSQLite(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	parts, err := store.Participants(context.Background(), meeting)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]ledger.Role{}
	for _, p := range parts {
		roles[p.Name] = p.Role
	}
	if roles["Alice Martin"] != ledger.RolePartner || roles["Bob Silva"] != ledger.RoleBuyer {
		t.Errorf("participants %+v, want Alice (partner) and Bob (buyer)", parts)
	}
	segs, err := store.Segments(context.Background(), meeting)
	if err != nil {
		t.Fatal(err)
	}
	speakers := map[string]int{}
	for _, s := range segs {
		speakers[s.Speaker]++
		if s.Channel != s.Speaker {
			t.Errorf("segment %+v: a participant's track is attributed exactly to its own channel", s.SegmentInfo)
		}
	}
	if speakers["alice-martin"] == 0 || speakers["bob-silva"] == 0 {
		t.Errorf("segments by speaker %v, want both participants", speakers)
	}
}

// The demo without a speech model replays a transcript and transcribes no one: a participant who
// tries to join is told so, and the demo still stops at once when interrupted.
func TestDemoWithoutModelTurnsParticipantsAway(t *testing.T) {
	db := filepath.Join(t.TempDir(), "meetings.db")
	demo := startServing(t, "demo", "--model", filepath.Join(t.TempDir(), "no-model.bin"), "--speed", "max", "--stay",
		"--listen", "127.0.0.1:0", "--db", db)
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"publish", "../../ingest/testdata/alice.wav", "--url", demo.whip(), "--token", demo.token,
		"--name", "Alice Martin", "--org", "partner"}, strings.NewReader(""), &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "this meeting is not being transcribed") {
		t.Errorf("publish to the demo: exit %d, %q; want a failure saying the meeting is not being transcribed", code, errOut.String())
	}
	stopped := make(chan int, 1)
	go func() { stopped <- demo.end() }()
	select {
	case code := <-stopped:
		if code != 0 {
			t.Errorf("demo exited %d: %s", code, demo.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop when interrupted")
	}
}

// TestRunRefusesAMeetingAnotherRunServes: `run --meeting ID` while another run serves the meeting
// from the same database exits with an error that names that run's link and says what to do; once
// that run has ended, it continues the meeting.
func TestRunRefusesAMeetingAnotherRunServes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "meetings.db")
	args := []string{"--bot", "--model", testModel(t), "--listen", "127.0.0.1:0", "--db", db}
	first := startAgent(t, args...)
	address := first.base[:strings.Index(first.base, "/m/")]

	code, _, errOut := ledgerline(t, append([]string{"run", "--meeting", first.meeting}, args...)...)
	if code != 1 || !strings.Contains(errOut, "already served by") || !strings.Contains(errOut, address) ||
		!strings.Contains(errOut, "stop it there") {
		t.Fatalf("second run exited %d: %s; want 1, naming %s and what to do", code, errOut, address)
	}
	if code := first.end(); code != 0 {
		t.Fatalf("first run exited %d: %s", code, first.stderr.String())
	}
	second := startAgent(t, append([]string{"--meeting", first.meeting}, args...)...)
	if second.meeting != first.meeting {
		t.Errorf("second run serves meeting %s, want %s", second.meeting, first.meeting)
	}
}
