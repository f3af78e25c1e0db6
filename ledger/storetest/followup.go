package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// followUps: each stop of a meeting owes one follow-up, stored with the stop; pending ones are
// listed oldest first; of two stores on one database finishing one at once, one does; a finished
// one is listed no more; an unknown one is not found.
func followUps(t *testing.T, open StoreOpener) {
	opener := open(t)
	a, b := opener(time.Now), opener(time.Now)
	ctx := context.Background()
	state := func(meeting string, st ledger.MeetingState) ledger.Event {
		t.Helper()
		e, err := a.Append(ctx, ledger.Event{Meeting: meeting, Type: ledger.TypeMeetingState, State: st, Reason: "user"})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	state("m", ledger.MeetingRecording)
	state("m", ledger.MeetingPaused)
	state("n", ledger.MeetingRecording)
	stopN := state("n", ledger.MeetingStopped)
	stopM := state("m", ledger.MeetingStopped)

	pending, err := b.PendingFollowUps(ctx, 10)
	want := []ledger.FollowUp{{Meeting: "n", Seq: stopN.Seq, Due: stopN.At}, {Meeting: "m", Seq: stopM.Seq, Due: stopM.At}}
	// Due is the stop's time as stored: to the microsecond, or coarser.
	for i := range pending {
		if i < len(want) && pending[i].Due.Sub(want[i].Due).Abs() < time.Millisecond {
			pending[i].Due = want[i].Due
		}
	}
	if err != nil || len(pending) != 2 || pending[0] != want[0] || pending[1] != want[1] {
		t.Fatalf("PendingFollowUps = %+v, %v; want %+v (a pause owes none)", pending, err, want)
	}
	if one, err := b.PendingFollowUps(ctx, 1); err != nil || len(one) != 1 || one[0].ID() != want[0].ID() {
		t.Errorf("PendingFollowUps(1) = %+v, %v; want the oldest", one, err)
	}
	if done, err := a.FollowUpDone(ctx, want[1]); done || err != nil {
		t.Errorf("FollowUpDone before it was done = %v, %v", done, err)
	}
	if f, err := ledger.ParseFollowUpID(want[1].ID()); err != nil || f.Meeting != "m" || f.Seq != stopM.Seq {
		t.Errorf("ParseFollowUpID(%q) = %+v, %v", want[1].ID(), f, err)
	}
	for _, bad := range []string{"", "m", "m/", "/3", "m/0", "m/x"} {
		if _, err := ledger.ParseFollowUpID(bad); !errors.Is(err, ledger.ErrInvalidRecord) {
			t.Errorf("ParseFollowUpID(%q) = %v, want ledger.ErrInvalidRecord", bad, err)
		}
	}

	var wg sync.WaitGroup
	firsts := make(chan bool, 2)
	for _, s := range []Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := s.FinishFollowUp(ctx, want[1])
			if err != nil {
				t.Error(err)
			}
			firsts <- first
		}()
	}
	wg.Wait()
	close(firsts)
	n := 0
	for first := range firsts {
		if first {
			n++
		}
	}
	if n != 1 {
		t.Errorf("two stores finished one follow-up at once and %d said they were first, want 1", n)
	}
	if done, err := b.FollowUpDone(ctx, want[1]); !done || err != nil {
		t.Errorf("FollowUpDone after it was done = %v, %v", done, err)
	}
	if pending, err := a.PendingFollowUps(ctx, 10); err != nil || len(pending) != 1 || pending[0].ID() != want[0].ID() {
		t.Errorf("PendingFollowUps after one was done = %+v, %v; want %+v", pending, err, want[:1])
	}

	// The meeting runs again and stops again: a second follow-up.
	state("m", ledger.MeetingRecording)
	again := state("m", ledger.MeetingStopped)
	if pending, err := a.PendingFollowUps(ctx, 10); err != nil || len(pending) != 2 || pending[1].Seq != again.Seq {
		t.Errorf("PendingFollowUps after a second stop = %+v, %v", pending, err)
	}
	unknown := ledger.FollowUp{Meeting: "m", Seq: 2}
	if _, err := a.FollowUpDone(ctx, unknown); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("FollowUpDone of a pause = %v, want ledger.ErrNotFound", err)
	}
	if _, err := a.FinishFollowUp(ctx, unknown); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("FinishFollowUp of a pause = %v, want ledger.ErrNotFound", err)
	}
	if _, err := a.PendingFollowUps(ctx, 0); !errors.Is(err, ledger.ErrInvalidRecord) {
		t.Errorf("PendingFollowUps(0) = %v, want ledger.ErrInvalidRecord", err)
	}
}
