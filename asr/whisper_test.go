package asr

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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

// A decode cancelled part way stops at once with the context's error, and
// the decoder state it gives back serves the next decode as if nothing had
// happened.
func TestWhisperCancelMidDecode(t *testing.T) {
	w := loadTest(t, 1) // one state: the decode after the cancel reuses it
	// Greedy and short, so that the first window is quick and every decode
	// of the same audio gives the same text.
	opt := Options{Language: "en", Threads: 2, MaxTokens: 4, MaxFallbacks: -1}
	want, err := w.Transcribe(context.Background(), chirp(2), opt)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var progress []int
	cancelling := opt
	cancelling.Progress = func(p int) {
		// whisper.cpp reports progress as each window (up to 30 s) starts: cancel
		// when the second one does, after the first was decoded.
		progress = append(progress, p)
		if len(progress) == 2 {
			cancel()
		}
	}
	// 40 s: more than one window, so the decode reaches a second one.
	if _, err := w.Transcribe(ctx, chirp(40), cancelling); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(progress) != 2 {
		t.Errorf("progress reports %v: the decode went on past the window it was cancelled in", progress)
	}

	got, err := w.Transcribe(context.Background(), chirp(2), opt)
	if err != nil {
		t.Fatalf("decode after a cancelled one: %v", err)
	}
	if !sameText(got, want) {
		t.Errorf("decode after a cancelled one = %+v, want %+v as before it", got.Segments, want.Segments)
	}
}

// Close while decodes run and others wait for a worker: it waits for the
// running ones, and every decode after it is refused with ErrClosed.
func TestWhisperCloseRacesTranscribe(t *testing.T) {
	w := loadTest(t, 2)
	audio := chirp(2)
	running := make(chan struct{}, 1)
	opt := Options{Language: "en", Threads: 1, Progress: func(int) {
		select {
		case running <- struct{}{}:
		default:
		}
	}}
	// Four decoders on two workers, each decoding until the engine refuses.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for errs[i] == nil {
				_, errs[i] = w.Transcribe(context.Background(), audio, opt)
			}
		}()
	}
	<-running
	closed := make(chan error, 2)
	for range 2 {
		go func() { closed <- w.Close() }()
	}
	for range 2 {
		if err := <-closed; err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("decoder %d ended with %v, want ErrClosed", i, err)
		}
	}
	_, err := w.Transcribe(context.Background(), audio, Options{Language: "en"})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Transcribe after Close: err = %v, want ErrClosed", err)
	}
}

// syncBuffer is a log destination that callbacks on whisper.cpp's threads
// and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A panic in a callback that whisper.cpp makes must not unwind through its C
// frames: it is recovered and logged, and the decode goes on.
func TestWhisperRecoversPanicInProgress(t *testing.T) {
	var logs syncBuffer
	w, err := NewWhisper(WhisperConfig{ModelPath: testModel(t), Workers: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	opt := Options{Language: "en", Threads: 2, Progress: func(int) { panic("progress bug") }}
	if _, err := w.Transcribe(context.Background(), chirp(1), opt); err != nil {
		t.Fatalf("Transcribe: %v", err)
	}
	if out := logs.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "progress bug") {
		t.Errorf("log = %q, want the panic logged as an error", out)
	}
}

// Errors leaving the package say "asr: " once, also when one layer of the
// package wraps another's.
func TestErrorsSayASROnce(t *testing.T) {
	w := loadTest(t, 1)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, cancelErr := w.Transcribe(cancelled, chirp(1), Options{})
	_, langErr := w.Transcribe(context.Background(), chirp(1), Options{Language: "xx"})
	_, loadErr := NewWhisper(WhisperConfig{ModelPath: filepath.Join(t.TempDir(), "missing.bin")})
	formatErr := WriteResult(io.Discard, Result{}, 0, "docx")
	_, configErr := NewStream(StreamConfig{})
	w.Close()
	_, closedErr := w.Transcribe(context.Background(), chirp(1), Options{})
	_, streamErr := newTestStream(t, StreamConfig{Engine: w}).Push(context.Background(), chirp(1), 0)
	for name, err := range map[string]error{
		"cancelled": cancelErr, "language": langErr, "load": loadErr, "format": formatErr,
		"stream config": configErr, "closed": closedErr, "stream decode": streamErr,
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "asr: ") || strings.Count(msg, "asr:") != 1 {
			t.Errorf("%s: %q, want one \"asr: \" prefix", name, msg)
		}
	}
	if !errors.Is(streamErr, ErrClosed) {
		t.Errorf("stream decode on a closed engine: err = %v, want it to wrap ErrClosed", streamErr)
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

// deepStack uses about n KiB of the goroutine's stack, which grows to hold it.
//
//go:noinline
func deepStack(n int) byte {
	var pad [1024]byte
	pad[n%len(pad)] = byte(n)
	if n == 0 {
		return pad[0]
	}
	return deepStack(n-1) + pad[n%len(pad)]
}

// The decode's parameters are on the goroutine's stack for the call into whisper.cpp; when a
// collection shrinks that stack just then, the runtime checks every pointer field in them and
// rejects a value that is no pointer (as a cgo handle, a small integer, is not). Collections
// run without pause here while a goroutine with a grown stack decodes again and again.
func TestTranscribeSurvivesAStackThatMoves(t *testing.T) {
	w := loadTest(t, 1)
	audio := chirp(1)[:SampleRate/5]
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				runtime.GC()
			}
		}
	}()
	defer close(done)
	for range 8 {
		errs := make(chan error)
		go func() {
			for range 50 {
				deepStack(64)
				if _, err := w.Transcribe(context.Background(), audio, Options{Language: "en", MaxTokens: 1}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
