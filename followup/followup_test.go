package followup

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ledgerline/ledgerline/broker"
	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/jobs"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/webhook"
)

// receiver is a webhook endpoint that keeps what it was sent.
type receiver struct {
	*httptest.Server
	status int           // answered; 204 when 0
	hold   chan struct{} // when set, each request waits for it to close (or its client to give up)

	mu    sync.Mutex
	got   []webhook.Summary
	keys  []string // Idempotency-Key headers
	posts chan struct{}
}

func newReceiver(t *testing.T, status int, hold chan struct{}) *receiver {
	r := &receiver{status: status, hold: hold, posts: make(chan struct{}, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var s webhook.Summary
		if err := json.NewDecoder(req.Body).Decode(&s); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, s)
		r.keys = append(r.keys, req.Header.Get("Idempotency-Key"))
		r.mu.Unlock()
		r.posts <- struct{}{}
		if r.hold != nil {
			select {
			case <-r.hold:
			case <-req.Context().Done():
				return
			}
		}
		w.WriteHeader(max(r.status, http.StatusNoContent))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) summaries() ([]webhook.Summary, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]webhook.Summary(nil), r.got...), append([]string(nil), r.keys...)
}

func (r *receiver) await(t *testing.T) {
	t.Helper()
	select {
	case <-r.posts:
	case <-time.After(30 * time.Second):
		t.Fatal("no summary within 30 s")
	}
}

func openStore(t *testing.T, path string) *ledger.SQLiteStore {
	t.Helper()
	s, err := ledger.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// record appends a short run of a meeting that ends with a stop, and returns the stop.
func record(t *testing.T, s ledger.Store, meeting string) ledger.Event {
	t.Helper()
	ctx := context.Background()
	var last ledger.Event
	for _, e := range []ledger.Event{
		{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording, Reason: ledger.ReasonStarted},
		{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "dana", Channel: "mic", Name: "Dana", Org: "Acme"}},
		{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "s1", Channel: "mic", Speaker: "dana", EndMS: 2000,
			Text: "I will send the architecture by Thursday."}},
		{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c1", What: "send the architecture",
			Owner: "Dana", Status: ledger.StatusOpen, SegmentIDs: []string{"s1"}}},
		{Type: ledger.TypeMeetingState, State: ledger.MeetingStopped, Reason: "user"},
	} {
		e.Meeting = meeting
		var err error
		if last, err = s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	return last
}

func linkOf(m ledger.Meeting) string { return "https://ll.example.com/m/" + m.ID + "/recap" }

// Each stop is followed up once: its summary, with the recap link and the stop's delivery ID,
// sent while the sweeper runs, and not again on later sweeps; a second stop of the meeting is a
// second follow-up.
func TestEachStopIsFollowedUpOnce(t *testing.T) {
	leaktest.Check(t)
	store := openStore(t, filepath.Join(t.TempDir(), "ledgerline.db"))
	hook := newReceiver(t, 0, nil)
	s, err := New(Config{Store: store, Notifier: webhook.Notifier{Endpoints: []webhook.Endpoint{{URL: hook.URL}}},
		RecapURL: linkOf, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, s.Deliver)
	}()
	defer func() { cancel(); <-done }()

	first := record(t, store, "m1")
	hook.await(t)
	waitDone(t, store, ledger.FollowUp{Meeting: "m1", Seq: first.Seq})
	second := record(t, store, "m1") // the meeting runs again
	hook.await(t)
	waitDone(t, store, ledger.FollowUp{Meeting: "m1", Seq: second.Seq})
	cancel()
	<-done

	got, keys := hook.summaries()
	if len(got) != 2 {
		t.Fatalf("%d summaries sent for two stops, want 2", len(got))
	}
	for i, stop := range []ledger.Event{first, second} {
		id := ledger.FollowUp{Meeting: "m1", Seq: stop.Seq}.ID()
		if got[i].Delivery != id || keys[i] != id || got[i].Meeting.ID != "m1" || got[i].RecapURL != linkOf(ledger.Meeting{ID: "m1"}) {
			t.Errorf("summary %d: delivery %q (header %q), meeting %q, link %q; want delivery %q", i, got[i].Delivery, keys[i],
				got[i].Meeting.ID, got[i].RecapURL, id)
		}
	}
	if len(got[0].Commitments) != 1 || got[0].Commitments[0].What != "send the architecture" || len(got[0].Participants) != 1 {
		t.Errorf("summary: %+v; want Dana's commitment and Dana", got[0])
	}
}

// A process stopped while sending a summary leaves its follow-up pending; the next process to
// sweep sends it, with the same delivery ID, and only then is it done.
func TestInterruptedFollowUpIsTakenUpAgain(t *testing.T) {
	leaktest.Check(t)
	path := filepath.Join(t.TempDir(), "ledgerline.db")
	store := openStore(t, path)
	hold := make(chan struct{})
	hook := newReceiver(t, 0, hold)
	cfg := Config{Store: store, Notifier: webhook.Notifier{Endpoints: []webhook.Endpoint{{URL: hook.URL}}}, RecapURL: linkOf}
	dying, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := record(t, store, "m1")
	f := ledger.FollowUp{Meeting: "m1", Seq: stop.Seq}
	ctx, cancel := context.WithCancel(context.Background())
	failed := make(chan error, 1)
	go func() {
		_, err := dying.Sweep(ctx, dying.Deliver)
		failed <- err
	}()
	hook.await(t)
	cancel() // the process stops mid-send
	if err := <-failed; err == nil {
		t.Fatal("a sweep stopped mid-send reported success")
	}
	if done, err := store.FollowUpDone(context.Background(), f); done || err != nil {
		t.Fatalf("follow-up done = %v, %v after an interrupted send, want pending", done, err)
	}

	close(hold)
	cfg.Store = openStore(t, path) // the next process
	next, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := next.Sweep(context.Background(), next.Deliver); n != 1 || err != nil {
		t.Fatalf("Sweep = %d, %v; want the pending follow-up", n, err)
	}
	waitDone(t, cfg.Store, f)
	if n, err := next.Sweep(context.Background(), next.Deliver); n != 0 || err != nil {
		t.Fatalf("Sweep after it was done = %d, %v; want nothing pending", n, err)
	}
	got, keys := hook.summaries()
	if len(got) != 2 || keys[0] != f.ID() || keys[1] != f.ID() {
		t.Fatalf("sent %d times with keys %q; want the interrupted send and one more, both %q", len(got), keys, f.ID())
	}
}

// An endpoint that fails every try is logged, and its follow-up done all the same: it is not
// retried for ever. Without endpoints, follow-ups are recorded done and nothing is sent.
func TestFailingEndpointEndsTheFollowUp(t *testing.T) {
	leaktest.Check(t)
	store := openStore(t, filepath.Join(t.TempDir(), "ledgerline.db"))
	hook := newReceiver(t, http.StatusInternalServerError, nil)
	s, err := New(Config{Store: store, Notifier: webhook.Notifier{Endpoints: []webhook.Endpoint{{URL: hook.URL}},
		MaxAttempts: 2, BaseDelay: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	stop := record(t, store, "m1")
	if _, err := s.Sweep(context.Background(), s.Deliver); err != nil {
		t.Fatal(err)
	}
	waitDone(t, store, ledger.FollowUp{Meeting: "m1", Seq: stop.Seq})
	if got, _ := hook.summaries(); len(got) != 2 {
		t.Fatalf("%d posts, want the Notifier's 2 tries", len(got))
	}

	quiet, err := New(Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	stop = record(t, store, "m2")
	if err := quiet.Deliver(context.Background(), ledger.FollowUp{Meeting: "m2", Seq: stop.Seq}.ID()); err != nil {
		t.Fatal(err)
	}
	waitDone(t, store, ledger.FollowUp{Meeting: "m2", Seq: stop.Seq})
	for _, id := range []string{"nonsense", "m2/1", "nobody/5"} {
		if err := quiet.Deliver(context.Background(), id); err != nil {
			t.Errorf("Deliver(%q) = %v; a job the record does not owe is dropped", id, err)
		}
	}
	if _, err := New(Config{Store: store, Notifier: webhook.Notifier{Endpoints: []webhook.Endpoint{{URL: "ftp://x"}}}}); err == nil {
		t.Error("an ftp:// endpoint was accepted")
	}
}

// Replicas share the follow-ups over a durable queue: each sweeps and each runs jobs, and every
// stop's summary is sent once.
func TestReplicasShareFollowUpsOverTheQueue(t *testing.T) {
	leaktest.Check(t)
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	path := filepath.Join(t.TempDir(), "ledgerline.db")
	hook := newReceiver(t, 0, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	stores := make([]*ledger.SQLiteStore, 2)
	for i := range stores {
		stores[i] = openStore(t, path)
		nc, err := b.Connect()
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		q, err := jobs.Open(ctx, js, jobs.Config{Kind: "followup"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{Store: stores[i], Notifier: webhook.Notifier{Endpoints: []webhook.Endpoint{{URL: hook.URL}}},
			Interval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			s.Run(ctx, q.Submit)
		}()
		go func() {
			defer wg.Done()
			_ = q.Run(ctx, s.Deliver)
		}()
	}
	const meetings = 6
	var owed []ledger.FollowUp
	for i := range meetings {
		stop := record(t, stores[i%2], fmt.Sprintf("m%d", i))
		owed = append(owed, ledger.FollowUp{Meeting: stop.Meeting, Seq: stop.Seq})
	}
	for _, f := range owed {
		waitDone(t, stores[0], f)
	}
	// Both replicas go on sweeping for a while: nothing is sent again.
	time.Sleep(200 * time.Millisecond)
	cancel()
	wg.Wait()
	got, _ := hook.summaries()
	sent := map[string]int{}
	for _, s := range got {
		sent[s.Delivery]++
	}
	for _, f := range owed {
		if sent[f.ID()] != 1 {
			t.Errorf("follow-up %s sent %d times, want once (all: %v)", f.ID(), sent[f.ID()], sent)
		}
	}
	if len(got) != meetings {
		t.Errorf("%d summaries for %d stops", len(got), meetings)
	}
}

func waitDone(t *testing.T, s ledger.FollowUps, f ledger.FollowUp) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		done, err := s.FollowUpDone(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("follow-up %s not done within 30 s", f.ID())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
