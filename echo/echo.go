// Package echo removes, from a laptop's microphone, the call it plays through
// its own speakers. Without headphones the mic hears the other side too, and
// their words would be transcribed twice and given to the seller. A Canceller
// wraps a source that captures both the mic and the system channel (the
// audio the laptop plays) and gives back the mic with the system's echo
// subtracted by speexdsp's adaptive filter; the delay between playing and
// hearing is measured as it goes (GCC-PHAT) and the reference shifted by it,
// so a filter of 128 ms covers any delay up to 400 ms.
//
// Concurrency: Start runs on the calling goroutine, which owns the filter
// and the buffers; the wrapped source runs on a goroutine Start starts and
// waits for. Delay may be called from any goroutine.
package echo

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ledgerline/ledgerline/stream"
)

const (
	// block is the filter's step: 10 ms, speexdsp's recommended frame.
	block = stream.SampleRate / 100
	// taps is the filter's length: 128 ms of reference from the shift on,
	// enough for a laptop's speaker and a room's first reflections.
	taps = 128 * stream.SampleRate / 1000
	// margin is how far before the measured delay the filter starts, so
	// that a slightly early echo and the speaker's own ringing are covered.
	margin = 20 * stream.SampleRate / 1000
	// maxLead bounds how far the mic may run ahead of the system channel
	// before it is processed as if the system were silent: a system
	// channel that stalls or ends must not hold the seller's words back.
	maxLead = 250 * stream.SampleRate / 1000
	// postDelay is how far the output of speexdsp's post-filter trails its
	// input: one block, which its overlapping windows hold back.
	postDelay = block
	// sysKeep bounds the system audio kept while the mic lags behind it.
	sysKeep = 2 * stream.SampleRate
)

// Config names the channels a Canceller works on.
type Config struct {
	// Mic is the channel to clean [stream.ChannelMic].
	Mic string
	// System is the reference: what the laptop plays [stream.ChannelSystem].
	System string
	// Logger is told when the delay changes; nil discards it.
	Logger *slog.Logger
}

// Canceller is a stream.Source: its source's frames, with the mic channel's
// echo of the system channel removed. Frames of the system channel and of
// any other channel pass through unchanged.
type Canceller struct {
	src   stream.Source
	cfg   Config
	delay atomic.Int64 // samples; -1 until measured
}

var _ stream.Source = (*Canceller)(nil)

// New wraps src, which must produce both cfg.Mic and cfg.System.
func New(src stream.Source, cfg Config) (*Canceller, error) {
	if cfg.Mic == "" {
		cfg.Mic = stream.ChannelMic
	}
	if cfg.System == "" {
		cfg.System = stream.ChannelSystem
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	chs := src.Channels()
	if !slices.Contains(chs, cfg.Mic) || !slices.Contains(chs, cfg.System) {
		return nil, fmt.Errorf("echo: the source gives channels %v: echo cancellation needs both %q and %q",
			chs, cfg.Mic, cfg.System)
	}
	c := &Canceller{src: src, cfg: cfg}
	c.delay.Store(-1)
	return c, nil
}

// Channels are the wrapped source's.
func (c *Canceller) Channels() []string { return c.src.Channels() }

// Delay is the measured delay between the system channel and its echo on
// the mic, and false until one was measured.
func (c *Canceller) Delay() (time.Duration, bool) {
	d := c.delay.Load()
	return time.Duration(d) * time.Second / stream.SampleRate, d >= 0
}

// Start runs the wrapped source and sends its frames on, the mic's cleaned.
// It returns what the wrapped source's Start returned, once the mic audio
// it sent has been processed and sent too (or ctx is done).
func (c *Canceller) Start(ctx context.Context, out chan<- stream.Frame) error {
	aec, err := newSpeex(block, taps)
	if err != nil {
		return err
	}
	defer aec.close()
	in := make(chan stream.Frame)
	done := make(chan error, 1)
	go func() {
		done <- c.src.Start(ctx, in)
		close(in)
	}()
	r := &run{c: c, aec: aec, track: newDelayTracker(), ctx: ctx, out: out}
	for f := range in {
		if err := r.frame(f); err != nil {
			// Only a stop fails a send: the source sees it too and returns.
			for range in {
			}
			<-done
			return err
		}
	}
	srcErr := <-done
	if err := r.drain(); err != nil && srcErr == nil {
		return err
	}
	return srcErr
}

// run is the state of one Start, owned by its goroutine.
type run struct {
	c     *Canceller
	aec   *speex
	track *delayTracker
	ctx   context.Context
	out   chan<- stream.Frame

	// The mic samples not yet processed start at micPos (in samples on the
	// meeting clock). The processed audio comes out of the post-filter
	// block samples late: the next sample out is of outPos; lost is the
	// capture lost just before it.
	mic     []float32
	micPos  int64
	outPos  int64
	started bool
	lost    time.Duration
	skip    int // samples the post-filter has yet to give before the first of outPos
	owed    int // samples fed in whose cleaned audio has not come out yet
	// sys holds the system channel from sysPos on, up to sysEnd.
	sys    []float32
	sysPos int64
	sysEnd bool              // the system channel has ended: what is missing is silence
	shift  int               // samples the reference is moved back by
	buf    [4][block]float32 // mic, reference, cleaned, system at the mic's time
}

func (r *run) frame(f stream.Frame) error {
	switch f.Channel {
	case r.c.cfg.System:
		at := samplesOf(f.At)
		end := r.sysPos + int64(len(r.sys))
		switch {
		case len(r.sys) == 0 || at-end > sysKeep:
			r.sys, r.sysPos = r.sys[:0], at
		case at > end: // a hole in the capture is silence in the reference
			r.sys = append(r.sys, make([]float32, at-end)...)
		}
		r.sys = append(r.sys, f.Samples...)
		if over := len(r.sys) - sysKeep; over > 0 { // the mic stalled: keep the newest
			r.sys = append(r.sys[:0], r.sys[over:]...)
			r.sysPos += int64(over)
		}
		if err := r.send(f); err != nil {
			return err
		}
		return r.process(false)
	case r.c.cfg.Mic:
		at := samplesOf(f.At)
		if end := r.micPos + int64(len(r.mic)); at != end || !r.started {
			// A hole: what is pending goes out before it.
			if err := r.process(true); err != nil {
				return err
			}
			r.micPos, r.outPos, r.skip, r.started = at, at, postDelay, true
		}
		r.lost += f.Lost
		r.mic = append(r.mic, f.Samples...)
		return r.process(false)
	}
	return r.send(f)
}

// drain processes the mic audio still pending once the source has ended.
func (r *run) drain() error {
	r.sysEnd = true
	return r.process(true)
}

// process cleans the pending mic audio whose reference has arrived (or is
// no longer waited for) and sends it. With all, a last partial block is
// processed too, padded with silence, and the post-filter flushed.
func (r *run) process(all bool) error {
	n := 0 // samples of r.mic done
	var cleaned []float32
	for n < len(r.mic) || all && r.owed > 0 {
		pos := r.micPos + int64(n)
		have := r.sysPos + int64(len(r.sys)) - pos // system samples at and after pos
		full := len(r.mic)-n >= block
		lead := int64(len(r.mic) - n)
		if !full && !all {
			break
		}
		if have < block && !r.sysEnd && !all && lead < maxLead {
			break // wait for the system channel to catch up
		}
		mic, ref, clean, sys := r.buf[0][:], r.buf[1][:], r.buf[2][:], r.buf[3][:]
		k := copy(mic, r.mic[n:])
		clear(mic[k:])
		r.reference(sys, pos)
		if r.track.push(mic, sys) {
			r.moveShift()
		}
		r.reference(ref, pos-int64(r.shift))
		r.aec.cancel(clean, mic, ref)
		// The post-filter's output trails its input by postDelay samples.
		r.owed += k
		d := min(r.skip, block)
		r.skip -= d
		t := min(block-d, r.owed)
		cleaned = append(cleaned, clean[d:d+t]...)
		r.owed -= t
		n += k
	}
	r.mic = append(r.mic[:0], r.mic[n:]...)
	r.micPos += int64(n)
	if all {
		r.skip = postDelay // the silence flushed through is still in the post-filter
	}
	if len(cleaned) == 0 {
		return nil
	}
	f := stream.Frame{Channel: r.c.cfg.Mic, At: samplesDur(r.outPos), Samples: cleaned, Lost: r.lost}
	r.outPos += int64(len(cleaned))
	r.lost = 0
	r.trimSys()
	return r.send(f)
}

// reference fills dst with the system channel from sample at on; samples
// it does not have are silence.
func (r *run) reference(dst []float32, at int64) {
	clear(dst)
	lo, hi := at-r.sysPos, at-r.sysPos+int64(len(dst))
	for i := max(lo, 0); i < min(hi, int64(len(r.sys))); i++ {
		dst[i-lo] = r.sys[i]
	}
}

// moveShift follows a new delay estimate: the filter then starts margin
// before it, and what it learnt for the old delay is forgotten.
func (r *run) moveShift() {
	d := r.track.delay
	r.c.delay.Store(int64(d))
	shift := max(0, d-margin)
	r.c.cfg.Logger.Info("echo delay measured", "delay_ms", d*1000/stream.SampleRate)
	if shift != r.shift {
		r.shift = shift
		r.aec.reset()
	}
}

// trimSys drops system audio no later mic block can need.
func (r *run) trimSys() {
	keep := r.micPos - int64(max(r.shift, maxDelay)) - block
	if drop := keep - r.sysPos; drop > 0 {
		drop = min(drop, int64(len(r.sys)))
		r.sys = append(r.sys[:0], r.sys[drop:]...)
		r.sysPos += drop
	}
}

func (r *run) send(f stream.Frame) error {
	select {
	case r.out <- f:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

func samplesOf(d time.Duration) int64 {
	return (int64(d)*stream.SampleRate + int64(time.Second)/2) / int64(time.Second)
}

func samplesDur(n int64) time.Duration { return time.Duration(n) * time.Second / stream.SampleRate }
