package stream

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/leaktest"
)

const meetingWAV = "testdata/meeting-16k-mono-16.wav"

// collect runs src and gathers its frames until it returns.
func collect(ctx context.Context, t *testing.T, src Source) ([]Frame, error) {
	t.Helper()
	out := make(chan Frame)
	done := make(chan error, 1)
	go func() { done <- src.Start(ctx, out) }()
	var frames []Frame
	for {
		select {
		case f := <-out:
			frames = append(frames, f)
		case err := <-done:
			return frames, err
		}
	}
}

func TestReplayAsFastAsPossible(t *testing.T) {
	leaktest.Check(t)
	want, err := LoadWAV(meetingWAV)
	if err != nil {
		t.Fatal(err)
	}
	for _, speed := range []float64{0, math.Inf(1)} {
		r, err := NewReplay(meetingWAV, ChannelSystem, speed, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Channels(); !slices.Equal(got, []string{ChannelSystem}) {
			t.Errorf("Channels() = %q", got)
		}
		if r.Duration() != samplesDuration(int64(len(want.Samples))) {
			t.Errorf("Duration() = %v for %d samples", r.Duration(), len(want.Samples))
		}
		frames, err := collect(context.Background(), t, r)
		if err != nil {
			t.Fatalf("replay at speed %v: %v", speed, err)
		}
		var joined []float32
		for i, f := range frames {
			if f.Channel != ChannelSystem {
				t.Fatalf("frame %d on channel %q", i, f.Channel)
			}
			if f.At != samplesDuration(int64(len(joined))) {
				t.Fatalf("frame %d at %v, want %v", i, f.At, samplesDuration(int64(len(joined))))
			}
			if len(f.Samples) != 320 && i != len(frames)-1 {
				t.Fatalf("frame %d holds %d samples, want 20 ms (320)", i, len(f.Samples))
			}
			joined = append(joined, f.Samples...)
		}
		if !slices.Equal(joined, want.Samples) {
			t.Fatalf("replayed audio differs from the file (%d samples, want %d)", len(joined), len(want.Samples))
		}
		if last := frames[len(frames)-1]; last.End() != r.Duration() {
			t.Errorf("last frame ends at %v, the recording at %v", last.End(), r.Duration())
		}
	}
}

func TestReplayFrameLength(t *testing.T) {
	x := make([]float32, 1000)
	r, err := NewReplaySamples(x, "mic", 0, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := collect(context.Background(), t, r)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, f := range frames {
		sizes = append(sizes, len(f.Samples))
	}
	if want := []int{160, 160, 160, 160, 160, 160, 40}; !slices.Equal(sizes, want) {
		t.Fatalf("frame sizes %v, want %v", sizes, want)
	}
}

// fakeClock stands still until the replay waits on it, then jumps to the
// deadline and records it.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) WaitUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, t)
	if t.After(c.now) {
		c.now = t
	}
	return ctx.Err()
}

func TestReplayPacing(t *testing.T) {
	for _, speed := range []float64{1, 50, 0.5} {
		r, err := NewReplay(meetingWAV, "mic", speed, 0)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
		clk := &fakeClock{now: start}
		r.clock = clk
		out := make(chan Frame)
		done := make(chan error, 1)
		go func() { done <- r.Start(context.Background(), out) }()
		n := 0
	loop:
		for {
			select {
			case f := <-out:
				// The frame is out no sooner than its last sample would have
				// been captured at this speed.
				due := start.Add(time.Duration(float64(f.End()) / speed))
				if now := clk.Now(); now.Before(due) {
					t.Fatalf("speed %v: frame [%v, %v] sent %v after start, before its time %v",
						speed, f.At, f.End(), now.Sub(start), due.Sub(start))
				}
				n++
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				break loop
			}
		}
		// Each deadline is set from the start, not from the previous frame.
		if len(clk.waits) != n {
			t.Fatalf("speed %v: %d waits for %d frames", speed, len(clk.waits), n)
		}
		for i, w := range clk.waits {
			end := min(samplesDuration(int64(320*(i+1))), r.Duration())
			if want := start.Add(time.Duration(float64(end) / speed)); !w.Equal(want) {
				t.Fatalf("speed %v: frame %d waited for %v after start, want %v", speed, i, w.Sub(start), want.Sub(start))
			}
		}
	}
}

func TestReplayRealClockIsNotEarly(t *testing.T) {
	const speed = 50
	r, err := NewReplay(meetingWAV, "mic", speed, 0)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	frames, err := collect(context.Background(), t, r)
	if err != nil {
		t.Fatal(err)
	}
	// Timers never fire early, so this lower bound cannot flake.
	if elapsed, least := time.Since(begin), r.Duration()/speed; elapsed < least {
		t.Fatalf("%d frames of %v replayed at %v× in %v, faster than %v", len(frames), r.Duration(), speed, elapsed, least)
	}
}

func TestReplayStopsOnCancel(t *testing.T) {
	leaktest.Check(t)
	r, err := NewReplay(meetingWAV, "mic", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Frame)
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx, out) }()
	<-out // running at real time: the rest is seconds away
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Start returned %v after cancel, want context.Canceled", err)
	}
	if err := r.Start(context.Background(), out); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start returned %v, want ErrStarted", err)
	}
}

func TestReplayStopsWhenNobodyReads(t *testing.T) {
	leaktest.Check(t)
	r, err := NewReplaySamples(make([]float32, SampleRate), "mic", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Start(ctx, make(chan Frame)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start on a cancelled context returned %v", err)
	}
}

func TestReplayErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.wav")
	if _, err := NewReplay(missing, "mic", 1, 0); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v; want a not-exist error naming the path", err)
	}
	bad := []struct {
		name    string
		channel string
		speed   float64
		frame   time.Duration
	}{
		{"no channel", "", 1, 0},
		{"negative speed", "mic", -1, 0},
		{"NaN speed", "mic", math.NaN(), 0},
		{"negative frame", "mic", 1, -time.Millisecond},
		{"frame under a sample", "mic", 1, time.Microsecond},
	}
	for _, c := range bad {
		if _, err := NewReplay(meetingWAV, c.channel, c.speed, c.frame); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// TestReplayThroughSegmenter runs the live path from a recording: replayed
// frames cut into utterances, the same as cutting the file directly.
func TestReplayThroughSegmenter(t *testing.T) {
	leaktest.Check(t)
	x := meetingFixture(t)
	want := join(t, runSegmenter(NewSegmenter(SegmenterConfig{}), "mic", x, 0, 480), "mic", x, 0)

	r, err := NewReplay(meetingWAV, "mic", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := collect(context.Background(), t, r)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSegmenter(SegmenterConfig{})
	var chunks []Chunk
	for _, f := range frames {
		chunks = append(chunks, s.Push(f)...)
	}
	got := join(t, append(chunks, s.Flush()...), "mic", x, 0)
	if len(got) == 0 || len(got) != len(want) {
		t.Fatalf("utterances %v, want %v", got, want)
	}
	for k := range want {
		if got[k].at != want[k].at || !slices.Equal(got[k].samples, want[k].samples) {
			t.Errorf("utterance %d is %v, want %v", k, got[k], want[k])
		}
	}
}

func BenchmarkReplay(b *testing.B) {
	x := make([]float32, 60*SampleRate)
	b.SetBytes(int64(len(x) * 4))
	for b.Loop() {
		r, _ := NewReplaySamples(x, "mic", 0, 0)
		out := make(chan Frame, 64)
		done := make(chan error, 1)
		go func() { done <- r.Start(context.Background(), out) }()
	drain:
		for {
			select {
			case <-out:
			case <-done:
				break drain
			}
		}
	}
}

func TestReplayChannelsSplitsTheFilesChannels(t *testing.T) {
	leaktest.Check(t)
	// Left and right differ sample by sample, so a swap or a mix shows.
	const n = 1000
	var data []int16
	for i := range n {
		data = append(data, int16(i*30), int16(-i*20))
	}
	path := filepath.Join(t.TempDir(), "stereo.wav")
	if err := os.WriteFile(path, wavFile(chunk("fmt ", fmtChunk(1, 2, SampleRate, 16)), chunk("data", le16(data...))), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := NewReplayChannels(path, []string{ChannelMic, ChannelSystem}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Channels(); !slices.Equal(got, []string{ChannelMic, ChannelSystem}) || r.Duration() != samplesDuration(n) {
		t.Fatalf("channels %v, duration %v; want [mic system], %v", got, r.Duration(), samplesDuration(n))
	}
	frames, err := collect(context.Background(), t, r)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]float32{}
	for i, f := range frames {
		// The channels' frames of one stretch of time come together, in order.
		want := []string{ChannelMic, ChannelSystem}[i%2]
		if f.Channel != want || f.At != samplesDuration(int64(len(got[f.Channel]))) {
			t.Fatalf("frame %d: %s at %v, want %s at %v", i, f.Channel, f.At, want, samplesDuration(int64(len(got[f.Channel]))))
		}
		got[f.Channel] = append(got[f.Channel], f.Samples...)
	}
	for i := range n {
		if l, r := got[ChannelMic][i], got[ChannelSystem][i]; l != float32(i*30)/(1<<15) || r != float32(-i*20)/(1<<15) {
			t.Fatalf("sample %d: mic %v, system %v; want %v, %v", i, l, r, float32(i*30)/(1<<15), float32(-i*20)/(1<<15))
		}
	}
}

func TestReplayChannelsResamplesEachChannel(t *testing.T) {
	leaktest.Check(t)
	const path = "testdata/speech-44k-stereo-24.wav"
	mono, err := LoadAudio(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReplayChannels(path, []string{"left", "right"}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := collect(context.Background(), t, r)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]float32{}
	for _, f := range frames {
		got[f.Channel] = append(got[f.Channel], f.Samples...)
	}
	if len(got["left"]) != len(mono.Samples) || len(got["right"]) != len(mono.Samples) {
		t.Fatalf("%d and %d samples, want %d each", len(got["left"]), len(got["right"]), len(mono.Samples))
	}
	// Resampling is linear: the channels, mixed after it, are the mono mix.
	for i, m := range mono.Samples {
		if d := math.Abs(float64((got["left"][i]+got["right"][i])/2 - m)); d > 1e-5 {
			t.Fatalf("sample %d: the channels average %v, the downmix is %v", i, (got["left"][i]+got["right"][i])/2, m)
		}
	}
}

func TestReplayChannelsErrors(t *testing.T) {
	dir := t.TempDir()
	flac := filepath.Join(dir, "stereo.flac")
	if _, err := exec.LookPath("sox"); err != nil {
		t.Skip("sox not installed: sudo apt-get install sox")
	}
	if b, err := exec.Command("sox", "testdata/speech-44k-stereo-24.wav", flac).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, b)
	}
	for _, tc := range []struct {
		name, path string
		channels   []string
		want       string
	}{
		{"too many names", "testdata/speech-44k-stereo-24.wav", []string{"mic", "system", "call"}, "has 2 channels"},
		{"too few names", "testdata/speech-11k-3ch-16ext.wav", []string{"mic", "system"}, "has 3 channels"},
		{"one name for two channels", "testdata/speech-44k-stereo-24.wav", []string{"mic"}, "has 2 channels"},
		{"two names for a mono file", meetingWAV, []string{"mic", "system"}, "has 1 channels"},
		{"a name twice", "testdata/speech-44k-stereo-24.wav", []string{"mic", "mic"}, "named twice"},
		{"an empty name", "testdata/speech-44k-stereo-24.wav", []string{"mic", ""}, "needs a name"},
		{"not WAV", flac, []string{"mic", "system"}, "convert it with 'ffmpeg"},
		{"missing", filepath.Join(dir, "none.wav"), []string{"mic", "system"}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReplayChannels(tc.path, tc.channels, 0, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	if r, err := NewReplayChannels(meetingWAV, []string{"call"}, 0, 0); err != nil || !slices.Equal(r.Channels(), []string{"call"}) {
		t.Fatalf("a mono file as one channel: %v, %v", r, err)
	}
}
