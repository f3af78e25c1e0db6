package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/ledgerline/ledgerline/internal/pgtest"
	"github.com/ledgerline/ledgerline/ledger"
)

// rawConn connects to url as a tool outside the store would, closed at the end of the test.
func rawConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// appliedVersions lists the schema versions goose has recorded in the database.
func appliedVersions(t *testing.T, conn *pgx.Conn) []int64 {
	t.Helper()
	rows, err := conn.Query(t.Context(), `SELECT version_id FROM goose_db_version WHERE version_id > 0 ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestPostgresStoreMigratesOnce: replicas opening an empty database at once all start; the
// migrations are applied once, and a later open applies nothing and keeps the data.
func TestPostgresStoreMigratesOnce(t *testing.T) {
	c := pgtest.Shared(t)
	url := c.NewDatabaseFrom(t, "template0")
	const replicas = 4
	stores := make([]*ledger.PostgresStore, replicas)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			s, err := ledger.OpenPostgres(t.Context(), url)
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
				return
			}
			stores[i] = s
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ctx := context.Background()
	for i, s := range stores {
		if _, err := s.Append(ctx, final("m", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		closeStore(t, s)
	}
	conn := rawConn(t, url)
	applied := appliedVersions(t, conn)
	if len(applied) == 0 || applied[len(applied)-1] != int64(len(applied)) {
		t.Fatalf("schema versions applied: %v, want 1, 2, 3… each once", applied)
	}

	s := openPostgres(t, url)
	if got := appliedVersions(t, conn); len(got) != len(applied) {
		t.Errorf("a reopen applied %v after %v", got[len(applied):], applied)
	}
	if got, err := s.Since(ctx, "m", 0); err != nil || len(got) != replicas {
		t.Errorf("events after the reopen: %d, %v; want %d", len(got), err, replicas)
	}
}

// TestPostgresStoreRefusesNewerSchema: a database migrated by a newer Ledgerline is refused and
// left as it was.
func TestPostgresStoreRefusesNewerSchema(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	conn := rawConn(t, url)
	applied := appliedVersions(t, conn)
	future := applied[len(applied)-1] + 1
	if _, err := conn.Exec(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, future); err != nil {
		t.Fatal(err)
	}
	s, err := ledger.OpenPostgres(t.Context(), url)
	if !errors.Is(err, ledger.ErrSchemaTooNew) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("OpenPostgres(newer schema) = %v, want ledger.ErrSchemaTooNew", err)
	}
	t.Log(err)
	if got := appliedVersions(t, conn); len(got) != len(applied)+1 || got[len(got)-1] != future {
		t.Errorf("the refused database was changed: versions %v", got)
	}
}

// TestPostgresStoreEventsAppendOnly: the log's table refuses changes to what was stored.
func TestPostgresStoreEventsAppendOnly(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	s := openPostgres(t, url)
	if _, err := s.Append(context.Background(), final("m", "s1")); err != nil {
		t.Fatal(err)
	}
	conn := rawConn(t, url)
	for _, q := range []string{`UPDATE events SET json = '{}'`, `DELETE FROM events`, `TRUNCATE events CASCADE`} {
		if _, err := conn.Exec(t.Context(), q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only refusal", q, err)
		}
	}
	if got, err := s.Since(context.Background(), "m", 0); err != nil || len(got) != 1 {
		t.Errorf("events after the refused changes: %v, %v", got, err)
	}
}

// TestPostgresStoreReplicas: two processes' stores appending to one meeting at once share its
// Seqs: dense and ordered in the database, each producer's events in its order, each store's
// subscriber in Seq order. Edits made side by side through both keep each other's changes.
func TestPostgresStoreReplicas(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	a, b := openPostgres(t, url), openPostgres(t, url)
	ctx := context.Background()
	const each = 30
	subs := []*ledger.Subscription{a.Subscribe("m", 2*each), b.Subscribe("m", 2*each)}
	var wg sync.WaitGroup
	for p, s := range []*ledger.PostgresStore{a, b} {
		wg.Go(func() {
			for i := range each {
				if _, err := s.Append(ctx, final("m", fmt.Sprintf("p%d-%03d", p, i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := a.Since(ctx, "m", 0)
	if err != nil || len(got) != 2*each {
		t.Fatalf("Since = %d events, %v; want %d", len(got), err, 2*each)
	}
	last := map[byte]string{}
	for i, e := range got {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
		p := e.Segment.ID[1]
		if e.Segment.ID <= last[p] {
			t.Errorf("producer %c out of order: %s after %s", p, e.Segment.ID, last[p])
		}
		last[p] = e.Segment.ID
	}
	for i, sub := range subs {
		var prev int64
		for range each {
			e := <-sub.C()
			if e.Seq <= prev || e.Segment.ID[1] != byte('0'+i) {
				t.Errorf("store %d published %s seq %d after seq %d", i, e.Segment.ID, e.Seq, prev)
			}
			prev = e.Seq
		}
	}

	if _, err := a.Append(ctx, ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: "m",
		Commitment: &ledger.CommitmentInfo{ID: "c", What: "send it", Owner: "Dana", Status: ledger.StatusOpen}}); err != nil {
		t.Fatal(err)
	}
	done, owner := ledger.StatusDone, "Kenji"
	for i := range 10 {
		edit, s := ledger.CommitmentEdit{Status: &done}, a
		if i%2 == 1 {
			edit, s = ledger.CommitmentEdit{Owner: &owner}, b
		}
		wg.Go(func() {
			if _, err := s.EditCommitment(ctx, "m", "c", edit, "viewer"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if c, err := b.Commitment(ctx, "m", "c"); err != nil || c.Status != done || c.Owner != owner || len(c.Edited) != 2 {
		t.Errorf("after edits through both stores: %+v, %v", c, err)
	}
}

// TestOpenPostgresErrors: a database that cannot be reached fails to open, naming it without
// its password.
func TestOpenPostgresErrors(t *testing.T) {
	for _, url := range []string{
		"postgres://ledgerline:s3cret@127.0.0.1:1/ledger?connect_timeout=5",
		"postgres://ledgerline:s3cret@127.0.0.1:bad/ledger",
	} {
		s, err := ledger.OpenPostgres(t.Context(), url)
		if err == nil {
			s.Close()
			t.Fatalf("OpenPostgres(%s) opened", url)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "ledger: open store") || strings.Contains(msg, "s3cret") {
			t.Errorf("OpenPostgres(%s) = %v", url, err)
		}
	}
}

func final(meeting, id string) ledger.Event {
	return ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: meeting, Segment: &ledger.SegmentInfo{ID: id, Channel: "mic", Text: "x"}}
}
