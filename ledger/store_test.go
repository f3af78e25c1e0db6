package ledger

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// openStore opens a store on a fresh file in t's temporary directory, closed at the end of the test.
func openStore(t testing.TB, opts ...SQLiteOption) (*SQLiteStore, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledgerline.db")
	s, err := OpenSQLite(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, path
}

// loadSession reads the replayed call that the conformance suite replays too
// (storetest/testdata/session.jsonl): events as a producer hands them to the log, of meeting "m".
func loadSession(t testing.TB) []Event {
	t.Helper()
	f, err := os.Open(filepath.Join("storetest", "testdata", "session.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e Event
		if err := jsonUnmarshalStrict(sc.Bytes(), &e); err != nil {
			t.Fatalf("session line %d: %v", len(out)+1, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func jsonUnmarshalStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// TestSQLiteStoreMigrations: opening an up-to-date database applies nothing and keeps the data;
// each migration is recorded once.
func TestSQLiteStoreMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "ledgerline.db") // directories are created
	ctx := context.Background()
	for i := range 3 {
		s, err := OpenSQLite(path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if _, err := s.Append(ctx, final("m", fmt.Sprint(i), "x")); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db := rawDB(t, path)
	var n, maxV int
	if err := db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &maxV); err != nil {
		t.Fatal(err)
	}
	if latest := latestSchemaVersion(); latest < 1 || n != latest || maxV != latest {
		t.Errorf("schema_migrations: %d rows up to %d, want %d", n, maxV, latest)
	}
	var events int
	if err := db.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&events); err != nil || events != 3 {
		t.Errorf("events after three opens: %d, %v", events, err)
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("database file mode: %v, %v; want 0600", fi.Mode().Perm(), err)
		}
	}
}

// TestSQLiteStoreOddPath: characters SQLite URIs give a meaning to are taken literally in a path.
func TestSQLiteStoreOddPath(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("'?' is not allowed in Windows file names")
	}
	dir := filepath.Join(t.TempDir(), "a dir?x=1#frag%41")
	path := filepath.Join(dir, "my ledger?.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(context.Background(), final("m", "s1", "x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "my ledger?.db" {
		t.Errorf("files in %s: %v, %v", dir, entries, err)
	}
}

// TestSQLiteStoreRefusesNewerSchema: a database from a newer Ledgerline is refused and left as it was.
func TestSQLiteStoreRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledgerline.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	future := latestSchemaVersion() + 1
	db := rawDB(t, path)
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', '2030-01-01T00:00:00Z')`, future); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = OpenSQLite(path)
	if !errors.Is(err, ErrSchemaTooNew) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("OpenSQLite(newer schema) = %v, want ErrSchemaTooNew", err)
	}
	t.Log(err)
	var n int
	if err := rawDB(t, path).QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, future).Scan(&n); err != nil || n != 1 {
		t.Errorf("the refused database was changed: %d, %v", n, err)
	}
}

// rawDB opens path with the driver directly, as a tool outside the store would, closed at the end of the test.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestDefaultPath(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	got, err := DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "ledgerline", "ledgerline.db"); got != want {
		t.Errorf("DefaultPath() = %q, want %q", got, want)
	}
	t.Setenv("XDG_DATA_HOME", "relative/ignored")
	if got, err := DefaultPath(); err == nil && !filepath.IsAbs(got) {
		t.Errorf("DefaultPath() with a relative XDG_DATA_HOME = %q", got)
	}
}
