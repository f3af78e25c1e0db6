package recap

import (
	"context"
	"testing"

	"github.com/ledgerline/ledgerline/ledger"
)

// markDone records a user marking a commitment done.
func markDone(t *testing.T, st *ledger.SQLiteStore, meeting, id string) {
	t.Helper()
	ctx := ledger.WithActor(context.Background(), "user:dana@acme.example")
	cs, err := st.Commitments(ctx, meeting)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == id {
			info := c.CommitmentInfo
			info.Status = ledger.StatusDone
			if _, err := st.Append(ctx, ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: meeting, Commitment: &info}); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no commitment %q in meeting %q", id, meeting)
}
