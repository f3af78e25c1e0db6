package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/ledgerline/ledgerline/ledger"
)

// TestRunInputServesLiveOverlay replays a file through `ledgerline run`,
// watches it as a viewer would, and checks the record kept on disk.
func TestRunInputServesLiveOverlay(t *testing.T) {
	db := filepath.Join(t.TempDir(), "meetings.db")
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		code := run(context.Background(), []string{"run", "--input", sample, "--model", testModel(t), "--speed", "4",
			"--language", "en", "--listen", "127.0.0.1:0", "--db", db}, strings.NewReader(""), pw, &stderr)
		pw.Close()
		done <- code
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "overlay: http://127.0.0.1:") {
		t.Fatalf("first line %q (%v), want the overlay link", line, err)
	}
	go io.Copy(io.Discard, pr)
	link := strings.TrimSpace(strings.TrimPrefix(line, "overlay: "))
	meeting := strings.TrimPrefix(strings.SplitN(link, "?", 2)[0][strings.Index(link, "/m/"):], "/m/")
	conn, _, err := websocket.DefaultDialer.Dial(strings.Replace(strings.Replace(link, "http://", "ws://", 1), "?t=", "/ws?t=", 1), nil)
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
	if code := <-done; code != 0 {
		t.Fatalf("run exited %d: %s", code, stderr.String())
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
