package stream

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

func sine(freq float64, rate, n int, amp float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return s
}

// goertzel returns the amplitude of the freq component of x.
func goertzel(x []float32, freq float64, rate int) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	re := s1 - s2*math.Cos(w)
	im := s2 * math.Sin(w)
	return 2 * math.Hypot(re, im) / float64(len(x))
}

func rms(x []float32) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

// middle drops the first and last tenth, away from the edges where the
// kernel meets the implied silence around the signal.
func middle(x []float32) []float32 { return x[len(x)/10 : len(x)-len(x)/10] }

func zeroCrossings(x []float32) int {
	n := 0
	for i := 1; i < len(x); i++ {
		if (x[i-1] < 0) != (x[i] < 0) {
			n++
		}
	}
	return n
}

func TestResampleKeepsToneFrequencyAndAmplitude(t *testing.T) {
	const amp = 0.5
	for _, from := range []int{8000, 11025, 22050, 44100, 48000, 16000, 44099} {
		t.Run(fmt.Sprint(from), func(t *testing.T) {
			in := sine(1000, from, from, amp) // one second
			out := middle(Resample(in, from, SampleRate))
			if got := goertzel(out, 1000, SampleRate); math.Abs(got-amp) > 0.01*amp {
				t.Errorf("1 kHz amplitude = %.4f, want %.4f ±1%%", got, amp)
			}
			if got := rms(out) * math.Sqrt2; math.Abs(got-amp) > 0.01*amp {
				t.Errorf("peak from RMS = %.4f, want %.4f ±1%%", got, amp)
			}
			// 1 kHz crosses zero 2000 times a second.
			want := 2000 * float64(len(out)) / SampleRate
			if got := float64(zeroCrossings(out)); math.Abs(got-want) > 2 {
				t.Errorf("zero crossings = %v, want %v ±2", got, want)
			}
		})
	}
}

func TestResampleRejectsAliases(t *testing.T) {
	// Tones above the 8 kHz output Nyquist fold back into the band unless the
	// filter removes them first.
	cases := []struct {
		from   int
		freq   float64
		folded float64 // where the alias would land at 16 kHz
	}{
		{48000, 10000, 6000},
		{48000, 8500, 7500},
		{44100, 12000, 4000},
		{22050, 9000, 7000},
		{32000, 15000, 1000},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v@%d", c.freq, c.from), func(t *testing.T) {
			out := middle(Resample(sine(c.freq, c.from, c.from, 1), c.from, SampleRate))
			level := rms(out) * math.Sqrt2
			if db := 20 * math.Log10(level); db > -40 {
				t.Errorf("output level %.1f dB, want below -40 dB", db)
			}
			if db := 20 * math.Log10(goertzel(out, c.folded, SampleRate)); db > -60 {
				t.Errorf("alias at %v Hz is %.1f dB, want below -60 dB", c.folded, db)
			}
		})
	}
}

func TestResampleUpsamplingLeavesNoImages(t *testing.T) {
	// 8 kHz → 16 kHz: a 3 kHz tone must not gain its 5 kHz image.
	out := middle(Resample(sine(3000, 8000, 8000, 0.5), 8000, SampleRate))
	if db := 20 * math.Log10(goertzel(out, 5000, SampleRate)/0.5); db > -60 {
		t.Errorf("5 kHz image at %.1f dB relative to the tone, want below -60 dB", db)
	}
}

func TestResampleLength(t *testing.T) {
	for _, from := range []int{8000, 11025, 16000, 22050, 44100, 48000, 47999} {
		for _, n := range []int{0, 1, 2, 3, 7, 160, 441, 1000, 44101} {
			out := Resample(make([]float32, n), from, SampleRate)
			want := math.Round(float64(n) * SampleRate / float64(from))
			if d := float64(len(out)) - want; d < -1 || d > 1 {
				t.Errorf("Resample(%d samples, %d→16000) gave %d samples, want %v ±1", n, from, len(out), want)
			}
		}
	}
}

func TestResampleStreamingMatchesOneShot(t *testing.T) {
	for _, from := range []int{8000, 22050, 44100, 48000, 44099} {
		t.Run(fmt.Sprint(from), func(t *testing.T) {
			in := sine(440, from, from/2, 0.3)
			for i := range in {
				in[i] += float32(math.Sin(float64(i)*0.37)) * 0.1
			}
			want := Resample(in, from, SampleRate)

			r, err := NewResampler(from, SampleRate)
			if err != nil {
				t.Fatal(err)
			}
			// Chunk sizes from 0 up to bigger than the kernel, in a fixed
			// irregular pattern.
			sizes := []int{0, 1, 17, 3, 480, 2, 1024, 99, 5}
			var got []float32
			for i, k := 0, 0; i < len(in); k++ {
				n := min(sizes[k%len(sizes)], len(in)-i)
				got = r.Process(got, in[i:i+n])
				i += n
			}
			got = r.Flush(got)
			if len(got) != len(want) {
				t.Fatalf("streaming gave %d samples, one-shot %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("sample %d: streaming %v, one-shot %v", i, got[i], want[i])
				}
			}

			// Flush reset the resampler: a second stream gives the same result.
			again := r.Flush(r.Process(nil, in))
			if len(again) != len(want) || again[len(again)/2] != want[len(want)/2] {
				t.Errorf("second stream after Flush differs from the first")
			}
		})
	}
}

func TestResampleIdentityAndUnityDC(t *testing.T) {
	in := sine(300, 16000, 1000, 0.7)
	out := Resample(in, 16000, 16000)
	if len(out) != len(in) || out[123] != in[123] {
		t.Fatalf("16 kHz → 16 kHz changed the signal")
	}
	dc := make([]float32, 44100)
	for i := range dc {
		dc[i] = 0.25
	}
	for _, v := range middle(Resample(dc, 44100, SampleRate)) {
		if math.Abs(float64(v)-0.25) > 1e-4 {
			t.Fatalf("DC 0.25 came out as %v", v)
		}
	}
}

func TestNewResamplerRejectsBadRates(t *testing.T) {
	for _, c := range [][2]int{{0, 16000}, {16000, -1}, {999, 16000}, {192001, 16000}, {1000, 48000}} {
		if _, err := NewResampler(c[0], c[1]); !errors.Is(err, ErrUnsupported) {
			t.Errorf("NewResampler(%d, %d) error = %v, want ErrUnsupported", c[0], c[1], err)
		}
		if out := Resample([]float32{1, 2, 3}, c[0], c[1]); out != nil {
			t.Errorf("Resample with rates %v returned %d samples, want nil", c, len(out))
		}
	}
}

func BenchmarkResample(b *testing.B) {
	for _, from := range []int{8000, 22050, 44100, 48000} {
		b.Run(fmt.Sprint(from), func(b *testing.B) {
			in := sine(440, from, from*10, 0.5) // ten seconds
			b.SetBytes(int64(len(in)) * 4)
			b.ReportAllocs()
			for b.Loop() {
				Resample(in, from, SampleRate)
			}
		})
	}
}

func BenchmarkResamplerStream(b *testing.B) {
	// A live 48 kHz source delivering 10 ms chunks.
	r, err := NewResampler(48000, SampleRate)
	if err != nil {
		b.Fatal(err)
	}
	chunk := sine(440, 48000, 480, 0.5)
	out := make([]float32, 0, 512)
	b.SetBytes(int64(len(chunk)) * 4)
	for b.Loop() {
		out = r.Process(out[:0], chunk)
	}
}
