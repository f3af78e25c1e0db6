package reliability

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	_ "modernc.org/sqlite" // the driver the store uses, for SQLite's own integrity check

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// A meeting recorded by `ledgerline run` processes that are killed (SIGKILL) mid-meeting, round
// after round, each round continuing the meeting in a new process: after every kill the database
// passes SQLite's integrity check and holds every event a viewer had received, unchanged, under
// seqs without a gap; the viewer, resuming from the next process with the last seq it saw, receives
// the rest exactly once and in order. The last run ends by itself. The record then holds every run,
// each killed one closed as stopped by the run after it, on one timeline, and the viewer received
// all of it. A killed process's lease lasts its 30 s; the check gives it up as its expiry would
// (under `make soak`, the first round waits for the expiry itself).
func TestKilledRunsResume(t *testing.T) {
	skipShort(t)
	rounds := size(3, 10)
	_, model := ledgerline(t)
	ctx := background(t, 15*time.Minute)
	db := filepath.Join(t.TempDir(), "ledgerline.db")
	var (
		seen    []ledger.Event // every stored event the viewer received, across the rounds
		meeting string
		peak    uint64
		killed  []string // the pids of the killed processes
	)
	for round := 1; round <= rounds+1; round++ {
		last := round == rounds+1
		args := []string{"run", "--input", sampleCall, "--model", model, "--language", "en", "--listen", "127.0.0.1:0", "--db", db}
		if last {
			args = append(args, "--speed", "max", "--stay") // plays at once, then serves until interrupted
		} else {
			args = append(args, "--speed", "4")
		}
		if meeting != "" {
			args = append(args, "--meeting", meeting)
		}
		p := startServing(t, args, soak && round == 2, killed)
		base, id, token := splitLink(t, p.await(`^overlay: (\S+)$`, time.Minute))
		meeting = id
		since := len(seen)
		c, resp, err := websocket.DefaultDialer.Dial(wsURL(base, "/m/"+id+"/ws?t="+url.QueryEscape(server.ScopedToken(token, server.ScopeWatch))+
			fmt.Sprintf("&since=%d", since)), nil)
		if err != nil {
			t.Fatalf("round %d: resume with since=%d: %v", round, since, err)
		}
		resp.Body.Close()

		// Follow the run: a killed round until its first words, the last one until it stops (after
		// its start, which comes after the stop it records for the run killed before it).
		began := false
		for {
			e, err := readEvent(c, time.Minute)
			if err != nil {
				t.Fatalf("round %d: the viewer, resumed at %d, after %d events: %v", round, since, len(seen)-since, err)
			}
			if !e.Type.Stored() {
				continue
			}
			if e.Seq != int64(len(seen)+1) {
				t.Fatalf("round %d: the viewer, resumed at %d, received seq %d after %d: a gap or a duplicate", round, since, e.Seq, len(seen))
			}
			seen = append(seen, e)
			if !last && e.Type == ledger.TypeSegmentFinal && runOf(e.Segment.ID) == round {
				break
			}
			if e.Type == ledger.TypeMeetingState && e.State == ledger.MeetingRecording && e.Reason == ledger.ReasonStarted {
				began = true
			}
			if last && began && e.Type == ledger.TypeMeetingState && e.State == ledger.MeetingStopped {
				break
			}
		}
		peak = max(peak, peakRSS(p.pid()))
		if last {
			if code := p.interrupt(time.Minute); code != 0 {
				t.Fatalf("the last run exited %d:\n%s", code, p.output())
			}
		} else {
			killed = append(killed, p.pid())
			p.kill()
		}
		// What was sent before the process died was received too.
		for {
			e, err := readEvent(c, 10*time.Second)
			if err != nil {
				break
			}
			if !e.Type.Stored() {
				continue
			}
			if e.Seq != int64(len(seen)+1) {
				t.Fatalf("round %d: the viewer received seq %d after %d: a gap or a duplicate", round, e.Seq, len(seen))
			}
			seen = append(seen, e)
		}
		c.Close()
		checkStore(ctx, t, fmt.Sprintf("after round %d", round), db, meeting, seen)
		if !last && !(soak && round == 1) {
			expireLease(ctx, t, db, meeting)
		}
	}

	stored := storedEvents(ctx, t, db, meeting)
	if len(seen) != len(stored) {
		t.Errorf("the viewer received %d events over the rounds, the store holds %d", len(seen), len(stored))
	}
	var states, want []string
	var finals []ledger.SegmentInfo
	for _, e := range stored {
		switch e.Type {
		case ledger.TypeMeetingState:
			states = append(states, string(e.State)+" ("+e.Reason+")")
		case ledger.TypeSegmentFinal:
			finals = append(finals, *e.Segment)
		}
	}
	for range rounds {
		want = append(want, "recording ("+ledger.ReasonStarted+")", "stopped (the previous run ended without stopping)")
	}
	want = append(want, "recording ("+ledger.ReasonStarted+")", "stopped (sources ended)")
	if strings.Join(states, ", ") != strings.Join(want, ", ") {
		t.Errorf("the meeting's states:\n%q\nwant each killed run closed by the next:\n%q", states, want)
	}
	checkTimeline(t, "the record", finals, rounds+1)
	report(t, figures{viewers: 1, events: len(stored), peak: peak,
		note: fmt.Sprintf("%d processes killed, the meeting continued after each; peak memory of one process", rounds)})
}

// startServing starts a `run` process. When waitExpiry is set, the meeting's lease is still held by
// the processes killed just before: the run is started again until that lease has expired, each
// refusal naming the killed process.
func startServing(t *testing.T, args []string, waitExpiry bool, killed []string) *process {
	t.Helper()
	if !waitExpiry {
		return start(t, args...)
	}
	began := time.Now()
	for {
		p := start(t, args...)
		if p.settle(time.Minute) != "" {
			t.Logf("the killed process's lease expired %s after the kill", time.Since(began).Round(time.Second))
			return p
		}
		if msg := p.stderr.String(); !strings.Contains(msg, "already served by") || !strings.Contains(msg, "(pid "+killed[len(killed)-1]+",") {
			t.Fatalf("a run after the kill was refused for another reason than the killed process's lease:\n%s", p.output())
		}
		if time.Since(began) > time.Minute {
			t.Fatalf("the killed process still holds the meeting a minute after the kill; its lease lasts 30 s")
		}
		time.Sleep(2 * time.Second)
	}
}

// runOf is the run of a meeting that gave a segment its ID: "r3-…" for the third; the first's have
// no prefix.
func runOf(id string) int {
	var n int
	if _, err := fmt.Sscanf(id, "r%d-", &n); err == nil {
		return n
	}
	return 1
}

// checkStore checks the database after a process was killed: SQLite's integrity check passes, the
// meeting's seqs run 1, 2, 3… without a gap, and every event the viewer received is stored as it
// was received.
func checkStore(ctx context.Context, t *testing.T, when, db, meeting string, seen []ledger.Event) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var check string
	err = raw.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check)
	raw.Close()
	if err != nil || check != "ok" {
		t.Fatalf("%s: integrity_check = %q, %v", when, check, err)
	}
	stored := storedEvents(ctx, t, db, meeting)
	for i, e := range stored {
		if e.Seq != int64(i+1) {
			t.Fatalf("%s: stored event %d has seq %d: the log has a gap", when, i, e.Seq)
		}
	}
	if len(stored) < len(seen) {
		t.Fatalf("%s: %d events stored, the viewer received %d", when, len(stored), len(seen))
	}
	for i, e := range seen {
		if !sameEvent(e, stored[i]) {
			t.Fatalf("%s: seq %d:\nreceived %+v\nstored   %+v", when, e.Seq, e, stored[i])
		}
	}
}

// expireLease ends the lease a killed process left on a meeting, as its expiry would 30 s after
// the kill: another owner finds it held, and gives it up.
func expireLease(ctx context.Context, t *testing.T, db, meeting string) {
	t.Helper()
	s, err := ledger.OpenSQLite(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := s.Acquire(ctx, meeting, "reliability check", "", time.Millisecond)
	var held *ledger.LeasedError
	switch {
	case errors.As(err, &held):
		l = held.Lease
	case err != nil:
		t.Fatal(err)
	}
	if err := s.Release(ctx, l); err != nil {
		t.Fatal(err)
	}
}
