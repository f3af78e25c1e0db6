package stream

import (
	"io"
	"time"
)

// EventKind says whether speech started or ended.
type EventKind int

// Event kinds.
const (
	SpeechStart EventKind = iota + 1
	SpeechEnd
)

func (k EventKind) String() string {
	switch k {
	case SpeechStart:
		return "speech start"
	case SpeechEnd:
		return "speech end"
	default:
		return "unknown"
	}
}

// Event marks a speech boundary. At is stream time: the audio pushed before
// the boundary, measured from the first frame.
type Event struct {
	Kind EventKind
	At   time.Duration
}

// VADConfig tunes a VAD. Zero or negative fields take the defaults in brackets.
type VADConfig struct {
	// Detector judges each frame. Nil means the rule-based detector that
	// needs no model (NewRuleDetector), tuned by the fields up to
	// MinBandRatio, which a Detector of another kind ignores.
	Detector FrameDetector
	// FrameSize is the number of 16 kHz samples per pushed frame [480: 30 ms].
	FrameSize int
	// MarginDB is how far a frame's energy must rise above the tracked noise
	// floor to count as speech [9 dB].
	MarginDB float64
	// MinLevelDB is the energy, in dB relative to full scale, below which a
	// frame is never speech [-55 dBFS].
	MinLevelDB float64
	// MaxFlatness is the highest spectral flatness (0 for a pure tone, about
	// 0.55 for white noise) of a speech frame [0.3].
	MaxFlatness float64
	// MinBandRatio is the least share of a frame's energy that must lie in the
	// 300–3400 Hz telephone band for it to count as speech [0.4].
	MinBandRatio float64
	// MinSpeech is how long speech must last before it is reported [60 ms].
	MinSpeech time.Duration
	// Hangover is how long a pause must last before speech is reported to
	// have ended [300 ms].
	Hangover time.Duration
}

func (c VADConfig) withDefaults() VADConfig {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Detector != nil {
		c.FrameSize = c.Detector.FrameSize()
	}
	if c.FrameSize <= 0 {
		c.FrameSize = 480
	}
	def(&c.MarginDB, 9)
	if c.MinLevelDB >= 0 {
		c.MinLevelDB = -55
	}
	def(&c.MaxFlatness, 0.3)
	def(&c.MinBandRatio, 0.4)
	if c.MinSpeech <= 0 {
		c.MinSpeech = 60 * time.Millisecond
	}
	if c.Hangover <= 0 {
		c.Hangover = 300 * time.Millisecond
	}
	return c
}

// VAD is a voice activity detector for 16 kHz mono audio: it asks its
// FrameDetector about each frame and smooths the answers with a minimum
// speech length and a hangover, so that whichever detector runs, speech
// boundaries come out the same way.
//
// A VAD is not safe for concurrent use.
type VAD struct {
	det                 FrameDetector
	size                int // samples per frame
	minFrames, hangover int

	now      int64 // samples pushed
	speaking bool
	run      int   // consecutive frames disagreeing with speaking
	runStart int64 // sample where that run began
}

// NewVAD returns a VAD for 16 kHz mono frames.
func NewVAD(cfg VADConfig) *VAD {
	cfg = cfg.withDefaults()
	det := cfg.Detector
	if det == nil {
		det = NewRuleDetector(cfg)
	}
	frameDur := time.Duration(cfg.FrameSize) * time.Second / SampleRate
	return &VAD{
		det:       det,
		size:      cfg.FrameSize,
		minFrames: max(1, int((cfg.MinSpeech+frameDur-1)/frameDur)),
		hangover:  max(1, int((cfg.Hangover+frameDur-1)/frameDur)),
	}
}

// FrameSize is the number of samples of the frames the VAD judges.
func (v *VAD) FrameSize() int { return v.size }

// Reset forgets the stream: time restarts at zero and the detector starts
// afresh (the rule-based one learns the noise floor anew).
func (v *VAD) Reset() {
	v.det.Reset()
	v.now, v.run, v.runStart = 0, 0, 0
	v.speaking = false
}

// Close releases what the detector holds (a model's state, for one); the VAD
// is not used after.
func (v *VAD) Close() error {
	if c, ok := v.det.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Speaking reports whether the VAD is inside a speech region.
func (v *VAD) Speaking() bool { return v.speaking }

// SpeechUntil is, inside a speech region, the stream time its speech is
// known to last until: the start of a pause under way, which may yet prove
// to be its end, or else the end of the audio pushed. A SpeechEnd reported
// later is never before it.
func (v *VAD) SpeechUntil() time.Duration {
	if v.speaking && v.run > 0 {
		return samplesDuration(v.runStart)
	}
	return samplesDuration(v.now)
}

// Push analyses the next frame and returns a boundary when one is confirmed.
// Frames should hold FrameSize samples; a longer frame is judged on its first
// FrameSize samples, a shorter one is zero-padded, and either way stream time
// advances by its true length. Boundaries are reported after MinSpeech or
// Hangover has confirmed them, with At set to where they happened.
func (v *VAD) Push(frame []float32) (Event, bool) {
	if len(frame) == 0 {
		return Event{}, false
	}
	start := v.now
	v.now += int64(len(frame))
	speech := v.det.Speech(frame)

	if speech == v.speaking {
		v.run = 0
		return Event{}, false
	}
	if v.run == 0 {
		v.runStart = start
	}
	v.run++
	switch {
	case !v.speaking && v.run >= v.minFrames:
		v.speaking, v.run = true, 0
		return Event{Kind: SpeechStart, At: samplesDuration(v.runStart)}, true
	case v.speaking && v.run >= v.hangover:
		v.speaking, v.run = false, 0
		return Event{Kind: SpeechEnd, At: samplesDuration(v.runStart)}, true
	}
	return Event{}, false
}

// Flush ends the stream: inside speech it reports the end of that speech.
// The VAD is then reset.
func (v *VAD) Flush() (Event, bool) {
	ev, ok := Event{}, false
	if v.speaking {
		end := v.now
		if v.run > 0 {
			end = v.runStart
		}
		ev, ok = Event{Kind: SpeechEnd, At: samplesDuration(end)}, true
	}
	v.Reset()
	return ev, ok
}

func samplesDuration(n int64) time.Duration { return framesDuration(n, SampleRate) }
