package detect

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err) // test input
	}
	return t
}

func TestBookMergesRepeatedPromise(t *testing.T) {
	b := NewBook()
	s1 := ledger.SegmentInfo{ID: "mic-1", StartMS: 1200, Text: "We'll send you the deck by Friday."}
	s2 := ledger.SegmentInfo{ID: "mic-7", StartMS: 61_000, Text: "Again: we will send the deck over on March 10th."}
	first, merged := b.Add(Commitment{What: "send you the deck", Owner: "Acme", OwnerOrg: "Acme", Due: day("2026-03-06"),
		DuePhrase: "by Friday", Confidence: 0.8, Quote: s1.Text}, s1)
	if merged || first.ID != "c-1" || first.Status != ledger.StatusOpen || first.StartMS != 1200 {
		t.Fatalf("first add: %+v merged=%v", first, merged)
	}
	again, merged := b.Add(Commitment{What: "send the deck over", Owner: "acme", Beneficiary: "Laura Chen", BeneficiaryOrg: "Castellan", Due: day("2026-03-10"),
		DuePhrase: "on March 10th", Confidence: 0.9, Quote: s2.Text}, s2)
	if !merged || again.ID != "c-1" {
		t.Fatalf("repeat not merged: %+v", again)
	}
	if again.Due != "2026-03-10" || again.DuePhrase != "on March 10th" {
		t.Errorf("due %q %q, want the explicit date said second", again.Due, again.DuePhrase)
	}
	if again.What != "send you the deck" || again.Confidence != 0.9 || again.StartMS != 1200 {
		t.Errorf("merged %+v: want the first what, the higher confidence and the first start", again)
	}
	if !reflect.DeepEqual(again.SegmentIDs, []string{"mic-1", "mic-7"}) || again.Quote != s1.Text+QuoteSeparator+s2.Text {
		t.Errorf("evidence %q / %q", again.SegmentIDs, again.Quote)
	}
	want := []Evidence{{"mic-1", 1200, s1.Text}, {"mic-7", 61_000, s2.Text}}
	if got := b.Evidence("c-1"); !reflect.DeepEqual(got, want) {
		t.Errorf("Evidence = %+v, want %+v", got, want)
	}

	// A vaguer due date said later does not replace a precise one.
	s3 := ledger.SegmentInfo{ID: "mic-9", StartMS: 90_000}
	vague, _ := b.Add(Commitment{What: "send the deck", Owner: "Acme", Due: day("2026-03-31"), DuePhrase: "by end of month",
		Quote: "We'll send the deck by end of month."}, s3)
	if vague.ID != "c-1" || vague.Due != "2026-03-10" || len(vague.SegmentIDs) != 3 {
		t.Errorf("vaguer repeat: %+v", vague)
	}
}

func TestBookKeepsDistinctPromisesApart(t *testing.T) {
	b := NewBook()
	seg := func(id string) ledger.SegmentInfo { return ledger.SegmentInfo{ID: id} }
	a, _ := b.Add(Commitment{What: "send you the deck", Owner: "Acme"}, seg("s1"))
	other, m1 := b.Add(Commitment{What: "send you the pricing", Owner: "Acme"}, seg("s2"))
	owner, m2 := b.Add(Commitment{What: "send you the deck", Owner: "Globex"}, seg("s3"))
	if m1 || m2 || a.ID == other.ID || other.ID == owner.ID {
		t.Fatalf("distinct promises merged: %v %v %v", a.ID, other.ID, owner.ID)
	}
	// Two promises in one segment keep one piece of evidence for it.
	same, merged := b.Add(Commitment{What: "send the deck", Owner: "Acme", Quote: "and the deck"}, seg("s1"))
	if !merged || same.ID != a.ID || len(same.SegmentIDs) != 1 {
		t.Fatalf("same segment: %+v", same)
	}
	// A dropped promise made again is a new one.
	dropped := same
	dropped.Status = ledger.StatusDropped
	b.Observe(dropped)
	anew, merged := b.Add(Commitment{What: "send you the deck", Owner: "Acme"}, seg("s9"))
	if merged || anew.ID == a.ID {
		t.Fatalf("merged into a dropped commitment: %+v", anew)
	}
	if n := len(b.Commitments()); n != 4 {
		t.Fatalf("%d commitments in the book, want 4", n)
	}
}

func TestBookResumesFromStore(t *testing.T) {
	ctx := context.Background()
	st, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "book.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := NewBook()
	seg := ledger.SegmentInfo{ID: "m-1", StartMS: 500}
	for _, s := range []ledger.SegmentInfo{seg, {ID: "m-2", StartMS: 9000}} {
		info, _ := b.Add(Commitment{What: "share the roadmap", Owner: "Dana", OwnerOrg: "Acme", Quote: "I'll share the roadmap, " + s.ID}, s)
		if _, err := st.Append(ctx, ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: "m", Commitment: &info}); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := st.Commitments(ctx, "m")
	if err != nil || len(stored) != 1 {
		t.Fatalf("stored %d commitments (%v), want 1 merged", len(stored), err)
	}
	segs := map[string]ledger.SegmentInfo{"m-1": seg, "m-2": {ID: "m-2", StartMS: 9000}}
	want := []Evidence{{"m-1", 500, "I'll share the roadmap, m-1"}, {"m-2", 9000, "I'll share the roadmap, m-2"}}
	if got := EvidenceOf(stored[0].CommitmentInfo, segs); !reflect.DeepEqual(got, want) {
		t.Fatalf("evidence read back %+v, want %+v", got, want)
	}

	// A book resumed from the store merges into what it holds and numbers on after it.
	resumed := NewBook()
	resumed.Observe(stored[0].CommitmentInfo)
	info, merged := resumed.Add(Commitment{What: "share the roadmap", Owner: "Dana"}, ledger.SegmentInfo{ID: "m-3", StartMS: 20_000})
	if !merged || info.ID != "c-1" || len(info.SegmentIDs) != 3 {
		t.Fatalf("resumed merge: %+v", info)
	}
	next, _ := resumed.Add(Commitment{What: "book the workshop", Owner: "Dana"}, ledger.SegmentInfo{ID: "m-4"})
	if next.ID != "c-2" {
		t.Fatalf("next ID %q, want c-2", next.ID)
	}
}

func TestDueSpecificity(t *testing.T) {
	for _, tc := range []struct {
		due, phrase string
		want        int
	}{
		{"", "", 0}, {"2026-03-31", "by end of month", 1}, {"2026-03-06", "by Friday", 2}, {"2026-03-06", "tomorrow", 2},
		{"2026-03-10", "by March 10", 3}, {"2026-03-10", "el 10 de marzo", 3}, {"2026-03-13", "bis Ende der Woche", 1},
		{"2026-05-01", "bis Mai", 3},
	} {
		if got := dueSpecificity(tc.due, tc.phrase); got != tc.want {
			t.Errorf("dueSpecificity(%q, %q) = %d, want %d", tc.due, tc.phrase, got, tc.want)
		}
	}
}

// What a person set stays set when the promise is heard again; the evidence still grows.
func TestBookMergeLeavesEditedFields(t *testing.T) {
	b := NewBook()
	s1 := ledger.SegmentInfo{ID: "mic-1", Text: "We'll send you the deck by Friday."}
	first, _ := b.Add(Commitment{What: "send you the deck", Owner: "Acme", Due: day("2026-03-06"), DuePhrase: "by Friday", Quote: s1.Text}, s1)
	due, org := "2026-03-20", ""
	ledger.CommitmentEdit{Due: &due, OwnerOrg: &org}.Apply(&first)
	b.Observe(first)
	s2 := ledger.SegmentInfo{ID: "mic-2", StartMS: 5000, Text: "We will send the deck on March 10th."}
	again, merged := b.Add(Commitment{What: "send the deck", Owner: "Acme", OwnerOrg: "Acme", Due: day("2026-03-10"),
		DuePhrase: "on March 10th", Quote: s2.Text}, s2)
	if !merged || again.Due != due || again.OwnerOrg != "" || len(again.SegmentIDs) != 2 {
		t.Errorf("merged into an edited commitment: %+v; want the person's due and organisation, and both quotes", again)
	}
}
