package jobs

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ledgerline/ledgerline/broker"
	"github.com/ledgerline/ledgerline/internal/leaktest"
)

// rig is an embedded broker and the runs of the jobs its queues ran.
type rig struct {
	t      *testing.T
	broker *broker.Broker

	mu  sync.Mutex
	ran []string // every run, in order, by "runner:id"
}

func newRig(t *testing.T, dir string) *rig {
	t.Helper()
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &rig{t: t, broker: b}
}

// queue opens the kind's queue on a connection of its own, which the test closes at its end.
func (r *rig) queue(cfg Config) (*Queue, *nats.Conn) {
	r.t.Helper()
	nc, err := r.broker.Connect()
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		r.t.Fatal(err)
	}
	q, err := Open(context.Background(), js, cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return q, nc
}

// run runs q with handle until the test ends, recording each run as name:id.
func (r *rig) run(q *Queue, name string, handle Handler) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = q.Run(ctx, func(ctx context.Context, id string) error {
			r.mu.Lock()
			r.ran = append(r.ran, name+":"+id)
			r.mu.Unlock()
			return handle(ctx, id)
		})
	}()
	r.t.Cleanup(func() {
		cancel()
		<-done
	})
}

func (r *rig) runs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ran)
}

// done makes a handler that reports each job it finished on a channel.
func done(finished chan<- string) Handler {
	return func(_ context.Context, id string) error {
		finished <- id
		return nil
	}
}

func await(t *testing.T, finished <-chan string, want string) {
	t.Helper()
	select {
	case got := <-finished:
		if got != want {
			t.Fatalf("job %q finished, want %q", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("job %q did not finish within 30 s", want)
	}
}

// A job submitted twice runs once; jobs run in the order submitted.
func TestSubmittedTwiceRunsOnce(t *testing.T) {
	leaktest.Check(t) // first, so that it checks after the cleanups below
	r := newRig(t, "")
	q, _ := r.queue(Config{Kind: "test"})
	ctx := context.Background()
	for _, id := range []string{"a", "b", "a", "b/2"} {
		if err := q.Submit(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	finished := make(chan string, 10)
	r.run(q, "r", done(finished))
	for _, id := range []string{"a", "b", "b/2"} {
		await(t, finished, id)
	}
	// One more: had "a" been queued twice, it would have run before this one.
	if err := q.Submit(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	await(t, finished, "c")
	if got, want := r.runs(), []string{"r:a", "r:b", "r:b/2", "r:c"}; !slices.Equal(got, want) {
		t.Fatalf("runs %q, want %q", got, want)
	}
	if err := q.Submit(ctx, ""); err == nil {
		t.Error("a job without an ID was submitted")
	}
	if _, err := Open(ctx, nil, Config{Kind: "no.dots"}); err == nil {
		t.Error("a kind with a dot was accepted")
	}
}

// A job whose handler fails is tried again until it succeeds.
func TestFailedJobIsTriedAgain(t *testing.T) {
	leaktest.Check(t) // first, so that it checks after the cleanups below
	r := newRig(t, "")
	q, _ := r.queue(Config{Kind: "test", Backoff: []time.Duration{10 * time.Millisecond, 50 * time.Millisecond}})
	finished := make(chan string, 1)
	tries := 0
	r.run(q, "r", func(_ context.Context, id string) error {
		if tries++; tries < 3 {
			return errors.New("the endpoint is down")
		}
		finished <- id
		return nil
	})
	if err := q.Submit(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	await(t, finished, "x")
	if got := r.runs(); len(got) != 3 {
		t.Fatalf("runs %q, want three tries", got)
	}
}

// A runner that dies mid-job (its connection gone, nothing acknowledged or handed back) loses
// nothing: another runner takes the job once its ack wait has passed.
func TestJobOfADeadRunnerGoesToAnother(t *testing.T) {
	leaktest.Check(t) // first, so that it checks after the cleanups below
	r := newRig(t, "")
	cfg := Config{Kind: "test", AckWait: time.Second}
	dying, nc := r.queue(cfg)
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	r.run(dying, "dying", func(ctx context.Context, _ string) error {
		close(started)
		<-release
		return nil
	})
	if err := dying.Submit(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	<-started
	nc.Close() // the process dies: no ack, no progress, no hand-back

	other, _ := r.queue(cfg)
	finished := make(chan string, 1)
	r.run(other, "other", done(finished))
	await(t, finished, "x")
	if got, want := r.runs(), []string{"dying:x", "other:x"}; !slices.Equal(got, want) {
		t.Fatalf("runs %q, want %q", got, want)
	}
}

// A job that takes longer than the ack wait is not handed to another runner while it runs.
func TestSlowJobStaysWithItsRunner(t *testing.T) {
	leaktest.Check(t) // first, so that it checks after the cleanups below
	r := newRig(t, "")
	cfg := Config{Kind: "test", AckWait: time.Second}
	slow, _ := r.queue(cfg)
	finished := make(chan string, 2)
	r.run(slow, "slow", func(ctx context.Context, id string) error {
		if id == "slow" {
			select {
			case <-time.After(3 * cfg.AckWait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		finished <- id
		return nil
	})
	if err := slow.Submit(context.Background(), "slow"); err != nil {
		t.Fatal(err)
	}
	other, _ := r.queue(cfg)
	r.run(other, "other", done(finished))
	await(t, finished, "slow")
	if err := slow.Submit(context.Background(), "next"); err != nil {
		t.Fatal(err)
	}
	await(t, finished, "next")
	n := 0
	for _, run := range r.runs() {
		if run == "slow:slow" || run == "other:slow" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the slow job ran %d times (%q), want once", n, r.runs())
	}
}

// Jobs are kept on file: one submitted before the broker restarts runs after it.
func TestJobsOutliveTheBroker(t *testing.T) {
	leaktest.Check(t) // first, so that it checks after the cleanups below
	dir := t.TempDir()
	first := newRig(t, dir)
	q, nc := first.queue(Config{Kind: "test"})
	if err := q.Submit(context.Background(), "kept"); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	if err := first.broker.Close(); err != nil {
		t.Fatal(err)
	}

	again := newRig(t, dir)
	q, _ = again.queue(Config{Kind: "test"})
	finished := make(chan string, 1)
	again.run(q, "r", done(finished))
	await(t, finished, "kept")
}
