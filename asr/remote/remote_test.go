package remote

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/broker"
	"github.com/ledgerline/ledgerline/internal/leaktest"
)

// testModel stands for a model file's checksum.
const testModel = "0123456789abcdef0123456789abcdef01234567"

// fake is a deterministic engine: its text depends on the audio and options
// only, plus the name of the fake, so a test sees which worker decoded.
type fake struct {
	name    string
	delay   time.Duration // per decode
	block   chan struct{} // when set, each decode waits for it to close (or for ctx)
	deaf    bool          // ignores ctx, as a hung decode would
	fail    error         // returned instead of a result
	calls   atomic.Int64
	started chan struct{} // when set, receives once per decode as it starts
}

func (f *fake) Transcribe(ctx context.Context, pcm []float32, opt asr.Options) (asr.Result, error) {
	f.calls.Add(1)
	if f.started != nil {
		f.started <- struct{}{}
	}
	var done <-chan struct{}
	if !f.deaf {
		done = ctx.Done()
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-done:
			return asr.Result{}, ctx.Err()
		}
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-done:
			return asr.Result{}, ctx.Err()
		}
	}
	if opt.Language == "xx" {
		return asr.Result{}, fmt.Errorf("%w %q", asr.ErrLanguage, opt.Language)
	}
	if f.fail != nil {
		return asr.Result{}, f.fail
	}
	var sum float64
	for _, v := range pcm {
		sum += float64(v)
	}
	dur := time.Duration(len(pcm)) * time.Second / asr.SampleRate
	return asr.Result{Language: opt.Language, Segments: []asr.Segment{{
		Start: 0, End: dur, Language: opt.Language, NoSpeechProb: 0.125,
		Text: fmt.Sprintf("%s n=%d sum=%.6f prompt=%q threads=%d languages=%q",
			f.name, len(pcm), sum, opt.InitialPrompt, opt.Threads, opt.Languages),
		Tokens: []asr.Token{{ID: 7, Text: " hi", P: 0.5, Start: 10 * time.Millisecond, End: 20 * time.Millisecond}},
	}}}, nil
}

// rig is an embedded broker with an engine connected to it.
type rig struct {
	t      testing.TB
	b      *broker.Broker
	engine *Engine
}

func newRig(t *testing.T, opts ...Option) *rig {
	t.Helper()
	return newRigModel(t, testModel, opts...)
}

func newRigModel(t testing.TB, model string, opts ...Option) *rig {
	t.Helper()
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	nc, err := b.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	e, err := New(t.Context(), nc, model, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return &rig{t: t, b: b, engine: e}
}

// running is a worker serving on its own connection, which a test may close
// to kill it.
type running struct {
	w    *Worker
	nc   *nats.Conn
	stop context.CancelFunc
	done chan struct{} // closed once Serve returned err
	err  error
}

// wait waits for Serve to return.
func (r *running) wait() error {
	<-r.done
	return r.err
}

func (r *rig) worker(engine asr.Engine, model, name string, slots int) *running {
	r.t.Helper()
	nc, err := r.b.Connect()
	if err != nil {
		r.t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		r.t.Fatal(err)
	}
	w, err := NewWorker(r.t.Context(), js, engine, model, WorkerConfig{Slots: slots, Name: name})
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	run := &running{w: w, nc: nc, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(run.done)
		run.err = w.Serve(ctx)
	}()
	r.t.Cleanup(func() {
		stop()
		_ = run.wait()
		nc.Close()
	})
	return run
}

// speech is a deterministic window whose samples are exact in 16 bits, so
// that what a worker decodes is what the engine was given.
func speech(seconds float64, seed int) []float32 {
	pcm := make([]float32, int(seconds*asr.SampleRate))
	for i := range pcm {
		v := 0.3*math.Sin(float64(i+seed)*2*math.Pi*220/asr.SampleRate) + 0.1*math.Sin(float64(i*seed)*0.01)
		pcm[i] = float32(math.Round(v*math.MaxInt16)) / math.MaxInt16
	}
	return pcm
}

func TestPCMRoundTrip(t *testing.T) {
	pcm := speech(0.5, 3)
	pcm = append(pcm, 1, -1, 2, -2, 0)
	got, err := decodePCM(encodePCM(pcm))
	if err != nil {
		t.Fatal(err)
	}
	for i := range pcm {
		if want := max(-1, min(1, pcm[i])); got[i] != want {
			t.Fatalf("sample %d: %v became %v", i, pcm[i], got[i])
		}
	}
	if _, err := decodePCM([]byte{1, 2, 3}); err == nil {
		t.Fatal("an odd number of bytes was read as samples")
	}
}

func TestRemoteGivesTheLocalResult(t *testing.T) {
	leaktest.Check(t)
	r := newRig(t)
	local := &fake{name: "w"}
	r.worker(local, testModel, "w", 2)
	for i, opt := range []asr.Options{
		{},
		{Language: "de", InitialPrompt: "Acme, Globex", Threads: 3, MaxTokens: 12, Temperature: 0.2, SingleSegment: true},
		{Languages: []string{"en", "de"}, MaxFallbacks: -1},
	} {
		pcm := speech(float64(i)+1.5, i)
		got, err := r.engine.Transcribe(t.Context(), pcm, opt)
		if err != nil {
			t.Fatal(err)
		}
		opt.Threads = 0 // the worker chooses its own threads
		want, _ := local.Transcribe(t.Context(), pcm, opt)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("options %+v: remote gave\n%+v\nlocal gives\n%+v", opt, got, want)
		}
	}
	if s := r.engine.Stats(); s.Jobs != 3 || s.Retries != 0 || s.Late != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDecodeErrorsComeBack(t *testing.T) {
	r := newRig(t)
	r.worker(&fake{name: "w", fail: errors.New("asr: whisper.cpp decode failed (code 7)")}, testModel, "w", 1)
	_, err := r.engine.Transcribe(t.Context(), speech(1, 1), asr.Options{})
	if !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "code 7") || !strings.Contains(err.Error(), "worker w") {
		t.Fatalf("a failed decode came back as %v", err)
	}
	_, err = r.engine.Transcribe(t.Context(), speech(1, 1), asr.Options{Language: "xx"})
	if !errors.Is(err, asr.ErrLanguage) {
		t.Fatalf("an unknown language came back as %v, not asr.ErrLanguage", err)
	}
	if _, err := r.engine.Transcribe(t.Context(), nil, asr.Options{}); !errors.Is(err, asr.ErrNoAudio) {
		t.Fatalf("no audio: %v", err)
	}
}

// Workers take jobs by their free slots, so concurrent windows spread over them.
func TestWorkSpreadsOverWorkers(t *testing.T) {
	leaktest.Check(t)
	r := newRig(t)
	a, b := &fake{name: "a", delay: 300 * time.Millisecond}, &fake{name: "b", delay: 300 * time.Millisecond}
	r.worker(a, testModel, "a", 1)
	r.worker(b, testModel, "b", 1)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pcm := speech(1, i)
			res, err := r.engine.Transcribe(t.Context(), pcm, asr.Options{})
			if err == nil && !strings.Contains(res.Segments[0].Text, fmt.Sprintf("n=%d ", len(pcm))) {
				err = fmt.Errorf("window %d got another's result: %+v", i, res)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if a.calls.Load() == 0 || b.calls.Load() == 0 || a.calls.Load()+b.calls.Load() != 4 {
		t.Fatalf("decodes: a %d, b %d; want both busy, 4 in all", a.calls.Load(), b.calls.Load())
	}
}

// A worker that hangs and is then killed (its connection gone, the job never
// acknowledged) costs one timeout: the window is queued again and another
// worker decodes it.
func TestJobOfKilledWorkerIsRetried(t *testing.T) {
	leaktest.Check(t)
	r := newRig(t, WithTimeout(2*time.Second))
	hung := &fake{name: "hung", block: make(chan struct{}), started: make(chan struct{}, 4)}
	defer close(hung.block)
	dead := r.worker(hung, testModel, "hung", 1)

	res := make(chan error, 1)
	var got asr.Result
	go func() {
		var err error
		got, err = r.engine.Transcribe(t.Context(), speech(1, 5), asr.Options{})
		res <- err
	}()
	<-hung.started
	dead.nc.Close() // as SIGKILL would: no ack, no reply, no consumer
	r.worker(&fake{name: "healthy"}, testModel, "healthy", 1)
	select {
	case err := <-res:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Transcribe did not return after the worker was killed")
	}
	if !strings.HasPrefix(got.Segments[0].Text, "healthy ") {
		t.Fatalf("decoded by %q", got.Segments[0].Text)
	}
	if s := r.engine.Stats(); s.Retries < 1 {
		t.Fatalf("stats %+v: the window was not queued again", s)
	}
}

// A worker that stops cleanly hands its unfinished job back, and another
// worker takes it at once, before the engine's try times out.
func TestStoppedWorkerHandsJobBack(t *testing.T) {
	leaktest.Check(t)
	r := newRig(t, WithTimeout(time.Minute))
	stopping := &fake{name: "stopping", block: make(chan struct{}), started: make(chan struct{}, 4)}
	defer close(stopping.block)
	first := r.worker(stopping, testModel, "stopping", 1)
	res := make(chan error, 1)
	var got asr.Result
	go func() {
		var err error
		got, err = r.engine.Transcribe(t.Context(), speech(1, 6), asr.Options{})
		res <- err
	}()
	<-stopping.started
	r.worker(&fake{name: "other"}, testModel, "other", 1)
	first.stop()
	if err := first.wait(); err != nil {
		t.Fatalf("a worker stopped by its context returned %v", err)
	}
	select {
	case err := <-res:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the job handed back was not decoded by the other worker")
	}
	if !strings.HasPrefix(got.Segments[0].Text, "other ") || r.engine.Stats().Retries != 0 || first.w.Stats().Abandoned != 1 {
		t.Fatalf("decoded by %q, engine %+v, stopped worker %+v", got.Segments[0].Text, r.engine.Stats(), first.w.Stats())
	}
}

// A reply that comes after its try timed out is dropped: the caller already
// has the result of the try that followed, and no later call receives it.
func TestLateReplyIsIgnored(t *testing.T) {
	leaktest.Check(t)
	r := newRig(t, WithTimeout(time.Second))
	slow := &fake{name: "slow", deaf: true, delay: 2500 * time.Millisecond, started: make(chan struct{}, 4)}
	r.worker(slow, testModel, "slow", 1)
	res := make(chan error, 1)
	var got asr.Result
	go func() {
		var err error
		got, err = r.engine.Transcribe(t.Context(), speech(1, 7), asr.Options{})
		res <- err
	}()
	<-slow.started
	r.worker(&fake{name: "quick"}, testModel, "quick", 1)
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Segments[0].Text, "quick ") {
		t.Fatalf("decoded by %q", got.Segments[0].Text)
	}
	for deadline := time.Now().Add(30 * time.Second); r.engine.Stats().Late == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the slow worker's reply never came: %+v", r.engine.Stats())
		}
	}
	pcm := speech(2, 8)
	again, err := r.engine.Transcribe(t.Context(), pcm, asr.Options{})
	if err != nil || !strings.Contains(again.Segments[0].Text, fmt.Sprintf("n=%d ", len(pcm))) {
		t.Fatalf("the next window got %+v, %v", again, err)
	}
}

// Workers with another model than the engine's refuse its jobs rather than
// decode them with the wrong model.
func TestWorkerRefusesAnotherModel(t *testing.T) {
	r := newRig(t)
	other := testModel[:sumPrefix] + "ffffffffffffffffffffffff"
	wrong := &fake{name: "wrong"}
	r.worker(wrong, other, "wrong", 1)
	_, err := r.engine.Transcribe(t.Context(), speech(1, 9), asr.Options{})
	if !errors.Is(err, ErrModel) || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), testModel) {
		t.Fatalf("a job for another model came back as %v", err)
	}
	if wrong.calls.Load() != 0 {
		t.Fatal("the worker decoded a job for another model")
	}
}

func TestCancelStopsWaiting(t *testing.T) {
	leaktest.Check(t)
	r := newRig(t) // and no worker
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	began := time.Now()
	_, err := r.engine.Transcribe(ctx, speech(1, 1), asr.Options{})
	if !errors.Is(err, context.Canceled) || time.Since(began) > 5*time.Second {
		t.Fatalf("after %s: %v", time.Since(began), err)
	}
	// A deadline shortens the try.
	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := r.engine.Transcribe(ctx, speech(1, 1), asr.Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("past its deadline: %v", err)
	}
}

func TestNoWorkerGivesUp(t *testing.T) {
	r := newRig(t, WithTimeout(200*time.Millisecond), WithTries(2))
	_, err := r.engine.Transcribe(t.Context(), speech(1, 1), asr.Options{})
	if !errors.Is(err, ErrNoReply) || !strings.Contains(err.Error(), "asr-worker") {
		t.Fatalf("with no worker: %v", err)
	}
	if s := r.engine.Stats(); s.Jobs != 1 || s.Retries != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestWindowTooLongIsRefused(t *testing.T) {
	r := newRig(t)
	if most := r.engine.MaxSamples(); most < 15*asr.SampleRate {
		t.Fatalf("a 15 s window does not fit: at most %d samples", most)
	}
	_, err := r.engine.Transcribe(t.Context(), make([]float32, 40*asr.SampleRate), asr.Options{})
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "40.0 s") {
		t.Fatalf("a 40 s window: %v", err)
	}
	if s := r.engine.Stats(); s.Jobs != 0 {
		t.Fatalf("a window too long was sent: %+v", s)
	}
}

func TestBadModelChecksumsAreRefused(t *testing.T) {
	for _, m := range []string{"", "abc", "0123456789abcdef.>", "xyz0123456789abc"} {
		if err := validModel(m); err == nil {
			t.Errorf("%q was taken as a checksum", m)
		}
	}
	if err := validModel(testModel); err != nil {
		t.Fatal(err)
	}
}

// The queue lives in the broker's memory: after a restart, the worker makes its
// consumer again and the engine its queue, and decoding goes on.
func TestDecodingOutlivesABrokerRestart(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr, token := strings.TrimPrefix(b.URL(), "nats://"), b.Token()
	connect := func() *nats.Conn {
		nc, err := nats.Connect(b.URL(), nats.Token(token), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	js, err := jetstream.New(connect())
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWorker(t.Context(), js, &fake{name: "w"}, testModel, WorkerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- w.Serve(ctx) }()
	defer func() {
		stop()
		<-served
	}()
	e, err := New(t.Context(), connect(), testModel, WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Transcribe(t.Context(), speech(1, 1), asr.Options{}); err != nil {
		t.Fatal(err)
	}

	b.Close()
	if b, err = broker.Start(broker.Config{Addr: addr, Dir: dir, Token: token}); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := e.Transcribe(t.Context(), speech(1, 2), asr.Options{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no decode in 30 s after the broker restarted: %v", err)
		}
	}
}
