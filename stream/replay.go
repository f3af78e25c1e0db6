package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"github.com/ledgerline/ledgerline/internal/clock"
)

// ErrStarted is returned by a source's Start when it has already been started.
var ErrStarted = errors.New("source already started")

// Replay plays a recording as a live source: one channel, frames of a fixed
// length, delivered no faster than the audio would be captured at the chosen
// speed. It lets a meeting be rerun from a WAV file through the same path as
// live capture.
type Replay struct {
	channel  string
	samples  []float32 // the audio, when given as samples
	path     string    // the file to play, when given as one
	format   Format    // the file's format when NewReplay checked it
	frame    int       // samples per frame
	speed    float64   // 0 means as fast as possible
	clock    pacer
	started  atomic.Bool
	duration time.Duration
}

var _ Source = (*Replay)(nil)

// NewReplay plays the recording at path (any file OpenAudio reads) as channel.
// It checks the file's header now and reads its audio as it plays, a chunk at
// a time, so a long recording costs no more memory than a short one.
//
// speed is the playback rate: 1 is real time, 2 twice as fast; 0 or +Inf
// sends frames as fast as the receiver takes them. frameDur is the length of
// each frame, rounded to whole samples; 0 means DefaultFrameDur. The last
// frame may be shorter.
func NewReplay(path, channel string, speed float64, frameDur time.Duration) (*Replay, error) {
	if err := checkReplay(channel, speed, frameDur); err != nil {
		return nil, err
	}
	w, err := OpenAudio(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer w.Close()
	r := newReplay(nil, channel, speed, frameDur)
	r.path, r.format, r.duration = path, w.Format(), samplesDuration(w.Len())
	return r, nil
}

// NewReplaySamples plays 16 kHz mono samples as channel, as NewReplay does
// with a file. The Replay keeps samples; the caller must not change them.
func NewReplaySamples(samples []float32, channel string, speed float64, frameDur time.Duration) (*Replay, error) {
	if err := checkReplay(channel, speed, frameDur); err != nil {
		return nil, err
	}
	return newReplay(samples, channel, speed, frameDur), nil
}

func checkReplay(channel string, speed float64, frameDur time.Duration) error {
	switch {
	case channel == "":
		return errors.New("replay: the channel needs a name, such as \"mic\"")
	case math.IsNaN(speed) || speed < 0:
		return fmt.Errorf("replay: speed %v: use 1 for real time, more to go faster, or 0 for as fast as possible", speed)
	case frameDur < 0 || (frameDur > 0 && durationSamples(frameDur) < 1):
		return fmt.Errorf("replay: frame length %v: use at least one sample (62.5µs), or 0 for %v", frameDur, DefaultFrameDur)
	}
	return nil
}

func newReplay(samples []float32, channel string, speed float64, frameDur time.Duration) *Replay {
	if frameDur == 0 {
		frameDur = DefaultFrameDur
	}
	if math.IsInf(speed, 1) {
		speed = 0
	}
	return &Replay{
		channel:  channel,
		samples:  samples,
		frame:    int(durationSamples(frameDur)),
		speed:    speed,
		clock:    realClock{},
		duration: samplesDuration(int64(len(samples))),
	}
}

// Channels reports the one channel the replay produces.
func (r *Replay) Channels() []string { return []string{r.channel} }

// Duration is the length of the recording on the meeting clock.
func (r *Replay) Duration() time.Duration { return r.duration }

// Start sends the recording to out, frame by frame. A frame covering meeting
// time [At, End) is sent no earlier than End/speed after Start began, as if
// it had just been captured; each deadline is measured from that one start,
// so delays do not add up. A file is read as it plays, a chunk at a time.
// Start returns nil after the last frame, or ctx.Err() when ctx is done first.
// It may be called once.
func (r *Replay) Start(ctx context.Context, out chan<- Frame) error {
	if r.started.Swap(true) {
		return fmt.Errorf("replay %s: %w", r.channel, ErrStarted)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// buf holds the audio not yet sent: all of it for samples, a chunk or
	// two of the file otherwise.
	buf, more := r.samples, func(_ context.Context, dst []float32) ([]float32, error) { return dst, io.EOF }
	if r.path != "" {
		w, err := r.open()
		if err != nil {
			return err
		}
		defer w.Close()
		more = w.read
	}
	var room []float32 // where buf is kept while a file plays
	start := r.clock.Now()
	for at, ended := int64(0), false; ; {
		for !ended && len(buf) < r.frame {
			// Move what is left to the front of room, then add a chunk.
			var err error
			buf, err = more(ctx, append(room[:0], buf...))
			room = buf
			switch {
			case errors.Is(err, io.EOF):
				ended = true
			case ctx.Err() != nil:
				return ctx.Err()
			case err != nil:
				return fmt.Errorf("replay %s: %s: %w", r.channel, r.path, err)
			}
		}
		if len(buf) == 0 {
			return nil
		}
		n := min(r.frame, len(buf))
		f := Frame{Channel: r.channel, At: samplesDuration(at), Samples: make([]float32, n)}
		copy(f.Samples, buf[:n])
		buf = buf[n:]
		at += int64(n)
		if r.speed > 0 {
			due := start.Add(time.Duration(float64(f.End()) / r.speed))
			if err := r.clock.WaitUntil(ctx, due); err != nil {
				return err
			}
		}
		if err := send(ctx, out, f); err != nil {
			return err
		}
	}
}

// open opens the file to play and checks that it is still the one NewReplay
// checked.
func (r *Replay) open() (*AudioReader, error) {
	w, err := OpenAudio(r.path)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", r.channel, err)
	}
	if w.Format() != r.format || samplesDuration(w.Len()) != r.duration {
		w.Close()
		return nil, fmt.Errorf("replay %s: %s changed after it was checked (%s, %v; now %s, %v); start again",
			r.channel, r.path, r.format, r.duration, w.Format(), samplesDuration(w.Len()))
	}
	return w, nil
}

// pacer is the time a paced source runs by; tests replace it.
type pacer interface {
	Now() time.Time
	// WaitUntil returns once Now is at or past t, or with ctx.Err() when ctx
	// is done first.
	WaitUntil(ctx context.Context, t time.Time) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) WaitUntil(ctx context.Context, t time.Time) error { return clock.SleepUntil(ctx, t) }
