package stream

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

type segment struct{ start, end time.Duration }

func (s segment) String() string { return fmt.Sprintf("[%v, %v]", s.start, s.end) }

// speechScene is 1 s of silence, the phrase, 1.2 s of silence, the phrase
// again and 1 s of silence, at 16 kHz.
func speechScene(t *testing.T) []float32 {
	t.Helper()
	a, err := LoadWAV(filepath.Join("testdata", "speech-16k-mono-16.wav"))
	if err != nil {
		t.Fatal(err)
	}
	var s []float32
	s = append(s, make([]float32, SampleRate)...)
	s = append(s, a.Samples...)
	s = append(s, make([]float32, SampleRate*12/10)...)
	s = append(s, a.Samples...)
	return append(s, make([]float32, SampleRate)...)
}

// truth finds the speech in clean audio from its energy: 10 ms blocks within
// 30 dB of the loudest, joined across gaps shorter than 300 ms.
func truth(clean []float32) []segment {
	const block = SampleRate / 100
	var energies []float64
	peak := 0.0
	for i := 0; i+block <= len(clean); i += block {
		e := rms(clean[i:i+block]) + 1e-12
		energies = append(energies, e)
		peak = max(peak, e)
	}
	var segs []segment
	for i, e := range energies {
		if 20*math.Log10(e/peak) < -30 {
			continue
		}
		at := time.Duration(i) * 10 * time.Millisecond
		if n := len(segs); n > 0 && at-segs[n-1].end < 300*time.Millisecond {
			segs[n-1].end = at + 10*time.Millisecond
			continue
		}
		segs = append(segs, segment{at, at + 10*time.Millisecond})
	}
	return segs
}

// detect runs a VAD over x in 30 ms frames and pairs up its events.
func detect(t *testing.T, x []float32) []segment {
	t.Helper()
	v := NewVAD(VADConfig{})
	var segs []segment
	handle := func(ev Event) {
		switch ev.Kind {
		case SpeechStart:
			if n := len(segs); n > 0 && segs[n-1].end < 0 {
				t.Fatalf("two starts in a row at %v", ev.At)
			}
			segs = append(segs, segment{ev.At, -1})
		case SpeechEnd:
			n := len(segs)
			if n == 0 || segs[n-1].end >= 0 {
				t.Fatalf("end without start at %v", ev.At)
			}
			if ev.At < segs[n-1].start {
				t.Fatalf("speech ends at %v before it starts at %v", ev.At, segs[n-1].start)
			}
			segs[n-1].end = ev.At
		}
	}
	for i := 0; i < len(x); i += 480 {
		if ev, ok := v.Push(x[i:min(i+480, len(x))]); ok {
			handle(ev)
		}
	}
	if ev, ok := v.Flush(); ok {
		handle(ev)
	}
	return segs
}

func whiteNoise(rng *rand.Rand, n int, rmsLevel float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * rmsLevel)
	}
	return x
}

// pinkNoise filters white noise to a 1/f spectrum (Paul Kellet's economy
// filter) and scales it to rmsLevel.
func pinkNoise(rng *rand.Rand, n int, rmsLevel float64) []float32 {
	x := make([]float32, n)
	var b0, b1, b2 float64
	for i := range x {
		w := rng.NormFloat64()
		b0 = 0.99765*b0 + w*0.0990460
		b1 = 0.96300*b1 + w*0.2965164
		b2 = 0.57000*b2 + w*1.0526913
		x[i] = float32(b0 + b1 + b2 + w*0.1848)
	}
	scale := rmsLevel / rms(x)
	for i := range x {
		x[i] *= float32(scale)
	}
	return x
}

func dbfs(db float64) float64 { return math.Pow(10, db/20) }

func TestVADFindsSpeechInNoise(t *testing.T) {
	clean := speechScene(t)
	want := truth(clean)
	if len(want) != 2 {
		t.Fatalf("truth has %d segments, want the 2 utterances: %v", len(want), want)
	}
	// The phrase's RMS is about -22 dBFS.
	cases := []struct {
		name  string
		noise func(*rand.Rand, int, float64) []float32
		level float64 // dBFS
	}{
		{"clean", nil, 0},
		{"white -60 dBFS", whiteNoise, -60},
		{"white -42 dBFS (SNR 20 dB)", whiteNoise, -42},
		{"white -37 dBFS (SNR 15 dB)", whiteNoise, -37},
		{"pink -42 dBFS (SNR 20 dB)", pinkNoise, -42},
		{"pink -37 dBFS (SNR 15 dB)", pinkNoise, -37},
		{"white -32 dBFS (SNR 10 dB)", whiteNoise, -32},
		{"pink -32 dBFS (SNR 10 dB)", pinkNoise, -32},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := append([]float32(nil), clean...)
			if c.noise != nil {
				n := c.noise(rand.New(rand.NewPCG(uint64(i), 7)), len(x), dbfs(c.level))
				for j := range x {
					x[j] += n[j]
				}
			}
			got := detect(t, x)
			if len(got) != len(want) {
				t.Fatalf("found %v, want %v", got, want)
			}
			for k := range want {
				if d := (got[k].start - want[k].start).Abs(); d > 200*time.Millisecond {
					t.Errorf("utterance %d starts at %v, truth %v", k, got[k].start, want[k].start)
				}
				if d := (got[k].end - want[k].end).Abs(); d > 200*time.Millisecond {
					t.Errorf("utterance %d ends at %v, truth %v", k, got[k].end, want[k].end)
				}
			}
		})
	}
}

func TestVADIgnoresNoise(t *testing.T) {
	const seconds = 20
	for _, level := range []float64{-50, -35, -20, -10} {
		for _, kind := range []string{"white", "pink"} {
			t.Run(fmt.Sprintf("%s %v dBFS", kind, level), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(-level), 11))
				var x []float32
				if kind == "white" {
					x = whiteNoise(rng, seconds*SampleRate, dbfs(level))
				} else {
					x = pinkNoise(rng, seconds*SampleRate, dbfs(level))
				}
				if got := detect(t, x); len(got) != 0 {
					t.Fatalf("speech reported in pure noise: %v", got)
				}
			})
		}
	}
}

func TestVADIgnoresNoiseThatGetsLouder(t *testing.T) {
	// White noise rising 20 dB over ten seconds, then steady.
	rng := rand.New(rand.NewPCG(3, 3))
	x := whiteNoise(rng, 15*SampleRate, 1)
	for i := range x {
		p := min(1, float64(i)/float64(10*SampleRate))
		x[i] *= float32(dbfs(-50 + 20*p))
	}
	if got := detect(t, x); len(got) != 0 {
		t.Fatalf("speech reported in rising noise: %v", got)
	}
}

func TestVADDigitalSilence(t *testing.T) {
	if got := detect(t, make([]float32, 5*SampleRate)); len(got) != 0 {
		t.Fatalf("speech reported in silence: %v", got)
	}
}

func TestVADFlushEndsOpenSpeech(t *testing.T) {
	// Stop the stream in the middle of the second utterance.
	clean := speechScene(t)
	cut := clean[:SampleRate*33/10]
	got := detect(t, cut)
	if len(got) != 2 {
		t.Fatalf("found %v, want two utterances", got)
	}
	end := time.Duration(len(cut)) * time.Second / SampleRate
	if d := end - got[1].end; d < 0 || d > 200*time.Millisecond {
		t.Errorf("open utterance closed at %v, stream ended at %v", got[1].end, end)
	}
}

func TestVADResetRestartsTime(t *testing.T) {
	clean := speechScene(t)
	first := detect(t, clean)
	// The same VAD, reused after Flush, must give the same answer.
	v := NewVAD(VADConfig{})
	var again []Event
	for round := 0; round < 2; round++ {
		again = again[:0]
		for i := 0; i < len(clean); i += 480 {
			if ev, ok := v.Push(clean[i:min(i+480, len(clean))]); ok {
				again = append(again, ev)
			}
		}
		if ev, ok := v.Flush(); ok {
			again = append(again, ev)
		}
	}
	if len(again) != 2*len(first) || again[0].At != first[0].start || again[3].At != first[1].end {
		t.Fatalf("second stream gave %v, first %v", again, first)
	}
}

func TestVADFeatures(t *testing.T) {
	v := NewRuleDetector(VADConfig{})
	tone := sine(1000, SampleRate, 480, 0.5)
	f := v.Analyze(tone)
	if math.Abs(f.EnergyDB-(-9.03)) > 0.1 { // 0.5 amplitude: mean square 0.125
		t.Errorf("tone energy %.2f dB, want -9.03", f.EnergyDB)
	}
	if f.Flatness > 0.05 || f.BandRatio < 0.95 {
		t.Errorf("1 kHz tone: flatness %.3f, band ratio %.3f; want tonal and in band", f.Flatness, f.BandRatio)
	}
	noise := v.Analyze(whiteNoise(rand.New(rand.NewPCG(1, 1)), 480, 0.1))
	if noise.Flatness < 0.4 {
		t.Errorf("white noise flatness %.3f, want above 0.4", noise.Flatness)
	}
	low := v.Analyze(sine(100, SampleRate, 480, 0.5))
	if low.BandRatio > 0.1 {
		t.Errorf("100 Hz tone band ratio %.3f, want near 0", low.BandRatio)
	}
}

func BenchmarkVADPush(b *testing.B) {
	v := NewVAD(VADConfig{})
	frame := whiteNoise(rand.New(rand.NewPCG(1, 1)), 480, 0.05)
	b.SetBytes(480 * 4)
	for b.Loop() {
		v.Push(frame)
	}
}
