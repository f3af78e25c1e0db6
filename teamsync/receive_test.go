package teamsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/teamsync/synctest"
)

// observed collects what Config.Observe is told, from whichever goroutine.
type observed struct {
	mu     sync.Mutex
	events []ledger.Event
}

func (o *observed) observe(e ledger.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, e)
}

func (o *observed) get() []ledger.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]ledger.Event(nil), o.events...)
}

func newObservedClient(t *testing.T, st Outbox, server string) (*Client, *observed) {
	t.Helper()
	o := &observed{}
	c, err := New(Config{Server: server, Token: token, Store: st, Observe: o.observe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, o
}

// rename is a partner's edit on the server: speaker "me" of meeting renamed.
func rename(t *testing.T, srv *synctest.Server, meeting, name string) ledger.Event {
	t.Helper()
	e, err := srv.Edit(ledger.Event{Type: ledger.TypeSpeakerUpdate, Meeting: meeting, By: "Pat",
		Speaker: &ledger.SpeakerInfo{ID: "me", Channel: "mic", Name: name, Org: "Partner Co"}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// events is the laptop's log of a meeting.
func events(t *testing.T, st *ledger.SQLiteStore, meeting string) []ledger.Event {
	t.Helper()
	got, err := st.Since(context.Background(), meeting, 0)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// sameChange fails unless a laptop's event is the server's, as the server holds it, but for its
// seq (the laptop's own) and its origin (the server's).
func sameChange(t *testing.T, c *Client, local, remote ledger.Event) {
	t.Helper()
	ups, err := c.store.Uploads(context.Background(), c.Server())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ups, func(u ledger.Upload) bool { return u.MeetingID == local.Meeting })
	if i < 0 {
		t.Fatalf("meeting %s is not in the outbox: %+v", local.Meeting, ups)
	}
	if want := ServerOrigin(ups[i].Origin); local.Origin != want {
		t.Errorf("the change came back with origin %q, want %q", local.Origin, want)
	}
	local.Seq, remote.Seq, local.Origin, remote.Origin = 0, 0, "", ""
	a, _ := json.Marshal(local)
	b, _ := json.Marshal(remote)
	if string(a) != string(b) {
		t.Errorf("the change came back as\n%s\nwant\n%s", a, b)
	}
}

// checkServerHolds fails unless the server holds the laptop's own events, each once and in the
// laptop's order, and the changes made there, each once: nothing brought back was sent again.
func checkServerHolds(t *testing.T, st *ledger.SQLiteStore, srv *synctest.Server, meeting string, changes ...ledger.Event) {
	t.Helper()
	var own []ledger.Event
	for _, e := range events(t, st, meeting) {
		if e.Origin == "" {
			own = append(own, e)
		}
	}
	remote, err := srv.Events(meeting)
	if err != nil {
		t.Fatal(err)
	}
	if len(remote) != len(own)+len(changes) {
		t.Fatalf("the server holds %d events, want the laptop's %d and %d changes made there", len(remote), len(own), len(changes))
	}
	made := map[int64]bool{}
	for _, e := range changes {
		made[e.Seq] = true
	}
	i := 0
	for _, e := range remote {
		if made[e.Seq] {
			continue
		}
		l := own[i]
		i++
		e.Seq, l.Seq, e.Origin, l.Origin = 0, 0, "", ""
		a, _ := json.Marshal(l)
		b, _ := json.Marshal(e)
		if string(a) != string(b) {
			t.Fatalf("the laptop's event %d differs on the server:\nlaptop %s\nserver %s", i, a, b)
		}
	}
}

// A change made on the server comes back into the laptop's store once however often it is asked
// for, after what the laptop recorded, and is not sent back; what the laptop records after it is
// sent with a gap in its seqs, which the server takes.
func TestReceiveBringsBackAnEditOnce(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", token)
	st := laptop(t)
	newMeeting(t, st, "m1", "", 4)
	c, seen := newObservedClient(t, st, srv.URL)
	ctx := context.Background()

	if _, err := c.Receive(ctx, "m1"); !errors.Is(err, ErrNotVisible) {
		t.Fatalf("Receive of a meeting the server has not heard of: %v, want ErrNotVisible", err)
	}
	if _, err := c.Send(ctx, "m1", nil); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Receive(ctx, "m1"); err != nil || n != 0 {
		t.Fatalf("Receive with no change on the server: %d, %v", n, err)
	}
	say(t, st, "m1", 2, "") // recorded here meanwhile, not yet sent: 5 and 6
	edit := rename(t, srv, "m1", "Dana Smith")
	for i := range 3 {
		n, err := c.Receive(ctx, "m1")
		if want := map[bool]int{true: 1, false: 0}[i == 0]; err != nil || n != want {
			t.Fatalf("Receive %d: %d, %v; want %d", i+1, n, err, want)
		}
	}
	log := events(t, st, "m1")
	if len(log) != 7 {
		t.Fatalf("the laptop holds %d events, want its 6 and the change", len(log))
	}
	for i, e := range log {
		if e.Seq != int64(i+1) || (e.Origin == "") != (i < 6) {
			t.Fatalf("laptop event %d: seq %d, origin %q; want seq %d, the change last", i, e.Seq, e.Origin, i+1)
		}
	}
	sameChange(t, c, log[6], edit)
	if sp, err := st.Speaker(ctx, "m1", "me"); err != nil || sp.Name != "Dana Smith" {
		t.Errorf("the laptop's speaker: %+v, %v; want the name given on the server", sp, err)
	}
	if got := seen.get(); len(got) != 1 || got[0].Seq != 7 {
		t.Errorf("Observe was told of %+v, want the change once, as stored (seq 7)", got)
	}

	say(t, st, "m1", 1, "") // 8: after the change
	out, err := c.Outbox(ctx)
	if err != nil || len(out) != 1 || out[0].Pending() != 3 || out[0].Acked != 4 || out[0].Last != 8 {
		t.Fatalf("Outbox %+v, %v; want 3 of the laptop's events waiting, 5 to 8 but the change", out, err)
	}
	p, err := c.Send(ctx, "m1", nil)
	if err != nil || p.Acked != 8 || p.Pending() != 0 {
		t.Fatalf("Send of events 5, 6 and 8: %+v, %v", p, err)
	}
	checkServerHolds(t, st, srv, "m1", edit)
	if s := srv.Stats(); s.Events != 7 || s.Resent != 0 {
		t.Errorf("server stats %+v: want the laptop's 7 events sent once each, and not the change", s)
	}
	if n, err := c.Receive(ctx, "m1"); err != nil || n != 0 {
		t.Errorf("Receive after the send: %d, %v; want nothing: the laptop's own events are left out", n, err)
	}
	if len(events(t, st, "m1")) != 8 || len(seen.get()) != 1 {
		t.Errorf("the laptop's log or Observe grew with nothing new on the server")
	}
}

// A live meeting: the Uploader brings back the server's changes as they are made, once each,
// while it sends what the laptop records around them; Drain ends when the last events of the
// log are changes that came back, and the server holds everything once.
func TestUploaderBringsBackChangesLive(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", token)
	st := laptop(t)
	newMeeting(t, st, "m1", "", 3)
	c, seen := newObservedClient(t, st, srv.URL)
	c.receiveEvery = 20 * time.Millisecond
	u, stop := follow(t, c, "m1")
	ctx := within(t, 30*time.Second)
	if _, err := u.Drain(ctx, 20*time.Second, nil); err != nil {
		t.Fatal(err)
	}

	first := rename(t, srv, "m1", "Dana")
	waitSeen(t, ctx, seen, 1)
	say(t, st, "m1", 2, "") // around the changes
	second := rename(t, srv, "m1", "Dana Smith")
	waitSeen(t, ctx, seen, 2)
	// The log ends with a change that came back: nothing of the laptop's waits.
	if last := events(t, st, "m1"); last[len(last)-1].Origin == "" {
		t.Fatalf("the log ends with the laptop's own event %d", last[len(last)-1].Seq)
	}
	p, err := u.Drain(ctx, 20*time.Second, nil)
	if err != nil || p.Pending() != 0 || p.Acked != 6 {
		t.Fatalf("Drain with the log ending in changes from the server: %+v, %v; want the laptop's last, seq 6, acknowledged", p, err)
	}
	if u.Pending() != 0 {
		t.Errorf("Pending %d after Drain", u.Pending())
	}
	// More requests for changes find nothing new.
	polls := srv.Stats().Polls
	for srv.Stats().Polls < polls+3 {
		select {
		case <-ctx.Done():
			t.Fatal("the Uploader stopped asking for the server's changes")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	log := events(t, st, "m1")
	var back []ledger.Event
	for _, e := range log {
		if e.Origin != "" {
			back = append(back, e)
		}
	}
	if len(log) != 7 || len(back) != 2 {
		t.Fatalf("the laptop holds %d events, %d from the server; want its 5 and the 2 changes", len(log), len(back))
	}
	sameChange(t, c, back[0], first)
	sameChange(t, c, back[1], second)
	for i, e := range log {
		if e.Seq != int64(i+1) {
			t.Fatalf("laptop event %d has seq %d", i, e.Seq)
		}
	}
	got := seen.get()
	if len(got) != 2 || got[0].Seq != back[0].Seq || got[1].Seq != back[1].Seq {
		t.Errorf("Observe was told of %+v, want each change once, as stored", got)
	}
	checkServerHolds(t, st, srv, "m1", first, second)
	if s := srv.Stats(); s.Resent != 0 || s.Events != 5 {
		t.Errorf("server stats %+v: want the laptop's 5 events sent once each, and no change sent back", s)
	}
	if sp, err := st.Speaker(context.Background(), "m1", "me"); err != nil || sp.Name != "Dana Smith" {
		t.Errorf("the laptop's speaker: %+v, %v; want the last name given on the server", sp, err)
	}
}

// waitSeen waits until Observe was told of n events.
func waitSeen(t *testing.T, ctx context.Context, o *observed, n int) {
	t.Helper()
	for len(o.get()) < n {
		select {
		case <-ctx.Done():
			t.Fatalf("Observe was told of %d changes, want %d", len(o.get()), n)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Many changes in an answer larger than a request reads come back over several requests, in
// order, each once; the laptop's events recorded meanwhile are still sent.
func TestReceiveInParts(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", token)
	st := laptop(t)
	newMeeting(t, st, "m1", "", 2)
	c, seen := newObservedClient(t, st, srv.URL)
	c.maxChanges = 1000 // a few events an answer
	ctx := context.Background()
	if _, err := c.Send(ctx, "m1", nil); err != nil {
		t.Fatal(err)
	}
	var edits []ledger.Event
	for i := range 9 {
		edits = append(edits, rename(t, srv, "m1", fmt.Sprintf("Name %d", i)))
	}
	total, requests := 0, 0
	for total < len(edits) && requests < 20 {
		n, err := c.Receive(ctx, "m1")
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 || n == len(edits) {
			t.Fatalf("a request brought back %d of %d changes, want some but not all", n, len(edits))
		}
		total, requests = total+n, requests+1
		say(t, st, "m1", 1, "")
	}
	if total != len(edits) {
		t.Fatalf("%d changes came back in %d requests, want %d", total, requests, len(edits))
	}
	var back []ledger.Event
	for _, e := range events(t, st, "m1") {
		if e.Origin != "" {
			back = append(back, e)
		}
	}
	if len(back) != len(edits) || len(seen.get()) != len(edits) {
		t.Fatalf("%d changes stored, %d observed; want %d", len(back), len(seen.get()), len(edits))
	}
	for i := range edits {
		sameChange(t, c, back[i], edits[i])
	}
	if p, err := c.Send(ctx, "m1", nil); err != nil || p.Pending() != 0 || p.Acked != int64(2+requests+len(edits)) {
		t.Fatalf("Send: %+v, %v", p, err)
	}
	checkServerHolds(t, st, srv, "m1", edits...)
}
