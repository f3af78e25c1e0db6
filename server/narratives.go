package server

import (
	"context"
	"sync"
	"time"

	"github.com/ledgerline/ledgerline/recap"
	"github.com/ledgerline/ledgerline/summary"
)

// narratives keeps each meeting's latest recap narrative by the log position it was written at,
// so that the model is asked once per change of the record, not once per page view. A failure is
// kept a while too, so that a model that hangs does not hold up every view of the recap.
type narratives struct {
	mu        sync.Mutex
	byMeeting map[string]narrative
}

type narrative struct {
	seq      int64 // the meeting's LastSeq when it was written
	lines    []summary.Line
	failedAt time.Time // zero unless the model failed
}

const (
	maxNarratives  = 256         // meetings whose narrative is kept; a full cache starts again
	narrativeRetry = time.Minute // how long a failure stands before the model is asked again
)

// narrate sets r's narrative: the one kept for the meeting at seq, or else a new one from n.
func (c *narratives) narrate(ctx context.Context, n summary.Narrator, r *recap.Recap, seq int64) error {
	if n == nil {
		return nil
	}
	c.mu.Lock()
	kept, ok := c.byMeeting[r.MeetingID]
	c.mu.Unlock()
	if ok && kept.seq == seq && (kept.failedAt.IsZero() || time.Since(kept.failedAt) < narrativeRetry) {
		r.Summary.Narrative = kept.lines
		return nil
	}
	err := r.Narrate(ctx, n, recap.DefaultNarrateTimeout)
	if err != nil && ctx.Err() != nil {
		return err // the viewer went away: the model was not to blame
	}
	kept = narrative{seq: seq, lines: r.Summary.Narrative}
	if err != nil {
		kept.failedAt = time.Now()
	}
	c.mu.Lock()
	if c.byMeeting == nil || len(c.byMeeting) >= maxNarratives {
		c.byMeeting = map[string]narrative{}
	}
	c.byMeeting[r.MeetingID] = kept
	c.mu.Unlock()
	return err
}
