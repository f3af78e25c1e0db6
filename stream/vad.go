package stream

import (
	"math"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"
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

// Noise floor tracking, per frame, in dB: it follows quieter frames quickly,
// louder non-speech frames slowly, and creeps up during speech so that a
// lasting rise in background noise is eventually absorbed.
const (
	floorFall  = 0.3
	floorRise  = 0.05
	floorCreep = 0.002
	silenceDB  = -120.0 // energy of an all-zero frame
)

// VAD is a voice activity detector for 16 kHz mono audio that needs no model.
// It judges each frame by its energy above an adaptive noise floor, its
// spectral flatness and the share of its energy in the speech band, and
// smooths the decisions with a minimum speech length and a hangover.
//
// A VAD is not safe for concurrent use.
type VAD struct {
	cfg                 VADConfig
	minFrames, hangover int
	nfft                int
	window              []float64
	fft                 *fourier.FFT
	frame               []float64    // the windowed frame, zero-padded to nfft
	coef                []complex128 // its spectrum, bins 0..nfft/2

	floor    float64 // noise floor in dBFS; NaN until the first frame
	now      int64   // samples pushed
	speaking bool
	run      int   // consecutive frames disagreeing with speaking
	runStart int64 // sample where that run began
}

// Features are the measurements a VAD makes on one frame.
type Features struct {
	EnergyDB  float64 // mean square, dB relative to full scale
	Flatness  float64 // geometric over arithmetic mean of the power spectrum
	BandRatio float64 // share of energy within 300–3400 Hz
}

// NewVAD returns a VAD for 16 kHz mono frames.
func NewVAD(cfg VADConfig) *VAD {
	cfg = cfg.withDefaults()
	frameDur := time.Duration(cfg.FrameSize) * time.Second / SampleRate
	v := &VAD{
		cfg:       cfg,
		minFrames: max(1, int((cfg.MinSpeech+frameDur-1)/frameDur)),
		hangover:  max(1, int((cfg.Hangover+frameDur-1)/frameDur)),
		nfft:      1,
	}
	for v.nfft < cfg.FrameSize {
		v.nfft *= 2
	}
	v.window = make([]float64, cfg.FrameSize)
	for i := range v.window {
		v.window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(cfg.FrameSize))
	}
	v.fft = fourier.NewFFT(v.nfft)
	v.frame = make([]float64, v.nfft)
	v.coef = make([]complex128, v.nfft/2+1)
	v.Reset()
	return v
}

// Reset forgets the stream: time restarts at zero and the noise floor is
// learnt afresh.
func (v *VAD) Reset() {
	v.floor = math.NaN()
	v.now, v.run, v.runStart = 0, 0, 0
	v.speaking = false
}

// Speaking reports whether the VAD is inside a speech region.
func (v *VAD) Speaking() bool { return v.speaking }

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
	f := v.Analyze(frame)
	speech := v.isSpeech(f)
	v.track(f.EnergyDB, speech)

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

func (v *VAD) isSpeech(f Features) bool {
	if math.IsNaN(v.floor) {
		return false // nothing to compare against yet
	}
	return f.EnergyDB > v.cfg.MinLevelDB &&
		f.EnergyDB > v.floor+v.cfg.MarginDB &&
		f.Flatness < v.cfg.MaxFlatness &&
		f.BandRatio > v.cfg.MinBandRatio
}

func (v *VAD) track(e float64, speech bool) {
	switch {
	case math.IsNaN(v.floor):
		v.floor = e
	case e < v.floor:
		v.floor += floorFall * (e - v.floor)
	case speech:
		v.floor += floorCreep * (e - v.floor)
	default:
		v.floor += floorRise * (e - v.floor)
	}
}

// Analyze measures one frame without changing the VAD's state.
func (v *VAD) Analyze(frame []float32) Features {
	n := min(len(frame), v.cfg.FrameSize)
	var sum float64
	for _, s := range frame[:n] {
		x := float64(s)
		sum += x * x
	}
	f := Features{EnergyDB: silenceDB, Flatness: 1}
	if e := sum / float64(v.cfg.FrameSize); e > 0 && !math.IsNaN(e) {
		f.EnergyDB = max(silenceDB, 10*math.Log10(e))
	}

	clear(v.frame)
	for i, s := range frame[:n] {
		v.frame[i] = float64(s) * v.window[i]
	}
	v.coef = v.fft.Coefficients(v.coef, v.frame)
	binHz := float64(SampleRate) / float64(v.nfft)
	var total, band, logSum float64
	bins := 0
	for k := 1; k <= v.nfft/2; k++ {
		p := real(v.coef[k])*real(v.coef[k]) + imag(v.coef[k])*imag(v.coef[k])
		total += p
		hz := float64(k) * binHz
		if hz >= 300 && hz <= 3400 {
			band += p
			logSum += math.Log(p + 1e-20)
			bins++
		}
	}
	if total > 0 && band > 0 {
		f.BandRatio = band / total
		f.Flatness = math.Exp(logSum/float64(bins)) / (band / float64(bins))
	}
	return f
}

func samplesDuration(n int64) time.Duration { return framesDuration(n, SampleRate) }
