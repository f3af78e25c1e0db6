package reliability

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// One process serves a meeting at a time, with real processes on one database: while a `ledgerline
// run` serves a meeting, others started for it at once are each refused, told who serves it, where,
// and what to do, and write nothing to its record, which its viewer receives whole and alone. Once
// it has stopped, several started at once race for the meeting: exactly one serves it, as its next
// run, and the others are refused naming that one.
func TestOneProcessPerMeeting(t *testing.T) {
	skipShort(t)
	contenders := size(3, 8)
	_, model := ledgerline(t)
	ctx := background(t, 5*time.Minute)
	db := filepath.Join(t.TempDir(), "ledgerline.db")
	run := func(more ...string) *process {
		return start(t, append([]string{"run", "--bot", "--model", model, "--language", "en", "--listen", "127.0.0.1:0", "--db", db}, more...)...)
	}
	first := run()
	base, meeting, token := splitLink(t, first.await(`^overlay: (\S+)$`, time.Minute))
	c, resp, err := websocket.DefaultDialer.Dial(wsURL(base, "/m/"+meeting+"/ws?t="+url.QueryEscape(server.ScopedToken(token, server.ScopeWatch))), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer c.Close()
	viewed := make(chan []ledger.Event, 1)
	go func() {
		var got []ledger.Event
		defer func() { viewed <- got }()
		for {
			e, err := readEvent(c, 3*time.Minute)
			if err != nil {
				return // the server closed the socket as the run ended
			}
			if e.Type.Stored() {
				got = append(got, e)
			}
		}
	}()
	waitFor(t, "the first run to record its start", time.Minute, func() bool {
		return len(storedEvents(ctx, t, db, meeting)) > 0
	})
	before := storedEvents(ctx, t, db, meeting)

	// Others for the meeting, all at once, while it is served.
	var others []*process
	for range contenders {
		others = append(others, run("--meeting", meeting))
	}
	for i, p := range others {
		code := p.exited(2 * time.Minute)
		checkRefused(t, fmt.Sprintf("process %d of %d started while the meeting was served", i+1, contenders), p, code, base)
	}
	after := storedEvents(ctx, t, db, meeting)
	if len(after) != len(before) {
		t.Errorf("the refused processes changed the record: %d events before, %d after", len(before), len(after))
	}
	if code := first.interrupt(time.Minute); code != 0 {
		t.Fatalf("the first run exited %d on Ctrl-C:\n%s", code, first.output())
	}
	stored := storedEvents(ctx, t, db, meeting)
	seen := <-viewed
	if len(seen) != len(stored) {
		t.Errorf("the viewer received %d events, the store holds %d", len(seen), len(stored))
	}
	for i := range min(len(seen), len(stored)) {
		if !sameEvent(seen[i], stored[i]) {
			t.Fatalf("event %d: the viewer received %+v, the store holds %+v", i+1, seen[i], stored[i])
		}
	}

	// The meeting free, several race for it: one serves it, the others are refused naming it.
	var racers []*process
	for range contenders {
		racers = append(racers, run("--meeting", meeting))
	}
	var winner *process
	winnerBase := ""
	for _, p := range racers {
		if link := p.settle(2 * time.Minute); link != "" {
			if winner != nil {
				t.Fatalf("two processes serve the meeting at once:\n%s\n%s", winner.output(), p.output())
			}
			winner = p
			winnerBase, _, _ = splitLink(t, link)
		}
	}
	if winner == nil {
		for _, p := range racers {
			t.Logf("racer: %s", p.output())
		}
		t.Fatal("no process serves the meeting")
	}
	for i, p := range racers {
		if p != winner {
			checkRefused(t, fmt.Sprintf("racer %d of %d", i+1, contenders), p, p.exited(time.Minute), winnerBase)
		}
	}
	if code := winner.interrupt(time.Minute); code != 0 {
		t.Fatalf("the winner exited %d on Ctrl-C:\n%s", code, winner.output())
	}

	var states []string
	for _, e := range storedEvents(ctx, t, db, meeting) {
		if e.Type == ledger.TypeMeetingState {
			states = append(states, string(e.State)+" ("+e.Reason+")")
		}
	}
	want := []string{"recording (" + ledger.ReasonStarted + ")", "stopped", "recording (" + ledger.ReasonStarted + ")", "stopped"}
	if len(states) != len(want) {
		t.Fatalf("the meeting's states: %q; want two runs, each started and stopped: %q", states, want)
	}
	for i, s := range states {
		if !strings.HasPrefix(s, want[i]) || strings.Contains(s, "without stopping") {
			t.Fatalf("the meeting's states: %q; want two runs, each started and stopped by itself: %q", states, want)
		}
	}
	report(t, figures{events: len(stored), note: fmt.Sprintf("%d processes refused while it was served, %d raced for it after", contenders, contenders)})
}

// settle waits up to limit for a `run` process to serve its meeting or to end, and returns its
// overlay link, "" when it ended without serving.
func (p *process) settle(limit time.Duration) string {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		for line := range strings.Lines(p.stdout.String()) {
			if link, ok := strings.CutPrefix(strings.TrimSpace(line), "overlay: "); ok {
				return link
			}
		}
		select {
		case <-p.done:
			return ""
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%v neither served nor ended in %s:\n%s", p.cmd.Args[1:], limit, p.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkRefused checks that a `run` process was refused its meeting: exit 1, naming where the
// meeting is served and what to do, without serving it.
func checkRefused(t *testing.T, who string, p *process, code int, servedAt string) {
	t.Helper()
	msg := p.stderr.String()
	if code != 1 || !strings.Contains(msg, "already served by") || !strings.Contains(msg, servedAt) || !strings.Contains(msg, "stop it there") {
		t.Errorf("%s: exit %d; want 1, refused naming %s and what to do:\n%s", who, code, servedAt, p.output())
	}
	if strings.Contains(p.stdout.String(), "overlay:") {
		t.Errorf("%s served the meeting:\n%s", who, p.output())
	}
}

// storedEvents returns a meeting's events as the database at db holds them, read without writing.
func storedEvents(ctx context.Context, t *testing.T, db, meeting string) []ledger.Event {
	t.Helper()
	s, err := ledger.OpenSQLite(db, ledger.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	events, err := s.Since(ctx, meeting, 0)
	if err != nil {
		t.Fatal(err)
	}
	return events
}
