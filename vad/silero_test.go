package vad

import (
	"bytes"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/models"
	"github.com/ledgerline/ledgerline/stream"
)

func probs(t *testing.T, d *Detector, x []float32) []float32 {
	t.Helper()
	var out []float32
	for i := 0; i < len(x); i += FrameSize {
		p, err := d.Prob(x[i:min(i+FrameSize, len(x))])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestConvertedModelTellsSpeechFromSilence(t *testing.T) {
	m := loadModel(t)
	d, err := m.NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	x := meeting(t)
	p := probs(t, d, x)
	mask := speechMask(x)
	var speech, quiet []float32
	for i, v := range p {
		// A frame is counted only where the reference is the same across all of it.
		from, to := i*FrameSize/160, min((i+1)*FrameSize/160, len(mask))
		if from >= to {
			continue
		}
		switch all := mask[from:to]; {
		case !slices.Contains(all, false):
			speech = append(speech, v)
		case !slices.Contains(all, true):
			quiet = append(quiet, v)
		}
	}
	mean := func(v []float32) float32 {
		var s float32
		for _, x := range v {
			s += x
		}
		return s / float32(max(len(v), 1))
	}
	if len(speech) < 50 || len(quiet) < 20 {
		t.Fatalf("%d speech and %d quiet frames in the fixture", len(speech), len(quiet))
	}
	if mean(speech) < 0.7 || mean(quiet) > 0.1 {
		t.Errorf("mean probability %.2f in speech, %.2f in silence; want above 0.7 and below 0.1", mean(speech), mean(quiet))
	}
	// Digital silence and steady white noise are not speech.
	for name, x := range map[string][]float32{
		"silence": make([]float32, 3*stream.SampleRate),
		"white":   scaleTo(noise(rand.New(rand.NewPCG(1, 1)), "white", 3*stream.SampleRate), 0.05),
	} {
		d.Reset()
		if top := slices.Max(probs(t, d, x)); top >= 0.5 {
			t.Errorf("%s: highest probability %.2f, want below 0.5", name, top)
		}
	}
}

func TestDetectorResetRestartsTheStream(t *testing.T) {
	d, err := loadModel(t).NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	x := meeting(t)[:2*stream.SampleRate]
	first := probs(t, d, x)
	d.Reset()
	if again := probs(t, d, x); !slices.Equal(first, again) {
		t.Errorf("after Reset the same audio gave other probabilities")
	}
	// Without a reset the state carries on, and the start of the audio is judged otherwise.
	if cont := probs(t, d, x); slices.Equal(first, cont) {
		t.Errorf("the LSTM state does not carry from frame to frame")
	}
}

func TestDetectorClosed(t *testing.T) {
	d, err := loadModel(t).NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := d.Prob(make([]float32, FrameSize)); !errors.Is(err, ErrClosed) {
		t.Errorf("Prob after Close: %v, want ErrClosed", err)
	}
	var logged bytes.Buffer
	d.log = slog.New(slog.NewTextHandler(&logged, nil))
	silence := make([]float32, FrameSize)
	for range 2 {
		if !d.Speech(silence) {
			t.Error("a frame that cannot be judged must pass as speech")
		}
	}
	if n := strings.Count(logged.String(), "speech detection failed"); n != 1 {
		t.Errorf("failure logged %d times, want once:\n%s", n, logged.String())
	}
}

func TestLoadRefusesWhatIsNotAVADModel(t *testing.T) {
	dir := t.TempDir()
	whisper := filepath.Join(dir, "whisper.bin")
	if err := models.GenerateRandomFile(whisper, models.ShapeTest, 1); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(sileroModel(t))
	if err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short.bin")
	if err := os.WriteFile(short, good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{whisper, short} {
		if _, err := Load(Config{ModelPath: p}); !errors.Is(err, models.ErrNotVAD) {
			t.Errorf("%s: err = %v, want models.ErrNotVAD", filepath.Base(p), err)
		}
	}
	if _, err := Load(Config{ModelPath: filepath.Join(dir, "absent.bin")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: err = %v", err)
	}
}

// segment runs a Segmenter over x in 20 ms frames and returns its utterances as [start, end).
func segment(t *testing.T, seg *stream.Segmenter, x []float32) [][2]time.Duration {
	t.Helper()
	const step = stream.SampleRate / 50
	var chunks []stream.Chunk
	for i := 0; i < len(x); i += step {
		at := time.Duration(i) * time.Second / stream.SampleRate
		chunks = append(chunks, seg.Push(stream.Frame{Channel: "mic", At: at, Samples: x[i:min(i+step, len(x))]})...)
	}
	chunks = append(chunks, seg.Flush()...)
	var utts [][2]time.Duration
	open := false
	for _, c := range chunks {
		if !open {
			utts = append(utts, [2]time.Duration{c.At, c.At})
			open = true
		}
		utts[len(utts)-1][1] = c.EndAt()
		open = !c.End
	}
	return utts
}

func TestSegmenterWithSileroFindsTheUtterances(t *testing.T) {
	m := loadModel(t)
	newSeg := func() *stream.Segmenter {
		d, err := m.NewDetector()
		if err != nil {
			t.Fatal(err)
		}
		return stream.NewSegmenter(stream.SegmenterConfig{VAD: stream.VADConfig{Detector: d}})
	}
	clean := meeting(t)
	x := mix(clean, activeLevel(clean, speechMask(clean)), noise(rand.New(rand.NewPCG(3, 3)), "pink", len(clean)), 10)
	seg := newSeg()
	utts := segment(t, seg, x)
	if err := seg.Close(); err != nil {
		t.Fatal(err)
	}
	// The fixture's two sentences: 0.5 s of silence, about 3.3 s of speech, 1.2 s of silence, more.
	if len(utts) != 2 {
		t.Fatalf("utterances %v, want the fixture's 2 sentences", utts)
	}
	if utts[0][0] < 200*time.Millisecond || utts[0][0] > 600*time.Millisecond ||
		utts[1][0]-utts[0][1] < 700*time.Millisecond {
		t.Errorf("utterances %v: want the first from about 0.5 s and a pause of about 1.2 s between them", utts)
	}

	rng := rand.New(rand.NewPCG(4, 4))
	for name, bg := range map[string][]float32{
		"white noise": scaleTo(noise(rng, "white", 10*stream.SampleRate), 0.05),
		"brown noise": scaleTo(noise(rng, "brown", 10*stream.SampleRate), 0.1),
		"clicks":      scaleTo(clicks(rng, 10*stream.SampleRate), 0.05),
		"silence":     make([]float32, 10*stream.SampleRate),
	} {
		seg := newSeg()
		if got := segment(t, seg, bg); len(got) != 0 {
			t.Errorf("%s: utterances %v, want none", name, got)
		}
		seg.Close()
	}
}

func TestOpenWithoutAModel(t *testing.T) {
	t.Setenv(models.EnvBuildCache, t.TempDir()) // no ONNX weights there
	m, err := Open(&models.Cache{Dir: t.TempDir()}, nil)
	if m != nil || !errors.Is(err, models.ErrNoSilero) || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("Open in empty caches = %v, %v; want models.ErrNoSilero saying what to do", m, err)
	}
	if m.Detectors() != nil {
		t.Error("a nil Model gives detectors")
	}
	// Channels then run the rule-based detector, which still finds the sentences.
	if utts := segment(t, stream.NewSegmenter(stream.SegmenterConfig{}), meeting(t)); len(utts) == 0 {
		t.Error("the rule-based fallback found no speech")
	}
}

func TestOpenUsesTheModelInTheCache(t *testing.T) {
	path := sileroModel(t)
	cache := &models.Cache{Dir: filepath.Dir(path)}
	m, err := Open(cache, nil)
	if err != nil || m.Path() != path || m.Version() != "5.0.0" {
		t.Fatalf("Open = %+v, %v", m, err)
	}
	det := m.Detectors()()
	d, ok := det.(*Detector)
	if !ok || d.FrameSize() != FrameSize {
		t.Fatalf("Detectors() made %T", det)
	}
	d.Close()
	// A model file that became damaged is refused before whisper.cpp reads it.
	if err := os.WriteFile(path, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := Open(cache, nil); m != nil || !errors.Is(err, models.ErrNotVAD) {
		t.Errorf("Open of a damaged model = %v, %v; want models.ErrNotVAD", m, err)
	}
	// A channel that starts after the file was damaged falls back, and it is logged.
	var logged bytes.Buffer
	m.log = slog.New(slog.NewTextHandler(&logged, nil))
	if det := m.Detectors()(); det != nil {
		t.Errorf("a damaged model gave the channel %T", det)
	}
	if !strings.Contains(logged.String(), "rule-based") {
		t.Errorf("the fallback is not logged:\n%s", logged.String())
	}
}
