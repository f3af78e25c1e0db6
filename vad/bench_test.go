package vad

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/models"
	"github.com/ledgerline/ledgerline/stream"
)

// The benchmark compares the two detectors behind the same VAD smoothing and Segmenter:
//
//   - precision and recall of speech, per 10 ms of the speech regions the VAD reports, on
//     espeak-ng speech mixed with white, pink and brown noise, synthetic music and keyboard-like
//     clicks at 20, 10, 5 and 0 dB SNR (speech level over the whole background);
//   - on ten minutes of non-speech (those backgrounds, and breathing, at two levels each), the
//     audio the Segmenter passes on and the segments a RANDOM-WEIGHT Whisper model of the test
//     shape transcribes from it: a figure of what reaches the recogniser, not of transcription;
//   - CPU seconds each detector spends per hour of audio (the non-speech, judged frame by frame).
//
// make bench runs it through scripts/bench.sh, which prints the table.

var (
	benchBackgrounds = []string{"white", "pink", "brown", "music", "clicks"}
	benchSNRs        = []int{20, 10, 5, 0}
)

// benchSpeech is about 40 s of espeak-ng sentences in four voices with 0.8–2 s pauses.
func benchSpeech(b *testing.B) []float32 {
	sentences := []string{
		"Thanks everyone for joining, let's go through the integration plan.",
		"I will send the revised proposal by Friday afternoon.",
		"Can you confirm the data retention requirements with your legal team?",
		"We need the API keys before we can start the pilot.",
		"The budget was approved last week, so we are ready to move.",
		"Let's schedule a follow up call for next Tuesday at ten.",
		"Our security review usually takes about two weeks.",
		"I think the main risk is the migration of historical records.",
	}
	voices := []string{"en-us", "en", "en-us+f3", "en+m3"}
	rng := rand.New(rand.NewPCG(11, 12))
	x := make([]float32, stream.SampleRate)
	for i, s := range sentences {
		x = append(x, speak(b, voices[i%len(voices)], s)...)
		x = append(x, make([]float32, 12800+rng.IntN(19200))...)
	}
	return x
}

func background(b *testing.B, rng *rand.Rand, kind string, n int) []float32 {
	switch kind {
	case "music":
		return music(b, n)
	case "clicks":
		return clicks(rng, n)
	case "breath":
		// Brown-ish noise through a breathing envelope: in and out every 3–4 s.
		x := noise(rng, "pink", n)
		br := noise(rng, "brown", n)
		for i := range x {
			env := math.Max(0, math.Sin(2*math.Pi*float64(i)/float64(stream.SampleRate)/3.5))
			x[i] = float32(env*env) * (0.3*x[i] + br[i])
		}
		return scaleTo(x, 1)
	default:
		return noise(rng, kind, n)
	}
}

func score(truth, got []bool) (precision, recall float64) {
	var tp, fp, fn float64
	for i := range min(len(truth), len(got)) {
		switch {
		case truth[i] && got[i]:
			tp++
		case got[i]:
			fp++
		case truth[i]:
			fn++
		}
	}
	return tp / math.Max(tp+fp, 1), tp / math.Max(tp+fn, 1)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkDetectors(b *testing.B) {
	path := sileroModel(b)
	m, err := Load(Config{ModelPath: path})
	if err != nil {
		b.Fatal(err)
	}
	// Our default threshold (DefaultThreshold) beside Silero's own, 0.5, which lets more
	// non-speech through.
	lenient, err := Load(Config{ModelPath: path, Threshold: 0.5})
	if err != nil {
		b.Fatal(err)
	}
	detectors := map[string]func() stream.FrameDetector{
		"rule":      func() stream.FrameDetector { return nil },
		"silero":    m.Detectors(),
		"silero0.5": lenient.Detectors(),
	}
	clean := benchSpeech(b)
	truth := speechMask(clean)
	level := activeLevel(clean, truth)
	rng := rand.New(rand.NewPCG(21, 22))
	backgrounds := map[string][]float32{}
	for _, kind := range append(benchBackgrounds, "breath") {
		backgrounds[kind] = background(b, rng, kind, len(clean))
	}
	nonSpeech := benchNonSpeech(b, backgrounds)

	model := filepath.Join(b.TempDir(), "random.bin")
	if err := models.GenerateRandomFile(model, models.ShapeTest, 1); err != nil {
		b.Fatal(err)
	}
	w, err := asr.NewWhisper(asr.WhisperConfig{ModelPath: model, Workers: 1, Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()

	for range b.N {
		for name, newDet := range detectors {
			for _, kind := range benchBackgrounds {
				for _, snr := range benchSNRs {
					x := mix(clean, level, backgrounds[kind], float64(snr))
					p, r := score(truth, detected(newDet(), x))
					b.ReportMetric(100*p, fmt.Sprintf("%s-%s-%ddB-P%%", name, kind, snr))
					b.ReportMetric(100*r, fmt.Sprintf("%s-%s-%ddB-R%%", name, kind, snr))
				}
			}
			start := cpuTime()
			detected(newDet(), nonSpeech)
			hours := float64(len(nonSpeech)) / stream.SampleRate / 3600
			b.ReportMetric((cpuTime()-start).Seconds()/hours, name+"-cpu-s/h")

			passed, segments := transcribePassed(b, w, newDet(), nonSpeech)
			b.ReportMetric(passed, name+"-nonspeech-passed-s")
			b.ReportMetric(float64(segments), name+"-nonspeech-segments")
		}
	}
	b.ReportMetric(float64(len(nonSpeech))/stream.SampleRate, "nonspeech-s")
	b.ReportMetric(float64(len(clean))/stream.SampleRate, "speech-s")
}

// benchNonSpeech is ten minutes of the backgrounds one after another, each at -20 and -35 dBFS.
func benchNonSpeech(b *testing.B, backgrounds map[string][]float32) []float32 {
	kinds := append(benchBackgrounds, "breath")
	per := 600 * stream.SampleRate / (2 * len(kinds))
	var x []float32
	for _, kind := range kinds {
		for _, dbfs := range []float64{-20, -35} {
			bg := backgrounds[kind]
			g := float32(math.Pow(10, dbfs/20))
			for i := range per {
				x = append(x, g*bg[i%len(bg)])
			}
		}
	}
	return x
}

// transcribePassed runs a Segmenter with det over x and transcribes each utterance it passes
// with the engine, as the live pipeline would: it returns the seconds passed and the segments.
func transcribePassed(b *testing.B, w *asr.Whisper, det stream.FrameDetector, x []float32) (float64, int) {
	seg := stream.NewSegmenter(stream.SegmenterConfig{VAD: stream.VADConfig{Detector: det}})
	defer seg.Close()
	var utt []float32
	var passed float64
	segments := 0
	take := func(chunks []stream.Chunk) {
		for _, c := range chunks {
			utt = append(utt, c.Samples...)
			if !c.End {
				continue
			}
			passed += float64(len(utt)) / stream.SampleRate
			res, err := w.Transcribe(context.Background(), utt, asr.Options{Language: "en"})
			if err != nil {
				b.Fatal(err)
			}
			segments += len(res.Segments)
			utt = utt[:0]
		}
	}
	const step = stream.SampleRate / 50
	for i := 0; i < len(x); i += step {
		take(seg.Push(stream.Frame{Channel: "mic", At: time.Duration(i) * time.Second / stream.SampleRate, Samples: x[i:min(i+step, len(x))]}))
	}
	take(seg.Flush())
	return passed, segments
}
