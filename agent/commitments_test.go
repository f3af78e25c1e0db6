package agent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/stream"
)

// slowLog takes a moment over each append, as a store that syncs to disk
// does, which is when changes made side by side overtake each other.
type slowLog struct{ *ledger.MemLog }

func (l slowLog) Append(ctx context.Context, e ledger.Event) (ledger.Event, error) {
	time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
	return l.MemLog.Append(ctx, e)
}

// Two channels hear the same promise while a person edits it: whatever the
// order, the record ends with every quote and the person's edit, and no
// stored state ever loses what an earlier one held.
func TestCommitmentKeepsEveryQuoteAndThePersonsEdit(t *testing.T) {
	for round := range 30 {
		log := ledger.NewMemLog()
		k := newKeeper(slowLog{log}, "m1", "", time.Date(2026, 3, 5, 14, 0, 0, 0, time.UTC), nil, nil)
		ctx := context.Background()
		first := &ledger.SegmentInfo{ID: "mic-1", Channel: "mic", Text: "I'll send you the pricing by Friday."}
		if err := k.record(ctx, first, Speaker{Name: "Dana", Org: "Acme"}); err != nil {
			t.Fatal(err)
		}
		id := k.book.Commitments()[0].ID

		var wg sync.WaitGroup
		for i, ch := range []string{"system", "tab"} {
			wg.Go(func() {
				seg := &ledger.SegmentInfo{ID: fmt.Sprintf("%s-%d", ch, i+2), Channel: ch, StartMS: int64(1000 * (i + 2)),
					Text: fmt.Sprintf("Again, I will send you the pricing by Friday (%s).", ch)}
				if err := k.record(ctx, seg, Speaker{Name: "Dana", Org: "Acme"}); err != nil {
					t.Error(err)
				}
			})
		}
		done, due := ledger.StatusDone, "2026-03-31"
		wg.Go(func() {
			if _, err := k.edit(ctx, id, ledger.CommitmentEdit{Status: &done, Due: &due}, "Priya"); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()

		events, err := log.Since(ctx, "m1", 0)
		if err != nil {
			t.Fatal(err)
		}
		var prev *ledger.CommitmentInfo
		for _, e := range events {
			c := e.Commitment
			if c == nil || c.ID != id {
				continue
			}
			if prev != nil {
				for _, seg := range prev.SegmentIDs {
					if !strings.Contains(strings.Join(c.SegmentIDs, " "), seg) {
						t.Fatalf("round %d: seq %d dropped evidence %s that seq before it held", round, e.Seq, seg)
					}
				}
				if prev.EditedBy(ledger.EditStatus) && (c.Status != done || c.Due != due) {
					t.Fatalf("round %d: seq %d reverted the person's edit: %+v", round, e.Seq, *c)
				}
			}
			prev = c
		}
		if prev == nil || len(prev.SegmentIDs) != 3 || strings.Count(prev.Quote, detect.QuoteSeparator) != 2 {
			t.Fatalf("round %d: last state %+v, want all three quotes", round, prev)
		}
		if prev.Status != done || prev.Due != due || !prev.EditedBy(ledger.EditDue) {
			t.Fatalf("round %d: last state %+v, want the person's edit", round, *prev)
		}
		log.Close()
	}
}

// An edit made elsewhere and learned late (another machine's, an earlier
// run's) keeps the evidence heard meanwhile, and what it set stays set.
func TestLateEditKeepsLaterEvidence(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	ctx := context.Background()
	k := newKeeper(log, "m1", "", time.Date(2026, 3, 5, 14, 0, 0, 0, time.UTC), nil, nil)
	if err := k.record(ctx, &ledger.SegmentInfo{ID: "mic-1", Text: "I'll send you the pricing by Friday."}, Speaker{Name: "Dana"}); err != nil {
		t.Fatal(err)
	}
	seen := k.book.Commitments()[0] // what the other machine saw
	if err := k.record(ctx, &ledger.SegmentInfo{ID: "mic-2", StartMS: 4000, Text: "I will send you the pricing on March 10."}, Speaker{Name: "Dana"}); err != nil {
		t.Fatal(err)
	}
	due := "2026-03-20"
	ledger.CommitmentEdit{Due: &due}.Apply(&seen)
	k.observe(seen)
	if err := k.record(ctx, &ledger.SegmentInfo{ID: "mic-3", StartMS: 8000, Text: "So I'll send you the pricing tomorrow."}, Speaker{Name: "Dana"}); err != nil {
		t.Fatal(err)
	}
	got := k.book.Commitments()[0]
	if got.Due != due || len(got.SegmentIDs) != 3 {
		t.Errorf("after a late edit and one more mention: due %s, evidence %v; want %s and all three", got.Due, got.SegmentIDs, due)
	}
}

// stuckRefiner never answers until its call is cancelled.
type stuckRefiner struct{ called chan struct{} }

func (r stuckRefiner) Refine(ctx context.Context, _ detect.Utterance, _ []detect.Commitment) ([]detect.Verdict, error) {
	select {
	case r.called <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// A stop does not wait for the refiner: its call is cancelled with the meeting.
func TestStopCancelsTheRefiner(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	ref := stuckRefiner{called: make(chan struct{}, 1)}
	mic, err := stream.NewReplaySamples(sampleSpeech(t, 3), "mic", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Meeting: "m1", Engine: sayingEngine{"I will send you the pricing by Friday."}, Log: log,
		Sources: []stream.Source{mic}, Speakers: map[string]Speaker{"mic": {Name: "Dana"}}, Refiner: ref, KeepOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-ref.called
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(refineTimeout / 2):
		t.Fatal("stop waited on the refiner")
	}
}
