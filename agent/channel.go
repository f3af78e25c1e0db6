package agent

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/diarize"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/stream"
)

// channel carries one channel's audio in two stages, so that a slow decode on
// one channel never holds up the meeting's other channels or its sources:
//
//   - intake, called by the session's dispatcher for every frame, never waits:
//     it runs the segmenter, feeds the diarizer and queues the utterances'
//     speech for decoding. The queue is bounded by time; when decoding falls
//     behind by more than that, the oldest queued speech is dropped, counted
//     and reported to viewers.
//   - decode, the channel's own goroutine, takes everything queued at once and
//     hands it to the speech stream, which decodes the newest window: a stream
//     that fell behind catches up in one decode instead of one per step.
//
// The diarizer is shared by both stages and guarded by attrMu; the queue by mu.
// Everything else belongs to the decode goroutine.
type channel struct {
	s       *Session
	channel string
	seg     *stream.Segmenter // intake only
	limit   time.Duration     // queued speech beyond this is dropped

	attrMu sync.Mutex
	attr   diarize.Attributor

	mu        sync.Mutex
	queue     []stream.Chunk
	queued    time.Duration
	closed    bool          // intake is done: what is queued is all there will be
	lost      time.Duration // capture lost so far, on the device
	undecoded time.Duration // speech dropped from the queue so far
	lossAt    time.Duration // meeting time of the latest loss
	lossDirty bool          // a loss since the last report
	wake      chan struct{} // cap 1: "something changed", coalesced

	asr     *asr.Stream
	said    []*ledger.SegmentInfo // finals of a diarized channel, for the second pass
	finals  int
	partial bool // a partial is on screen and must be cleared if the utterance ends empty
}

func newChannel(s *Session, name string, st *asr.Stream, attr diarize.Attributor, limit time.Duration) *channel {
	var vad stream.VADConfig
	if s.cfg.Detector != nil {
		vad.Detector = s.cfg.Detector()
	}
	return &channel{s: s, channel: name, seg: stream.NewSegmenter(stream.SegmenterConfig{VAD: vad}), limit: limit,
		attr: attr, asr: st, wake: make(chan struct{}, 1)}
}

// intake takes one frame. It never waits on decoding.
func (c *channel) intake(f stream.Frame) error {
	if f.Lost > 0 {
		c.mu.Lock()
		c.lost += f.Lost
		c.lossAt, c.lossDirty = f.At, true
		c.mu.Unlock()
		c.signal()
	}
	return c.enqueue(c.seg.Push(f))
}

// finish ends the intake: the segmenter's last utterance is queued and the
// decode stage drains the queue and returns.
func (c *channel) finish() error {
	err := c.enqueue(c.seg.Flush())
	if cerr := c.seg.Close(); err == nil {
		err = cerr
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.signal()
	return err
}

func (c *channel) enqueue(chunks []stream.Chunk) error {
	if len(chunks) == 0 {
		return nil
	}
	for _, ch := range chunks {
		if len(ch.Samples) == 0 {
			continue
		}
		c.attrMu.Lock()
		err := c.attr.Push(ch.At, ch.Samples)
		c.attrMu.Unlock()
		if err != nil {
			return fmt.Errorf("agent: diarize %s: %w", c.channel, err)
		}
	}
	c.mu.Lock()
	for _, ch := range chunks {
		c.queue = append(c.queue, ch)
		c.queued += chunkDur(ch)
	}
	c.dropOldest()
	c.mu.Unlock()
	c.signal()
	return nil
}

// dropOldest keeps the queued speech within the limit, dropping the oldest
// speech (utterance ends stay, so utterances still end where they did). mu held.
func (c *channel) dropOldest() {
	for c.queued > c.limit {
		i := slices.IndexFunc(c.queue, func(ch stream.Chunk) bool { return len(ch.Samples) > 0 })
		if i < 0 {
			return
		}
		// At least one sample, so that a limit between two sample times still ends the loop.
		over := max(samplesOf(c.queued-c.limit), 1)
		ch := &c.queue[i]
		n := min(over, len(ch.Samples))
		d := samplesDur(n)
		ch.Samples, ch.At = ch.Samples[n:], ch.At+d
		c.queued -= d
		c.undecoded += d
		c.lossAt, c.lossDirty = ch.At, true
		if len(ch.Samples) == 0 && !ch.End {
			c.queue = slices.Delete(c.queue, i, i+1)
		}
	}
}

func (c *channel) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take empties the queue: everything said since the last take.
func (c *channel) take() (batch []stream.Chunk, loss *ledger.LossInfo, closed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	batch, c.queue, c.queued = c.queue, nil, 0
	if c.lossDirty {
		loss = &ledger.LossInfo{Channel: c.channel, CaptureMS: c.lost.Milliseconds(),
			UndecodedMS: c.undecoded.Milliseconds(), AtMS: c.lossAt.Milliseconds()}
		c.lossDirty = false
	}
	return batch, loss, c.closed
}

// run is the decode stage. It returns once finish was called and all that was
// queued is decoded, or on a failure. Decodes use ctx; once ctx is done, what
// is left is decoded on flushCtx, so that nothing said before a stop is lost.
func (c *channel) run(ctx, flushCtx context.Context) error {
	defer func() { c.s.recordStats(c.channel, c.asr.Stats()) }()
	for {
		<-c.wake // the dispatcher always finishes the intake, also on a stop
		batch, loss, closed := c.take()
		if loss != nil {
			if err := c.reportLoss(flushCtx, loss); err != nil {
				return err
			}
		}
		if err := c.decode(ctx, flushCtx, batch); err != nil {
			return err
		}
		if closed {
			return c.reattribute(flushCtx)
		}
	}
}

func (c *channel) reportLoss(ctx context.Context, loss *ledger.LossInfo) error {
	c.s.log.Warn("audio lost", "channel", c.channel, "capture_ms", loss.CaptureMS, "undecoded_ms", loss.UndecodedMS)
	if _, err := c.s.cfg.Log.Append(ctx, ledger.Event{Type: ledger.TypeChannelLoss, Meeting: c.s.cfg.Meeting, Loss: loss}); err != nil {
		return fmt.Errorf("agent: record audio lost on %s: %w", c.channel, err)
	}
	return nil
}

func samplesDur(n int) time.Duration { return time.Duration(n) * time.Second / stream.SampleRate }

func samplesOf(d time.Duration) int { return int(d * stream.SampleRate / time.Second) }

func chunkDur(ch stream.Chunk) time.Duration { return samplesDur(len(ch.Samples)) }

// reattribute revisits a diarized channel's finals once its audio has ended:
// the diarizer's second pass over the whole channel tells voices apart
// better than it could live, so a final whose speaker it corrects is
// appended again under its own id, which viewers and the record replace.
func (c *channel) reattribute(ctx context.Context) error {
	d, ok := c.attr.(*diarize.Diarizer)
	if !ok || len(c.said) == 0 {
		return nil
	}
	c.attrMu.Lock()
	err := d.Flush()
	turns := d.Turns()
	c.attrMu.Unlock()
	if err != nil {
		return fmt.Errorf("agent: diarize %s: %w", c.channel, err)
	}
	for _, seg := range c.said {
		spk := majoritySpeaker(turns, time.Duration(seg.StartMS)*time.Millisecond, time.Duration(seg.EndMS)*time.Millisecond)
		if spk == "" {
			continue
		}
		id := c.voiceID(spk)
		if id == seg.Speaker {
			continue
		}
		sp, err := c.s.speaker(ctx, c.channel, id)
		if err != nil {
			return err
		}
		fixed := *seg
		fixed.Speaker, fixed.Org, fixed.Role = id, sp.Org, sp.Role
		if _, err := c.s.cfg.Log.Append(ctx, ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: c.s.cfg.Meeting, Segment: &fixed}); err != nil {
			return fmt.Errorf("agent: store corrected final of %s: %w", c.channel, err)
		}
	}
	return nil
}

// majoritySpeaker is the speaker of the most time of [a, b) in turns; ""
// when no turn covers any of it.
func majoritySpeaker(turns []diarize.Turn, a, b time.Duration) string {
	share := map[string]time.Duration{}
	best := ""
	for _, t := range turns {
		if d := min(t.End, b) - max(t.Start, a); d > 0 {
			share[t.Speaker] += d
			if best == "" || share[t.Speaker] > share[best] {
				best = t.Speaker
			}
		}
	}
	return best
}

// decode feeds a batch of queued chunks to the speech stream: each stretch of
// contiguous speech as one push, so that one decode covers all of it, and
// each utterance's end. Decodes run on ctx until it is done, then on
// flushCtx; records are appended on flushCtx, so words the stream committed
// reach the log also when a stop interrupts a decode.
func (c *channel) decode(ctx, flushCtx context.Context, batch []stream.Chunk) error {
	var pcm []float32
	var at time.Duration
	current := func() context.Context {
		if ctx.Err() != nil {
			return flushCtx
		}
		return ctx
	}
	push := func() error {
		if len(pcm) == 0 {
			return nil
		}
		ups, err := c.asr.Push(current(), pcm, at)
		pcm = nil
		return c.record(flushCtx, ups, err, ctx)
	}
	for _, ch := range batch {
		if len(ch.Samples) > 0 {
			if len(pcm) > 0 && ch.At != at+samplesDur(len(pcm)) {
				if err := push(); err != nil {
					return err
				}
			}
			if len(pcm) == 0 {
				at = ch.At
			}
			pcm = append(pcm, ch.Samples...)
		}
		if !ch.End {
			continue
		}
		if err := push(); err != nil {
			return err
		}
		ups, err := c.asr.EndUtterance(current())
		if err := c.record(flushCtx, ups, err, ctx); err != nil {
			return err
		}
		if c.partial {
			// The utterance is over: whatever partial is left will never be final.
			if err := c.publishPartial(asr.Update{}); err != nil {
				return err
			}
		}
	}
	return push()
}

// record appends what a decode yielded. A decode error is the channel's
// failure unless a stop (ctx done) caused it: the stream keeps the audio of a
// failed push, and the flush decodes it.
func (c *channel) record(flushCtx context.Context, ups []asr.Update, err error, ctx context.Context) error {
	if eerr := c.emit(flushCtx, ups); eerr != nil {
		return eerr
	}
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("agent: transcribe %s: %w", c.channel, err)
	}
	return nil
}

func (c *channel) emit(ctx context.Context, ups []asr.Update) error {
	for _, u := range ups {
		if !u.Final {
			if err := c.publishPartial(u); err != nil {
				return err
			}
			continue
		}
		c.attrMu.Lock()
		parts, err := c.attr.Attribute(toDiarize(u))
		c.attrMu.Unlock()
		if err != nil {
			return fmt.Errorf("agent: attribute final of %s: %w", c.channel, err)
		}
		for _, p := range parts {
			if err := c.final(ctx, u, p); err != nil {
				return err
			}
		}
		c.partial = false
	}
	return nil
}

// final stores one speaker's part of a final, then the commitments it states.
func (c *channel) final(ctx context.Context, u asr.Update, p diarize.Attributed) error {
	id, name := c.channel, ""
	if n, ok := c.attr.(diarize.Namer); ok {
		// People known across channels (a bot's timeline) keep one ID on all of them.
		if name, ok = n.SpeakerName(p.Speaker); ok {
			id = c.s.cfg.IDPrefix + p.Speaker
		}
	}
	if name == "" && p.Speaker != "" && p.Speaker != c.channel {
		id = c.voiceID(p.Speaker)
	}
	sp, err := c.s.speakerNamed(ctx, c.channel, id, name)
	if err != nil {
		return err
	}
	u.Text, u.Start, u.End = p.Text, p.Start, p.End
	if c.s.echo.echoed(c.channel, u.Start, u.End, u.Text, c.s.log) {
		return nil
	}
	c.finals++
	seg := c.segment(u, c.finals)
	seg.Speaker, seg.Org, seg.Role, seg.Overlap = id, sp.Org, sp.Role, p.Overlap
	if _, err := c.s.cfg.Log.Append(ctx, ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: c.s.cfg.Meeting, Segment: seg}); err != nil {
		return fmt.Errorf("agent: store final of %s: %w", c.channel, err)
	}
	if _, diarized := c.attr.(*diarize.Diarizer); diarized {
		c.said = append(c.said, seg)
	}
	return c.s.commitments.record(ctx, seg, sp)
}

// voiceID names a voice the diarizer found on this channel.
func (c *channel) voiceID(spk string) string { return c.s.cfg.IDPrefix + c.channel + "/" + spk }

func toDiarize(u asr.Update) diarize.Segment {
	seg := diarize.Segment{Start: u.Start, End: u.End, Text: u.Text}
	for _, t := range u.Tokens {
		seg.Tokens = append(seg.Tokens, diarize.Token{Text: t.Text, Start: t.Start, End: t.End})
	}
	return seg
}

// publishPartial shows the channel's uncommitted words; an empty update clears them.
func (c *channel) publishPartial(u asr.Update) error {
	c.partial = u.Text != ""
	err := c.s.cfg.Log.Publish(ledger.Event{Type: ledger.TypeSegmentPartial, Meeting: c.s.cfg.Meeting, Segment: c.segment(u, c.finals+1)})
	if err != nil {
		return fmt.Errorf("agent: publish partial of %s: %w", c.channel, err)
	}
	return nil
}

func (c *channel) segment(u asr.Update, n int) *ledger.SegmentInfo {
	seg := &ledger.SegmentInfo{
		ID:      fmt.Sprintf("%s%s-%d", c.s.cfg.IDPrefix, c.channel, n),
		Channel: c.channel,
		StartMS: u.Start.Milliseconds(), EndMS: u.End.Milliseconds(),
		Text: u.Text, Language: u.Language,
	}
	if sp, ok := c.s.knownSpeaker(c.channel); ok {
		seg.Speaker, seg.Org, seg.Role = c.channel, sp.Org, sp.Role
	}
	return seg
}
