package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrNoMeeting reports a meeting the Server does not serve.
var ErrNoMeeting = errors.New("server: no such meeting")

// Drain waits until every viewer connected to a meeting when it is called has been sent every stored
// event up to the last one in the meeting's log at that time, or has disconnected. "Sent" means
// written to the viewer's socket. Viewers that connect later are not waited for. A viewer that stops
// reading is dropped as too slow or when a write times out (Config.WriteWait), so Drain ends even
// then; ctx bounds the wait. Use it to stop serving only after viewers have seen everything, as
// when a recording has been played to its end.
func (s *Server) Drain(ctx context.Context, meeting string) error {
	s.mu.Lock()
	m := s.meetings[meeting]
	s.mu.Unlock()
	if m == nil {
		return fmt.Errorf("server: drain %q: %w", meeting, ErrNoMeeting)
	}
	target, err := s.lastSeq(ctx, m)
	if err != nil {
		return err
	}
	if target == 0 {
		return nil
	}
	for _, c := range m.hub.viewers() {
		if err := c.progress.wait(ctx, target); err != nil {
			return fmt.Errorf("server: drain %q to seq %d: %w", meeting, target, err)
		}
	}
	return nil
}

// lastSeq returns the seq of the meeting's last stored event. The hub has seen every event up to
// the one it last broadcast, so only what came after needs reading.
func (s *Server) lastSeq(ctx context.Context, m *meeting) (int64, error) {
	seen := m.hub.seen.Load()
	after, err := s.cfg.Log.Since(ctx, m.id, seen)
	if err != nil {
		return 0, fmt.Errorf("server: read the log of meeting %q: %w", m.id, err)
	}
	if n := len(after); n > 0 {
		return after[n-1].Seq, nil
	}
	return seen, nil
}

// viewers returns the viewers connected now; none once the hub has stopped.
func (h *hub) viewers() []*client {
	reply := make(chan []*client, 1)
	select {
	case h.snapshots <- reply:
		return <-reply
	case <-h.done:
		return nil
	}
}

// progress tracks the last stored seq written to one viewer's socket, for Drain. writePump advances
// it; it is finished when the connection ends, which releases every waiter.
type progress struct {
	mu      sync.Mutex
	seq     int64
	ended   bool
	waiters []progressWaiter
}

type progressWaiter struct {
	seq  int64
	done chan struct{}
}

// advance records that every stored event up to seq has been written (or was already seen).
func (p *progress) advance(seq int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if seq <= p.seq {
		return
	}
	p.seq = seq
	if len(p.waiters) == 0 {
		return
	}
	kept := p.waiters[:0]
	for _, w := range p.waiters {
		if w.seq <= seq {
			close(w.done)
		} else {
			kept = append(kept, w)
		}
	}
	clear(p.waiters[len(kept):])
	p.waiters = kept
}

// finish records that nothing more will be written, releasing every waiter.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended = true
	for _, w := range p.waiters {
		close(w.done)
	}
	p.waiters = nil
}

// wait returns when seq has been written or the connection has ended, or with ctx's error.
func (p *progress) wait(ctx context.Context, seq int64) error {
	p.mu.Lock()
	if p.ended || p.seq >= seq {
		p.mu.Unlock()
		return nil
	}
	w := progressWaiter{seq: seq, done: make(chan struct{})}
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		select {
		case <-w.done: // reached at the same moment
			return nil
		default:
		}
		p.mu.Lock()
		for i, x := range p.waiters {
			if x.done == w.done {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				break
			}
		}
		p.mu.Unlock()
		return ctx.Err()
	}
}
