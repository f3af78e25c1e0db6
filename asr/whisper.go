package asr

/*
#include <stdint.h>
#include <stdlib.h>
#include <whisper.h>
#include <ggml-backend.h>

extern void ledgerlineWhisperLog(int level, char * text);
extern void ledgerlineWhisperProgress(uintptr_t handle, int progress);

static void ll_log(enum ggml_log_level level, const char * text, void * user_data) {
	ledgerlineWhisperLog((int) level, (char *) text);
}

static void ll_route_log(void) { whisper_log_set(ll_log, NULL); }

// ll_call is what a decode's callbacks read, in C memory: the decode's
// parameters, on the Go stack, point to it. The cgo handle is a small integer,
// not a pointer: the runtime rejects it in a pointer field of Go memory when
// the stack moves.
typedef struct {
	int32_t abort;
	uintptr_t handle;
} ll_call;

static bool ll_abort(void * call) { return __atomic_load_n(&((ll_call *) call)->abort, __ATOMIC_RELAXED) != 0; }

static void ll_progress(struct whisper_context * ctx, struct whisper_state * state, int progress, void * call) {
	ledgerlineWhisperProgress(((ll_call *) call)->handle, progress);
}

static void ll_set_callbacks(struct whisper_full_params * p, ll_call * call) {
	p->abort_callback = ll_abort;
	p->abort_callback_user_data = call;
	p->progress_callback = ll_progress;
	p->progress_callback_user_data = call;
}

// ll_detect_among runs whisper.cpp's language detection on the start of the
// audio and returns the most probable of the n_ids language ids, or a negative
// number when detection failed.
static int ll_detect_among(struct whisper_context * ctx, struct whisper_state * st, const float * samples, int n_samples,
		int threads, const int * ids, int n_ids) {
	if (whisper_pcm_to_mel_with_state(ctx, st, samples, n_samples, threads) != 0) {
		return -1;
	}
	float * probs = calloc(whisper_lang_max_id() + 1, sizeof(float));
	if (probs == NULL) {
		return -1;
	}
	int best = -1;
	if (whisper_lang_auto_detect_with_state(ctx, st, 0, threads, probs) >= 0) {
		for (int i = 0; i < n_ids; i++) {
			if (best < 0 || probs[ids[i]] > probs[best]) {
				best = ids[i];
			}
		}
	}
	free(probs);
	return best;
}

static struct whisper_context * ll_load(const char * path, int use_gpu) {
	struct whisper_context_params cp = whisper_context_default_params();
	cp.use_gpu = use_gpu != 0;
	return whisper_init_from_file_with_params_no_state(path, cp);
}
*/
import "C"

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/cgo"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ggerganov/whisper.cpp/bindings/go"
	"github.com/ledgerline/ledgerline/models"
)

// whisper.cpp logs through one process-wide callback; it goes to the logger
// of the most recently loaded model, at debug level, instead of stderr. A
// model loaded without a logger drops the lines.
var (
	cLogger  atomic.Pointer[slog.Logger]
	routeLog sync.Once
)

//export ledgerlineWhisperLog
func ledgerlineWhisperLog(level C.int, text *C.char) {
	defer recoverCallback("log")
	if l := cLogger.Load(); l != nil {
		if msg := strings.TrimSpace(C.GoString(text)); msg != "" {
			l.Debug(msg, "source", "whisper.cpp", "level", int(level))
		}
	}
}

// decodeCall is what whisper.cpp's progress callback reaches during one
// decode, as each window of up to 30 s starts.
type decodeCall struct {
	ctx      context.Context
	abort    *int32
	progress func(percent int) // the caller's Options.Progress, or nil
}

//export ledgerlineWhisperProgress
func ledgerlineWhisperProgress(handle C.uintptr_t, progress C.int) {
	defer recoverCallback("progress")
	call := cgo.Handle(handle).Value().(*decodeCall)
	// Raising the flag here as well as in Transcribe's context.AfterFunc stops
	// a cancelled decode at this window for certain, even when that goroutine
	// has not run yet on a busy machine. Deferred, so that it also follows a
	// progress function that cancelled or panicked.
	defer func() {
		if call.ctx.Err() != nil {
			atomic.StoreInt32(call.abort, 1)
		}
	}()
	if call.progress != nil {
		call.progress(int(progress))
	}
}

// recoverCallback, deferred in each function whisper.cpp calls, stops a
// panic there: unwinding through C frames would crash the process and take
// every meeting on it down. The panic is logged as the bug it is, on the
// model's logger or else the default one, so that it is seen.
func recoverCallback(callback string) {
	r := recover()
	if r == nil {
		return
	}
	l := cLogger.Load()
	if l == nil {
		l = slog.Default()
	}
	l.Error("asr: panic in a whisper.cpp callback", "callback", callback, "panic", r, "stack", string(debug.Stack()))
}

// WhisperConfig sets up a whisper.cpp engine.
type WhisperConfig struct {
	ModelPath string
	// Workers bounds how many decodes run at once; each holds its own decoder
	// state (tens of MB for small models). Threads is each decode's default
	// thread count (Options.Threads overrides it). Either left 0 is chosen
	// with SizeFor, so that together they fit the CPU cores.
	Workers int
	Threads int
	UseGPU  bool
	// Logger receives whisper.cpp's own log lines at debug level; nil drops
	// them. Panics recovered in callbacks go to it too, or else to slog's
	// default logger.
	Logger *slog.Logger
}

// Whisper is the whisper.cpp Engine. It loads the model once and keeps a pool
// of per-decode states (whisper_state), because every context the Go bindings
// make from one model shares a single C state and concurrent streams would
// overwrite each other's results.
type Whisper struct {
	model *C.struct_whisper_context
	info  models.Info
	eot   int

	slots   *slots // one per running decode
	threads int    // per decode, unless Options.Threads says otherwise

	mu     sync.Mutex
	idle   []*C.struct_whisper_state
	closed bool
	active sync.WaitGroup
}

var _ Engine = (*Whisper)(nil)

// NewWhisper loads a ggml Whisper model. A missing, foreign or damaged file is
// refused with an error that names it, before whisper.cpp sees it.
func NewWhisper(cfg WhisperConfig) (*Whisper, error) {
	size := Sizing{Workers: cfg.Workers, Threads: cfg.Threads}
	if size.Workers <= 0 || size.Threads <= 0 {
		var err error
		if size, err = SizeFor(runtime.NumCPU(), max(cfg.Workers, 0), max(cfg.Threads, 0)); err != nil {
			return nil, err
		}
	}
	info, err := models.Inspect(cfg.ModelPath)
	if err != nil {
		return nil, fmt.Errorf("asr: load model: %w", err)
	}
	cLogger.Store(cfg.Logger)
	routeLog.Do(func() { C.ll_route_log() })

	path := C.CString(cfg.ModelPath)
	defer C.free(unsafe.Pointer(path))
	gpu := C.int(0)
	if cfg.UseGPU {
		gpu = 1
	}
	model := C.ll_load(path, gpu)
	if model == nil {
		return nil, fmt.Errorf("asr: load model %s: whisper.cpp could not load it (run with --log-level debug for its reasons; re-download it with 'ledgerline models pull NAME')", cfg.ModelPath)
	}
	w := &Whisper{model: model, info: info, slots: newSlots(size.Workers), threads: size.Threads}
	w.eot = int(w.bindings().Whisper_token_eot())
	return w, nil
}

// bindings gives the Go bindings' view of the model for the state-free
// queries they handle well (vocabulary, special tokens, languages).
func (w *Whisper) bindings() *whisper.Context {
	return (*whisper.Context)(unsafe.Pointer(w.model))
}

// Info returns the loaded model's hyper-parameters.
func (w *Whisper) Info() models.Info { return w.info }

// Languages lists the language codes the model can be asked for.
func Languages() []string { return slices.Clone(languages()) }

// languages is whisper.cpp's fixed language table, read once: every decode
// that names a language checks it, and each entry costs a cgo call.
var languages = sync.OnceValue(func() []string {
	out := make([]string, 0, whisper.Whisper_lang_max_id()+1)
	for id := 0; id <= whisper.Whisper_lang_max_id(); id++ {
		out = append(out, whisper.Whisper_lang_str(id))
	}
	return out
})

func validLanguage(code string) bool { return slices.Contains(languages(), code) }

// CheckLanguages refuses, with ErrLanguage, the first of codes that is not a
// language whisper.cpp knows: Options.Languages is checked with it.
func CheckLanguages(codes []string) error {
	for _, code := range codes {
		if !validLanguage(code) {
			return fmt.Errorf("%w %q: use codes such as en, es, de, fr or pt", ErrLanguage, code)
		}
	}
	return nil
}

// SystemInfo reports the CPU features whisper.cpp was built with.
func SystemInfo() string { return strings.TrimSpace(whisper.Whisper_print_system_info()) }

// WhisperVersion is the version of the whisper.cpp library linked in, such as "1.9.1".
func WhisperVersion() string { return C.GoString(C.whisper_version()) }

// Backend names the compute backend whisper.cpp was built with: "CUDA", "Metal", "Vulkan" or
// another of ggml's GPU backends, or "CPU" when it has none. It says what the build can use, not
// that a GPU is present.
func Backend() string {
	routeLog.Do(func() { C.ll_route_log() }) // a GPU backend's registration may log
	for i := range int(C.ggml_backend_reg_count()) {
		switch name := C.GoString(C.ggml_backend_reg_name(C.ggml_backend_reg_get(C.size_t(i)))); name {
		case "CPU":
		case "MTL":
			return "Metal"
		default:
			return name
		}
	}
	return "CPU"
}

// Close waits for running decodes and frees the model and its states.
func (w *Whisper) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	w.active.Wait()
	for _, st := range w.idle {
		C.whisper_free_state(st)
	}
	w.idle = nil
	C.whisper_free(w.model)
	return nil
}

func (w *Whisper) acquire(ctx context.Context, urgent bool) (*C.struct_whisper_state, error) {
	if err := w.slots.acquire(ctx, urgent); err != nil {
		return nil, fmt.Errorf("asr: decode stopped: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.slots.release()
		return nil, ErrClosed
	}
	w.active.Add(1)
	if n := len(w.idle); n > 0 {
		st := w.idle[n-1]
		w.idle = w.idle[:n-1]
		return st, nil
	}
	st := C.whisper_init_state(w.model)
	if st == nil {
		w.active.Done()
		w.slots.release()
		return nil, fmt.Errorf("asr: whisper.cpp could not allocate a decoder state (out of memory? lower --workers)")
	}
	return st, nil
}

func (w *Whisper) release(st *C.struct_whisper_state) {
	w.mu.Lock()
	w.idle = append(w.idle, st)
	w.mu.Unlock()
	w.active.Done()
	w.slots.release()
}

// Transcribe implements Engine.
func (w *Whisper) Transcribe(ctx context.Context, pcm []float32, opt Options) (Result, error) {
	if len(pcm) == 0 {
		return Result{}, ErrNoAudio
	}
	if opt.Language == "auto" {
		opt.Language = ""
	}
	if opt.Language != "" && !validLanguage(opt.Language) {
		return Result{}, fmt.Errorf("%w %q: use a code such as en, es, de, fr or pt, or auto", ErrLanguage, opt.Language)
	}
	if err := CheckLanguages(opt.Languages); err != nil {
		return Result{}, err
	}
	if opt.Language != "" && len(opt.Languages) > 0 && !slices.Contains(opt.Languages, opt.Language) {
		return Result{}, fmt.Errorf("%w %q: not one of the languages to detect among (%s)", ErrLanguage, opt.Language, strings.Join(opt.Languages, ","))
	}
	if !w.info.Multilingual() && (opt.Translate || (opt.Language != "" && opt.Language != "en")) {
		return Result{}, fmt.Errorf("%w %q: this model is English-only; use a multilingual model (one without .en)", ErrLanguage, opt.Language)
	}
	if !w.info.Multilingual() && len(opt.Languages) > 0 {
		if !slices.Contains(opt.Languages, "en") {
			return Result{}, fmt.Errorf("%w %q: this model is English-only; use a multilingual model (one without .en)", ErrLanguage, strings.Join(opt.Languages, ","))
		}
		opt.Language = "en"
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("asr: decode stopped: %w", err)
	}
	st, err := w.acquire(ctx, opt.Urgent)
	if err != nil {
		return Result{}, err
	}
	defer w.release(st)
	opt = underLoad(opt, w.slots.queued())

	if opt.Language == "" && len(opt.Languages) > 0 {
		if opt.Language, err = w.detectAmong(st, pcm, opt); err != nil {
			return Result{}, err
		}
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("asr: decode stopped: %w", err)
		}
	}

	params := w.params(opt, len(pcm))
	var cstrs []*C.char
	defer func() {
		for _, s := range cstrs {
			C.free(unsafe.Pointer(s))
		}
	}()
	cstr := func(s string) *C.char {
		c := C.CString(s)
		cstrs = append(cstrs, c)
		return c
	}
	if opt.Language != "" {
		params.language = cstr(opt.Language)
	} else {
		params.language = cstr("auto")
		params.detect_language = false // detect, then transcribe
	}
	if opt.InitialPrompt != "" {
		params.initial_prompt = cstr(opt.InitialPrompt)
	}

	cc := (*C.ll_call)(C.calloc(1, C.size_t(unsafe.Sizeof(C.ll_call{}))))
	defer C.free(unsafe.Pointer(cc))
	abort := (*int32)(unsafe.Pointer(&cc.abort))
	// The flag must outlive a cancellation racing with the end of the decode:
	// wait for the store that cancellation started before the flag is freed.
	stored := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		atomic.StoreInt32(abort, 1)
		close(stored)
	})
	defer func() {
		if !stop() {
			<-stored
		}
	}()
	call := cgo.NewHandle(&decodeCall{ctx: ctx, abort: abort, progress: opt.Progress})
	defer call.Delete()
	cc.handle = C.uintptr_t(call)
	C.ll_set_callbacks(&params, cc)

	rc := C.whisper_full_with_state(w.model, st, params, (*C.float)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)))
	runtime.KeepAlive(pcm)
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("asr: decode stopped: %w", err)
	}
	if rc != 0 {
		return Result{}, fmt.Errorf("asr: whisper.cpp decode failed (code %d)", int(rc))
	}
	return w.collect(st, time.Duration(len(pcm))*time.Second/SampleRate), nil
}

// underLoad drops the temperature fallbacks of an urgent decode while other decodes wait
// for the engine: it is behind, and an utterance's final goes out after one pass rather than
// after fallbacks that a confused decode runs to the token cap while every waiting channel falls
// further behind. Other decodes keep their options: offline transcription decodes as asked.
func underLoad(opt Options, waiting int) Options {
	if opt.Urgent && waiting > 0 {
		opt.MaxFallbacks = -1
	}
	return opt
}

// detectAmong picks the language of opt.Languages that whisper.cpp finds most
// probable at the start of pcm; one language needs no detection.
func (w *Whisper) detectAmong(st *C.struct_whisper_state, pcm []float32, opt Options) (string, error) {
	if len(opt.Languages) == 1 {
		return opt.Languages[0], nil
	}
	ids := make([]C.int, len(opt.Languages))
	for i, code := range opt.Languages {
		ids[i] = C.int(slices.Index(languages(), code))
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = w.threads
	}
	id := C.ll_detect_among(w.model, st, (*C.float)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)), C.int(threads), &ids[0], C.int(len(ids)))
	runtime.KeepAlive(pcm)
	runtime.KeepAlive(ids)
	if id < 0 {
		return "", fmt.Errorf("asr: whisper.cpp language detection failed (code %d)", int(id))
	}
	return languages()[id], nil
}

func (w *Whisper) params(opt Options, samples int) C.struct_whisper_full_params {
	strategy := C.enum_whisper_sampling_strategy(C.WHISPER_SAMPLING_GREEDY)
	if opt.BeamSize > 1 {
		strategy = C.WHISPER_SAMPLING_BEAM_SEARCH
	}
	p := C.whisper_full_default_params(strategy)
	threads := opt.Threads
	if threads <= 0 {
		threads = w.threads
	}
	p.n_threads = C.int(threads)
	p.translate = C.bool(opt.Translate)
	// Pooled states serve many streams: text left in a state by one decode must
	// never prompt another stream's. Context comes from InitialPrompt instead.
	p.no_context = true
	p.single_segment = C.bool(opt.SingleSegment)
	p.print_progress = false
	p.print_realtime = false
	p.print_timestamps = false
	p.print_special = false
	p.token_timestamps = true
	if opt.BeamSize > 1 {
		p.beam_search.beam_size = C.int(opt.BeamSize)
	}
	if opt.BestOf > 0 {
		p.greedy.best_of = C.int(opt.BestOf)
	}
	if opt.MaxTokens > 0 {
		p.max_tokens = C.int(opt.MaxTokens)
	}

	// whisper.cpp retries at t, t+inc, … up to 1.0; cap the number of retries.
	p.temperature = C.float(opt.Temperature)
	inc := opt.TemperatureInc
	if inc <= 0 {
		inc = 0.2
	}
	fallbacks := opt.MaxFallbacks
	if fallbacks == 0 {
		fallbacks = DefaultMaxFallbacks
	}
	switch {
	case fallbacks < 0:
		inc = 0
	case (1-opt.Temperature)/inc > float32(fallbacks):
		inc = (1 - opt.Temperature) / float32(fallbacks)
	}
	p.temperature_inc = C.float(inc)

	audioCtx := opt.AudioCtx
	if audioCtx <= 0 {
		audioCtx = audioCtxFor(samples, int(w.info.NAudioCtx))
	}
	p.audio_ctx = C.int(audioCtx)
	return p
}

// audioCtxFor sizes the encoder to the audio: the encoder's cost grows with
// its context, and a full 30 s context for two seconds of speech wastes most
// of it. Whisper's encoder sees 50 frames a second; a margin keeps the end of
// the audio inside the window. Long audio uses the model's full context.
func audioCtxFor(samples, full int) int {
	const framesPerSecond = 50
	seconds := float64(samples) / SampleRate
	if seconds >= 30 {
		return full
	}
	n := int(seconds*framesPerSecond) + 2*framesPerSecond
	n = (n + 63) / 64 * 64
	return min(n, full)
}

// collect copies the results out of a state before it is reused. Times are
// clamped to the audio: whisper's timestamp tokens can point past its end.
func (w *Whisper) collect(st *C.struct_whisper_state, dur time.Duration) Result {
	at := func(ticks C.int64_t) time.Duration { return min(time.Duration(ticks)*10*time.Millisecond, dur) }
	lang := whisper.Whisper_lang_str(int(C.whisper_full_lang_id_from_state(st)))
	res := Result{Language: lang}
	n := int(C.whisper_full_n_segments_from_state(st))
	for i := 0; i < n; i++ {
		ci := C.int(i)
		seg := Segment{
			Start:        at(C.whisper_full_get_segment_t0_from_state(st, ci)),
			End:          at(C.whisper_full_get_segment_t1_from_state(st, ci)),
			Text:         strings.TrimSpace(C.GoString(C.whisper_full_get_segment_text_from_state(st, ci))),
			Language:     lang,
			NoSpeechProb: float32(C.whisper_full_get_segment_no_speech_prob_from_state(st, ci)),
		}
		nt := int(C.whisper_full_n_tokens_from_state(st, ci))
		for j := 0; j < nt; j++ {
			data := C.whisper_full_get_token_data_from_state(st, ci, C.int(j))
			if int(data.id) >= w.eot {
				continue // special and timestamp tokens carry no text
			}
			seg.Tokens = append(seg.Tokens, Token{
				ID:    int(data.id),
				Text:  C.GoString(C.whisper_full_get_token_text_from_state(w.model, st, ci, C.int(j))),
				P:     float32(data.p),
				Start: at(data.t0),
				End:   at(data.t1),
			})
		}
		res.Segments = append(res.Segments, seg)
	}
	return res
}
