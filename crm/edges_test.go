package crm_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/ledger"
)

// A task someone deleted in the CRM stays deleted: a later push changes nothing and makes nothing.
func TestPushLeavesDeletedTasksDeleted(t *testing.T) {
	for _, p := range providers {
		t.Run(string(p.name), func(t *testing.T) {
			s := sqlite(t)
			r := setUp(t, s, p, secret, p.record)
			pusher := r.pusher(t, s, nil)
			if err := pusher.Push(t.Context(), "m1"); err != nil {
				t.Fatal(err)
			}
			gone := byTitle(r.f.tasks())["send the integration architecture"]
			r.f.remove(gone.ID)
			done := ledger.StatusDone
			if _, err := s.EditCommitment(t.Context(), "m1", "c1", ledger.CommitmentEdit{Status: &done}, "Dana"); err != nil {
				t.Fatal(err)
			}
			if err := pusher.Push(t.Context(), "m1"); err != nil {
				t.Fatal(err)
			}
			if tasks := r.f.tasks(); len(tasks) != 1 {
				t.Errorf("tasks after the push = %+v; want the one left, none made again", tasks)
			}
			if got := lastPush(t, s); got.Failed != 0 || got.Created != 0 || got.Updated != 1 || got.Unchanged != 2 {
				t.Errorf("crm.push = %+v; want the note updated and the other two left", got)
			}
		})
	}
}

// A recap longer than a HubSpot note may hold is cut at a line's end, and keeps its reference.
func TestHubSpotNoteCutKeepsReference(t *testing.T) {
	p := providers[0]
	s := sqlite(t)
	r := setUp(t, s, p, secret, p.record)
	long := strings.Repeat("review the data residency clause ", 8)
	for i := range 400 {
		c := &ledger.CommitmentInfo{ID: fmt.Sprintf("p%d", i), What: long, Owner: "Contoso", Status: ledger.StatusOpen, Confidence: 0.3}
		if _, err := s.Append(t.Context(), ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: "m1", Commitment: c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.pusher(t, s, nil).Push(t.Context(), "m1"); err != nil {
		t.Fatal(err)
	}
	notes := r.f.notes()
	if len(notes) != 1 || lastPush(t, s).Failed != 0 {
		t.Fatalf("notes = %d, push = %+v; want the note made", len(notes), lastPush(t, s))
	}
	if body := notes[0].Body; len(body) > 65536 || !strings.Contains(body, "Ledgerline reference: ledgerline") || !strings.Contains(body, "…") {
		t.Errorf("note of %d bytes, ending %q; want it cut, with its reference", len(body), body[max(len(body)-120, 0):])
	}
}
