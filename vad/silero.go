package vad

/*
#include <stdlib.h>
#include <whisper.h>
#include <ggml.h>

// whisper.cpp logs through one process-wide callback, and its VAD writes four lines for every
// frame it judges. ll_vad_log drops the lines below warnings that come from this thread while it
// is inside one of the calls below (ll_vad_quiet), and hands every other line to the callback
// installed before it (the asr package's, or whisper.cpp's default).
static ggml_log_callback ll_vad_prev;
static void * ll_vad_prev_data;
static __thread int ll_vad_quiet;

static void ll_vad_log(enum ggml_log_level level, const char * text, void * data) {
	if (ll_vad_quiet && level != GGML_LOG_LEVEL_WARN && level != GGML_LOG_LEVEL_ERROR) {
		return;
	}
	if (ll_vad_prev != NULL) {
		ll_vad_prev(level, text, ll_vad_prev_data);
	}
}

// ll_vad_route_log puts ll_vad_log in front of the callback installed now, unless it is there.
static void ll_vad_route_log(void) {
	ggml_log_callback cur;
	void * data;
	ggml_log_get(&cur, &data);
	if (cur != ll_vad_log) {
		ll_vad_prev = cur;
		ll_vad_prev_data = data;
		whisper_log_set(ll_vad_log, NULL);
	}
}

// ll_vad_load loads a context for one stream. Its LSTM state starts as whatever the allocator
// left, so it is zeroed here.
static struct whisper_vad_context * ll_vad_load(const char * path) {
	struct whisper_vad_context_params p = whisper_vad_default_context_params();
	p.n_threads = 1; // one 32 ms frame at a time: more threads cost more than they save
	p.use_gpu = false;
	ll_vad_quiet = 1;
	struct whisper_vad_context * ctx = whisper_vad_init_from_file_with_params(path, p);
	ll_vad_quiet = 0;
	if (ctx != NULL) {
		whisper_vad_reset_state(ctx);
	}
	return ctx;
}

// ll_vad_prob judges one window of samples, carrying the LSTM state over from the previous
// call, and returns the speech probability, or -1 when whisper.cpp failed.
static float ll_vad_prob(struct whisper_vad_context * ctx, const float * samples, int n) {
	ll_vad_quiet = 1;
	bool ok = whisper_vad_detect_speech_no_reset(ctx, samples, n) && whisper_vad_n_probs(ctx) >= 1;
	ll_vad_quiet = 0;
	return ok ? whisper_vad_probs(ctx)[0] : -1.0f;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"unsafe"

	// The Go bindings carry the flags that link whisper.cpp's libraries, for asr and here alike.
	_ "github.com/ggerganov/whisper.cpp/bindings/go"
	"github.com/ledgerline/ledgerline/models"
	"github.com/ledgerline/ledgerline/stream"
)

// FrameSize is the window the Silero VAD judges at a time: 512 samples, 32 ms at 16 kHz.
const FrameSize = 512

// Errors of loading and running a detector.
var (
	// ErrLoad means whisper.cpp could not load the model (or allocate its state).
	ErrLoad = errors.New("vad: whisper.cpp could not load the Silero VAD model")
	// ErrDetect means whisper.cpp failed to judge a frame.
	ErrDetect = errors.New("vad: whisper.cpp failed to judge a frame")
	// ErrClosed means the Detector was closed.
	ErrClosed = errors.New("vad: detector closed")
)

// logMu serialises the swaps of whisper.cpp's process-wide log callback.
var logMu sync.Mutex

func routeLog() {
	logMu.Lock()
	C.ll_vad_route_log()
	logMu.Unlock()
}

// DefaultThreshold is stricter than Silero's own 0.5: on ten minutes of noise, music, clicks and
// breathing (make bench) 0.5 let two seconds of synthetic music through, which a Whisper model
// turns into made-up words, and 0.7 let nothing through, at the cost of under two points of
// recall on speech in noise down to 0 dB SNR. A meeting's record suffers more from invented words
// than from a syllable cut short.
const DefaultThreshold = 0.7

// Config sets up a Model.
type Config struct {
	// ModelPath is a ggml Silero VAD file: the official one, or one converted with
	// models.ConvertSileroFile.
	ModelPath string
	// Threshold is the speech probability from which a frame starts speech [DefaultThreshold];
	// speech goes on while frames stay above Threshold − 0.15, as in Silero's own streaming
	// iterator.
	Threshold float32
	// Logger is told when a detector fails; nil means slog's default.
	Logger *slog.Logger
}

// Model is a checked Silero VAD model file, from which each channel gets a Detector of its own
// (the LSTM state is per stream). It is safe for concurrent use.
type Model struct {
	cfg     Config
	version string
	log     *slog.Logger
}

// Load checks the model file and loads it once into whisper.cpp to be sure it works.
func Load(cfg Config) (*Model, error) {
	if cfg.Threshold <= 0 || cfg.Threshold >= 1 {
		cfg.Threshold = DefaultThreshold
	}
	version, err := models.InspectSilero(cfg.ModelPath)
	if err != nil {
		return nil, fmt.Errorf("vad: %w; convert it again with 'ledgerline models convert-vad' or pull it with 'ledgerline models pull %s'", err, models.SileroV5)
	}
	m := &Model{cfg: cfg, version: version, log: cfg.Logger}
	if m.log == nil {
		m.log = slog.Default()
	}
	d, err := m.NewDetector()
	if err != nil {
		return nil, err
	}
	if err := d.Close(); err != nil {
		return nil, err
	}
	return m, nil
}

// Path is the model file.
func (m *Model) Path() string { return m.cfg.ModelPath }

// Version is the model's version as its file says ("5.1.2").
func (m *Model) Version() string { return m.version }

// NewDetector loads a detector for one stream. Close it when the stream ends. The file is
// checked again first, as it is read again: one replaced since Load must not reach whisper.cpp
// unchecked.
func (m *Model) NewDetector() (*Detector, error) {
	if _, err := models.InspectSilero(m.cfg.ModelPath); err != nil {
		return nil, fmt.Errorf("vad: %w", err)
	}
	routeLog()
	path := C.CString(m.cfg.ModelPath)
	defer C.free(unsafe.Pointer(path))
	ctx := C.ll_vad_load(path)
	if ctx == nil {
		return nil, fmt.Errorf("%w from %s", ErrLoad, m.cfg.ModelPath)
	}
	return &Detector{ctx: ctx, on: m.cfg.Threshold, off: max(m.cfg.Threshold-0.15, 0.01), log: m.log}, nil
}

// Detectors returns what agent.Config takes to give each channel its own detector: a function
// that loads one, or returns nil (the channel then uses the rule-based detector) after logging
// why it could not. On a nil Model it returns nil: every channel uses the rule-based detector.
func (m *Model) Detectors() func() stream.FrameDetector {
	if m == nil {
		return nil
	}
	return func() stream.FrameDetector {
		d, err := m.NewDetector()
		if err != nil {
			m.log.Warn("vad: a channel uses the rule-based speech detector", "err", err)
			return nil
		}
		return d
	}
}

// Detector is the Silero VAD on one stream of 16 kHz mono audio, 512 samples at a time, with
// the LSTM state carried from frame to frame. It is a stream.FrameDetector.
//
// A Detector is not safe for concurrent use: it belongs to its channel's intake.
type Detector struct {
	ctx      *C.struct_whisper_vad_context
	on, off  float32 // probabilities that start and keep speech
	speaking bool
	frame    [FrameSize]float32
	log      *slog.Logger
	failed   bool // a failure was logged
}

var _ stream.FrameDetector = (*Detector)(nil)

// FrameSize is 512 samples.
func (d *Detector) FrameSize() int { return FrameSize }

// Prob returns the probability that the next frame of the stream is speech. A frame shorter than
// 512 samples is zero-padded; of a longer one only the first 512 are judged.
func (d *Detector) Prob(frame []float32) (float32, error) {
	if d.ctx == nil {
		return 0, ErrClosed
	}
	n := copy(d.frame[:], frame)
	clear(d.frame[n:])
	p := float32(C.ll_vad_prob(d.ctx, (*C.float)(unsafe.Pointer(&d.frame[0])), C.int(FrameSize)))
	if p < 0 {
		return 0, ErrDetect
	}
	return p, nil
}

// Speech judges the next frame, with Silero's hysteresis: a frame starts speech from the
// threshold up, and speech goes on while frames stay within 0.15 below it. A frame that cannot
// be judged counts as speech, so that a failure costs transcription time rather than words; the
// first failure is logged.
func (d *Detector) Speech(frame []float32) bool {
	p, err := d.Prob(frame)
	if err != nil {
		if !d.failed {
			d.failed = true
			d.log.Error("vad: speech detection failed; audio passes as speech", "err", err)
		}
		return true
	}
	if d.speaking {
		d.speaking = p >= d.off
	} else {
		d.speaking = p >= d.on
	}
	return d.speaking
}

// Reset forgets the stream: the LSTM state is zeroed.
func (d *Detector) Reset() {
	d.speaking = false
	if d.ctx != nil {
		C.whisper_vad_reset_state(d.ctx)
	}
}

// Close frees the whisper.cpp state. Closing twice is harmless.
func (d *Detector) Close() error {
	if d.ctx != nil {
		C.whisper_vad_free(d.ctx)
		d.ctx = nil
	}
	return nil
}
