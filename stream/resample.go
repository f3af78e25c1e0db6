package stream

import (
	"fmt"
	"math"
)

// Resampler rates, in Hz, and the widest ratio between them.
const (
	MinResampleRate  = 1000
	MaxResampleRate  = 192000
	maxResampleRatio = 24
)

// Filter design. The kernel spans kernelZeroCrossings samples of the lower
// rate on each side; with a Kaiser window for stopbandDB of attenuation that
// gives a transition band of about 8% of the lower rate, placed just below its
// Nyquist frequency (1.25 kHz wide, 6.75 to 8 kHz, when the lower rate is
// 16 kHz).
const (
	kernelZeroCrossings = 32
	stopbandDB          = 80
	// maxPhases bounds the filter table. Rate pairs whose reduced ratio needs
	// more phases interpolate linearly between neighbouring phases.
	maxPhases = 1024
)

// Resampler converts a mono stream from one sample rate to another with a
// band-limited (Kaiser-windowed sinc, polyphase) filter. It keeps state between
// calls, so a live source can feed it chunks of any size; the concatenated
// output is identical to converting the whole signal at once.
//
// A Resampler is not safe for concurrent use.
type Resampler struct {
	from, to int
	up, down int64 // to/g and from/g, g = gcd(from, to)
	half     int   // taps on each side of the output position
	phases   int64 // filter phases in taps
	taps     []float32

	buf    []float32 // input history; buf[0] is input sample base
	base   int64
	next   int64 // input index at or before the next output
	frac   int64 // the next output lies frac/up samples after next
	pushed int64 // input samples received
}

// NewResampler returns a Resampler from rate from to rate to, both in Hz.
func NewResampler(from, to int) (*Resampler, error) {
	if from < MinResampleRate || from > MaxResampleRate || to < MinResampleRate || to > MaxResampleRate {
		return nil, fmt.Errorf("%w: resample %d Hz to %d Hz: rates must be %d to %d Hz",
			ErrUnsupported, from, to, MinResampleRate, MaxResampleRate)
	}
	if max(from, to) > maxResampleRatio*min(from, to) {
		return nil, fmt.Errorf("%w: resample %d Hz to %d Hz: the ratio may be at most %d",
			ErrUnsupported, from, to, maxResampleRatio)
	}
	g := gcd(from, to)
	r := &Resampler{from: from, to: to, up: int64(to / g), down: int64(from / g)}
	if from != to {
		r.design()
	}
	r.Reset()
	return r, nil
}

// Rates reports the input and output rates in Hz.
func (r *Resampler) Rates() (from, to int) { return r.from, r.to }

// Reset forgets all input, readying r for a new stream.
func (r *Resampler) Reset() {
	r.next, r.frac, r.pushed = 0, 0, 0
	r.buf = r.buf[:0]
	r.base = 0
	if r.half > 0 {
		// Input before the stream start is silence.
		r.buf = append(r.buf, make([]float32, r.half-1)...)
		r.base = -int64(r.half) + 1
	}
}

// design fills the polyphase table. Phase p holds the taps for an output lying
// p/phases of an input sample after input sample i; tap k weighs input sample
// i-half+1+k.
func (r *Resampler) design() {
	from, low := float64(r.from), float64(min(r.from, r.to))
	transition := (stopbandDB - 7.95) / (14.36 * 2 * kernelZeroCrossings) * low // Hz
	cutoff := (low/2 - transition/2) / from                                     // cycles per input sample
	width := kernelZeroCrossings * from / low                                   // kernel half-width, input samples
	beta := 0.1102 * (stopbandDB - 8.7)
	r.half = int(math.Ceil(width))
	r.phases = min(r.up, maxPhases)
	n := 2 * r.half
	r.taps = make([]float32, int(r.phases+1)*n)
	norm := 1 / besselI0(beta)
	vals := make([]float64, n)
	for p := int64(0); p <= r.phases; p++ {
		shift := float64(p) / float64(r.phases)
		row := r.taps[int(p)*n : int(p+1)*n]
		sum := 0.0
		for k := range vals {
			x := float64(k-r.half+1) - shift
			t := x / width
			vals[k] = 0
			if t <= -1 || t >= 1 {
				continue
			}
			vals[k] = 2 * cutoff * sinc(2*cutoff*x) * besselI0(beta*math.Sqrt(1-t*t)) * norm
			sum += vals[k]
		}
		for k, v := range vals {
			row[k] = float32(v / sum) // unity gain at DC for every phase
		}
	}
}

// Process resamples in, appending to dst the output samples that in makes
// computable, and returns the extended slice. Output lags input by the
// kernel's half-width; Flush releases the rest.
func (r *Resampler) Process(dst, in []float32) []float32 {
	if r.half == 0 {
		r.pushed += int64(len(in))
		return append(dst, in...)
	}
	// Take long inputs a block at a time so the history buffer stays small.
	const block = 8192
	for len(in) > 0 {
		n := min(len(in), block)
		r.pushed += int64(n)
		r.buf = append(r.buf, in[:n]...)
		in = in[n:]
		dst = r.emit(dst, r.pushed-int64(r.half))
		// Keep only the history the next output needs.
		if drop := r.next - int64(r.half) + 1 - r.base; drop > 0 {
			drop = min(drop, int64(len(r.buf)))
			r.buf = r.buf[:copy(r.buf, r.buf[drop:])]
			r.base += drop
		}
	}
	return dst
}

// Flush ends the stream: it appends the remaining output, treating input past
// the end as silence, and resets r. For n input samples the stream yields
// ceil(n*to/from) output samples in all.
func (r *Resampler) Flush(dst []float32) []float32 {
	if r.half != 0 {
		r.buf = append(r.buf, make([]float32, r.half)...)
		dst = r.emit(dst, r.pushed)
	}
	r.Reset()
	return dst
}

// emit appends the outputs whose integer input position is below limit.
func (r *Resampler) emit(dst []float32, limit int64) []float32 {
	n := 2 * r.half
	for r.next < limit {
		start := int(r.next - int64(r.half) + 1 - r.base)
		x := r.buf[start : start+n]
		var y float32
		if r.phases == r.up {
			y = dot(x, r.taps[int(r.frac)*n:int(r.frac+1)*n])
		} else {
			pos := r.frac * r.phases
			p, w := pos/r.up, float32(pos%r.up)/float32(r.up)
			a := dot(x, r.taps[int(p)*n:int(p+1)*n])
			b := dot(x, r.taps[int(p+1)*n:int(p+2)*n])
			y = a + w*(b-a)
		}
		dst = append(dst, y)
		r.frac += r.down
		r.next += r.frac / r.up
		r.frac %= r.up
	}
	return dst
}

func dot(x, h []float32) float32 {
	x = x[:len(h)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(h); i += 4 {
		s0 += x[i] * h[i]
		s1 += x[i+1] * h[i+1]
		s2 += x[i+2] * h[i+2]
		s3 += x[i+3] * h[i+3]
	}
	for ; i < len(h); i++ {
		s0 += x[i] * h[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Resample converts a whole mono signal from rate from to rate to (Hz). It
// returns ceil(len(in)*to/from) samples, or nil when the rates are outside
// MinResampleRate..MaxResampleRate or more than 24 times apart.
func Resample(in []float32, from, to int) []float32 {
	r, err := NewResampler(from, to)
	if err != nil {
		return nil
	}
	n := (int64(len(in))*int64(to) + int64(from) - 1) / int64(from)
	out := make([]float32, 0, n)
	return r.Flush(r.Process(out, in))
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the zeroth-order modified Bessel function of the first kind.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 200; k++ {
		f := x / (2 * float64(k))
		term *= f * f
		sum += term
		if term < sum*1e-12 {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
