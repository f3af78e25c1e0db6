package stream

import (
	"context"
	"time"
)

// Channel names used by the sources in this package.
const (
	// ChannelMic is the local microphone.
	ChannelMic = "mic"
	// ChannelSystem is the audio the computer plays: the other participants
	// of a call heard through the speakers.
	ChannelSystem = "system"
)

// DefaultFrameDur is the frame length a source uses when none is given.
const DefaultFrameDur = 20 * time.Millisecond

// Frame is a run of 16 kHz mono audio from one channel.
type Frame struct {
	// Channel says where the audio comes from ("mic", "system", a call
	// participant's track).
	Channel string
	// At is the meeting time of the first sample: how much audio of this
	// channel came before it. It is counted in samples, never read from a
	// wall clock, so the channels of one meeting line up.
	At time.Duration
	// Samples are at SampleRate, nominally in [-1, 1]. The receiver owns them.
	Samples []float32
	// Lost is audio the source lost just before this frame (a capture device
	// that overflowed). At already counts it, so the channel stays on the
	// meeting clock; Lost tells the receiver there is a hole, not silence.
	Lost time.Duration
}

// End is the meeting time just after the frame's last sample.
func (f Frame) End() time.Duration {
	return f.At + samplesDuration(int64(len(f.Samples)))
}

// Source produces the audio of a meeting, one or more channels at a time.
//
// Start runs the source on the calling goroutine and sends its frames to out
// until ctx is done or the audio ends. Any goroutine it starts has stopped
// when it returns. It returns nil when the audio ends by itself (a file played
// to its end), ctx.Err() when ctx stopped it, and any other error when the
// source failed. Frames of one channel are sent in order and without gaps or
// overlaps: each one's At is the previous one's End. Start never closes out,
// so several sources may share one channel; whoever owns out closes it after
// every Start has returned. A Source is started at most once.
type Source interface {
	Start(ctx context.Context, out chan<- Frame) error
	// Channels names the channels the source produces.
	Channels() []string
}

// send delivers f unless ctx is done first.
func send(ctx context.Context, out chan<- Frame, f Frame) error {
	select {
	case out <- f:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// durationSamples is the number of 16 kHz samples in d, rounded to the
// nearest. Every duration this package produces is a whole number of
// samples (62.5 µs each), so samplesDuration(durationSamples(d)) == d.
func durationSamples(d time.Duration) int64 {
	const per = int64(time.Second / SampleRate) // 62500 ns: exact
	n := int64(d)
	if n < 0 {
		return -((-n + per/2) / per)
	}
	return (n + per/2) / per
}
