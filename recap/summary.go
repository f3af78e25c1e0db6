package recap

import (
	"context"
	"fmt"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/summary"
)

// DefaultNarrateTimeout bounds how long a recap waits for a model's narrative before it is served
// without one.
const DefaultNarrateTimeout = 20 * time.Second

// summarize writes the recap's summary without a model: decisions found in the transcript, the
// commitments still open as next steps, objections as risks, the open questions.
func (r Recap) summarize() summary.Summary {
	in := summary.Input{Segments: r.segments()}
	for _, c := range r.Commitments {
		if c.Status != ledger.StatusOpen { // done or dismissed: no longer a step to take
			continue
		}
		text := c.What
		if owner := OwnerLabel(c.CommitmentInfo); owner != "" {
			text = owner + ": " + text
		}
		if f := ForLabel(c.CommitmentInfo); f != "" {
			text += " " + f
		}
		if c.Due != "" {
			text += ", due " + c.Due
		}
		in.NextSteps = append(in.NextSteps, summary.Line{Text: text, SegmentIDs: c.SegmentIDs, StartMS: c.StartMS})
	}
	raised := func(list []Raised) []summary.Line {
		out := make([]summary.Line, 0, len(list))
		for _, q := range list {
			l := summary.Line{Text: q.Text, Who: q.Speaker, SegmentIDs: []string{q.SegmentID}, StartMS: q.StartMS}
			if q.Org != "" {
				l.Who += " (" + q.Org + ")"
			}
			out = append(out, l)
		}
		return out
	}
	in.Objections, in.Questions = raised(r.Objections), raised(r.OpenQuestions)
	return summary.Extract(in)
}

// segments is the transcript as the summary reads it.
func (r Recap) segments() []summary.Segment {
	out := make([]summary.Segment, len(r.Transcript))
	for i, l := range r.Transcript {
		out[i] = summary.Segment{ID: l.SegmentID, Speaker: l.Speaker, Org: l.Org, StartMS: l.StartMS, Text: l.Text, Language: l.Language}
	}
	return out
}

// Narrate adds a model's narrative to the summary, checked against the transcript, within timeout.
// Without a narrator nothing changes; when the model fails or is late the recap keeps its
// extractive summary and the error says why, for a log.
func (r *Recap) Narrate(ctx context.Context, n summary.Narrator, timeout time.Duration) error {
	lines, err := summary.Narrate(ctx, n, r.segments(), timeout)
	if err != nil {
		return fmt.Errorf("recap: narrative of %q: %w", r.MeetingID, err)
	}
	r.Summary.Narrative = lines
	return nil
}
