package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/diarize"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/stream"
)

// channelWorker turns one channel's frames into segment events.
type channelWorker struct {
	s       *Session
	channel string
	seg     *stream.Segmenter
	asr     *asr.Stream
	attr    diarize.Attributor
	said    []*ledger.SegmentInfo // finals of a diarized channel, for the second pass
	finals  int
	partial bool // a partial is on screen and must be cleared if the utterance ends empty
}

func (w *channelWorker) run(ctx, flushCtx context.Context, in <-chan stream.Frame) error {
	defer func() { w.s.recordStats(w.channel, w.asr.Stats()) }()
	for f := range in {
		if err := w.chunks(ctx, w.seg.Push(f)); err != nil {
			if ctx.Err() != nil {
				break // stopping: flush below
			}
			return err
		}
	}
	for range in { // drain what is left after a stop
	}
	if err := w.chunks(flushCtx, w.seg.Flush()); err != nil {
		return err
	}
	return w.reattribute(flushCtx)
}

// reattribute revisits a diarized channel's finals once its audio has ended:
// the diarizer's second pass over the whole channel tells voices apart
// better than it could live, so a final whose speaker it corrects is
// appended again under its own id, which viewers and the record replace.
func (w *channelWorker) reattribute(ctx context.Context) error {
	d, ok := w.attr.(*diarize.Diarizer)
	if !ok || len(w.said) == 0 {
		return nil
	}
	if err := d.Flush(); err != nil {
		return fmt.Errorf("agent: diarize %s: %w", w.channel, err)
	}
	turns := d.Turns()
	for _, seg := range w.said {
		spk := majoritySpeaker(turns, time.Duration(seg.StartMS)*time.Millisecond, time.Duration(seg.EndMS)*time.Millisecond)
		if spk == "" {
			continue
		}
		id := w.voiceID(spk)
		if id == seg.Speaker {
			continue
		}
		sp, err := w.s.speaker(ctx, w.channel, id)
		if err != nil {
			return err
		}
		fixed := *seg
		fixed.Speaker, fixed.Org = id, sp.Org
		if _, err := w.s.cfg.Log.Append(ctx, ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: w.s.cfg.Meeting, Segment: &fixed}); err != nil {
			return fmt.Errorf("agent: store corrected final of %s: %w", w.channel, err)
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

// chunks decodes chunks with ctx and records what they yield. Records are
// appended even once ctx is cancelled: words the stream has committed must
// reach the log, also when a stop interrupts a decode.
func (w *channelWorker) chunks(ctx context.Context, chunks []stream.Chunk) error {
	record := context.WithoutCancel(ctx)
	for _, c := range chunks {
		var ups []asr.Update
		var err error
		if len(c.Samples) > 0 {
			if err := w.attr.Push(c.At, c.Samples); err != nil {
				return fmt.Errorf("agent: diarize %s: %w", w.channel, err)
			}
			ups, err = w.asr.Push(ctx, c.Samples, c.At)
		}
		if c.End && err == nil {
			var end []asr.Update
			end, err = w.asr.EndUtterance(ctx)
			ups = append(ups, end...)
		}
		if eerr := w.emit(record, ups); eerr != nil {
			return eerr
		}
		if err != nil {
			return fmt.Errorf("agent: transcribe %s: %w", w.channel, err)
		}
		if c.End && w.partial {
			// The utterance is over: whatever partial is left will never be final.
			if err := w.publishPartial(asr.Update{}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *channelWorker) emit(ctx context.Context, ups []asr.Update) error {
	for _, u := range ups {
		if !u.Final {
			if err := w.publishPartial(u); err != nil {
				return err
			}
			continue
		}
		parts, err := w.attr.Attribute(toDiarize(u))
		if err != nil {
			return fmt.Errorf("agent: attribute final of %s: %w", w.channel, err)
		}
		for _, p := range parts {
			if err := w.final(ctx, u, p); err != nil {
				return err
			}
		}
		w.partial = false
	}
	return nil
}

// final stores one speaker's part of a final, then the commitments it states.
func (w *channelWorker) final(ctx context.Context, u asr.Update, p diarize.Attributed) error {
	id := w.channel
	if p.Speaker != "" && p.Speaker != w.channel {
		id = w.voiceID(p.Speaker)
	}
	sp, err := w.s.speaker(ctx, w.channel, id)
	if err != nil {
		return err
	}
	u.Text, u.Start, u.End = p.Text, p.Start, p.End
	w.finals++
	seg := w.segment(u, w.finals)
	seg.Speaker, seg.Org, seg.Overlap = id, sp.Org, p.Overlap
	if _, err := w.s.cfg.Log.Append(ctx, ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: w.s.cfg.Meeting, Segment: seg}); err != nil {
		return fmt.Errorf("agent: store final of %s: %w", w.channel, err)
	}
	if _, diarized := w.attr.(*diarize.Diarizer); diarized {
		w.said = append(w.said, seg)
	}
	return w.s.commitments.record(ctx, seg, sp)
}

// voiceID names a voice the diarizer found on this channel.
func (w *channelWorker) voiceID(spk string) string { return w.s.cfg.IDPrefix + w.channel + "/" + spk }

func toDiarize(u asr.Update) diarize.Segment {
	seg := diarize.Segment{Start: u.Start, End: u.End, Text: u.Text}
	for _, t := range u.Tokens {
		seg.Tokens = append(seg.Tokens, diarize.Token{Text: t.Text, Start: t.Start, End: t.End})
	}
	return seg
}

// publishPartial shows the channel's uncommitted words; an empty update clears them.
func (w *channelWorker) publishPartial(u asr.Update) error {
	w.partial = u.Text != ""
	err := w.s.cfg.Log.Publish(ledger.Event{Type: ledger.TypeSegmentPartial, Meeting: w.s.cfg.Meeting, Segment: w.segment(u, w.finals+1)})
	if err != nil {
		return fmt.Errorf("agent: publish partial of %s: %w", w.channel, err)
	}
	return nil
}

func (w *channelWorker) segment(u asr.Update, n int) *ledger.SegmentInfo {
	seg := &ledger.SegmentInfo{
		ID:      fmt.Sprintf("%s%s-%d", w.s.cfg.IDPrefix, w.channel, n),
		Channel: w.channel,
		StartMS: u.Start.Milliseconds(), EndMS: u.End.Milliseconds(),
		Text: u.Text, Language: u.Language,
	}
	if sp, ok := w.s.knownSpeaker(w.channel); ok {
		seg.Speaker, seg.Org = w.channel, sp.Org
	}
	return seg
}
