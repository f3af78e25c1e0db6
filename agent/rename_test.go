package agent

import (
	"context"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// A speaker renamed from the overlay is renamed in the commitments the pipeline holds, through the
// pipeline: the record names them anew, marks nothing as a person's, and the same promise said
// again under the new name merges into that commitment.
func TestRenameInCommitmentsGoesThroughThePipeline(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	ctx := context.Background()
	k := newKeeper(log, "m1", "", time.Date(2026, 3, 5, 14, 0, 0, 0, time.UTC), nil, nil)
	if err := k.record(ctx, &ledger.SegmentInfo{ID: "mic-1", Text: "I'll send you the pricing by Friday."}, Speaker{Name: "Dana"}); err != nil {
		t.Fatal(err)
	}
	id := k.book.Commitments()[0].ID
	e, err := k.edit(ctx, id, ledger.CommitmentEdit{Rename: &ledger.Rename{From: "Dana", To: "Dana Reyes"}}, "Priya")
	if err != nil {
		t.Fatal(err)
	}
	if c := e.Commitment; c.Owner != "Dana Reyes" || len(c.Edited) != 0 || e.By != "Priya" {
		t.Fatalf("renamed commitment %+v by %q", c, e.By)
	}
	if err := k.record(ctx, &ledger.SegmentInfo{ID: "mic-2", StartMS: 4000, Text: "Again, I will send you the pricing by Friday."},
		Speaker{Name: "Dana Reyes"}); err != nil {
		t.Fatal(err)
	}
	cs := k.book.Commitments()
	if len(cs) != 1 || cs[0].Owner != "Dana Reyes" || len(cs[0].SegmentIDs) != 2 {
		t.Errorf("after the promise said again under the new name: %+v", cs)
	}
}
