// Package remote decodes speech on other processes: Engine is an asr.Engine
// whose Transcribe queues the window as a job on a NATS JetStream work queue
// and waits for the result, and a Worker takes those jobs and decodes them
// with a local engine (whisper.cpp). A team server thus gains decoding
// capacity by starting workers, on the same machine or others, with no
// balancer of its own: a worker takes a job only when it has a free slot.
//
// A job carries the model's checksum; a worker refuses jobs for another model,
// so a team's workers cannot silently decode with different models. A job
// whose worker dies is queued again by the engine after a timeout, under a
// new ID; a reply to the earlier try is ignored.
//
// Concurrency: an Engine is safe for concurrent use, like every asr.Engine;
// Close ends its subscription and any Transcribe still waiting. A Worker's
// Serve runs one goroutine per slot and returns once they have all ended.
// Errors say "asr/remote: " once.
package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ledgerline/ledgerline/asr"
)

// Defaults of an Engine.
const (
	// DefaultTimeout is how long a try waits for its reply. It must cover a
	// queued job's wait plus its decode: a 15 s window decodes in a few
	// seconds on a worker's CPU with the small model.
	DefaultTimeout = 20 * time.Second
	// DefaultTries bounds how often a window is queued before giving up.
	DefaultTries = 3
)

// headerReserve is what a job's headers may take of the broker's largest
// message; the rest is audio. Options with a prompt of a few hundred words fit.
const headerReserve = 8 << 10

// Engine is an asr.Engine that decodes on workers reached through JetStream.
type Engine struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	model    string
	subject  string
	timeout  time.Duration
	tries    int
	replicas int
	log      *slog.Logger

	inbox string // replies arrive on inbox.<job>.<try>
	sub   *nats.Subscription
	done  chan struct{} // closed by Close

	mu      sync.Mutex
	pending map[string]chan reply // by reply subject; a try waiting
	closed  bool

	jobs, retries, late atomic.Int64
}

var _ asr.Engine = (*Engine)(nil)

// Option changes an Engine's defaults.
type Option func(*Engine)

// WithTimeout sets how long one try waits for its reply (DefaultTimeout).
// A context deadline that comes sooner shortens it.
func WithTimeout(d time.Duration) Option { return func(e *Engine) { e.timeout = d } }

// WithTries sets how many times a window is queued before giving up (DefaultTries).
func WithTries(n int) Option { return func(e *Engine) { e.tries = n } }

// WithReplicas sets how many copies of the queue JetStream keeps (1): 3 on a
// cluster of three or more nodes keeps the queue, and decoding, going when
// one of them stops. The engine makes the queue with that many, or changes an
// existing one to it; workers keep what they find.
func WithReplicas(n int) Option { return func(e *Engine) { e.replicas = n } }

// WithLogger sets where retries and late replies are logged.
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// New returns an Engine that queues jobs for the model with the given
// checksum (see Checksum) on nc's JetStream, creating the queue if need be.
func New(ctx context.Context, nc *nats.Conn, model string, opts ...Option) (*Engine, error) {
	if err := validModel(model); err != nil {
		return nil, err
	}
	e := &Engine{nc: nc, model: model, subject: subject(model), timeout: DefaultTimeout, tries: DefaultTries, replicas: 1,
		log: slog.New(slog.DiscardHandler), done: make(chan struct{}), pending: make(map[string]chan reply)}
	for _, o := range opts {
		o(e)
	}
	if e.timeout <= 0 || e.tries < 1 || e.replicas < 1 {
		return nil, fmt.Errorf("asr/remote: timeout %s, tries %d and replicas %d must be positive", e.timeout, e.tries, e.replicas)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("asr/remote: %w", err)
	}
	e.js = js
	if err := ensureStream(ctx, js, e.replicas); err != nil {
		return nil, err
	}
	e.inbox = nats.NewInbox()
	if e.sub, err = nc.Subscribe(e.inbox+".*.*", e.receive); err != nil {
		return nil, fmt.Errorf("asr/remote: reply inbox: %w", err)
	}
	return e, nil
}

// Model is the checksum of the model the engine asks workers for.
func (e *Engine) Model() string { return e.model }

// Stats counts an Engine's work since New.
type Stats struct {
	Jobs    int64 // windows sent (first tries)
	Retries int64 // windows sent again after a try got no reply in time
	Late    int64 // replies ignored: they came after their try had timed out
}

// Stats reports the engine's counts so far.
func (e *Engine) Stats() Stats {
	return Stats{Jobs: e.jobs.Load(), Retries: e.retries.Load(), Late: e.late.Load()}
}

// MaxSamples is the longest window, in samples, that fits one message of the
// broker nc is connected to.
func (e *Engine) MaxSamples() int { return int(e.nc.MaxPayload()-headerReserve) / 2 }

// Close stops listening for replies; a Transcribe still waiting returns
// asr.ErrClosed. The connection is the caller's.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.done)
	e.mu.Unlock()
	if err := e.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("asr/remote: close: %w", err)
	}
	return nil
}

// Transcribe implements asr.Engine: the window is queued for a worker, up to
// the engine's tries, each waiting up to its timeout or ctx's deadline.
// Options.Threads is the worker's to choose, and Options.Progress is not called.
func (e *Engine) Transcribe(ctx context.Context, pcm []float32, opt asr.Options) (asr.Result, error) {
	if len(pcm) == 0 {
		return asr.Result{}, asr.ErrNoAudio
	}
	if limit := e.MaxSamples(); len(pcm) > limit {
		return asr.Result{}, fmt.Errorf("%w: %.1f s of audio is %d bytes, and the broker takes at most %d in a message (%.1f s): "+
			"send shorter windows, or raise the NATS server's max_payload", ErrTooLong,
			float64(len(pcm))/asr.SampleRate, 2*len(pcm), e.nc.MaxPayload(), float64(limit)/asr.SampleRate)
	}
	options, err := json.Marshal(toWire(opt))
	if err != nil {
		return asr.Result{}, fmt.Errorf("asr/remote: options: %w", err)
	}
	body := encodePCM(pcm)
	job, err := newJobID()
	if err != nil {
		return asr.Result{}, err
	}
	e.jobs.Add(1)
	for try := 1; try <= e.tries; try++ {
		if try > 1 {
			e.retries.Add(1)
			e.log.Warn("asr/remote: no reply in time; queueing the window again", "job", job, "try", try, "model", shortSum(e.model))
		}
		res, answered, err := e.try(ctx, job, try, body, options)
		if answered {
			return res, err
		}
	}
	return asr.Result{}, fmt.Errorf("%w in %d tries of %s each: is an asr-worker running for model %s "+
		"('ledgerline asr-worker --nats URL --model …' with the server's model)?", ErrNoReply, e.tries, e.timeout, shortSum(e.model))
}

// try queues the window once and waits for its reply. answered is false when
// the wait ran out and the window may be queued again.
func (e *Engine) try(ctx context.Context, job string, try int, body, options []byte) (_ asr.Result, answered bool, _ error) {
	wait := e.timeout
	if deadline, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(deadline))
	}
	if wait <= 0 {
		return asr.Result{}, true, fmt.Errorf("asr/remote: decode stopped: %w", context.DeadlineExceeded)
	}
	id := job + "." + strconv.Itoa(try)
	replyTo := e.inbox + "." + id
	ch, err := e.await(replyTo)
	if err != nil {
		return asr.Result{}, true, err
	}
	defer e.forget(replyTo)

	msg := nats.NewMsg(e.subject)
	msg.Header.Set(hdrModel, e.model)
	msg.Header.Set(hdrOptions, string(options))
	msg.Header.Set(hdrReply, replyTo)
	msg.Header.Set(hdrBudget, strconv.FormatInt(wait.Milliseconds(), 10))
	msg.Data = body
	_, err = e.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id))
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		// A broker that restarted has lost the queue (it lives in memory): make it again.
		if err = ensureStream(ctx, e.js, e.replicas); err == nil {
			_, err = e.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id))
		}
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return asr.Result{}, true, fmt.Errorf("asr/remote: decode stopped: %w", ctx.Err())
		case errors.Is(err, nats.ErrMaxPayload):
			return asr.Result{}, true, fmt.Errorf("%w: %w", ErrTooLong, err)
		}
		return asr.Result{}, true, fmt.Errorf("asr/remote: queue the window: %w", err)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case r := <-ch:
		if r.Result == nil {
			return asr.Result{}, true, r.err()
		}
		return *r.Result, true, nil
	case <-timer.C:
		if err := ctx.Err(); err != nil {
			return asr.Result{}, true, fmt.Errorf("asr/remote: decode stopped: %w", err)
		}
		return asr.Result{}, false, nil
	case <-ctx.Done():
		return asr.Result{}, true, fmt.Errorf("asr/remote: decode stopped: %w", ctx.Err())
	case <-e.done:
		return asr.Result{}, true, asr.ErrClosed
	}
}

// await registers a try's reply subject.
func (e *Engine) await(replyTo string) (chan reply, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, asr.ErrClosed
	}
	ch := make(chan reply, 1)
	e.pending[replyTo] = ch
	return ch, nil
}

// forget ends a try: a reply that comes after it is late.
func (e *Engine) forget(replyTo string) {
	e.mu.Lock()
	delete(e.pending, replyTo)
	e.mu.Unlock()
}

// receive hands a reply to the try waiting for it. It runs on the
// subscription's goroutine and never blocks: each try has room for one reply.
func (e *Engine) receive(m *nats.Msg) {
	e.mu.Lock()
	ch, ok := e.pending[m.Subject]
	delete(e.pending, m.Subject)
	e.mu.Unlock()
	if !ok {
		e.late.Add(1)
		e.log.Debug("asr/remote: ignored a reply that came after its try timed out", "subject", m.Subject)
		return
	}
	var r reply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		r = reply{Error: "unreadable reply: " + err.Error(), Kind: kindDecode}
	}
	ch <- r
}

func newJobID() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("asr/remote: job id: %w", err)
	}
	return hex.EncodeToString(b), nil
}
