package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/internal/pull"
)

// Defaults of a Worker.
const (
	// DefaultAckWait is how long the broker waits for a worker's
	// acknowledgement before it hands the job to another. It exceeds the
	// engine's try timeout, so a job redelivered that way has already been
	// queued again by its engine and is dropped as expired, never decoded twice.
	DefaultAckWait = DefaultTimeout + 10*time.Second
	// maxDeliver lets a job that a stopping worker handed back (Nak) go to
	// another worker; expired jobs are dropped however often they come.
	maxDeliver = 3
)

// WorkerConfig tunes a Worker. The zero value is one slot named after the host.
type WorkerConfig struct {
	// Slots is how many jobs the worker decodes at once: the decoder states
	// its engine holds. It pulls a job only when one of them is free.
	Slots int
	// Name tells which worker answered, in replies and logs; the host name by default.
	Name string
	// AckWait is the broker's wait for an acknowledgement; DefaultAckWait by default.
	AckWait time.Duration
	// Decoded, when set, is called after each job answered, on the slot's
	// goroutine: keep it short.
	Decoded func(took time.Duration, err error)
	Logger  *slog.Logger
}

// Worker decodes the jobs queued for one model with a local engine.
type Worker struct {
	js     jetstream.JetStream
	nc     *nats.Conn
	engine asr.Engine
	model  string
	cfg    WorkerConfig
	log    *slog.Logger

	mu   sync.Mutex
	cons jetstream.Consumer // made again when the broker lost it

	decoded, refused, expired, abandoned atomic.Int64
}

// WorkerStats counts a Worker's jobs.
type WorkerStats struct {
	Decoded   int64 // answered with a result or the engine's error
	Refused   int64 // for another model, or unreadable
	Expired   int64 // dropped: their engine had given up on them before they were taken
	Abandoned int64 // handed back, unfinished, as the worker stopped
}

// Stats reports the worker's counts so far.
func (w *Worker) Stats() WorkerStats {
	return WorkerStats{Decoded: w.decoded.Load(), Refused: w.refused.Load(), Expired: w.expired.Load(), Abandoned: w.abandoned.Load()}
}

// NewWorker makes the queue and the model's consumer (shared by every worker
// of the model) if they do not exist yet. engine must have loaded the model
// whose checksum is model.
func NewWorker(ctx context.Context, js jetstream.JetStream, engine asr.Engine, model string, cfg WorkerConfig) (*Worker, error) {
	if err := validModel(model); err != nil {
		return nil, err
	}
	if cfg.Slots == 0 {
		cfg.Slots = 1
	}
	if cfg.Slots < 0 {
		return nil, fmt.Errorf("asr/remote: %d slots: a worker needs at least one", cfg.Slots)
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Worker{js: js, nc: js.Conn(), engine: engine, model: model, cfg: cfg,
		log: cfg.Logger.With("worker", cfg.Name, "model", shortSum(model))}
	if _, err := w.consumer(ctx, true); err != nil {
		return nil, err
	}
	return w, nil
}

// consumer returns the model's consumer, making it (and the queue) first when
// fresh is set: a broker that restarted has lost both, as the queue is kept
// in memory only.
func (w *Worker) consumer(ctx context.Context, fresh bool) (jetstream.Consumer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !fresh && w.cons != nil {
		return w.cons, nil
	}
	if err := ensureStream(ctx, w.js, 0); err != nil {
		return nil, err
	}
	cons, err := w.js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable:       consumerName(w.model),
		Description:   "asr-workers of model " + w.model,
		FilterSubject: subject(w.model),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       w.cfg.AckWait,
		MaxDeliver:    maxDeliver,
	})
	if err != nil {
		return nil, fmt.Errorf("asr/remote: consumer for model %s: %w", shortSum(w.model), err)
	}
	w.cons = cons
	return cons, nil
}

// Serve takes jobs until ctx is done, one slot per goroutine. A job being
// decoded when ctx ends is abandoned and handed back, so another worker takes
// it while its engine still waits. It returns nil once stopped by ctx, or an
// error if the connection closed under it.
func (w *Worker) Serve(ctx context.Context) error {
	errs := make(chan error, w.cfg.Slots)
	var wg sync.WaitGroup
	for range w.cfg.Slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- w.slot(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// Serve decodes the jobs for model with engine on slots slots until ctx is
// done: NewWorker and Worker.Serve in one.
func Serve(ctx context.Context, js jetstream.JetStream, engine asr.Engine, model string, slots int) error {
	w, err := NewWorker(ctx, js, engine, model, WorkerConfig{Slots: slots})
	if err != nil {
		return err
	}
	return w.Serve(ctx)
}

// slot pulls one job at a time, only once it has finished the last: this is
// what spreads the work over the workers by their free capacity.
func (w *Worker) slot(ctx context.Context) error {
	if err := pull.Loop(ctx, w.log, w.consumer, func(msg jetstream.Msg) { w.handle(ctx, msg) }); err != nil {
		return fmt.Errorf("asr/remote: worker %s: %w", w.cfg.Name, err)
	}
	return nil
}

// handle decodes one job and answers it, then acknowledges it so that the
// queue forgets it.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	h := msg.Headers()
	replyTo := h.Get(hdrReply)
	if got := h.Get(hdrModel); got != w.model {
		w.refused.Add(1)
		w.log.Warn("asr/remote: refused a job for another model", "job_model", got)
		w.answer(replyTo, reply{Kind: kindModel, Error: fmt.Sprintf("it decodes with model %s and the job asks for %s: "+
			"start the team's asr-workers with the server's model", w.model, got)})
		_ = msg.TermWithReason("model mismatch")
		return
	}
	meta, err := msg.Metadata()
	budget, berr := strconv.ParseInt(h.Get(hdrBudget), 10, 64)
	var opts wireOptions
	oerr := json.Unmarshal([]byte(h.Get(hdrOptions)), &opts)
	pcm, perr := decodePCM(msg.Data())
	if err = errors.Join(err, berr, oerr, perr); err != nil {
		w.refused.Add(1)
		w.answer(replyTo, reply{Kind: kindJob, Error: "unreadable job: " + err.Error()})
		_ = msg.TermWithReason("unreadable")
		return
	}
	// The stream's timestamp and the budget are the broker's and engine's
	// view of when the engine stops waiting; the clocks must roughly agree.
	deadline := meta.Timestamp.Add(time.Duration(budget) * time.Millisecond)
	if time.Now().After(deadline) {
		w.expired.Add(1)
		_ = msg.Ack()
		return
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	began := time.Now()
	res, err := w.engine.Transcribe(dctx, pcm, opts.options())
	switch {
	case ctx.Err() != nil:
		// Stopping: hand the job back for another worker.
		w.abandoned.Add(1)
		_ = msg.Nak()
		return
	case err != nil && dctx.Err() != nil:
		// The engine gave up on this try and has queued the window again.
		w.expired.Add(1)
		_ = msg.Ack()
		return
	}
	w.decoded.Add(1)
	if err != nil {
		w.answer(replyTo, reply{Kind: errorKind(err), Error: err.Error()})
	} else {
		w.answer(replyTo, reply{Result: &res})
	}
	_ = msg.Ack()
	if w.cfg.Decoded != nil {
		w.cfg.Decoded(time.Since(began), err)
	}
}

// answer sends a reply; a lost one is the engine's timeout to handle.
func (w *Worker) answer(replyTo string, r reply) {
	if replyTo == "" {
		return
	}
	r.Worker = w.cfg.Name
	b, err := json.Marshal(r)
	if err == nil {
		err = w.nc.Publish(replyTo, b)
	}
	if err != nil {
		w.log.Warn("asr/remote: could not send a reply", "err", err)
	}
}
