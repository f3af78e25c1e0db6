package vad

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/espeak"

	"github.com/ledgerline/ledgerline/models"
	"github.com/ledgerline/ledgerline/stream"
)

// sileroModel converts the ONNX weights make deps fetches into a ggml file of the test's own,
// or skips the test when they are absent.
func sileroModel(t testing.TB) string {
	t.Helper()
	onnx, err := models.SileroONNXPath()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(onnx); err != nil {
		t.Skipf("the Silero VAD v5 weights are not at %s: run 'make deps' (scripts/silero.sh fetches them)", onnx)
	}
	out := filepath.Join(t.TempDir(), models.SileroConverted)
	if err := models.ConvertSileroFile(onnx, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func loadModel(t testing.TB) *Model {
	t.Helper()
	m, err := Load(Config{ModelPath: sileroModel(t)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// meeting is two sentences spoken by espeak-ng with 1.2 s between them and 0.5 s of silence
// either side, 16 kHz mono (the stream package's fixture).
func meeting(t testing.TB) []float32 {
	t.Helper()
	a, err := stream.LoadWAV(filepath.Join("..", "stream", "testdata", "meeting-16k-mono-16.wav"))
	if err != nil {
		t.Fatal(err)
	}
	return a.Samples
}

// speak says text with espeak-ng at 16 kHz, or skips the test where espeak-ng is missing.
func speak(t testing.TB, voice, text string) []float32 {
	t.Helper()
	speech, err := espeak.Say(context.Background(), text, "-v", voice)
	if errors.Is(err, espeak.ErrMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return speech
}

// sox renders a synthesised sound (sox's synth effect and others) at 16 kHz mono, or skips.
func sox(t testing.TB, args ...string) []float32 {
	t.Helper()
	if _, err := exec.LookPath("sox"); err != nil {
		t.Skip("sox is not installed: run 'make deps'")
	}
	// Raw samples: sox cannot seek back on a pipe to fill in a WAV header's sizes.
	cmd := exec.Command("sox", append([]string{"-n", "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", "-L", "-t", "raw", "-"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sox %v: %v", args, err)
	}
	x := make([]float32, len(out)/2)
	for i := range x {
		x[i] = float32(int16(binary.LittleEndian.Uint16(out[2*i:]))) / 32768
	}
	return x
}

// noise returns n samples of white, pink or brown noise of unit RMS.
func noise(rng *rand.Rand, kind string, n int) []float32 {
	out := make([]float32, n)
	var b [7]float64 // Paul Kellet's pink filter state
	var brown float64
	for i := range out {
		w := rng.NormFloat64()
		switch kind {
		case "white":
			out[i] = float32(w)
		case "pink":
			b[0] = 0.99886*b[0] + w*0.0555179
			b[1] = 0.99332*b[1] + w*0.0750759
			b[2] = 0.96900*b[2] + w*0.1538520
			b[3] = 0.86650*b[3] + w*0.3104856
			b[4] = 0.55000*b[4] + w*0.5329522
			b[5] = -0.7616*b[5] - w*0.0168980
			out[i] = float32(b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w*0.5362)
			b[6] = w * 0.115926
		case "brown":
			brown = 0.998*brown + 0.05*w // leaky, so it does not wander off
			out[i] = float32(brown)
		}
	}
	return scaleTo(out, 1)
}

// clicks are keyboard-like: a short decaying burst of noise every 80–300 ms.
func clicks(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for at := 0; at < n; at += 1280 + rng.IntN(3520) {
		for j := 0; j < 160 && at+j < n; j++ {
			out[at+j] = float32(rng.NormFloat64() * math.Exp(-float64(j)/25))
		}
	}
	return scaleTo(out, 1)
}

// music is tones, chords and drums from sox, looped to n samples, of unit RMS.
func music(t testing.TB, n int) []float32 {
	parts := [][]float32{
		sox(t, "synth", "2", "sine", "440", "sine", "554", "sine", "659", "remix", "-"),                 // A major chord
		sox(t, "synth", "1.5", "pluck", "C3", "pluck", "E3", "pluck", "G3", "remix", "-"),               // plucked C chord
		sox(t, "synth", "1", "square", "220-880", "vol", "0.3"),                                         // a sweep
		sox(t, "synth", "0.12", "noise", "fade", "0", "0.12", "0.1", "pad", "0", "0.38", "repeat", "5"), // drums
		sox(t, "synth", "2", "sawtooth", "110", "sine", "330", "remix", "-", "tremolo", "6", "60"),      // bass with tremolo
	}
	var loop []float32
	for _, p := range parts {
		loop = append(loop, scaleTo(p, 1)...)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = loop[i%len(loop)]
	}
	return out
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(x), 1)))
}

// scaleTo scales x in place to the given RMS.
func scaleTo(x []float32, level float64) []float32 {
	if r := rms(x); r > 0 {
		g := float32(level / r)
		for i := range x {
			x[i] *= g
		}
	}
	return x
}

// mix adds bg to speech so that the speech's active level is snr dB above bg's.
func mix(speech []float32, active float64, bg []float32, snr float64) []float32 {
	out := make([]float32, len(speech))
	g := float32(active / math.Pow(10, snr/20))
	for i := range out {
		out[i] = speech[i] + g*bg[i%len(bg)]
	}
	return out
}

// speechMask marks, per 10 ms, where the clean signal holds speech: frames within 40 dB of its
// loudest, pauses under 150 ms bridged.
func speechMask(clean []float32) []bool {
	const hop = stream.SampleRate / 100
	mask := make([]bool, len(clean)/hop)
	var peak float64
	for i := range mask {
		peak = max(peak, rms(clean[i*hop:(i+1)*hop]))
	}
	for i := range mask {
		mask[i] = rms(clean[i*hop:(i+1)*hop]) > peak/100
	}
	last := -1
	for i, s := range mask {
		if !s {
			continue
		}
		if last >= 0 && i-last <= 15 {
			for j := last + 1; j < i; j++ {
				mask[j] = true
			}
		}
		last = i
	}
	return mask
}

// activeLevel is the RMS of the speech frames of clean.
func activeLevel(clean []float32, mask []bool) float64 {
	const hop = stream.SampleRate / 100
	var s float64
	var n int
	for i, on := range mask {
		if on {
			for _, v := range clean[i*hop : (i+1)*hop] {
				s += float64(v) * float64(v)
			}
			n += hop
		}
	}
	return math.Sqrt(s / float64(max(n, 1)))
}

// detected marks, per 10 ms, where a VAD with det (nil: the rule-based one) finds speech.
func detected(det stream.FrameDetector, x []float32) []bool {
	v := stream.NewVAD(stream.VADConfig{Detector: det})
	mask := make([]bool, len(x)/(stream.SampleRate/100))
	var start time.Duration = -1
	mark := func(from, to time.Duration) {
		for i := int(from / (10 * time.Millisecond)); i < len(mask) && time.Duration(i)*10*time.Millisecond < to; i++ {
			mask[i] = true
		}
	}
	size := v.FrameSize()
	for i := 0; i < len(x); i += size {
		ev, ok := v.Push(x[i:min(i+size, len(x))])
		if !ok {
			continue
		}
		if ev.Kind == stream.SpeechStart {
			start = ev.At
		} else {
			mark(start, ev.At)
		}
	}
	if ev, ok := v.Flush(); ok {
		mark(start, ev.At)
	}
	return mask
}
