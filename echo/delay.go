package echo

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/ledgerline/ledgerline/stream"
)

// The delay between the laptop playing a sound and its microphone hearing
// it is the sound card's output and input buffering plus the few centimetres
// of air: 20 to 200 ms in practice, and it changes when a device is
// switched or a buffer underruns. It is measured with GCC-PHAT (generalised
// cross-correlation with phase transform) over the last few seconds of both
// channels, again every hop: whitening the spectra makes the peak sharp
// whatever the speech's colour, so the lag is found to the sample.
const (
	delayWindow = 3 * stream.SampleRate / 2      // samples of each channel one estimate looks at
	delayHop    = stream.SampleRate / 2          // samples between two estimates
	delayFirst  = stream.SampleRate              // samples the first estimate waits for
	maxDelay    = 400 * stream.SampleRate / 1000 // the longest delay looked for
	// An estimate counts only where the peak stands this far above the
	// correlation's typical level: double-talk, silence or music without
	// echo give a flat correlation, and no estimate.
	peakRatio = 8
	// An estimate replaces the current delay once two in a row agree
	// within this many samples, so that one stray peak moves nothing.
	agreeSamples = 16
	// Frequencies outside the band a laptop speaker plays carry no echo,
	// only noise, which whitening would weigh as much as the echo.
	bandLowHz, bandHighHz = 200, 4000
	// Below this level (about -50 dBFS) a channel is taken as silent.
	silentRMS = 3e-3
)

// delayTracker estimates by how many samples the echo of the system channel
// trails it on the mic channel. Owned by one goroutine.
type delayTracker struct {
	mic, sys []float32 // the last delayWindow samples of each, aligned in time
	since    int       // samples pushed since the last estimate
	fft      *fourier.FFT
	seqA     []float64
	seqB     []float64
	specA    []complex128
	specB    []complex128
	corr     []float64

	delay     int // the current estimate; -1 until there is one
	candidate int // the last estimate, waiting for a second to agree
}

func newDelayTracker() *delayTracker {
	// Zero-padded so that the lags looked at do not wrap around.
	n := 1
	for n < delayWindow+maxDelay+1 {
		n *= 2
	}
	return &delayTracker{
		mic: make([]float32, 0, delayWindow), sys: make([]float32, 0, delayWindow),
		fft: fourier.NewFFT(n), seqA: make([]float64, n), seqB: make([]float64, n),
		specA: make([]complex128, n/2+1), specB: make([]complex128, n/2+1), corr: make([]float64, n),
		delay: -1, candidate: -1,
	}
}

// push adds time-aligned audio of both channels (equal lengths) and tells
// whether the delay estimate changed.
func (d *delayTracker) push(mic, sys []float32) bool {
	d.mic, d.sys = keepLast(d.mic, mic), keepLast(d.sys, sys)
	d.since += len(mic)
	if d.since < delayHop || len(d.mic) < delayFirst {
		return false
	}
	d.since = 0
	lag, ok := d.estimate()
	if !ok {
		return false
	}
	agrees := d.candidate >= 0 && abs(lag-d.candidate) <= agreeSamples
	d.candidate = lag
	if !agrees || (d.delay >= 0 && abs(lag-d.delay) <= agreeSamples/4) {
		return false
	}
	d.delay = lag
	return true
}

// keepLast appends add to buf, keeping its last delayWindow samples.
func keepLast(buf, add []float32) []float32 {
	buf = append(buf, add...)
	if over := len(buf) - delayWindow; over > 0 {
		buf = append(buf[:0], buf[over:]...)
	}
	return buf
}

// estimate is the lag, in samples, of the GCC-PHAT peak between sys and mic
// over the current window, and whether there is a clear one.
func (d *delayTracker) estimate() (int, bool) {
	if rms(d.sys) < silentRMS || rms(d.mic) < silentRMS {
		return 0, false
	}
	fill(d.seqA, d.mic)
	fill(d.seqB, d.sys)
	d.fft.Coefficients(d.specA, d.seqA)
	d.fft.Coefficients(d.specB, d.seqB)
	n := len(d.seqA)
	lo, hi := bandLowHz*n/stream.SampleRate, bandHighHz*n/stream.SampleRate
	for k := range d.specA {
		c := d.specA[k] * cmplx.Conj(d.specB[k])
		if m := cmplx.Abs(c); k >= lo && k <= hi && m > 1e-12 {
			d.specA[k] = c / complex(m, 0)
		} else {
			d.specA[k] = 0
		}
	}
	d.fft.Sequence(d.corr, d.specA)
	// Lag l ≥ 0: the mic trails the system by l samples.
	best, sum := 0, 0.0
	for l := 0; l <= maxDelay; l++ {
		sum += math.Abs(d.corr[l])
		if d.corr[l] > d.corr[best] {
			best = l
		}
	}
	mean := sum / float64(maxDelay+1)
	return best, mean > 0 && d.corr[best] > peakRatio*mean
}

func fill(dst []float64, src []float32) {
	for i, v := range src {
		dst[i] = float64(v)
	}
	clear(dst[len(src):])
}

func rms(s []float32) float64 {
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(max(len(s), 1)))
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
