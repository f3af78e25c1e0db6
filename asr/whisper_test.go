package asr

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/models"
)

var (
	testModelOnce sync.Once
	testModelPath string
	testModelErr  error
)

// testModel generates the small random-weight model once per test binary.
func testModel(t testing.TB) string {
	t.Helper()
	testModelOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ledgerline-asr-")
		if err != nil {
			testModelErr = err
			return
		}
		testModelPath = filepath.Join(dir, "ggml-test.bin")
		testModelErr = models.GenerateRandomFile(testModelPath, models.ShapeTest, 7)
	})
	if testModelErr != nil {
		t.Fatalf("generate test model: %v", testModelErr)
	}
	return testModelPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testModelPath != "" {
		os.RemoveAll(filepath.Dir(testModelPath))
	}
	os.Exit(code)
}

// chirp is a speech-like test signal: a tone gliding through the voice band
// with a syllable-rate envelope.
func chirp(seconds float64) []float32 {
	n := int(seconds * SampleRate)
	out := make([]float32, n)
	for i := range out {
		t := float64(i) / SampleRate
		f := 150 + 100*math.Sin(2*math.Pi*0.5*t)
		env := 0.5 + 0.5*math.Sin(2*math.Pi*4*t)
		out[i] = float32(0.3 * env * math.Sin(2*math.Pi*f*t))
	}
	return out
}

func loadTest(t *testing.T, workers int) *Whisper {
	t.Helper()
	w, err := NewWhisper(WhisperConfig{ModelPath: testModel(t), Workers: workers})
	if err != nil {
		t.Fatalf("NewWhisper: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestWhisperTranscribeSegmentsInsideAudio(t *testing.T) {
	w := loadTest(t, 1)
	audio := chirp(3)
	const maxTokens = 6
	res, err := w.Transcribe(context.Background(), audio, Options{Language: "en", Threads: 2, MaxTokens: maxTokens})
	if err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	if res.Language != "en" {
		t.Errorf("language = %q, want en", res.Language)
	}
	dur := time.Duration(len(audio)) * time.Second / SampleRate
	for i, s := range res.Segments {
		if s.Start < 0 || s.End < s.Start || s.End > dur {
			t.Errorf("segment %d [%v, %v] lies outside the %v of audio", i, s.Start, s.End, dur)
		}
		if len(s.Tokens) > maxTokens {
			t.Errorf("segment %d has %d tokens, above the cap %d", i, len(s.Tokens), maxTokens)
		}
		for _, tok := range s.Tokens {
			if tok.P < 0 || tok.P > 1 || tok.ID >= w.eot || tok.End > dur {
				t.Errorf("segment %d token %+v is not a text token with a probability", i, tok)
			}
		}
	}
	t.Logf("%d segments: %+v", len(res.Segments), res.Segments)
}

func TestWhisperAutoDetectReportsALanguage(t *testing.T) {
	w := loadTest(t, 1)
	res, err := w.Transcribe(context.Background(), chirp(2), Options{Threads: 2})
	if err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	if !validLanguage(res.Language) {
		t.Errorf("detected language %q is not one the model knows", res.Language)
	}
}

func TestWhisperConcurrentStreamsAreIndependent(t *testing.T) {
	w := loadTest(t, 2)
	a, b := chirp(2), chirp(4)
	want := map[int]Result{}
	for i, pcm := range [][]float32{a, b} {
		r, err := w.Transcribe(context.Background(), pcm, Options{Language: "en", Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = r
	}
	var wg sync.WaitGroup
	got := make([]Result, 4)
	errs := make([]error, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = w.Transcribe(context.Background(), [][]float32{a, b}[i%2], Options{Language: "en", Threads: 1})
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("stream %d: %v", i, errs[i])
		}
		if !sameText(got[i], want[i%2]) {
			t.Errorf("stream %d result differs from its serial decode: %+v vs %+v", i, got[i].Segments, want[i%2].Segments)
		}
	}
}

func sameText(a, b Result) bool {
	if len(a.Segments) != len(b.Segments) {
		return false
	}
	for i := range a.Segments {
		if a.Segments[i].Text != b.Segments[i].Text || a.Segments[i].Start != b.Segments[i].Start {
			return false
		}
	}
	return true
}

func TestWhisperCancelledContext(t *testing.T) {
	w := loadTest(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Transcribe(ctx, chirp(1), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestWhisperRejectsBadInput(t *testing.T) {
	w := loadTest(t, 1)
	if _, err := w.Transcribe(context.Background(), nil, Options{}); !errors.Is(err, ErrNoAudio) {
		t.Errorf("empty audio: err = %v, want ErrNoAudio", err)
	}
	if _, err := w.Transcribe(context.Background(), chirp(1), Options{Language: "xx"}); !errors.Is(err, ErrLanguage) {
		t.Errorf("unknown language: err = %v, want ErrLanguage", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Transcribe(context.Background(), chirp(1), Options{}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: err = %v, want ErrClosed", err)
	}
}

func TestNewWhisperRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	notModel := filepath.Join(dir, "notes.txt")
	os.WriteFile(notModel, []byte("hello, this is not a model"), 0o644)
	good, err := os.ReadFile(testModel(t))
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.bin")
	os.WriteFile(truncated, good[:len(good)/2], 0o644)
	for _, tc := range []struct {
		path string
		want error
	}{
		{filepath.Join(dir, "missing.bin"), os.ErrNotExist},
		{notModel, models.ErrNotModel},
		{truncated, models.ErrCorrupt},
		{dir, models.ErrNotModel},
	} {
		_, err := NewWhisper(WhisperConfig{ModelPath: tc.path})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.path, err, tc.want)
		}
	}
}

func TestAudioCtxFor(t *testing.T) {
	for _, tc := range []struct{ seconds, want int }{{1, 192}, {10, 640}, {29, 1500}, {30, 1500}, {120, 1500}} {
		if got := audioCtxFor(tc.seconds*SampleRate, 1500); got != tc.want {
			t.Errorf("audioCtxFor(%ds) = %d, want %d", tc.seconds, got, tc.want)
		}
	}
}
