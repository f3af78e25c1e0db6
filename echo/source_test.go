package echo

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/stream"
)

// script is a source that sends its frames, then, with hold, waits for
// ctx as a live device does.
type script struct {
	channels []string
	frames   []stream.Frame
	hold     bool
}

func (s *script) Channels() []string { return s.channels }

func (s *script) Start(ctx context.Context, out chan<- stream.Frame) error {
	for _, f := range s.frames {
		select {
		case out <- f:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.hold {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func tone(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v * float32(i%40-20) / 20
	}
	return s
}

func TestNewNeedsMicAndSystem(t *testing.T) {
	_, err := New(&script{channels: []string{stream.ChannelMic}}, Config{})
	if err == nil || !strings.Contains(err.Error(), `"system"`) {
		t.Fatalf("a source without a system channel: %v, want an error naming it", err)
	}
}

func TestOtherChannelsPassAndHolesStay(t *testing.T) {
	leaktest.Check(t)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	src := &script{channels: []string{stream.ChannelMic, stream.ChannelSystem, "alice"}, frames: []stream.Frame{
		{Channel: stream.ChannelMic, At: 0, Samples: tone(320, 0.1)},
		{Channel: stream.ChannelSystem, At: 0, Samples: tone(320, 0.2)},
		{Channel: "alice", At: ms(5), Samples: []float32{0.5, -0.5}},
		{Channel: stream.ChannelMic, At: ms(20), Samples: tone(250, 0.1)}, // not whole blocks
		// 100 ms lost on the mic: the hole must stay a hole, with its loss told.
		{Channel: stream.ChannelMic, At: ms(20) + samplesDur(250) + ms(100), Samples: tone(480, 0.1), Lost: ms(100)},
		{Channel: stream.ChannelSystem, At: ms(20), Samples: tone(1000, 0.2)},
	}}
	aec, err := New(src, Config{})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan stream.Frame)
	errc := make(chan error, 1)
	go func() { errc <- aec.Start(context.Background(), out); close(out) }()
	var mic []stream.Frame
	var alice []stream.Frame
	for f := range out {
		switch f.Channel {
		case stream.ChannelMic:
			mic = append(mic, f)
		case "alice":
			alice = append(alice, f)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(alice) != 1 || alice[0].At != ms(5) || len(alice[0].Samples) != 2 || alice[0].Samples[0] != 0.5 {
		t.Errorf("alice's frames: %+v, want the one sent, unchanged", alice)
	}
	var at time.Duration
	var lost time.Duration
	var n int
	for _, f := range mic {
		if f.Lost > 0 {
			lost += f.Lost
			at += f.Lost
		}
		if f.At != at {
			t.Fatalf("mic frame at %v, want %v (frames %v)", f.At, at, mic)
		}
		at = f.End()
		n += len(f.Samples)
	}
	if n != 320+250+480 || lost != ms(100) {
		t.Errorf("mic: %d samples and %v lost, want %d and 100ms", n, lost, 320+250+480)
	}
}

func TestASilentSystemChannelDoesNotHoldTheMic(t *testing.T) {
	leaktest.Check(t)
	// The system device sends nothing: the mic must still come out, late by
	// no more than the bound.
	var frames []stream.Frame
	const frameLen = 320
	for i := range 50 {
		frames = append(frames, stream.Frame{Channel: stream.ChannelMic, At: samplesDur(int64(i * frameLen)), Samples: tone(frameLen, 0.1)})
	}
	src := &script{channels: []string{stream.ChannelMic, stream.ChannelSystem}, frames: frames, hold: true}
	aec, err := New(src, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan stream.Frame)
	errc := make(chan error, 1)
	go func() { errc <- aec.Start(ctx, out) }()
	want := 50*frameLen - maxLead - block - postDelay
	got := 0
	for got < want {
		select {
		case f := <-out:
			got += len(f.Samples)
		case err := <-errc:
			t.Fatalf("Start returned %v after %d of %d samples", err, got, want)
		}
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Start returned %v after its context was cancelled, want context.Canceled", err)
	}
}
