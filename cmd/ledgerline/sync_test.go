package main

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/teamsync/synctest"
)

const syncToken = "tok-sync-5b2e71"

// recordedDB is a meeting database holding one meeting of n events, recorded without --server.
func recordedDB(t *testing.T, meeting string, n int) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "meetings.db")
	st, err := ledger.OpenSQLite(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.CreateMeeting(ctx, ledger.Meeting{ID: meeting, Title: "Kickoff"}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := st.Append(ctx, ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: meeting,
			Segment: &ledger.SegmentInfo{ID: "s" + string(rune('a'+i)), Channel: "mic", Text: "we will send it", StartMS: int64(i) * 1000}}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// sameAsServer fails unless the server holds the meeting exactly as the database does.
func sameAsServer(t *testing.T, db string, srv *synctest.Server, meeting string) int {
	t.Helper()
	st, err := ledger.OpenSQLite(db, ledger.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want, err := st.Since(context.Background(), meeting, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := srv.Events(meeting)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(got)
	if len(want) == 0 || string(a) != string(b) {
		t.Fatalf("the server holds %d events, the laptop %d, or they differ:\nlaptop %s\nserver %s", len(got), len(want), a, b)
	}
	return len(want)
}

// A meeting recorded earlier is sent with --meeting; a second sync says there is nothing to send.
func TestSyncSendsAMeetingRecordedEarlier(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", syncToken)
	db := recordedDB(t, "m-kickoff", 4)
	t.Setenv(envToken, syncToken)

	code, out, errOut := ledgerline(t, "sync", "--server", srv.URL, "--db", db)
	if code != 0 || !strings.Contains(out, "nothing to send") {
		t.Fatalf("sync of an empty outbox: exit %d, %q, %q", code, out, errOut)
	}
	code, out, errOut = ledgerline(t, "sync", "--server", srv.URL, "--db", db, "--meeting", "m-kickoff")
	if code != 0 || !strings.Contains(out, `meeting m-kickoff "Kickoff": sent, 4 of 4 events acknowledged`) {
		t.Fatalf("sync: exit %d, %q, %q", code, out, errOut)
	}
	sameAsServer(t, db, srv, "m-kickoff")

	code, out, errOut = ledgerline(t, "sync", "--server", srv.URL+"/", "--db", db)
	if code != 0 || !strings.Contains(out, "up to date (4 events)") || !strings.Contains(out, "nothing to send: 1 meeting is up to date") {
		t.Fatalf("sync again: exit %d, %q, %q", code, out, errOut)
	}
	if s := srv.Stats(); s.Batches != 1 {
		t.Errorf("%d batches, want 1", s.Batches)
	}
}

// A token the server refuses: sync says so, and what waits.
func TestSyncWrongToken(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", syncToken)
	db := recordedDB(t, "m1", 3)
	code, out, errOut := ledgerline(t, "sync", "--server", srv.URL, "--token", "wrong-token", "--db", db, "--meeting", "m1")
	if code != 1 || !strings.Contains(errOut, "refused the token") || !strings.Contains(errOut, "3 events of 1 meeting wait") ||
		!strings.Contains(errOut, "--token TOKEN") || strings.Contains(out+errOut, "wrong-token") {
		t.Fatalf("exit %d, %q, %q; want 1 and the refusal, without the token", code, out, errOut)
	}
}

func TestSyncUsage(t *testing.T) {
	db := recordedDB(t, "m1", 1)
	t.Setenv(envToken, "")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sync", "--db", db}, 2, "--server URL is required"},
		{[]string{"sync", "--server", "team.example.com", "--token", "t", "--db", db}, 2, "http://"},
		{[]string{"sync", "--server", "https://u:p@team.example.com", "--token", "t", "--db", db}, 2, "user or password"},
		{[]string{"sync", "--server", "https://team.example.com", "--db", db}, 2, envToken},
		{[]string{"sync", "--server", "https://team.example.com", "--token", "a b", "--db", db}, 2, "--token"},
		{[]string{"sync", "--server", "https://team.example.com", "--token", "t", "--db", filepath.Join(t.TempDir(), "none.db")}, 1, "record a meeting"},
		{[]string{"sync", "--server", "https://team.example.com", "--token", "t", "--db", db, "--meeting", "nope"}, 1, "not found"},
		{[]string{"sync", "extra", "--server", "https://team.example.com"}, 2, "no arguments"},
		{[]string{"run", "--server", "https://team.example.com", "--input", sample}, 2, envToken},
		{[]string{"run", "--token", "t", "--input", sample}, 2, "--server"},
		{[]string{"run", "--server", "ftp://x", "--token", "t", "--input", sample}, 2, "http://"},
		{[]string{"run", "--server", "https://team.example.com", "--token", "t", "--sync-timeout", "-1s", "--input", sample}, 2, "--sync-timeout"},
		{[]string{"run", "--deal", "acme", "--meeting", "m-1", "--input", sample}, 2, "a continued meeting stays in the deal"},
	} {
		code, _, errOut := ledgerline(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

// run --server sends the meeting as it is recorded, filed under its deal (which the server keeps,
// and the laptop need not), and waits at the end until the server holds all of it.
func TestRunSendsTheMeetingToTheServer(t *testing.T) {
	srv := synctest.Start(t, "", syncToken)
	srv.AddDeal("acme-data")
	db := filepath.Join(t.TempDir(), "meetings.db")
	code, out, errOut := runLocked(t, "run", "--input", sample, "--model", testModel(t), "--speed", "max", "--language", "en",
		"--listen", "127.0.0.1:0", "--db", db, "--deal", "acme-data", "--server", srv.URL, "--token", syncToken)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	meeting := overlayMeeting(t, out)
	if !strings.Contains(errOut, "syncing to "+srv.URL) || !regexp.MustCompile(`synced to \S+: all \d+ events of meeting `+meeting).MatchString(errOut) {
		t.Errorf("run did not say where it syncs, or that it synced:\n%s", errOut)
	}
	n := sameAsServer(t, db, srv, meeting)
	if m, err := srv.Meeting(meeting); err != nil || m.DealID != "acme-data" {
		t.Errorf("the server's meeting: %+v, %v; want it under deal acme-data", m, err)
	}
	if strings.Contains(out+errOut, syncToken) {
		t.Error("run printed the token")
	}

	code, out, _ = ledgerline(t, "sync", "--server", srv.URL, "--token", syncToken, "--db", db)
	if code != 0 || !strings.Contains(out, "nothing to send") {
		t.Errorf("sync after run: exit %d, %q", code, out)
	}
	if s := srv.Stats(); s.Resent != 0 || s.Events != n {
		t.Errorf("server stats %+v: want the %d events sent once each", s, n)
	}
}

// With the server down, run records all the same, says at the end what waits and how to send it;
// sync sends it once the server is up.
func TestRunWithTheServerDownLeavesItToSync(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	server := "http://" + addr
	db := filepath.Join(t.TempDir(), "meetings.db")
	t.Setenv(envToken, syncToken)

	start := time.Now()
	code, out, errOut := runLocked(t, "run", "--input", sample, "--model", testModel(t), "--speed", "max", "--language", "en",
		"--listen", "127.0.0.1:0", "--db", db, "--server", server, "--sync-timeout", "500ms")
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	meeting := overlayMeeting(t, out)
	hint := "'ledgerline sync --server " + server + " --db " + db + "' sends them"
	if !regexp.MustCompile(`\d+ events of meeting `+meeting+` wait to be sent to `).MatchString(errOut) || !strings.Contains(errOut, hint) {
		t.Fatalf("run does not say what waits and how to send it (%s):\n%s", hint, errOut)
	}
	if time.Since(start) > 2*time.Minute {
		t.Errorf("run took %s", time.Since(start))
	}

	srv := synctest.Start(t, addr, syncToken)
	code, out, errOut = ledgerline(t, "sync", "--server", server, "--db", db)
	if code != 0 || !strings.Contains(out, "meeting "+meeting+": sent") || !strings.Contains(out, "1 meeting is on "+server) {
		t.Fatalf("sync: exit %d, %q, %q", code, out, errOut)
	}
	sameAsServer(t, db, srv, meeting)
}

// runLocked is ledgerline for commands whose goroutines write too (the upload's warnings).
func runLocked(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr lockedBuffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// overlayMeeting is the meeting ID in run's overlay link.
func overlayMeeting(t *testing.T, out string) string {
	t.Helper()
	m := regexp.MustCompile(`/m/([a-z0-9-]+)\?t=`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no overlay link in %q", out)
	}
	return m[1]
}
