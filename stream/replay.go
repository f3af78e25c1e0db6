package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ledgerline/ledgerline/internal/clock"
)

// ErrStarted is returned by a source's Start when it has already been started.
var ErrStarted = errors.New("source already started")

// Replay plays a recording as a live source: one channel, or several when
// the recording's channels are kept apart, in frames of a fixed length,
// delivered no faster than the audio would be captured at the chosen speed.
// It lets a meeting be rerun from a file through the same path as live
// capture, a stereo recording of a laptop's mic and system audio included.
type Replay struct {
	channels []string
	tracks   [][]float32 // the audio, when given as samples: one per channel
	path     string      // the file to play, when given as one
	split    bool        // the file's channels are played apart, not downmixed
	format   Format      // the file's format when NewReplay checked it
	frame    int         // samples per frame
	speed    float64     // 0 means as fast as possible
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
	if err := checkReplay([]string{channel}, speed, frameDur); err != nil {
		return nil, err
	}
	w, err := OpenAudio(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer w.Close()
	r := newReplay(nil, []string{channel}, speed, frameDur)
	r.path, r.format, r.duration = path, w.Format(), samplesDuration(w.Len())
	return r, nil
}

// NewReplayChannels plays the recording at path as NewReplay does, each of
// its channels as its own: the first as channels[0], the second as
// channels[1], and so on, with frames of the same meeting time sent
// together. channels must name exactly as many channels as the file has. A
// mono file may be in any format OpenAudio reads; channels are kept apart in
// WAV files (PCM, float, A-law, µ-law).
func NewReplayChannels(path string, channels []string, speed float64, frameDur time.Duration) (*Replay, error) {
	if len(channels) == 1 {
		r, err := NewReplay(path, channels[0], speed, frameDur)
		if err == nil && r.format.Channels != 1 {
			return nil, channelCount(path, r.format, channels)
		}
		return r, err
	}
	if err := checkReplay(channels, speed, frameDur); err != nil {
		return nil, err
	}
	readers, err := openSplit(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer closeAll(readers)
	f := readers[0].Format()
	if f.Channels != len(channels) {
		return nil, channelCount(path, f, channels)
	}
	r := newReplay(nil, channels, speed, frameDur)
	r.path, r.split, r.format, r.duration = path, true, f, samplesDuration(readers[0].Len())
	return r, nil
}

func channelCount(path string, f Format, channels []string) error {
	return fmt.Errorf("replay: %s has %d channels (%s) and %d are named (%s): name one channel per channel of the file, in order",
		path, f.Channels, f, len(channels), strings.Join(channels, ","))
}

// NewReplaySamples plays 16 kHz mono samples as channel, as NewReplay does
// with a file. The Replay keeps samples; the caller must not change them.
func NewReplaySamples(samples []float32, channel string, speed float64, frameDur time.Duration) (*Replay, error) {
	return NewReplayTracks([][]float32{samples}, []string{channel}, speed, frameDur)
}

// NewReplayTracks plays tracks of 16 kHz samples, tracks[i] as channels[i],
// as NewReplayChannels does with a file. The tracks must be equally long.
// The Replay keeps them; the caller must not change them.
func NewReplayTracks(tracks [][]float32, channels []string, speed float64, frameDur time.Duration) (*Replay, error) {
	if err := checkReplay(channels, speed, frameDur); err != nil {
		return nil, err
	}
	if len(tracks) != len(channels) {
		return nil, fmt.Errorf("replay: %d tracks and %d channel names: give one name per track", len(tracks), len(channels))
	}
	for _, t := range tracks[1:] {
		if len(t) != len(tracks[0]) {
			return nil, errors.New("replay: the tracks differ in length: give tracks of one recording")
		}
	}
	return newReplay(tracks, channels, speed, frameDur), nil
}

func checkReplay(channels []string, speed float64, frameDur time.Duration) error {
	for i, ch := range channels {
		if ch == "" {
			return errors.New("replay: the channel needs a name, such as \"mic\"")
		}
		if slices.Contains(channels[:i], ch) {
			return fmt.Errorf("replay: channel %q is named twice: give each channel its own name", ch)
		}
	}
	switch {
	case len(channels) == 0:
		return errors.New("replay: the channel needs a name, such as \"mic\"")
	case math.IsNaN(speed) || speed < 0:
		return fmt.Errorf("replay: speed %v: use 1 for real time, more to go faster, or 0 for as fast as possible", speed)
	case frameDur < 0 || (frameDur > 0 && durationSamples(frameDur) < 1):
		return fmt.Errorf("replay: frame length %v: use at least one sample (62.5µs), or 0 for %v", frameDur, DefaultFrameDur)
	}
	return nil
}

func newReplay(tracks [][]float32, channels []string, speed float64, frameDur time.Duration) *Replay {
	if frameDur == 0 {
		frameDur = DefaultFrameDur
	}
	if math.IsInf(speed, 1) {
		speed = 0
	}
	r := &Replay{
		channels: channels,
		tracks:   tracks,
		frame:    int(durationSamples(frameDur)),
		speed:    speed,
		clock:    realClock{},
	}
	if len(tracks) > 0 {
		r.duration = samplesDuration(int64(len(tracks[0])))
	}
	return r
}

// Channels reports the channels the replay produces, in the file's order.
func (r *Replay) Channels() []string { return r.channels }

// Duration is the length of the recording on the meeting clock.
func (r *Replay) Duration() time.Duration { return r.duration }

// name says which replay an error is about.
func (r *Replay) name() string { return strings.Join(r.channels, ",") }

// Start sends the recording to out, frame by frame. A frame covering meeting
// time [At, End) is sent no earlier than End/speed after Start began, as if
// it had just been captured; each deadline is measured from that one start,
// so delays do not add up. The frames of all channels for one stretch of
// time are sent together, in the order of Channels. A file is read as it
// plays, a chunk at a time. Start returns nil after the last frame, or
// ctx.Err() when ctx is done first. It may be called once.
func (r *Replay) Start(ctx context.Context, out chan<- Frame) error {
	if r.started.Swap(true) {
		return fmt.Errorf("replay %s: %w", r.name(), ErrStarted)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// bufs hold the audio not yet sent, a channel each: all of it for
	// samples, a chunk or two of the file otherwise.
	k := len(r.channels)
	bufs, more := make([][]float32, k), make([]func(context.Context, []float32) ([]float32, error), k)
	for i := range k {
		more[i] = func(_ context.Context, dst []float32) ([]float32, error) { return dst, io.EOF }
		if r.tracks != nil {
			bufs[i] = r.tracks[i]
		}
	}
	if r.path != "" {
		readers, err := r.open()
		if err != nil {
			return err
		}
		defer closeAll(readers)
		for i, w := range readers {
			more[i] = w.read
		}
	}
	rooms := make([][]float32, k) // where bufs are kept while a file plays
	start := r.clock.Now()
	for at, ended := int64(0), false; ; {
		for !ended && len(bufs[0]) < r.frame {
			// Move what is left to the front of room, then add a chunk; the
			// channels of a file are decoded together, a chunk each.
			for i := range k {
				var err error
				bufs[i], err = more[i](ctx, append(rooms[i][:0], bufs[i]...))
				rooms[i] = bufs[i]
				switch {
				case errors.Is(err, io.EOF):
					ended = true
				case ctx.Err() != nil:
					return ctx.Err()
				case err != nil:
					return fmt.Errorf("replay %s: %s: %w", r.name(), r.path, err)
				}
			}
		}
		n := 0
		for _, b := range bufs {
			n = max(n, min(r.frame, len(b)))
		}
		if n == 0 {
			return nil
		}
		if r.speed > 0 {
			due := start.Add(time.Duration(float64(samplesDuration(at+int64(n))) / r.speed))
			if err := r.clock.WaitUntil(ctx, due); err != nil {
				return err
			}
		}
		for i, ch := range r.channels {
			m := min(n, len(bufs[i]))
			if m == 0 {
				continue
			}
			f := Frame{Channel: ch, At: samplesDuration(at), Samples: make([]float32, m)}
			copy(f.Samples, bufs[i][:m])
			bufs[i] = bufs[i][m:]
			if err := send(ctx, out, f); err != nil {
				return err
			}
		}
		at += int64(n)
	}
}

// open opens the file to play and checks that it is still the one NewReplay
// checked: one reader, or one per channel when they are played apart.
func (r *Replay) open() ([]*AudioReader, error) {
	var readers []*AudioReader
	if r.split {
		var err error
		if readers, err = openSplit(r.path); err != nil {
			return nil, fmt.Errorf("replay %s: %w", r.name(), err)
		}
	} else {
		w, err := OpenAudio(r.path)
		if err != nil {
			return nil, fmt.Errorf("replay %s: %w", r.name(), err)
		}
		readers = []*AudioReader{w}
	}
	w := readers[0]
	if w.Format() != r.format || samplesDuration(w.Len()) != r.duration {
		closeAll(readers)
		return nil, fmt.Errorf("replay %s: %s changed after it was checked (%s, %v; now %s, %v); start again",
			r.name(), r.path, r.format, r.duration, w.Format(), samplesDuration(w.Len()))
	}
	return readers, nil
}

func closeAll(readers []*AudioReader) {
	for _, w := range readers {
		w.Close()
	}
}

// openSplit opens the WAV file at path as one reader per channel. The file
// is decoded once: each chunk's interleaved samples are dealt out to the
// channels' readers, which resample them as any reader does. The readers
// must be read in turn, a chunk each, as Replay does.
func openSplit(path string) ([]*AudioReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open audio file: %w", err)
	}
	head := make([]byte, sniffLen)
	n, _ := io.ReadFull(f, head)
	if c := DetectContainer(head[:n]); c != ContainerWAV {
		f.Close()
		if c == ContainerUnknown {
			_, err := OpenAudio(path) // says what the file is not
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w: channels are played apart from WAV files only; this one is %s: convert it with 'ffmpeg -i %s out.wav'",
			path, ErrUnsupported, c, path)
	}
	d, err := openFrames(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &splitFrames{d: d, queues: make([][]float32, d.layout.format.Channels)}
	// Interleaved samples come out one by one: the "downmix" of one sample.
	d.mix = downmixer{channels: 1}
	readers := make([]*AudioReader, len(s.queues))
	for i := range readers {
		var closer io.Closer
		if i == 0 {
			closer = f
		}
		if readers[i], err = newAudioReader(&channelFrames{s: s, ch: i}, closer); err != nil {
			closeAll(readers[:i])
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return readers, nil
}

// splitFrames decodes a WAV file's chunks for several channelFrames.
type splitFrames struct {
	d      *wavFrames
	queues [][]float32 // decoded samples each channel has not taken yet
	err    error       // the decoder's last error, given to every channel
}

// channelFrames is one channel of a splitFrames, as a frameSource.
type channelFrames struct {
	s    *splitFrames
	ch   int
	done int64
}

var _ frameSource = (*channelFrames)(nil)

func (c *channelFrames) next(dst []float32) ([]float32, error) {
	s := c.s
	if len(s.queues[c.ch]) == 0 && s.err == nil {
		var raw []float32
		raw, s.err = s.d.next(nil)
		k := len(s.queues)
		for i := 0; i+k <= len(raw); i += k {
			for ch := range s.queues {
				s.queues[ch] = append(s.queues[ch], raw[i+ch])
			}
		}
	}
	q := s.queues[c.ch]
	if len(q) == 0 {
		return dst, s.err
	}
	dst = append(dst, q...)
	c.done += int64(len(q))
	s.queues[c.ch] = q[:0]
	return dst, nil
}

func (c *channelFrames) format() Format { return c.s.d.format() }
func (c *channelFrames) frames() int64  { return c.s.d.frames() }
func (c *channelFrames) decoded() int64 { return c.done }
func (c *channelFrames) close() error   { return nil }

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
