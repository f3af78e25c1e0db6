package stream

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/internal/pulsetest"
)

// fakeAudio stands in for PortAudio: each device plays a tone, left and
// right channels at different levels.
type fakeAudio struct {
	devs       []Device
	tones      map[int]float64 // device index → frequency
	acquireErr error
	openErr    map[int]error
	failAfter  map[int]int // device index → reads before a hard error
	overflowAt int         // read number that reports lost input

	mu      sync.Mutex
	refs    int
	streams []*fakeStream
}

func (a *fakeAudio) acquire() error {
	if a.acquireErr != nil {
		return a.acquireErr
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refs++
	return nil
}

func (a *fakeAudio) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refs--
}

func (a *fakeAudio) devices() ([]Device, error) { return a.devs, nil }

func (a *fakeAudio) open(d Device, channels, rate, frames int) (inputStream, error) {
	if err := a.openErr[d.Index]; err != nil {
		return nil, err
	}
	s := &fakeStream{freq: a.tones[d.Index], channels: channels, rate: rate,
		buf: make([]float32, frames*channels), failAfter: a.failAfter[d.Index], overflowAt: a.overflowAt}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.streams = append(a.streams, s)
	return s, nil
}

// balanced reports whether every acquire was released and every stream closed.
func (a *fakeAudio) balanced() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refs != 0 {
		return fmt.Errorf("%d acquires not released", a.refs)
	}
	for i, s := range a.streams {
		if !s.closed {
			return fmt.Errorf("stream %d left open", i)
		}
	}
	return nil
}

type fakeStream struct {
	freq                  float64
	channels, rate        int
	buf                   []float32
	n                     int64 // frames produced
	reads                 int
	failAfter, overflowAt int
	closed                bool // written by the capture goroutine before Start returns
}

func (s *fakeStream) Read() ([]float32, error) {
	s.reads++
	if s.failAfter > 0 && s.reads > s.failAfter {
		return nil, errors.New("device unplugged")
	}
	var lost int64
	if s.overflowAt > 0 && s.reads == s.overflowAt {
		// A tenth of a second went missing before this buffer: a whole
		// number of the tone's periods, so the tone goes on in phase.
		lost = int64(s.rate / 10)
		s.n += lost
	}
	for i := 0; i < len(s.buf); i += s.channels {
		v := math.Sin(2 * math.Pi * s.freq * float64(s.n) / float64(s.rate))
		s.buf[i] = float32(0.6 * v)
		if s.channels > 1 {
			s.buf[i+1] = float32(0.2 * v) // the average of the two is 0.4
		}
		s.n++
	}
	if s.overflowAt > 0 && s.reads == s.overflowAt {
		return s.buf, &overflowError{frames: lost, err: errors.New("input overflowed")}
	}
	return s.buf, nil
}

func (s *fakeStream) Close() error {
	s.closed = true
	return nil
}

func newFakeAudio() *fakeAudio {
	return &fakeAudio{
		devs: []Device{
			{Index: 0, Name: "Built-in Microphone", MaxInputChannels: 2, DefaultSampleRate: 44100, Default: true},
			{Index: 1, Name: "Monitor of Speakers", MaxInputChannels: 1, DefaultSampleRate: 48000},
			{Index: 2, Name: "Headset", MaxInputChannels: 1, DefaultSampleRate: 16000},
		},
		tones: map[int]float64{0: 440, 1: 1000, 2: 700},
	}
}

// record runs p until every channel has delivered want of audio, checking
// each channel's clock, then stops it and returns the audio by channel and
// how much of each the frames said was lost.
func record(t *testing.T, p *PortAudio, want time.Duration) (map[string][]float32, map[string]time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Frame)
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx, out) }()
	got := map[string][]float32{}
	lost := map[string]time.Duration{}
	full := func() bool {
		for _, ch := range p.Channels() {
			if samplesDuration(int64(len(got[ch]))) < want {
				return false
			}
		}
		return true
	}
	for !full() {
		select {
		case f := <-out:
			if !slices.Contains(p.Channels(), f.Channel) {
				t.Fatalf("frame on unknown channel %q", f.Channel)
			}
			lost[f.Channel] += f.Lost
			if at := samplesDuration(int64(len(got[f.Channel]))) + lost[f.Channel]; f.At != at {
				t.Fatalf("%s frame at %v, want %v (%v of it lost)", f.Channel, f.At, at, lost[f.Channel])
			}
			if len(f.Samples) != p.frame {
				t.Fatalf("%s frame of %d samples, want %d", f.Channel, len(f.Samples), p.frame)
			}
			got[f.Channel] = append(got[f.Channel], f.Samples...)
		case err := <-done:
			t.Fatalf("Start returned %v before the audio was in", err)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Start returned %v after cancel, want context.Canceled", err)
	}
	return got, lost
}

func TestPortAudioResamplesAndDownmixes(t *testing.T) {
	leaktest.Check(t)
	audio := newFakeAudio()
	audio.overflowAt = 3
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	p, err := newPortAudio(PortAudioConfig{System: "monitor", Logger: log}, audio)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Channels(); !slices.Equal(got, []string{ChannelMic, ChannelSystem}) {
		t.Fatalf("Channels() = %q", got)
	}
	if d := p.Devices(); d[ChannelMic].Index != 0 || d[ChannelSystem].Index != 1 {
		t.Fatalf("Devices() = %v", d)
	}
	got, lost := record(t, p, time.Second)
	for _, ch := range p.Channels() {
		// Both devices overflowed once, losing a tenth of a second: the
		// clocks skip it and stay together.
		if lost[ch] != 100*time.Millisecond {
			t.Errorf("%s: frames report %v lost, want 100ms", ch, lost[ch])
		}
	}
	if err := audio.balanced(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		channel     string
		freq, other float64
		amp         float64
	}{
		{ChannelMic, 440, 1000, 0.4},    // 44.1 kHz stereo, averaged
		{ChannelSystem, 1000, 440, 0.6}, // 48 kHz mono
	}
	for _, c := range cases {
		x := middle(got[c.channel])
		if a := goertzel(x, c.freq, SampleRate); math.Abs(a-c.amp) > 0.02 {
			t.Errorf("%s: %v Hz at amplitude %.3f, want %.1f", c.channel, c.freq, a, c.amp)
		}
		if a := goertzel(x, c.other, SampleRate); a > 0.01 {
			t.Errorf("%s: %v Hz from the other device at amplitude %.3f", c.channel, c.other, a)
		}
	}
	if !strings.Contains(logs.String(), "audio input lost") {
		t.Errorf("lost input was not logged; log:\n%s", logs.String())
	}
}

func TestPortAudioNativeRateAndFrameLength(t *testing.T) {
	leaktest.Check(t)
	audio := newFakeAudio()
	p, err := newPortAudio(PortAudioConfig{Mic: "headset", FrameDur: 30 * time.Millisecond}, audio)
	if err != nil {
		t.Fatal(err)
	}
	if p.frame != 480 {
		t.Fatalf("30 ms frames hold %d samples, want 480", p.frame)
	}
	got, _ := record(t, p, 500*time.Millisecond)
	want := sine(700, SampleRate, len(got[ChannelMic]), 0.6)
	for i := range want {
		if math.Abs(float64(got[ChannelMic][i]-want[i])) > 1e-6 {
			t.Fatalf("16 kHz device: sample %d is %v, want %v unchanged", i, got[ChannelMic][i], want[i])
		}
	}
	if err := audio.balanced(); err != nil {
		t.Fatal(err)
	}
}

func TestPortAudioReopensAFailedDevice(t *testing.T) {
	leaktest.Check(t)
	audio := newFakeAudio()
	audio.failAfter = map[int]int{1: 5} // every stream of the system device fails after five reads
	p, err := newPortAudio(PortAudioConfig{System: "1"}, audio)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Frame)
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx, out) }()
	var next time.Duration // the system channel's clock
	gaps := 0
	for gaps < 3 {
		select {
		case f := <-out:
			if f.Channel != ChannelSystem {
				continue
			}
			if f.At != next+f.Lost {
				t.Fatalf("system frame at %v after %v of audio and %v lost: the clock slipped", f.At, next, f.Lost)
			}
			if f.Lost > 0 {
				gaps++
			}
			next = f.End()
		case err := <-done:
			t.Fatalf("recording stopped when the device failed: %v", err)
		}
	}
	cancel()
	for {
		select {
		case <-out:
			continue
		case err = <-done:
		}
		break
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Start returned %v, want the cancellation", err)
	}
	audio.mu.Lock()
	opened := len(audio.streams)
	audio.mu.Unlock()
	if opened < 4 {
		t.Errorf("%d streams opened, want the system device reopened after each failure", opened)
	}
	if err := audio.balanced(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background(), out); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start returned %v, want ErrStarted", err)
	}
}

func TestPortAudioOpenFailure(t *testing.T) {
	leaktest.Check(t)
	audio := newFakeAudio()
	audio.openErr = map[int]error{0: errors.New("device busy")}
	p, err := newPortAudio(PortAudioConfig{}, audio)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Start(context.Background(), make(chan Frame))
	if err == nil || !strings.Contains(err.Error(), "device busy") || !strings.Contains(err.Error(), "--mic") {
		t.Fatalf("Start returned %v, want the open failure and how to choose another device", err)
	}
	if err := audio.balanced(); err != nil {
		t.Fatal(err)
	}
}

func TestNewPortAudioErrors(t *testing.T) {
	cases := []struct {
		name   string
		cfg    PortAudioConfig
		change func(*fakeAudio)
		parts  []string
	}{
		{"unknown mic", PortAudioConfig{Mic: "webcam"}, nil, []string{"--mic", "ledgerline devices", "--input FILE"}},
		{"unknown system", PortAudioConfig{System: "loopback"}, nil, []string{"--system", "ledgerline devices"}},
		{"same device twice", PortAudioConfig{Mic: "0", System: "built-in"}, nil, []string{"--system", "both"}},
		{"no devices", PortAudioConfig{}, func(a *fakeAudio) { a.devs = nil }, []string{"--input FILE"}},
		{"no audio system", PortAudioConfig{}, func(a *fakeAudio) {
			a.acquireErr = fmt.Errorf("%w: start PortAudio: broken", ErrNoDevice)
		}, []string{"broken"}},
	}
	for _, c := range cases {
		audio := newFakeAudio()
		if c.change != nil {
			c.change(audio)
		}
		_, err := newPortAudio(c.cfg, audio)
		if !errors.Is(err, ErrNoDevice) {
			t.Errorf("%s: error %v does not wrap ErrNoDevice", c.name, err)
			continue
		}
		for _, p := range c.parts {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, p)
			}
		}
		if err := audio.balanced(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if _, err := newPortAudio(PortAudioConfig{FrameDur: -time.Second}, newFakeAudio()); err == nil {
		t.Error("a negative frame length was accepted")
	}
}

func TestDownmix(t *testing.T) {
	got := downmix(nil, []float32{1, 0, 0.5, 0.5, -1, 0}, 2)
	if want := []float32{0.5, 0.5, -0.5}; !slices.Equal(got, want) {
		t.Errorf("stereo: %v, want %v", got, want)
	}
	got = downmix(nil, []float32{0.3, 0.3, 0.6, 9}, 3) // an incomplete frame is dropped
	if len(got) != 1 || math.Abs(float64(got[0]-0.4)) > 1e-6 {
		t.Errorf("three channels: %v, want [0.4]", got)
	}
}

func TestListDevices(t *testing.T) {
	// Whatever the machine has, listing must not fail unless PortAudio
	// cannot start at all, and then the error says so.
	devs, err := ListDevices()
	if err != nil {
		if !errors.Is(err, ErrNoDevice) {
			t.Fatalf("ListDevices: %v does not wrap ErrNoDevice", err)
		}
		t.Skipf("PortAudio cannot start here: %v", err)
	}
	for _, d := range devs {
		if d.MaxInputChannels < 1 || d.Name == "" || d.HostAPI == "" {
			t.Errorf("listed device %+v cannot record or has no name", d)
		}
	}
	if _, err := NewPortAudio(PortAudioConfig{Mic: "no such device, surely"}); !errors.Is(err, ErrNoDevice) {
		t.Errorf("an unknown device gave %v, want ErrNoDevice", err)
	}
}

// TestPortAudioRecordsPulseAudioMonitor plays a tone into a PulseAudio null
// sink and records it from the sink's monitor through PortAudio, the way a
// laptop records the meeting audio it plays.
func TestPortAudioRecordsPulseAudioMonitor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PulseAudio server")
	}
	const sink = "ledgerline_test"
	pulsetest.Start(t, sink)

	// 30 s of a 440 Hz tone at half scale; stopped when the test ends.
	tone := sine(440, 48000, 30*48000, 0.5)
	raw := make([]byte, 4*len(tone))
	for i, v := range tone {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	play := exec.Command("paplay", "--raw", "--rate=48000", "--channels=1", "--format=float32le", "--device="+sink)
	play.Stdin = bytes.NewReader(raw)
	if err := play.Start(); err != nil {
		t.Fatalf("paplay: %v", err)
	}
	t.Cleanup(func() {
		_ = play.Process.Kill()
		_ = play.Wait()
	})

	leaktest.Check(t)
	devs, err := ListDevices()
	if err != nil {
		t.Fatalf("ListDevices: %v", err)
	}
	if !slices.ContainsFunc(devs, func(d Device) bool { return d.Name == "pulse" }) {
		t.Skipf("PortAudio offers no \"pulse\" device (Debian: apt-get install libasound2-plugins); devices: %v", devs)
	}
	// PulseAudio's default source is the only one there is: the monitor.
	p, err := NewPortAudio(PortAudioConfig{Mic: "pulse"})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make(chan Frame, 16)
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx, out) }()
	var got []float32
	heard := false
	for !heard {
		select {
		case f := <-out:
			if f.Channel != ChannelMic || f.At != samplesDuration(int64(len(got))) || len(f.Samples) != 320 {
				t.Fatalf("frame %q at %v with %d samples after %d samples", f.Channel, f.At, len(f.Samples), len(got))
			}
			got = append(got, f.Samples...)
			if len(got) >= SampleRate/2 {
				last := got[len(got)-SampleRate/2:]
				heard = goertzel(last, 440, SampleRate) > 0.3 && goertzel(last, 1000, SampleRate) < 0.01
			}
		case err := <-done:
			t.Fatalf("recording stopped before the tone was heard (%v of audio): %v", samplesDuration(int64(len(got))), err)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Start returned %v after cancel, want context.Canceled", err)
	}
}
