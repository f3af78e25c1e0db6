package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// The writer prepares its statements once they have been seen in a transaction, and no more than
// its bound, however many different statements it runs.
func TestSQLiteWriterPreparesItsStatements(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "stmts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cache := s.w.(sqliteDB).stmts
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.Append(ctx, Event{Type: TypeSegmentFinal, Meeting: "m", Segment: &SegmentInfo{ID: fmt.Sprint("s", i), Channel: "mic", Text: "hello"}}); err != nil {
			t.Fatal(err)
		}
	}
	cache.mu.Lock()
	prepared := len(cache.stmts)
	cache.mu.Unlock()
	if prepared == 0 {
		t.Fatal("no statement prepared after three appends")
	}
	for i := range maxCachedStatements * 2 {
		cache.get(fmt.Sprintf("SELECT %d", i))
		cache.prepare()
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if n := len(cache.stmts) + len(cache.wanted); n > maxCachedStatements {
		t.Fatalf("%d statements cached, want at most %d", n, maxCachedStatements)
	}
}
