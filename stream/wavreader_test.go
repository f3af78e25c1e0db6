package stream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
	"github.com/ledgerline/ledgerline/internal/leaktest"
)

// testFormat is a WAV layout the tests write with go-audio/wav.
type testFormat struct {
	rate, channels, bits int
	float                bool
}

func (f testFormat) String() string {
	enc := "pcm"
	if f.float {
		enc = "float"
	}
	return fmt.Sprintf("%dHz-%dch-%dbit-%s", f.rate, f.channels, f.bits, enc)
}

// testSignal is frames of interleaved audio in [-0.6, 0.6]: a tone sweeping
// up, a different phase on each channel, with a little deterministic noise.
func testSignal(rate, channels, frames int) []float64 {
	x := make([]float64, frames*channels)
	seed := uint32(1)
	for i := range frames {
		tm := float64(i) / float64(rate)
		for c := range channels {
			seed = seed*1664525 + 1013904223
			noise := float64(seed>>8)/(1<<24) - 0.5
			x[i*channels+c] = 0.5*math.Sin(2*math.Pi*(200+300*tm)*tm+float64(c)) + 0.1*noise
		}
	}
	return x
}

// writeTestWAV writes x (interleaved, in [-1, 1]) as a WAV file of format f
// with go-audio/wav's encoder and returns the mono audio a decoder must find
// at the file's rate: each sample quantised as stored, the channels averaged.
func writeTestWAV(t testing.TB, path string, f testFormat, x []float64) []float32 {
	t.Helper()
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	stored := make([]float64, len(x))
	if f.float {
		enc := wav.NewEncoder(file, f.rate, 32, f.channels, tagFloat)
		frame := make([]float32, f.channels)
		for i := 0; i < len(x); i += f.channels {
			for c := range frame {
				frame[c] = float32(x[i+c])
				stored[i+c] = float64(frame[c])
			}
			if err := enc.WriteFrame(frame); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		full := float64(int64(1) << (f.bits - 1))
		ints := make([]int, len(x))
		for i, v := range x {
			q := int(math.Round(v * (full - 1)))
			stored[i] = float64(q) / full
			if f.bits == 8 {
				q += 128 // unsigned
			}
			ints[i] = q
		}
		enc := wav.NewEncoder(file, f.rate, f.bits, f.channels, tagPCM)
		buf := &audio.IntBuffer{Format: &audio.Format{NumChannels: f.channels, SampleRate: f.rate}, Data: ints, SourceBitDepth: f.bits}
		if err := enc.Write(buf); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	mono := make([]float32, len(x)/f.channels)
	for i := range mono {
		var sum float64
		for c := range f.channels {
			sum += stored[i*f.channels+c]
		}
		mono[i] = float32(sum / float64(f.channels))
	}
	return mono
}

// writeBigWAV writes seconds of a 48 kHz stereo 16-bit tone as fast as the
// disk takes it, for the tests that need a large file.
func writeBigWAV(t testing.TB, path string, seconds int) int64 {
	t.Helper()
	const rate, channels = 48000, 2
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	w := bufio.NewWriterSize(file, 1<<20)
	dataLen := int64(seconds) * rate * channels * 2
	hdr := wavFile(chunk("fmt ", fmtChunk(tagPCM, channels, rate, 16)))
	hdr = append(hdr, "data"...)
	hdr = append(hdr, le32(int32(dataLen))...)
	copy(hdr[4:8], le32(int32(int64(len(hdr))-8+dataLen)))
	w.Write(hdr)
	second := make([]byte, 0, rate*channels*2)
	for i := range rate {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/rate))
		second = append(second, le16(v, -v)...)
	}
	for range seconds {
		if _, err := w.Write(second); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return int64(len(hdr)) + dataLen
}

// readChunks reads w to its end, returning the chunks.
func readChunks(t testing.TB, w *WAVReader) [][]float32 {
	t.Helper()
	var chunks [][]float32
	for {
		c, err := w.Read(context.Background())
		if errors.Is(err, io.EOF) {
			return chunks
		}
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, c)
	}
}

func TestWAVReaderMatchesWholeDecode(t *testing.T) {
	formats := []testFormat{
		{16000, 1, 16, false},
		{8000, 1, 8, false},
		{8000, 2, 16, false},
		{11025, 3, 16, false},
		{22050, 1, 24, false},
		{44100, 2, 16, false},
		{44100, 2, 24, false},
		{48000, 1, 32, false},
		{48000, 2, 32, true},
		{44100, 1, 32, true},
	}
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.wav")
			frames := f.rate*23/10 + 7 // a few chunks and a short last one
			mono := writeTestWAV(t, path, f, testSignal(f.rate, f.channels, frames))

			// The whole file at its own rate is exactly the signal as stored.
			raw, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			d, err := DecodeWAV(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(d.Samples, mono) {
				t.Fatalf("DecodeWAV differs from the signal written (%d samples, want %d)", len(d.Samples), len(mono))
			}
			whole := Resample(mono, f.rate, SampleRate)

			w, err := OpenWAV(path)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			wantFmt := Format{SampleRate: f.rate, Channels: f.channels, BitDepth: f.bits, Encoding: EncodingPCM}
			if f.float {
				wantFmt.Encoding = EncodingFloat
			}
			if w.Format() != wantFmt || w.Duration() != framesDuration(int64(frames), f.rate) ||
				w.Len() != int64(len(whole)) || w.Position() != 0 {
				t.Fatalf("reader says %v, %v, %d samples, at %v; want %v, %v, %d, 0", w.Format(), w.Duration(),
					w.Len(), w.Position(), wantFmt, framesDuration(int64(frames), f.rate), len(whole))
			}
			chunks := readChunks(t, w)
			if len(chunks) != 3 {
				t.Errorf("%d chunks for 2.3 s, want 3 of up to 1 s", len(chunks))
			}
			var streamed []float32
			for i, c := range chunks {
				if len(c) > SampleRate+SampleRate/100 {
					t.Errorf("chunk %d holds %d samples, more than a second's", i, len(c))
				}
				streamed = append(streamed, c...)
			}
			if w.Position() != w.Duration() {
				t.Errorf("at the end the reader is at %v of %v", w.Position(), w.Duration())
			}
			if _, err := w.Read(context.Background()); !errors.Is(err, io.EOF) {
				t.Errorf("Read after the end: %v, want io.EOF", err)
			}

			if len(streamed) != len(whole) {
				t.Fatalf("streamed %d samples, whole %d", len(streamed), len(whole))
			}
			if f.rate == SampleRate && f.channels == 1 && f.bits == 16 {
				if !slices.Equal(streamed, whole) {
					t.Fatal("16 kHz mono 16-bit: streamed samples differ from the whole decode")
				}
			}
			for i := range whole {
				if d := math.Abs(float64(streamed[i] - whole[i])); d > 1e-6 {
					t.Fatalf("sample %d: streamed %v, whole %v", i, streamed[i], whole[i])
				}
			}

			// LoadWAV and ReadWAV are the same stream, read to its end.
			a, err := LoadWAV(path)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Samples, streamed) || a.Source != wantFmt || a.Duration != w.Duration() {
				t.Errorf("LoadWAV differs from the streamed read")
			}
			if _, err := raw.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			b, err := ReadWAV(raw)
			if err != nil || !slices.Equal(b.Samples, streamed) {
				t.Errorf("ReadWAV differs from the streamed read (error %v)", err)
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	io.ReadSeeker
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadSeeker.Read(p)
	c.n += int64(n)
	return n, err
}

func TestWAVReaderStopsOnCancelAndResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.wav")
	size := writeBigWAV(t, path, 10)
	want, err := LoadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	src := &countingReader{ReadSeeker: f}
	w, err := newWAVReader(src, f)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	ctx, cancel := context.WithCancel(context.Background())
	got, err := w.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	read := src.n
	for range 3 {
		c, err := w.Read(ctx)
		if !errors.Is(err, context.Canceled) || c != nil {
			t.Fatalf("Read on a cancelled context: %d samples, %v; want none and context.Canceled", len(c), err)
		}
	}
	if src.n != read || read > size/5 {
		t.Fatalf("read %d of %d bytes, %d of them after the cancel", src.n, size, src.n-read)
	}
	if w.Position() != time.Second {
		t.Errorf("stopped at %v, want 1s", w.Position())
	}
	// A live context goes on where the cancelled one stopped.
	for _, c := range readChunks(t, w) {
		got = append(got, c...)
	}
	if !slices.Equal(got, want.Samples) {
		t.Fatalf("resumed read differs from LoadWAV (%d samples, want %d)", len(got), len(want.Samples))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Read(context.Background()); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("Read after Close: %v, want an error", err)
	}
}

func TestLoadWAVContextStopsOnCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.wav")
	writeBigWAV(t, path, 60)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls int
	var last, total time.Duration
	a, err := LoadWAVContext(ctx, path, func(done, all time.Duration) {
		if done < last || (calls == 0 && done != 0) {
			t.Errorf("progress %v after %v", done, last)
		}
		calls++
		last, total = done, all
		if calls == 3 {
			cancel() // as Ctrl-C would, two seconds into a minute
		}
	})
	if !errors.Is(err, context.Canceled) || a != nil {
		t.Fatalf("cancelled load: %v, %v; want no audio and context.Canceled", a, err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "stopped after 2s of 1m0s") {
		t.Errorf("error %q does not say which file and how far the read got", err)
	}
	if calls != 3 || last != 2*time.Second || total != time.Minute {
		t.Errorf("%d progress calls, the last at %v of %v; want 3, at 2s of 1m0s", calls, last, total)
	}

	// Cancelled before it starts: nothing but the header is read.
	calls = 0
	if _, err := LoadWAVContext(ctx, path, func(done, _ time.Duration) {
		calls++
		if done != 0 {
			t.Errorf("progress %v on a cancelled context", done)
		}
	}); !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("load on a cancelled context: %v after %d progress calls", err, calls)
	}
}

func TestLoadWAVContextProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.wav")
	writeTestWAV(t, path, testFormat{44100, 2, 16, false}, testSignal(44100, 2, 44100*5/2))
	var seen []time.Duration
	a, err := LoadWAVContext(context.Background(), path, func(done, total time.Duration) {
		if total != 2500*time.Millisecond {
			t.Errorf("total %v, want 2.5s", total)
		}
		seen = append(seen, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{0, time.Second, 2 * time.Second, 2500 * time.Millisecond}; !slices.Equal(seen, want) {
		t.Errorf("progress %v, want %v", seen, want)
	}
	if len(a.Samples) != SampleRate*5/2 {
		t.Errorf("%d samples, want %d", len(a.Samples), SampleRate*5/2)
	}
}

func TestOpenWAVErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenWAV(filepath.Join(dir, "absent.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	notes := filepath.Join(dir, "notes.wav")
	if err := os.WriteFile(notes, []byte("meeting notes, not audio"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWAV(notes); !errors.Is(err, ErrNotWAV) || !strings.Contains(err.Error(), notes) {
		t.Errorf("not a WAV file: %v", err)
	}
	full := filepath.Join(dir, "full.wav")
	writeTestWAV(t, full, testFormat{48000, 2, 24, false}, testSignal(48000, 2, 48000*2))
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.wav")
	if err := os.WriteFile(cut, b[:len(b)*3/4+1], 0o600); err != nil {
		t.Fatal(err)
	}
	// The reader refuses a cut file; LoadWAV gives what it holds, with the error.
	if w, err := OpenWAV(cut); !errors.Is(err, ErrTruncated) || w != nil || !strings.Contains(err.Error(), cut) {
		t.Errorf("cut file: %v, %v; want ErrTruncated naming it", w, err)
	}
	a, err := LoadWAV(cut)
	if !errors.Is(err, ErrTruncated) || a == nil {
		t.Fatalf("LoadWAV of a cut file: %v, %v", a, err)
	}
	whole, err := LoadWAV(full)
	if err != nil {
		t.Fatal(err)
	}
	if d := a.Duration - 1500*time.Millisecond; d.Abs() > time.Millisecond {
		t.Errorf("cut file holds %v, want 1.5s", a.Duration)
	}
	// Away from the cut, where the kernel sees the same input, the audio is the same.
	n := len(a.Samples) - SampleRate/100
	for i := range n {
		if a.Samples[i] != whole.Samples[i] {
			t.Fatalf("sample %d of the cut file is %v, the whole file's %v", i, a.Samples[i], whole.Samples[i])
		}
	}
}

// TestLoadWAVHeapStaysNearItsResult decodes a 50 MB file and samples the
// heap between chunks: it grows by the 16 kHz result and little else.
func TestLoadWAVHeapStaysNearItsResult(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 50 MB file")
	}
	path := filepath.Join(t.TempDir(), "big.wav")
	writeBigWAV(t, path, 273) // 50 MB; 17.5 MB at 16 kHz
	growth, out := loadHeapGrowth(t, path)
	if ratio := float64(growth) / float64(out); ratio > 1.5 {
		t.Fatalf("the heap grew by %.1f MB for a %.1f MB result (%.2f×), want at most 1.5×",
			float64(growth)/(1<<20), float64(out)/(1<<20), ratio)
	}
}

// loadHeapGrowth loads path and reports the peak heap growth during the load
// and the size of the result, in bytes.
func loadHeapGrowth(t testing.TB, path string) (growth, out uint64) {
	t.Helper()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	a, err := LoadWAVContext(context.Background(), path, func(time.Duration, time.Duration) {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapAlloc)
	return peak - base, uint64(len(a.Samples)) * 4
}

// BenchmarkLoadWAVLarge decodes a 200 MB 48 kHz stereo 16-bit file (18 min)
// and reports the peak heap growth as a multiple of the 16 kHz result.
func BenchmarkLoadWAVLarge(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.wav")
	size := writeBigWAV(b, path, 1092)
	b.SetBytes(size)
	var ratio float64
	for b.Loop() {
		growth, out := loadHeapGrowth(b, path)
		ratio = max(ratio, float64(growth)/float64(out))
	}
	b.ReportMetric(ratio, "peak-heap/result")
}

func TestReplayReadsTheFileAsItPlays(t *testing.T) {
	leaktest.Check(t)
	path := filepath.Join(t.TempDir(), "call.wav")
	f := testFormat{44100, 2, 16, false}
	writeTestWAV(t, path, f, testSignal(f.rate, f.channels, f.rate*5))
	want, err := LoadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReplay(path, "call", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Duration() != 5*time.Second {
		t.Errorf("Duration() = %v, want 5s", r.Duration())
	}
	out := make(chan Frame)
	done := make(chan error, 1)
	go func() { done <- r.Start(context.Background(), out) }()
	first := <-out

	// The replay holds the first second; silence the file from 3 s on.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	from := len(b) - 2*f.rate*f.channels*2
	clear(b[from:])
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}

	joined := first.Samples
	for {
		select {
		case fr := <-out:
			if fr.At != samplesDuration(int64(len(joined))) || (len(fr.Samples) != 320 && fr.End() != r.Duration()) {
				t.Fatalf("frame at %v of %d samples after %d samples", fr.At, len(fr.Samples), len(joined))
			}
			joined = append(joined, fr.Samples...)
			continue
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		}
		break
	}
	if len(joined) != len(want.Samples) {
		t.Fatalf("replayed %d samples, the file holds %d", len(joined), len(want.Samples))
	}
	// What was played before 2.9 s is the file as it was; after 3.1 s, as it is now.
	if !slices.Equal(joined[:SampleRate*29/10], want.Samples[:SampleRate*29/10]) {
		t.Error("the first 2.9 s differ from the file")
	}
	for i, v := range joined[SampleRate*31/10:] {
		if v != 0 {
			t.Fatalf("sample %d is %v: the replay did not read the silenced part as it played", SampleRate*31/10+i, v)
		}
	}
}

func TestReplayFileStopsOnCancel(t *testing.T) {
	leaktest.Check(t)
	path := filepath.Join(t.TempDir(), "big.wav")
	writeBigWAV(t, path, 60)
	r, err := NewReplay(path, "mic", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Frame)
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx, out) }()
	var last Frame
	for range 3 {
		last = <-out
	}
	cancel()
	// Nobody reads any more: the replay must not wait to send, nor read on.
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Start returned %v after cancel, want context.Canceled", err)
	}
	if last.End() != 60*time.Millisecond {
		t.Errorf("third frame ends at %v", last.End())
	}
}

func TestReplayRefusesAFileThatChanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "call.wav")
	writeTestWAV(t, path, testFormat{16000, 1, 16, false}, testSignal(16000, 1, 16000))
	r, err := NewReplay(path, "mic", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	writeTestWAV(t, path, testFormat{16000, 1, 16, false}, testSignal(16000, 1, 8000))
	if _, err := collect(context.Background(), t, r); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("replay of a file rewritten after NewReplay: %v, want an error saying it changed", err)
	}
	cut := filepath.Join(dir, "cut.wav")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cut, b[:len(b)-101], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewReplay(cut, "mic", 0, 0); !errors.Is(err, ErrTruncated) {
		t.Errorf("replay of a cut file: %v, want ErrTruncated", err)
	}
}
