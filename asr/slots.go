package asr

import (
	"context"
	"slices"
	"sync"
)

// slots bounds the decodes that run at once. Waiters are served in order, except that an urgent
// one (the last decode of an utterance, whose words become final while someone waits for them)
// goes ahead of every decode that is not: a channel's final must not queue behind other
// channels' partial re-decodes.
type slots struct {
	mu             sync.Mutex
	free           int
	urgent, normal []chan struct{} // waiters, oldest first; a slot is handed on by a send
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire takes a slot, waiting for one until ctx is done.
func (s *slots) acquire(ctx context.Context, urgent bool) error {
	s.mu.Lock()
	if s.free > 0 && len(s.urgent) == 0 && (urgent || len(s.normal) == 0) {
		s.free--
		s.mu.Unlock()
		return nil
	}
	ready := make(chan struct{}, 1)
	queue := &s.normal
	if urgent {
		queue = &s.urgent
	}
	*queue = append(*queue, ready)
	s.mu.Unlock()

	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		i := slices.Index(*queue, ready)
		if i >= 0 {
			*queue = slices.Delete(*queue, i, i+1)
		}
		s.mu.Unlock()
		if i < 0 { // handed a slot while giving up: hand it on
			s.release()
		}
		return ctx.Err()
	}
}

// queued is the number of decodes waiting for a slot.
func (s *slots) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.urgent) + len(s.normal)
}

// release gives a slot back: to the oldest urgent waiter, else the oldest other one.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, queue := range []*[]chan struct{}{&s.urgent, &s.normal} {
		if len(*queue) > 0 {
			next := (*queue)[0]
			*queue = (*queue)[1:]
			next <- struct{}{}
			return
		}
	}
	s.free++
}
