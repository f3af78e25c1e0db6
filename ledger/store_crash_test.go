package ledger

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The crash test runs the test binary again as a child process that records a meeting; these
// environment variables tell the child what to do.
const (
	crashChildEnv = "LEDGERLINE_STORE_CRASH_CHILD" // the database path; set only in the child
	crashPrefix   = "appended "                    // a child's stdout line: crashPrefix + event JSON
)

// TestSQLiteStoreSurvivesSIGKILL: killing the process with SIGKILL in the middle of a meeting loses
// nothing that any viewer had seen. The child appends a replayed call in a loop and reports each
// event on stdout only after Append returned, that is when a viewer could have received it. The
// parent kills it mid-meeting, reopens the database and finds every reported event, unchanged, in a
// database that passes SQLite's integrity check.
func TestSQLiteStoreSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	const killAfter = 60 // events reported before the kill
	path := filepath.Join(t.TempDir(), "ledgerline.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteStoreCrashChild$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill() //nolint:errcheck // the child may be gone already
			cmd.Wait()         //nolint:errcheck
		}
	})

	var seen []Event
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), crashPrefix)
		if !ok {
			continue // the test framework's own output
		}
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("child wrote %q: %v", line, err)
		}
		seen = append(seen, e)
		if len(seen) == killAfter && !killed {
			// SIGKILL: no deferred Close, no flush, no checkpoint; most likely in the middle of the
			// next append's transaction.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
		// Keep reading: lines written before the kill were seen too.
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	waitErr := cmd.Wait()
	if !killed {
		t.Fatalf("the child ended after %d events before it was killed: %v", len(seen), waitErr)
	}
	t.Logf("child killed after reporting %d events (%v)", len(seen), waitErr)

	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	var check string
	if err := s.reader.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	stored, err := s.Since(ctx, "m", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events stored, %d seen", len(stored), len(seen))
	if len(stored) < len(seen) {
		t.Fatalf("%d events stored, %d were seen", len(stored), len(seen))
	}
	for i, e := range stored {
		if e.Seq != int64(i+1) {
			t.Fatalf("stored event %d has seq %d: the log has a gap", i, e.Seq)
		}
	}
	for _, e := range seen {
		if got := stored[e.Seq-1]; !reflect.DeepEqual(got, e) {
			t.Errorf("seq %d:\n seen   %+v\n stored %+v", e.Seq, e, got)
		}
	}

	// The projections hold what was seen, too: every final segment, and each commitment at least
	// as recent as its last seen upsert.
	segs, err := s.Segments(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	bySegment := map[string]Segment{}
	for _, g := range segs {
		bySegment[g.ID] = g
	}
	cs, err := s.Commitments(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	byCommitment := map[string]CommitmentRecord{}
	for _, c := range cs {
		byCommitment[c.ID] = c
	}
	for _, e := range seen {
		switch e.Type {
		case TypeSegmentFinal:
			if g, ok := bySegment[e.Segment.ID]; !ok || g.Seq != e.Seq || g.SegmentInfo != *e.Segment {
				t.Errorf("segment %s of seq %d: stored %+v", e.Segment.ID, e.Seq, g)
			}
		case TypeCommitmentUpsert:
			if c, ok := byCommitment[e.Commitment.ID]; !ok || c.Seq < e.Seq {
				t.Errorf("commitment %s of seq %d: stored %+v", e.Commitment.ID, e.Seq, c)
			}
		}
	}

	// The meeting goes on where the log stopped.
	next, err := s.Append(ctx, final("m", "after-restart", "where were we?"))
	if err != nil || next.Seq != int64(len(stored))+1 {
		t.Errorf("append after restart: seq %d, %v; want %d", next.Seq, err, len(stored)+1)
	}
}

// TestSQLiteStoreCrashChild is the child process of TestSQLiteStoreSurvivesSIGKILL; it does nothing
// in a normal test run. It appends the replayed call round after round (segment and commitment IDs
// made unique per round) until it is killed, and reports each event once Append has returned it.
func TestSQLiteStoreCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("runs only as the child of TestSQLiteStoreSurvivesSIGKILL")
	}
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	session := loadSession(t)
	ctx := context.Background()
	w := bufio.NewWriter(os.Stdout)
	const maxRounds = 1000 // an end, should the parent die without killing the child
	for round := range maxRounds {
		for _, e := range session {
			e = e.clone()
			switch {
			case e.Segment != nil:
				e.Segment.ID = fmt.Sprintf("r%d-%s", round, e.Segment.ID)
			case e.Commitment != nil:
				e.Commitment.ID = fmt.Sprintf("r%d-%s", round, e.Commitment.ID)
				for i, id := range e.Commitment.SegmentIDs {
					e.Commitment.SegmentIDs[i] = fmt.Sprintf("r%d-%s", round, id)
				}
			}
			got, err := s.Append(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			// Written through to the pipe before the next append: the parent sees exactly what
			// a viewer could have.
			if _, err := fmt.Fprintf(w, "%s%s\n", crashPrefix, b); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
