package asr

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waiting counts the waiters of a kind.
func (s *slots) waiting(urgent bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if urgent {
		return len(s.urgent)
	}
	return len(s.normal)
}

func awaitWaiters(t *testing.T, s *slots, urgent bool, n int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); s.waiting(urgent) != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters (urgent %v), want %d", s.waiting(urgent), urgent, n)
		}
	}
}

func TestSlotsServeUrgentDecodesFirst(t *testing.T) {
	s := newSlots(1)
	ctx := context.Background()
	if err := s.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 2)
	start := func(name string, urgent bool) {
		go func() {
			if err := s.acquire(ctx, urgent); err != nil {
				t.Error(err)
				return
			}
			order <- name
			s.release()
		}()
		awaitWaiters(t, s, urgent, 1)
	}
	start("partial", false)
	start("final", true)
	s.release()
	if got := []string{<-order, <-order}; got[0] != "final" || got[1] != "partial" {
		t.Errorf("served %q, want the final's decode before the partial's queued ahead of it", got)
	}
}

func TestSlotsWaiterThatGivesUpLeavesTheQueue(t *testing.T) {
	s := newSlots(1)
	if err := s.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.acquire(ctx, true) }()
	awaitWaiters(t, s, true, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire returned %v, want the cancellation", err)
	}
	s.release()
	if s.free != 1 || len(s.urgent) != 0 {
		t.Errorf("free %d, urgent waiters %d; want the slot back and nobody waiting", s.free, len(s.urgent))
	}
	if err := s.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
}

// An utterance's final decode runs without fallbacks while others wait for the engine, and only then.
func TestUnderLoadShedsFallbacksOfUrgentDecodes(t *testing.T) {
	final := Options{Urgent: true, MaxFallbacks: 2}
	if got := underLoad(final, 0); got.MaxFallbacks != 2 {
		t.Errorf("a final with nobody waiting: fallbacks %d, want 2", got.MaxFallbacks)
	}
	if got := underLoad(final, 3); got.MaxFallbacks >= 0 {
		t.Errorf("a final with 3 decodes waiting: fallbacks %d, want none (negative)", got.MaxFallbacks)
	}
	offline := Options{MaxFallbacks: 2}
	if got := underLoad(offline, 3); got.MaxFallbacks != 2 {
		t.Errorf("a decode nobody waits on, with 3 waiting: fallbacks %d, want 2 as asked", got.MaxFallbacks)
	}
	s := newSlots(1)
	ctx := context.Background()
	if err := s.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.acquire(ctx, false) }()
	awaitWaiters(t, s, false, 1)
	if n := s.queued(); n != 1 {
		t.Errorf("queued %d, want 1", n)
	}
	s.release()
	awaitWaiters(t, s, false, 0)
	if n := s.queued(); n != 0 {
		t.Errorf("queued %d after the waiter took the slot, want 0", n)
	}
}
