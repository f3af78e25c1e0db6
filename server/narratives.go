package server

import (
	"context"
	"sync"
	"time"

	"github.com/ledgerline/ledgerline/recap"
	"github.com/ledgerline/ledgerline/summary"
)

// narratives keeps each meeting's latest recap narrative by the log position it was written at,
// so that the model is asked once per change of the record, not once per page view. The model is
// never waited for: a view that finds no narrative for the record as it stands is served without
// one and has one written in the background, for the views after it. A failure is kept a while
// too, so that a model that fails is not asked again by every view.
type narratives struct {
	mu        sync.Mutex
	byMeeting map[string]narrative
	writing   map[string]bool // meetings whose narrative is being written
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

// narrate sets r's narrative when one was written for the record at seq; otherwise it starts
// writing one, unless one is being written, and leaves r without.
func (s *Server) narrate(r *recap.Recap, seq int64) {
	n, c := s.cfg.Narrator, &s.narratives
	if n == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	kept, ok := c.byMeeting[r.MeetingID]
	if ok && kept.seq == seq && (kept.failedAt.IsZero() || time.Since(kept.failedAt) < narrativeRetry) {
		r.Summary.Narrative = kept.lines
		return
	}
	if c.writing[r.MeetingID] {
		return
	}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if closed {
		return
	}
	if c.writing == nil {
		c.writing = map[string]bool{}
	}
	c.writing[r.MeetingID] = true
	page := *r // the recap is read, never changed, by the writer
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithCancel(context.Background()) // ended by Shutdown, or once written
		defer cancel()
		go func() {
			select {
			case <-s.quit:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := page.Narrate(ctx, n, recap.DefaultNarrateTimeout)
		kept := narrative{seq: seq, lines: page.Summary.Narrative}
		if err != nil {
			kept.failedAt = time.Now()
			s.log.Warn("recap narrative not written", "meeting", page.MeetingID, "err", err)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.writing, page.MeetingID)
		if c.byMeeting == nil || len(c.byMeeting) >= maxNarratives {
			c.byMeeting = map[string]narrative{}
		}
		c.byMeeting[page.MeetingID] = kept
	}()
}
