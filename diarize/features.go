package diarize

import (
	"errors"
	"math"
	"slices"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Embedder turns a stretch of one speaker's speech (16 kHz mono) into a
// fixed-length vector in which voices that sound alike lie close together by
// cosine distance. The default is FeatureEmbedder; a neural speaker model
// (an ONNX x-vector or ECAPA network) fits behind the same method.
//
// Implementations must be safe for use by one goroutine at a time; the
// Diarizer never calls one from two goroutines at once.
type Embedder interface {
	// Embed returns the embedding of samples, or ErrTooShort when they hold
	// too little speech to say anything about the voice.
	Embed(samples []float32) ([]float64, error)
}

// ErrTooShort is returned by an Embedder given too little voiced audio.
var ErrTooShort = errors.New("diarize: too little speech to embed")

// Analysis frames: 25 ms every 10 ms, 512-point FFT.
const (
	frameLen  = 400
	frameHop  = 160
	nfft      = 512
	melBands  = 26
	numCeps   = 13 // c1..c13; c0 (loudness) is left out
	deltaSpan = 2
	// Pitch range searched by YIN, in Hz.
	minF0 = 60
	maxF0 = 400
	// yinThreshold is the cumulative-mean-normalised difference below which
	// a lag is accepted as the period.
	yinThreshold = 0.2
	// activeDB: frames quieter than the loudest frame of the stretch by more
	// than this are silence and do not count towards the statistics.
	activeDB = 35
	// floorMarginDB: active frames are this much louder than the quietest
	// tenth of the stretch.
	floorMarginDB = 6
)

// FeatureEmbedder builds speaker embeddings from signal statistics, with no
// model to download: the means and standard deviations of 13 MFCCs over the
// active frames, the standard deviations of their deltas, and the mean,
// spread and voiced share of the pitch (YIN). Each group is scaled so that
// it carries comparable weight. Noise it has been shown with ObserveNoise
// is subtracted from each mel band before the cepstra are taken, and
// frames that do not stand clear of it are left out. It tells apart voices that differ in pitch
// and timbre well, and voices of one sex with similar pitch poorly; a
// neural Embedder is the upgrade for that.
//
// A FeatureEmbedder holds scratch buffers and is not safe for concurrent use.
type FeatureEmbedder struct {
	window []float64
	mel    [][]melTap
	dct    [][]float64
	fft    *fourier.FFT
	frame  []float64    // the pre-emphasised, windowed frame, zero-padded to nfft
	coef   []complex128 // its spectrum, bins 0..nfft/2
	power  []float64
	logMel []float64
	melPow []float64

	// The channel's noise: mean mel-band power and frame energy of the
	// frames seen outside speech, over noiseFrames frames.
	noise       []float64
	noiseEnergy float64
	noiseFrames float64
	floorDB     float64 // tracked quietest frame energy
}

type melTap struct {
	bin int
	w   float64
}

// NoiseObserver is an Embedder that takes the channel's background noise
// into account. A Diarizer hands it the audio it hears between speech.
type NoiseObserver interface {
	// ObserveNoise learns from samples that hold no speech.
	ObserveNoise(samples []float32)
}

var (
	_ Embedder      = (*FeatureEmbedder)(nil)
	_ NoiseObserver = (*FeatureEmbedder)(nil)
)

// NewFeatureEmbedder returns an embedder for 16 kHz audio.
func NewFeatureEmbedder() *FeatureEmbedder {
	e := &FeatureEmbedder{
		window: make([]float64, frameLen),
		fft:    fourier.NewFFT(nfft),
		frame:  make([]float64, nfft),
		coef:   make([]complex128, nfft/2+1),
		power:  make([]float64, nfft/2+1),
		logMel: make([]float64, melBands),
		melPow: make([]float64, melBands),
		noise:  make([]float64, melBands),
	}
	for i := range e.window {
		e.window[i] = 0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/float64(frameLen-1))
	}
	e.mel = melFilters(melBands, nfft, sampleRate, 60, 7600)
	e.dct = make([][]float64, numCeps)
	for k := range e.dct {
		e.dct[k] = make([]float64, melBands)
		for n := range melBands {
			e.dct[k][n] = math.Cos(math.Pi * float64(k+1) * (float64(n) + 0.5) / melBands)
		}
	}
	return e
}

// EmbeddingDim is the length of a FeatureEmbedder embedding.
const EmbeddingDim = 3*numCeps + 3

// Embed implements Embedder.
func (e *FeatureEmbedder) Embed(samples []float32) ([]float64, error) {
	out, err := e.raw(samples)
	if err != nil {
		return nil, err
	}
	for i, v := range out {
		out[i] = (v - featureMean[i]) * featureWeight[i]
	}
	return out, nil
}

// raw returns the feature statistics before normalisation.
func (e *FeatureEmbedder) raw(samples []float32) ([]float64, error) {
	ceps, energy := e.cepstra(samples)
	if len(ceps) < 20 {
		return nil, ErrTooShort
	}
	// Active frames stand clear of the loudest one and of the quiet ones
	// (the noise floor, taken as the 10th percentile).
	sorted := slices.Clone(energy)
	slices.Sort(sorted)
	floor := sorted[len(sorted)/10]
	loud := sorted[len(sorted)-1]
	active := make([]bool, len(ceps))
	nActive := 0
	quiet := math.Inf(-1)
	if e.noiseFrames >= minNoiseFrames {
		quiet = 10*math.Log10(e.noiseEnergy+1e-12) + activeOverNoiseDB
	}
	for i, v := range energy {
		if v > loud-activeDB && v > floor+floorMarginDB && v > -70 && v > quiet {
			active[i] = true
			nActive++
		}
	}
	if nActive < 20 {
		return nil, ErrTooShort
	}
	out := make([]float64, EmbeddingDim)
	mean, std, dstd := out[:numCeps], out[numCeps:2*numCeps], out[2*numCeps:3*numCeps]
	for i, c := range ceps {
		if !active[i] {
			continue
		}
		for k, v := range c {
			mean[k] += v
		}
	}
	n := float64(nActive)
	for k := range mean {
		mean[k] /= n
	}
	for i, c := range ceps {
		if !active[i] {
			continue
		}
		for k, v := range c {
			d := v - mean[k]
			std[k] += d * d
		}
		// Regression delta over ±deltaSpan frames, clamped at the edges.
		for k := range numCeps {
			var num, den float64
			for t := 1; t <= deltaSpan; t++ {
				a := ceps[min(len(ceps)-1, i+t)][k]
				b := ceps[max(0, i-t)][k]
				num += float64(t) * (a - b)
				den += 2 * float64(t*t)
			}
			d := num / den
			dstd[k] += d * d
		}
	}
	for k := range numCeps {
		std[k] = math.Sqrt(std[k] / n)
		dstd[k] = math.Sqrt(dstd[k] / n)
	}
	f0mean, f0std, voiced := pitchStats(samples, active)
	p := out[3*numCeps:]
	// Log-pitch in octaves around 150 Hz; its spread in octaves; the voiced
	// share of active frames.
	p[0], p[1], p[2] = f0mean, f0std, voiced
	return out, nil
}

// cepstra returns MFCCs c1..c13 and the energy in dB of each frame.
func (e *FeatureEmbedder) cepstra(samples []float32) ([][]float64, []float64) {
	if len(samples) < frameLen {
		return nil, nil
	}
	nFrames := 1 + (len(samples)-frameLen)/frameHop
	ceps := make([][]float64, nFrames)
	flat := make([]float64, nFrames*numCeps)
	energy := make([]float64, nFrames)
	for f := range nFrames {
		off := f * frameHop
		sum := e.loadFrame(samples, off)
		energy[f] = 10 * math.Log10(sum/frameLen+1e-12)
		e.melPower()
		denoise := e.noiseFrames >= minNoiseFrames
		for b, s := range e.melPow {
			if denoise {
				s = max(s-overSubtract*e.noise[b], noiseFloor*e.noise[b])
			}
			e.logMel[b] = math.Log(s + 1e-10)
		}
		c := flat[f*numCeps : (f+1)*numCeps]
		for k := range c {
			var s float64
			for n, v := range e.logMel {
				s += v * e.dct[k][n]
			}
			c[k] = s
		}
		ceps[f] = c
	}
	return ceps, energy
}

// loadFrame puts the frame of samples starting at off into frame,
// pre-emphasised and windowed, and returns its energy (the sum of squares).
func (e *FeatureEmbedder) loadFrame(samples []float32, off int) float64 {
	var sum float64
	prev := 0.0
	if off > 0 {
		prev = float64(samples[off-1])
	}
	clear(e.frame)
	for i := range frameLen {
		x := float64(samples[off+i])
		sum += x * x
		e.frame[i] = (x - 0.97*prev) * e.window[i]
		prev = x
	}
	return sum
}

// melPower fills melPow with the mel-band power of the frame in frame.
func (e *FeatureEmbedder) melPower() {
	e.coef = e.fft.Coefficients(e.coef, e.frame)
	for k := range e.power {
		e.power[k] = real(e.coef[k])*real(e.coef[k]) + imag(e.coef[k])*imag(e.coef[k])
	}
	for b, taps := range e.mel {
		var s float64
		for _, t := range taps {
			s += t.w * e.power[t.bin]
		}
		e.melPow[b] = s
	}
}

// Noise handling: spectral subtraction in the mel bands, with the noise
// spectrum learnt from the channel's audio outside speech.
const (
	// minNoiseFrames is how many frames of noise must be seen before it is
	// subtracted.
	minNoiseFrames = 20
	// noiseMemory is how many frames the noise estimate averages over once
	// it has seen that many: a few seconds of pauses.
	noiseMemory = 500
	// overSubtract scales the noise taken off each band; noiseFloor is the
	// share of the noise left as a floor, so that bands where noise
	// dominates read the same for every voice.
	overSubtract = 1.5
	noiseFloor   = 0.1
	// activeOverNoiseDB: frames must stand this far above the noise to
	// count towards the statistics.
	activeOverNoiseDB = 6
	// Frames of the noise lie within noiseBandDB of the quietest frame
	// energy, which follows quieter frames at once and rises by
	// floorRiseDB a frame otherwise (1 dB a second).
	noiseBandDB = 6
	floorRiseDB = 0.01
)

// ObserveNoise implements NoiseObserver: it learns the channel's noise from
// audio without speech.
func (e *FeatureEmbedder) ObserveNoise(samples []float32) {
	for off := 0; off+frameLen <= len(samples); off += frameHop {
		sum := e.loadFrame(samples, off)
		db := 10 * math.Log10(sum/frameLen+1e-12)
		switch {
		case e.noiseFrames == 0 && e.floorDB == 0, db < e.floorDB:
			e.floorDB = db
		default:
			e.floorDB += floorRiseDB
		}
		if db > e.floorDB+noiseBandDB {
			continue // louder than the noise: speech the VAD let through
		}
		e.melPower()
		e.noiseFrames++
		rate := 1 / min(e.noiseFrames, noiseMemory)
		for b, v := range e.melPow {
			e.noise[b] += rate * (v - e.noise[b])
		}
		e.noiseEnergy += rate * (sum/frameLen - e.noiseEnergy)
	}
}

// pitchStats runs YIN on the active frames (every second analysis frame, on
// audio decimated to 8 kHz) and returns the mean and standard deviation of
// log2(F0/150 Hz) over voiced frames and the voiced share of those analysed.
func pitchStats(samples []float32, active []bool) (mean, std, voiced float64) {
	// Decimate by two with a short low-pass: pitch lives well below 4 kHz.
	half := make([]float64, len(samples)/2)
	for i := range half {
		j := 2 * i
		a := float64(samples[j])
		b := float64(samples[j+1])
		c := a
		if j > 0 {
			c = float64(samples[j-1])
		}
		half[i] = 0.25*c + 0.5*a + 0.25*b
	}
	const rate = sampleRate / 2
	const win = rate * 30 / 1000 // 30 ms
	minLag, maxLag := rate/maxF0, rate/minF0
	d := make([]float64, maxLag+1)
	var vals []float64
	analysed := 0
	for f := 0; f < len(active); f += 2 {
		if !active[f] {
			continue
		}
		off := f * frameHop / 2
		if off+win+maxLag > len(half) {
			break
		}
		analysed++
		x := half[off:]
		// Difference function and its cumulative-mean normalisation.
		var run float64
		lag := -1
		for tau := 1; tau <= maxLag; tau++ {
			var s float64
			for i := range win {
				v := x[i] - x[i+tau]
				s += v * v
			}
			run += s
			if run == 0 {
				d[tau] = 1
			} else {
				d[tau] = s * float64(tau) / run
			}
		}
		for tau := minLag; tau < maxLag; tau++ {
			if d[tau] < yinThreshold {
				for tau+1 < maxLag && d[tau+1] < d[tau] {
					tau++
				}
				lag = tau
				break
			}
		}
		if lag < 0 {
			continue
		}
		// Parabolic interpolation around the minimum.
		t := float64(lag)
		if a, b, c := d[lag-1], d[lag], d[lag+1]; a+c-2*b > 0 {
			t += 0.5 * (a - c) / (a + c - 2*b)
		}
		vals = append(vals, math.Log2(rate/t/150))
	}
	if analysed == 0 || len(vals) == 0 {
		return 0, 0, 0
	}
	for _, v := range vals {
		mean += v
	}
	mean /= float64(len(vals))
	for _, v := range vals {
		std += (v - mean) * (v - mean)
	}
	std = math.Sqrt(std / float64(len(vals)))
	return mean, std, float64(len(vals)) / float64(analysed)
}

// melFilters builds triangular filters on the mel scale between lo and hi Hz.
func melFilters(bands, n, rate int, lo, hi float64) [][]melTap {
	mel := func(hz float64) float64 { return 2595 * math.Log10(1+hz/700) }
	hz := func(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }
	edges := make([]float64, bands+2)
	for i := range edges {
		edges[i] = hz(mel(lo) + (mel(hi)-mel(lo))*float64(i)/float64(bands+1))
	}
	binHz := float64(rate) / float64(n)
	out := make([][]melTap, bands)
	for b := range bands {
		l, c, r := edges[b], edges[b+1], edges[b+2]
		for k := 0; k <= n/2; k++ {
			f := float64(k) * binHz
			var w float64
			switch {
			case f > l && f <= c:
				w = (f - l) / (c - l)
			case f > c && f < r:
				w = (r - f) / (r - c)
			}
			if w > 0 {
				out[b] = append(out[b], melTap{bin: k, w: w})
			}
		}
	}
	return out
}

// featureMean and featureWeight normalise FeatureEmbedder statistics:
// subtract the mean over many voices, divide by the spread within one
// voice, and drop the statistics that vary more within a voice than
// between voices (weight 0). They were measured on eight espeak-ng voices
// that the test calls (internal/callsynth) do not use, with 2 s pieces of
// three sentences each.
var featureMean = [EmbeddingDim]float64{
	// MFCC means, c1..c13.
	-6.037, 0.1335, 17.12, -8.289, -6.756, 1.338, -11.53, 1.093, -4.015, 2.728, -1.487, -1.17, 0.8319,
	// MFCC standard deviations.
	26.07, 14.53, 20.2, 13.95, 12.91, 13.46, 11.18, 8.812, 8.114, 6.509, 5.878, 5.597, 4.321,
	// Standard deviations of the deltas.
	6.903, 4.12, 5.006, 3.673, 3.695, 3.496, 3.408, 2.77, 2.345, 2.015, 1.777, 1.657, 1.315,
	// Pitch: mean and spread of log2(F0/150 Hz), voiced share.
	-0.3403, 0.09416, 0.6135,
}

var featureWeight = [EmbeddingDim]float64{
	0, 0.5027, 0, 0.4838, 0.641, 0.6967, 0.6853, 0.8251, 0.9973, 1.676, 1.276, 0.9527, 1.354,
	0, 0, 0, 0, 0, 1.209, 0.9991, 0, 0.9753, 1.654, 0, 1.896, 3.232, 2.202,
	0, 0, 0, 0, 2.451, 2.642, 0, 0, 0, 0, 6.703, 10.04,
	10.6, 0, 15.26,
}
