// Package asr turns 16 kHz mono speech into timed text with token detail.
// It defines the Engine the pipeline needs, implements it with whisper.cpp,
// and turns one channel's speech into partial and final text with Stream.
//
// Concurrency: an Engine is safe for concurrent use, so one loaded model
// serves every stream of every meeting; a Stream is not, so each channel has
// its own. The package's errors say "asr: " once, whichever of its layers
// they pass through.
package asr

import (
	"context"
	"errors"
	"time"
)

// SampleRate is the rate every Engine expects: 16 kHz mono float32 in [-1, 1].
const SampleRate = 16000

// Engine decodes windows of audio into segments. Implementations are safe for
// concurrent use: one loaded model serves every stream of every meeting.
type Engine interface {
	// Transcribe decodes pcm (16 kHz mono) and returns its segments with times
	// relative to the first sample. It honours ctx cancellation mid-decode.
	Transcribe(ctx context.Context, pcm []float32, opt Options) (Result, error)
}

// Options tune one decode. The zero value decodes greedily, detects the
// language, and bounds the work done on audio the model cannot make sense of.
type Options struct {
	Language  string // ISO 639-1 code such as "en" or "de"; "" or "auto" detects it
	Translate bool   // translate into English instead of transcribing

	// Languages, when Language is "" or "auto", narrows detection to these
	// codes: each decode (a stream's window, or a whole file) is decoded in
	// the one of them whisper.cpp finds most probable, first listed on a tie.
	// A Language that is named must be one of them. Nil detects among all.
	Languages []string

	Threads   int // CPU threads for this decode; 0 picks a default
	BeamSize  int // 0 or 1 decodes greedily; more uses beam search
	BestOf    int // candidates sampled at a non-zero temperature (greedy); 0 keeps the default
	MaxTokens int // tokens per segment; 0 leaves whisper.cpp's cap of n_text_ctx/2 per 30 s window

	Temperature    float32 // initial sampling temperature
	TemperatureInc float32 // step of the fallback when a decode looks wrong; 0 uses 0.2
	MaxFallbacks   int     // at most this many fallback passes; negative disables fallback; 0 uses DefaultMaxFallbacks

	AudioCtx      int    // encoder context in frames (1500 = 30 s); 0 sizes it to the audio
	InitialPrompt string // words to expect: names of people, companies and products
	SingleSegment bool   // return one segment for the whole window (streaming)

	// Progress, when set, is called with the percentage done of long audio.
	Progress func(percent int)

	// Urgent marks a decode someone is waiting on (the last of an utterance, whose words become
	// final): an engine shared by several streams runs it before the others waiting, and while
	// others wait it runs without temperature fallbacks.
	Urgent bool
}

// DefaultMaxFallbacks bounds decoding on audio a model cannot make sense of:
// a confused model runs every pass to whisper.cpp's token cap (n_text_ctx/2,
// 220 tokens, per 30 s window), and each temperature fallback repeats that
// pass. A per-segment token cap is no bound on cost: segments cut short make
// each window advance less, so more windows are decoded.
const DefaultMaxFallbacks = 2

// Result is the outcome of one decode.
type Result struct {
	Language string // detected or requested language
	Segments []Segment
}

// Segment is a stretch of text with its times relative to the decoded audio.
type Segment struct {
	Start, End   time.Duration
	Text         string
	Language     string
	NoSpeechProb float32 // the model's belief that the window holds no speech
	Tokens       []Token
}

// Token is one text token with its probability and, where the model gave
// them, its times.
type Token struct {
	ID         int
	Text       string
	P          float32
	Start, End time.Duration
}

var (
	// ErrClosed is returned by an engine used after Close.
	ErrClosed = errors.New("asr: engine closed")
	// ErrNoAudio is returned for an empty window.
	ErrNoAudio = errors.New("asr: no audio to decode")
	// ErrLanguage is returned for a language the model does not know.
	ErrLanguage = errors.New("asr: unknown language")
)
