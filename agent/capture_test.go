package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/pulsetest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/stream"
)

// runWatched runs a session until the returned stop, which checks that Run ended well.
func runWatched(t *testing.T, cfg Config) (stop func()) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(cancel)
	return func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
}

// TestCaptureHealthIsRecorded feeds the laptop's call-audio channel speech, a minute of silence,
// clipping, then nothing at all, and expects each problem stored as it begins, and the stall
// cleared when audio comes back.
func TestCaptureHealthIsRecorded(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	src := &gate{frames: make(chan stream.Frame)}
	stop := runWatched(t, Config{Meeting: "m-health", Engine: sayingEngine{"hello"}, Log: log, Sources: []stream.Source{src},
		WatchDevices: true})

	var at time.Duration
	send := func(d time.Duration, amp float64) {
		const n = stream.SampleRate / 50
		for end := at + d; at < end; at += 20 * time.Millisecond {
			samples := make([]float32, n)
			for i := range samples {
				samples[i] = float32(max(-1, min(1, amp*math.Sin(2*math.Pi*300*float64(i)/stream.SampleRate))))
			}
			src.frames <- stream.Frame{Channel: stream.ChannelSystem, At: at, Samples: samples}
		}
	}
	problems := func() []ledger.CaptureProblem {
		events, err := log.Since(context.Background(), "m-health", 0)
		if err != nil {
			t.Fatal(err)
		}
		var ps []ledger.CaptureProblem
		for _, e := range events {
			if e.Type == ledger.TypeCaptureHealth {
				if e.Capture.Channel != stream.ChannelSystem || e.Capture.Message == "" {
					t.Errorf("health event %+v", e.Capture)
				}
				ps = append(ps, e.Capture.Problem)
			}
		}
		return ps
	}
	send(time.Second, 0.3)
	send(61*time.Second, 0)
	send(2*time.Second, 3)
	deadline := time.Now().Add(time.Minute)
	for len(problems()) < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond) // the device sends nothing: a stall, after 5 s
	}
	send(20*time.Millisecond, 0.3)
	waitFor(t, func() bool { return len(problems()) >= 4 })
	stop()
	got := problems()
	want := []ledger.CaptureProblem{ledger.CaptureSilent, ledger.CaptureClipping, ledger.CaptureStalled, ""}
	if len(got) != len(want) {
		t.Fatalf("capture problems %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("capture problems %q, want %q", got, want)
		}
	}
}

// TestCaptureHealthOfARealDevice records a PulseAudio null sink's monitor through PortAudio, as a
// laptop records the call it plays, and makes it clip, fall silent, and go away.
func TestCaptureHealthOfARealDevice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PulseAudio server")
	}
	if raceDetector {
		// The PortAudio bindings pass a stream's number to C as a pointer, which the race
		// detector's pointer checks refuse once a device is opened again.
		t.Skip("reopening a PortAudio device is not checkable under -race")
	}
	const sink = "ledgerline_health"
	pulsetest.Start(t, sink)
	devs, err := stream.ListDevices()
	if err != nil {
		t.Fatalf("ListDevices: %v", err)
	}
	if !slices.ContainsFunc(devs, func(d stream.Device) bool { return d.Name == "pulse" }) {
		t.Skipf("PortAudio offers no \"pulse\" device (Debian: apt-get install libasound2-plugins); devices: %v", devs)
	}
	// A full-scale square wave: it clips.
	square := make([]byte, 4*48000*30)
	for i := 0; i < len(square); i += 4 {
		v := float32(1)
		if (i/4/60)%2 == 1 {
			v = -1
		}
		binary.LittleEndian.PutUint32(square[i:], math.Float32bits(v))
	}
	play := exec.Command("paplay", "--raw", "--rate=48000", "--channels=1", "--format=float32le", "--device="+sink)
	play.Stdin = bytes.NewReader(square)
	if err := play.Start(); err != nil {
		t.Fatalf("paplay: %v", err)
	}
	stopPlaying := sync.OnceFunc(func() {
		_ = play.Process.Kill()
		_ = play.Wait()
	})
	t.Cleanup(stopPlaying)

	mic, err := stream.NewPortAudio(stream.PortAudioConfig{Mic: "pulse"})
	if err != nil {
		t.Fatal(err)
	}
	log := ledger.NewMemLog()
	defer log.Close()
	stop := runWatched(t, Config{Meeting: "m-device", Engine: sayingEngine{"hello"}, Log: log, Sources: []stream.Source{mic},
		WatchDevices: true, SilentAfter: 3 * time.Second})
	var after int64 // the seq of the last problem awaited
	await := func(p ledger.CaptureProblem) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			events, _ := log.Since(context.Background(), "m-device", after)
			for _, e := range events {
				if e.Type == ledger.TypeCaptureHealth && e.Capture.Problem == p {
					after = e.Seq
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		events, _ := log.Since(context.Background(), "m-device", 0)
		for _, e := range events {
			if e.Type == ledger.TypeCaptureHealth {
				t.Logf("seq %d: %+v", e.Seq, *e.Capture)
			}
		}
		t.Fatalf("no capture problem %q recorded within a minute after seq %d", p, after)
	}
	await(ledger.CaptureClipping)
	stopPlaying() // the monitor of a sink nobody plays into is silent
	await(ledger.CaptureSilent)
	if out, err := exec.Command("pactl", "unload-module", "module-null-sink").CombinedOutput(); err != nil {
		t.Fatalf("unplug the sink: %v\n%s", err, out)
	}
	await(ledger.CaptureStalled)
	// Plugged in again: the device is reopened, and its audio clears the stall.
	if out, err := exec.Command("pactl", "load-module", "module-null-sink", "sink_name="+sink, "rate=48000").CombinedOutput(); err != nil {
		t.Fatalf("plug the sink in again: %v\n%s", err, out)
	}
	await("")
	stop()
}
