package stream

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// FrameDetector judges, frame by frame, whether 16 kHz mono audio holds
// speech. A VAD turns its answers into speech boundaries. The rule-based
// RuleDetector needs no model; package vad runs the Silero VAD behind the
// same face.
type FrameDetector interface {
	// FrameSize is the number of samples of each frame it judges.
	FrameSize() int
	// Speech judges the next frame of the stream: FrameSize samples (a
	// longer frame is judged on its first FrameSize, a shorter one as if
	// zero-padded).
	Speech(frame []float32) bool
	// Reset forgets the stream: the next frame starts a new one.
	Reset()
}

var _ FrameDetector = (*RuleDetector)(nil)

// Noise floor tracking, per frame, in dB: it follows quieter frames quickly,
// louder non-speech frames slowly, and creeps up during speech so that a
// lasting rise in background noise is eventually absorbed.
const (
	floorFall  = 0.3
	floorRise  = 0.05
	floorCreep = 0.002
	silenceDB  = -120.0 // energy of an all-zero frame
)

// RuleDetector judges each frame by its energy above an adaptive noise floor,
// its spectral flatness and the share of its energy in the speech band. It
// needs no model, and is the fallback where no Silero VAD model is installed.
//
// A RuleDetector is not safe for concurrent use.
type RuleDetector struct {
	cfg    VADConfig
	nfft   int
	window []float64
	fft    *fourier.FFT
	frame  []float64    // the windowed frame, zero-padded to nfft
	coef   []complex128 // its spectrum, bins 0..nfft/2

	floor float64 // noise floor in dBFS; NaN until the first frame
}

// Features are the measurements a RuleDetector makes on one frame.
type Features struct {
	EnergyDB  float64 // mean square, dB relative to full scale
	Flatness  float64 // geometric over arithmetic mean of the power spectrum
	BandRatio float64 // share of energy within 300–3400 Hz
}

// NewRuleDetector returns a rule-based detector tuned by cfg's FrameSize,
// MarginDB, MinLevelDB, MaxFlatness and MinBandRatio.
func NewRuleDetector(cfg VADConfig) *RuleDetector {
	cfg.Detector = nil
	cfg = cfg.withDefaults()
	d := &RuleDetector{cfg: cfg, nfft: 1}
	for d.nfft < cfg.FrameSize {
		d.nfft *= 2
	}
	d.window = make([]float64, cfg.FrameSize)
	for i := range d.window {
		d.window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(cfg.FrameSize))
	}
	d.fft = fourier.NewFFT(d.nfft)
	d.frame = make([]float64, d.nfft)
	d.coef = make([]complex128, d.nfft/2+1)
	d.Reset()
	return d
}

// FrameSize is the number of samples of each frame it judges.
func (d *RuleDetector) FrameSize() int { return d.cfg.FrameSize }

// Reset forgets the noise floor.
func (d *RuleDetector) Reset() { d.floor = math.NaN() }

// Speech judges the next frame and tracks the noise floor.
func (d *RuleDetector) Speech(frame []float32) bool {
	f := d.Analyze(frame)
	speech := d.isSpeech(f)
	d.track(f.EnergyDB, speech)
	return speech
}

func (d *RuleDetector) isSpeech(f Features) bool {
	if math.IsNaN(d.floor) {
		return false // nothing to compare against yet
	}
	return f.EnergyDB > d.cfg.MinLevelDB &&
		f.EnergyDB > d.floor+d.cfg.MarginDB &&
		f.Flatness < d.cfg.MaxFlatness &&
		f.BandRatio > d.cfg.MinBandRatio
}

func (d *RuleDetector) track(e float64, speech bool) {
	switch {
	case math.IsNaN(d.floor):
		d.floor = e
	case e < d.floor:
		d.floor += floorFall * (e - d.floor)
	case speech:
		d.floor += floorCreep * (e - d.floor)
	default:
		d.floor += floorRise * (e - d.floor)
	}
}

// Analyze measures one frame without changing the detector's state.
func (d *RuleDetector) Analyze(frame []float32) Features {
	n := min(len(frame), d.cfg.FrameSize)
	var sum float64
	for _, s := range frame[:n] {
		x := float64(s)
		sum += x * x
	}
	f := Features{EnergyDB: silenceDB, Flatness: 1}
	if e := sum / float64(d.cfg.FrameSize); e > 0 && !math.IsNaN(e) {
		f.EnergyDB = max(silenceDB, 10*math.Log10(e))
	}

	clear(d.frame)
	for i, s := range frame[:n] {
		d.frame[i] = float64(s) * d.window[i]
	}
	d.coef = d.fft.Coefficients(d.coef, d.frame)
	binHz := float64(SampleRate) / float64(d.nfft)
	var total, band, logSum float64
	bins := 0
	for k := 1; k <= d.nfft/2; k++ {
		p := real(d.coef[k])*real(d.coef[k]) + imag(d.coef[k])*imag(d.coef[k])
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
