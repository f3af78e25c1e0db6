package diarize

import (
	"slices"
	"strings"
	"time"
)

// Token is one piece of transcript text with its meeting times.
type Token struct {
	Text       string
	Start, End time.Duration
}

// Segment is a stretch of transcript on the meeting clock, with its tokens
// where the recogniser gave them.
type Segment struct {
	Start, End time.Duration
	Text       string
	Tokens     []Token
}

// Attributed is a segment, or a part of one, with the speaker who said it.
type Attributed struct {
	Segment
	// Speaker is the speaker's stable id; "" when no one was heard.
	Speaker string
	// Overlap marks speech over which someone else was talking too.
	Overlap bool
}

// Attributor says who spoke each part of one channel's transcript. Feed it
// the channel's audio with Push, in meeting-time order, and ask it about each
// final segment whose audio has been pushed; it splits a segment wherever
// the speaker changes, so no part it returns mixes two speakers.
type Attributor interface {
	// Push adds 16 kHz mono audio of the channel starting at meeting time
	// at. Gaps count as silence; audio may not go back in time.
	Push(at time.Duration, samples []float32) error
	// Attribute returns seg split at speaker changes, in order, each part
	// with its speaker.
	Attribute(seg Segment) ([]Attributed, error)
}

var (
	_ Attributor = (*Track)(nil)
	_ Attributor = (*Diarizer)(nil)
)

// Track attributes everything on a channel that carries one known speaker:
// a participant's WebRTC track, the laptop mic of the seller. It is exact.
type Track struct {
	speaker string
}

// NewTrack returns the attributor of a channel on which only speaker talks.
func NewTrack(speaker string) *Track { return &Track{speaker: speaker} }

// Push implements Attributor; a track needs no audio to know who speaks.
func (t *Track) Push(time.Duration, []float32) error { return nil }

// Attribute implements Attributor: the whole segment is the track's speaker.
func (t *Track) Attribute(seg Segment) ([]Attributed, error) {
	return []Attributed{{Segment: seg, Speaker: t.speaker}}, nil
}

// SplitSegment cuts seg at meeting time at. Each token goes to the side
// holding its midpoint; the text of each side is its tokens' text. Without
// tokens, the words of the text are shared out in proportion to time. A side
// with nothing in it comes back with no text and no tokens; when at lies
// outside the segment, that side also has zero length.
func SplitSegment(seg Segment, at time.Duration) (before, after Segment) {
	at = min(max(at, seg.Start), seg.End)
	before = Segment{Start: seg.Start, End: at}
	after = Segment{Start: at, End: seg.End}
	if len(seg.Tokens) == 0 {
		words := strings.Fields(seg.Text)
		if seg.End <= seg.Start || len(words) == 0 {
			if at < seg.End {
				after.Text = seg.Text
			} else {
				before.Text = seg.Text
			}
			return before, after
		}
		share := float64(at-seg.Start) / float64(seg.End-seg.Start)
		n := int(share*float64(len(words)) + 0.5)
		before.Text = strings.Join(words[:n], " ")
		after.Text = strings.Join(words[n:], " ")
		return before, after
	}
	for _, tok := range seg.Tokens {
		if tok.Start+(tok.End-tok.Start)/2 < at {
			before.Tokens = append(before.Tokens, tok)
		} else {
			after.Tokens = append(after.Tokens, tok)
		}
	}
	before.Text, after.Text = tokenText(before.Tokens), tokenText(after.Tokens)
	return before, after
}

func tokenText(toks []Token) string {
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(t.Text)
	}
	return strings.TrimSpace(b.String())
}

// attribute splits seg where the speakers of turns change and names the
// speaker of each part: the one heard longest in it. Parts left with no
// text are dropped. With no turn inside the segment, the nearest turn within
// a second names its speaker.
func attribute(seg Segment, turns []Turn) []Attributed {
	var in []Turn
	nearest, gap := "", time.Second
	for _, t := range turns {
		if t.End > seg.Start && t.Start < seg.End {
			in = append(in, Turn{Start: max(t.Start, seg.Start), End: min(t.End, seg.End), Speaker: t.Speaker, Overlap: t.Overlap})
			continue
		}
		if d := max(seg.Start-t.End, t.Start-seg.End); d < gap {
			nearest, gap = t.Speaker, d
		}
	}
	if len(in) == 0 {
		return []Attributed{{Segment: seg, Speaker: nearest}}
	}
	SortTurns(in)
	// Change points: where the next turn of a different speaker starts, or
	// halfway through the pause before it.
	var cuts []time.Duration
	lastEnd, lastSpk := in[0].End, in[0].Speaker
	for _, t := range in[1:] {
		if t.Speaker != lastSpk && !t.Overlap {
			c := t.Start
			if t.Start > lastEnd {
				c = lastEnd + (t.Start-lastEnd)/2
			}
			if len(cuts) == 0 || c > cuts[len(cuts)-1] {
				cuts = append(cuts, c)
			}
			lastSpk = t.Speaker
		}
		lastEnd = max(lastEnd, t.End)
	}
	var out []Attributed
	rest := seg
	for i := 0; i <= len(cuts); i++ {
		part := rest
		if i < len(cuts) {
			part, rest = SplitSegment(rest, cuts[i])
		}
		spk, overlap := dominant(in, part.Start, part.End)
		if part.Text == "" && len(part.Tokens) == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Speaker == spk {
			// Same speaker on both sides of a dropped empty part.
			out[n-1].End = part.End
			out[n-1].Tokens = append(slices.Clip(out[n-1].Tokens), part.Tokens...)
			out[n-1].Text = strings.TrimSpace(out[n-1].Text + " " + part.Text)
			out[n-1].Overlap = out[n-1].Overlap || overlap
			continue
		}
		out = append(out, Attributed{Segment: part, Speaker: spk, Overlap: overlap})
	}
	if len(out) == 0 {
		spk, overlap := dominant(in, seg.Start, seg.End)
		out = append(out, Attributed{Segment: seg, Speaker: spk, Overlap: overlap})
	}
	return out
}

// dominant returns the speaker heard longest in [a, b) and whether any of
// that time is overlapped speech.
func dominant(turns []Turn, a, b time.Duration) (string, bool) {
	total := make(map[string]time.Duration)
	best, overlap := "", false
	for _, t := range turns {
		d := min(t.End, b) - max(t.Start, a)
		if d <= 0 {
			continue
		}
		overlap = overlap || t.Overlap
		total[t.Speaker] += d
		if best == "" || total[t.Speaker] > total[best] {
			best = t.Speaker
		}
	}
	if len(total) > 1 {
		// Two speakers inside one part means they talked at once.
		var cover []Turn
		for _, t := range turns {
			if min(t.End, b) > max(t.Start, a) {
				cover = append(cover, t)
			}
		}
		for i := range cover {
			for j := i + 1; j < len(cover); j++ {
				if cover[i].Speaker != cover[j].Speaker && cover[i].Start < cover[j].End && cover[j].Start < cover[i].End {
					overlap = true
				}
			}
		}
	}
	return best, overlap
}
