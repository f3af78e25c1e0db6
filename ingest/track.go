package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ledgerline/ledgerline/stream"
)

// frameBuffer is how many frames (20 ms each) a track queues for a slow
// consumer: five seconds. Past it, frames are dropped and counted (see
// deliver), never waited for.
const frameBuffer = 250

// rtpReader is where a track reads its packets: a *webrtc.TrackRemote.
type rtpReader interface {
	ReadRTP() (*rtp.Packet, interceptor.Attributes, error)
	SetReadDeadline(t time.Time) error
}

var _ rtpReader = (*webrtc.TrackRemote)(nil)

// Track is one received audio track: one channel of a meeting.
//
// Ownership: the WHIP endpoint owns the goroutine that reads and decodes the
// track and ends it with the session. The consumer that OnTrack hands the
// track to must drain Frames until it is closed (or call Close to say it wants
// no more); frames queue for five seconds of audio, after which the reader
// waits for the consumer and the network buffers drop packets.
type Track struct {
	meeting, session, channel string
	query                     string // raw query of the POST that published it

	frames  chan stream.Frame
	done    chan struct{}
	abandon chan struct{}
	once    sync.Once
	started atomic.Bool

	// dropped is audio dropped for a consumer that fell frameBuffer behind and
	// not yet reported to it; only the reading goroutine touches it.
	dropped time.Duration

	mu    sync.Mutex
	stats TrackStats
	err   error
}

var _ stream.Source = (*Track)(nil)

func newTrack(meeting, session, channel, query string) *Track {
	return &Track{
		meeting: meeting, session: session, channel: channel, query: query,
		frames:  make(chan stream.Frame, frameBuffer),
		done:    make(chan struct{}),
		abandon: make(chan struct{}),
	}
}

// Meeting is the meeting the track belongs to.
func (t *Track) Meeting() string { return t.meeting }

// Session is the WHIP session (resource id) that carries the track.
func (t *Track) Session() string { return t.session }

// Channel is the channel name the track's frames carry.
func (t *Track) Channel() string { return t.channel }

// Query returns the query parameters of the POST that published the track:
// besides channel, what a publisher announces itself with (such as a name),
// which the endpoint leaves to the receiver. Each call returns a fresh copy.
func (t *Track) Query() url.Values {
	q, _ := url.ParseQuery(t.query) // malformed pairs are dropped, as Request.URL.Query drops them
	return q
}

// Channels names the one channel of the track.
func (t *Track) Channels() []string { return []string{t.channel} }

// Frames delivers the track's audio: 16 kHz mono, 20 ms a frame (the last
// may be shorter), on the meeting clock, without gaps. It is closed when the
// track ends.
func (t *Track) Frames() <-chan stream.Frame { return t.frames }

// Done is closed when the track has ended and Frames is closed.
func (t *Track) Done() <-chan struct{} { return t.done }

// Err says why the track ended once Done is closed: nil when its publisher
// ended it (DELETE, end of stream) or the endpoint shut down, ErrIdle when no
// packet came for the idle timeout, ErrDisconnected when the peer connection
// failed.
func (t *Track) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Stats reports the track's packet counters so far.
func (t *Track) Stats() TrackStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// Close tells the track its consumer wants no more frames: those not yet
// taken are dropped. The track goes on until its session ends. Close may be
// called more than once and from any goroutine.
func (t *Track) Close() { t.once.Do(func() { close(t.abandon) }) }

// Start sends the track's frames to out until the track ends (it returns nil)
// or ctx is done (it closes the track and returns ctx.Err()). It is the
// stream.Source face of the track; use it or Frames, not both.
func (t *Track) Start(ctx context.Context, out chan<- stream.Frame) error {
	if !t.started.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: track %q started twice", ErrConfig, t.channel)
	}
	for {
		select {
		case f, ok := <-t.frames:
			if !ok {
				return nil
			}
			select {
			case out <- f:
			case <-ctx.Done():
				t.Close()
				return ctx.Err()
			}
		case <-ctx.Done():
			t.Close()
			return ctx.Err()
		}
	}
}

// trackConfig is how a track reads and times its packets.
type trackConfig struct {
	idle   time.Duration                 // end after this long without a packet
	depth  int64                         // jitter buffer depth in RTP timestamp units
	maxGap time.Duration                 // largest timestamp gap taken as real time
	clock  func(time.Time) time.Duration // meeting time of an instant
	now    func() time.Time              // when a packet arrives; nil is time.Now
	// stopping is closed when the session itself ends the track; a read
	// that fails before then means the peer went away.
	stopping <-chan struct{}
	log      *slog.Logger
}

// run reads, reorders and decodes packets from r until r fails (the session
// closed it) or stays silent for the idle timeout, then flushes the decoder
// and closes Frames and Done.
func (t *Track) run(r rtpReader, cfg trackConfig) {
	defer close(t.done)
	defer close(t.frames)
	dec, err := newDecoder(t.channel, cfg.maxGap)
	if err != nil {
		t.end(err)
		return
	}
	jb := newJitter(cfg.depth)
	arrival := cfg.now
	if arrival == nil {
		arrival = time.Now
	}
	var frames []stream.Frame
	var reason error
	for {
		if err := r.SetReadDeadline(time.Now().Add(cfg.idle)); err != nil {
			reason = fmt.Errorf("set read deadline: %w", err)
			break
		}
		p, _, err := r.ReadRTP()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				reason = fmt.Errorf("%w: no packet for %s", ErrIdle, cfg.idle)
				break
			}
			select {
			case <-cfg.stopping:
			default:
				reason = fmt.Errorf("%w: %w", ErrDisconnected, err)
			}
			break
		}
		now := arrival()
		if !dec.anchored {
			dec.anchor(int64(p.Timestamp), cfg.clock(now))
		}
		jb.push(p, now)
		frames = drain(jb, dec, false, frames[:0])
		t.deliver(frames)
		t.update(dec, jb)
	}
	frames = dec.flush(drain(jb, dec, true, frames[:0]))
	t.deliver(frames)
	t.reportDropped(dec.clockEnd())
	t.update(dec, jb)
	t.end(reason)
	cfg.log.Debug("track ended", "channel", t.channel, "reason", reason,
		"audio", dec.stats.Audio, "lost", dec.stats.Lost, "late", jb.late)
}

// drain decodes every packet the jitter buffer releases.
func drain(jb *jitter, dec *decoder, flush bool, frames []stream.Frame) []stream.Frame {
	for {
		p, lost, ok := jb.pop(flush)
		if !ok {
			return frames
		}
		frames = dec.packet(p, lost, frames)
	}
}

// deliver hands frames to the consumer without ever waiting for it, and drops
// them once it has left. A consumer frameBuffer frames behind loses the frames
// that do not fit; the next frame it takes carries that audio as Frame.Lost, so
// its record shows a hole where the audio went rather than losing it unseen.
// Waiting instead would stop the reading of packets, and the network would
// drop them with no trace (the publisher goes on sending at its pace).
func (t *Track) deliver(frames []stream.Frame) {
	for _, f := range frames {
		select {
		case <-t.abandon:
			return
		default:
		}
		f.Lost += t.dropped
		select {
		case t.frames <- f:
			t.dropped = 0
		default:
			t.dropped = f.Lost + (f.End() - f.At)
			t.mu.Lock()
			t.stats.Dropped += f.End() - f.At
			t.mu.Unlock()
		}
	}
}

// reportDropped tells the consumer of audio dropped after the last frame it
// took, with an empty frame at the end of the track, which it waits to hand on:
// nothing is read after it.
func (t *Track) reportDropped(end time.Duration) {
	if t.dropped == 0 {
		return
	}
	select {
	case t.frames <- stream.Frame{Channel: t.channel, At: end, Lost: t.dropped}:
		t.dropped = 0
	case <-t.abandon:
	}
}

func (t *Track) update(dec *decoder, jb *jitter) {
	t.mu.Lock()
	dropped := t.stats.Dropped
	t.stats = dec.stats
	t.stats.Late, t.stats.Dropped = jb.late, dropped
	t.mu.Unlock()
}

// end records why the track ended, keeping the first reason given.
func (t *Track) end(err error) {
	t.mu.Lock()
	if t.err == nil {
		t.err = err
	}
	t.mu.Unlock()
}
