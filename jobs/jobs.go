// Package jobs runs durable background work from a JetStream work queue kept on file. A job is
// named by an ID that whoever submits it derives from what it is for, so that submitting it again
// while it waits makes no second job; a process that dies while running one leaves it
// unacknowledged, and another process takes it once its ack wait has passed. The queue carries
// work, never the truth: a handler checks in the record whether its job was done already, so
// that a job run again after a crash between doing it and saying so does nothing twice.
//
// Concurrency: a Queue is safe for concurrent use. Submit may be called from any goroutine; Run
// is called once per Queue and runs one job at a time until its context ends, keeping the job
// it runs alive with progress acknowledgements, so that a slow job is not handed to another.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ledgerline/ledgerline/internal/pull"
)

// StreamName is the JetStream stream that holds every kind of job.
const StreamName = "LEDGERLINE_JOBS"

// Defaults of a Config.
const (
	// DefaultAckWait is how long a job runs unacknowledged before another process takes it: how
	// long a crashed runner delays its job. A live runner renews it while the job runs.
	DefaultAckWait = 15 * time.Second
	// DefaultDuplicates is how long a submitted ID is remembered: submitting it again within it
	// makes no second job, even once the first was done.
	DefaultDuplicates = 10 * time.Minute
)

// DefaultBackoff spaces the tries of a job whose handler failed: its last step repeats.
var DefaultBackoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}

// Handler carries out the job named id. A nil error acknowledges it; an error hands it back to
// be tried again after the backoff. A handler that knows its job will never succeed (it names
// nothing that exists) logs so and returns nil.
type Handler func(ctx context.Context, id string) error

// Config sets up a Queue of one kind of job.
type Config struct {
	// Kind names the jobs: letters, digits, - and _ ("followup"). Each kind has its subject and
	// its consumer, shared by every process that runs the kind.
	Kind string
	// AckWait is DefaultAckWait when zero.
	AckWait time.Duration
	// Backoff is DefaultBackoff when empty.
	Backoff []time.Duration
	// Replicas is the stream's replicas on a NATS cluster (3 keeps jobs through a node's loss);
	// 0 keeps what the stream has, or 1 for a new one.
	Replicas int
	// Logger receives failed tries; nil drops them.
	Logger *slog.Logger
}

// Queue is one kind of job on the shared stream.
type Queue struct {
	js      jetstream.JetStream
	cfg     Config
	subject string
	log     *slog.Logger

	mu   sync.Mutex
	cons jetstream.Consumer // made again when the broker lost it
}

var validKind = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Open makes the stream and the kind's consumer if they do not exist yet.
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Queue, error) {
	if !validKind.MatchString(cfg.Kind) {
		return nil, fmt.Errorf("jobs: kind %q: use letters, digits, - and _", cfg.Kind)
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = DefaultAckWait
	}
	if len(cfg.Backoff) == 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	q := &Queue{js: js, cfg: cfg, subject: "ledgerline.jobs." + cfg.Kind, log: cfg.Logger.With("jobs", cfg.Kind)}
	if _, err := q.consumer(ctx, true); err != nil {
		return nil, err
	}
	return q, nil
}

// Submit queues the job named id, unless a job of that ID was submitted within the duplicates
// window. It returns once the broker has stored it.
func (q *Queue) Submit(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("jobs: a job needs an ID")
	}
	_, err := q.js.Publish(ctx, q.subject, []byte(id), jetstream.WithMsgID(q.cfg.Kind+":"+id))
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		// A broker that restarted without its store lost the stream: make it again, then retry.
		if _, cerr := q.consumer(ctx, true); cerr == nil {
			_, err = q.js.Publish(ctx, q.subject, []byte(id), jetstream.WithMsgID(q.cfg.Kind+":"+id))
		}
	}
	if err != nil {
		return fmt.Errorf("jobs: submit %s %q: %w", q.cfg.Kind, id, err)
	}
	return nil
}

// Run takes the kind's jobs one at a time and runs them with handle until ctx ends. A job being
// run when ctx ends is handed back, to be taken again at once. Run returns nil once stopped by
// ctx, or an error if the connection closed under it.
func (q *Queue) Run(ctx context.Context, handle Handler) error {
	if err := pull.Loop(ctx, q.log, q.consumer, func(msg jetstream.Msg) { q.run(ctx, msg, handle) }); err != nil {
		return fmt.Errorf("jobs: %s: %w", q.cfg.Kind, err)
	}
	return nil
}

// run runs one job, renewing its ack wait while it runs.
func (q *Queue) run(ctx context.Context, msg jetstream.Msg, handle Handler) {
	id := string(msg.Data())
	jobCtx, cancel := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(q.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-jobCtx.Done():
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	err := handle(jobCtx, id)
	cancel()
	<-renewed
	switch {
	case err == nil:
		// Acknowledged and confirmed, so that a lost ack does not run the job again unseen.
		ack, cancelAck := context.WithTimeout(context.WithoutCancel(ctx), pull.Wait)
		defer cancelAck()
		if aerr := msg.DoubleAck(ack); aerr != nil {
			q.log.Warn("jobs: done, but its acknowledgement was lost: it may run again", "id", id, "err", aerr)
		}
	case ctx.Err() != nil:
		_ = msg.Nak() // stopping: let another take it now
	default:
		tries := uint64(1)
		if meta, merr := msg.Metadata(); merr == nil {
			tries = meta.NumDelivered
		}
		delay := q.cfg.Backoff[min(int(tries), len(q.cfg.Backoff))-1]
		q.log.Warn("jobs: failed; trying again", "id", id, "try", tries, "in", delay, "err", err)
		_ = msg.NakWithDelay(delay)
	}
}

// consumer returns the kind's consumer, making it (and the stream) first when fresh is set.
func (q *Queue) consumer(ctx context.Context, fresh bool) (jetstream.Consumer, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !fresh && q.cons != nil {
		return q.cons, nil
	}
	if err := q.ensureStream(ctx); err != nil {
		return nil, err
	}
	cons, err := q.js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable:       "jobs-" + q.cfg.Kind,
		Description:   q.cfg.Kind + " jobs",
		FilterSubject: q.subject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.cfg.AckWait,
		MaxDeliver:    -1, // a job is retried until it is done: its handler gives up on hopeless ones
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: consumer for %s: %w", q.cfg.Kind, err)
	}
	q.cons = cons
	return cons, nil
}

// ensureStream makes the stream, or updates it to this build's settings, keeping its replicas
// unless the Config names them.
func (q *Queue) ensureStream(ctx context.Context) error {
	cfg := jetstream.StreamConfig{
		Name:        StreamName,
		Description: "durable background work: one subject per kind, one message per job",
		Subjects:    []string{"ledgerline.jobs.>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  DefaultDuplicates,
		Replicas:    max(q.cfg.Replicas, 1),
	}
	s, err := q.js.Stream(ctx, StreamName)
	switch {
	case err == nil:
		if q.cfg.Replicas == 0 {
			cfg.Replicas = s.CachedInfo().Config.Replicas
		}
		_, err = q.js.UpdateStream(ctx, cfg)
	case errors.Is(err, jetstream.ErrStreamNotFound):
		if _, err = q.js.CreateStream(ctx, cfg); errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil // another process made it meanwhile
		}
	}
	if err != nil {
		return fmt.Errorf("jobs: stream %s: %w", StreamName, err)
	}
	return nil
}
