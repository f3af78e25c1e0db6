package ledger

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/ledgerline/ledgerline/internal/pgtest"
)

// TestSearchWords: a search is its words, whatever else it holds; nothing of it reaches a query
// but letters, marks and digits, quoted.
func TestSearchWords(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"", nil},
		{`  "' ( ) * : ^ - + & | ! <-> `, nil},
		{"send the deck", []string{"send", "the", "deck"}},
		{`"a AND (`, []string{"a", "AND"}},
		{`O'Brien's e-mail: ana@example.com`, []string{"O", "Brien", "s", "e", "mail", "ana", "example", "com"}},
		{"reunión 2026 Zürich", []string{"reunión", "2026", "Zürich"}},
		{"inte\u0301gration", []string{"inte\u0301gration"}}, // a combining mark stays in its word
		{"x'; DROP TABLE events; --", []string{"x", "DROP", "TABLE", "events"}},
	} {
		if got := searchWords(tc.q); !reflect.DeepEqual(got, tc.want) && len(got)+len(tc.want) > 0 {
			t.Errorf("searchWords(%q) = %q, want %q", tc.q, got, tc.want)
		}
	}
	words := []string{"send", "deck"}
	if _, args := (sqliteConn{}).searchHits(words); !reflect.DeepEqual(args, []any{`"send" "deck"*`}) {
		t.Errorf("SQLite query = %q", args)
	}
	_, args := (pgConn{}).searchHits(words)
	if len(args) != 6 || args[0] != `'send' & 'deck':*` {
		t.Errorf("PostgreSQL query = %q", args)
	}
}

// TestSearchFindsEarlierRecords: the migration that brings search indexes what was recorded
// before it.
func TestSearchFindsEarlierRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledgerline.db")
	db, err := sql.Open("sqlite", sqliteDSN(path, "foreign_keys(1)"))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
	const before = 5 // the schema before search
	for _, m := range ms[:before] {
		exec(m.sql)
		exec(`INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00Z')`, m.version, m.name)
	}
	exec(`INSERT INTO meetings (id, title, started_at, created_at) VALUES ('m', 'old call', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`)
	exec(`INSERT INTO segments (meeting_id, seq, segment_id, speaker, start_ms, end_ms, text) VALUES ('m', 1, 's1', 'v1', 300, 900, 'the quarterly forecast')`)
	exec(`INSERT INTO participants (meeting_id, speaker_id, name, seq) VALUES ('m', 'v1', 'Ingrid Holm', 2)`)
	exec(`INSERT INTO commitments (meeting_id, id, what, quote, seq, updated_at) VALUES ('m', 'c1', 'share the budget', 'I will share it', 3, '2026-01-01T00:00:00Z')`)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for q, want := range map[string]SearchHit{
		"forecast": {Kind: "segment", ItemID: "s1", Speaker: "Ingrid Holm", Text: "the quarterly forecast", StartMS: 300},
		"holm":     {Kind: "speaker", ItemID: "v1", Speaker: "Ingrid Holm", Text: "Ingrid Holm", StartMS: 300},
		"will":     {Kind: "commitment", ItemID: "c1", Text: "share the budget"},
	} {
		want.MeetingID, want.Title, want.StartedAt = "m", "old call", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		hits, err := s.Search(ctx, Reader{All: true}, q, 10)
		if err != nil || len(hits) != 1 || hits[0] != want {
			t.Errorf("Search(%q) = %+v, %v; want %+v", q, hits, err, want)
		}
	}
}

// TestPostgresSearchUsesIndexes: the search reads the expression indexes of migration 00003,
// rather than computing every text's words on every search: its expressions must be theirs.
func TestPostgresSearchUsesIndexes(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	cte, args := (pgConn{}).searchHits([]string{"send", "deck"})
	rows, err := conn.Query(ctx, rebind(`EXPLAIN WITH `+cte+` SELECT * FROM hits`), args...)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	for _, index := range []string{"segments_search", "commitments_search", "participants_search"} {
		if !strings.Contains(text, index) {
			t.Errorf("the search does not use %s:\n%s", index, text)
		}
	}
}

// TestImportErrorsSayWhatOnce: a refused import says where it failed, "ledger: " once.
func TestImportErrorsSayWhatOnce(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	e := Event{Type: TypeSegmentPartial, Meeting: "m", Seq: 1, At: time.Now(), Segment: &SegmentInfo{ID: "s", Text: "x"}}
	_, err := s.Import(ctx, "m", "laptop", 0, []Event{e})
	if !errors.Is(err, ErrInvalidEvent) || strings.Count(err.Error(), "ledger: ") != 1 ||
		!strings.Contains(err.Error(), "segment.partial") || !strings.Contains(err.Error(), `origin seq 1`) {
		t.Errorf("Import(partial) = %v", err)
	}
	e.Type, e.Segment = TypeSegmentFinal, &SegmentInfo{ID: "s", Text: "x\x00"}
	_, err = s.Import(ctx, "m", "laptop", 0, []Event{e})
	if !errors.Is(err, ErrInvalidEvent) || strings.Count(err.Error(), "ledger: ") != 1 || !strings.Contains(err.Error(), `"laptop"`) {
		t.Errorf("Import(NUL) = %v", err)
	}
}
