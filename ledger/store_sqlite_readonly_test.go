package ledger

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// writeReadOnlyFixture records the replayed session and a deal in a database at path and closes it,
// as a recording laptop leaves it before the file is archived.
func writeReadOnlyFixture(t *testing.T, path string) []Event {
	t.Helper()
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.CreateDeal(ctx, Deal{ID: "d1", Name: "Deal", Account: "Buyer", Vendor: "Vendor", Partner: "Partner"}); err != nil {
		t.Fatal(err)
	}
	var stored []Event
	for _, e := range loadSession(t) {
		got, err := s.Append(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return stored
}

// dirEntries lists the names in dir.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// checkReadOnlyStore opens path read-only and checks that it reads what was written, refuses every
// write with ErrReadOnly and leaves the database file as it was.
func checkReadOnlyStore(t *testing.T, path string, want []Event) {
	t.Helper()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(path, WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	ctx := context.Background()

	got, err := s.Since(ctx, "m", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || got[len(got)-1].Seq != want[len(want)-1].Seq {
		t.Fatalf("read %d events, want %d", len(got), len(want))
	}
	if d, err := s.Deal(ctx, "d1"); err != nil || d.Name != "Deal" {
		t.Fatalf("Deal = %+v, %v", d, err)
	}
	if segs, err := s.Segments(ctx, "m"); err != nil || len(segs) == 0 {
		t.Fatalf("Segments = %d, %v", len(segs), err)
	}

	writes := map[string]func() error{
		"Append": func() error {
			_, err := s.Append(ctx, loadSession(t)[0])
			return err
		},
		"CreateDeal": func() error { return s.CreateDeal(ctx, Deal{ID: "d2", Name: "Other"}) },
		"CreateMeeting": func() error {
			return s.CreateMeeting(ctx, Meeting{ID: "m2", StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
		},
		"Acquire": func() error {
			_, err := s.Acquire(ctx, "m", "owner", "http://localhost", time.Minute)
			return err
		},
	}
	for name, write := range writes {
		err := write()
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s on a read-only store = %v, want ErrReadOnly", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if n, err := s.Since(ctx, "m", 0); err != nil || len(n) != len(want) {
		t.Errorf("after the refused writes: %d events, %v; want %d", len(n), err, len(want))
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("opening read-only changed the database file")
	}
}

// TestSQLiteStoreReadOnly: a database the user may only read is read as it was written, and the
// store refuses writes instead of failing to open.
func TestSQLiteStoreReadOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ledgerline.db")
	want := writeReadOnlyFixture(t, path)
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	entries := dirEntries(t, dir)
	checkReadOnlyStore(t, path, want)
	if got := dirEntries(t, dir); !slices.Equal(got, entries) {
		t.Errorf("directory holds %v after reading, want %v", got, entries)
	}
}

// TestSQLiteStoreReadOnlyDirectory: a database on read-only media (here a directory that cannot be
// written, so SQLite cannot create the -shm file a WAL reader uses) is still read, whether or not
// the file's own permissions allow writing.
func TestSQLiteStoreReadOnlyDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		// Permissions do not stop root: the directory would stay writable, and this would test
		// nothing that TestSQLiteStoreReadOnly does not.
		t.Skip("running as root, for whom a directory's permissions do not stop writes")
	}
	for _, mode := range []os.FileMode{0o444, 0o600} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "media")
			path := filepath.Join(dir, "ledgerline.db")
			want := writeReadOnlyFixture(t, path)
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o555); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o700) }) // so that the temporary directory can be removed
			entries := dirEntries(t, dir)
			checkReadOnlyStore(t, path, want)
			if got := dirEntries(t, dir); !slices.Equal(got, entries) {
				t.Errorf("directory holds %v after reading, want %v", got, entries)
			}
		})
	}
}

// TestSQLiteStoreReadOnlyNeedsDatabase: opening read-only does not create a missing database.
func TestSQLiteStoreReadOnlyNeedsDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "ledgerline.db")
	s, err := OpenSQLite(path, WithReadOnly())
	if !errors.Is(err, os.ErrNotExist) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("OpenSQLite(missing, WithReadOnly()) = %v, want an error matching os.ErrNotExist", err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("opening read-only created the directory: %v", err)
	}
}

// TestSQLiteStoreReadOnlySchema: opened read-only, a database whose schema would need upgrading is
// refused, not upgraded, and so is one from a newer build.
func TestSQLiteStoreReadOnlySchema(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change string
		want   error
	}{
		{"older", `DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`, ErrSchemaTooOld},
		{"newer", `INSERT INTO schema_migrations (version, name, applied_at) VALUES ((SELECT MAX(version) + 1 FROM schema_migrations), 'from_the_future', '2030-01-01T00:00:00Z')`, ErrSchemaTooNew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ledgerline.db")
			s, err := OpenSQLite(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			db := rawDB(t, path)
			if _, err := db.Exec(tc.change); err != nil {
				t.Fatal(err)
			}
			var version int
			if err := db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			s, err = OpenSQLite(path, WithReadOnly())
			if !errors.Is(err, tc.want) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("OpenSQLite(%s schema, WithReadOnly()) = %v, want %v", tc.name, err, tc.want)
			}
			t.Log(err)
			var now int
			if err := rawDB(t, path).QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&now); err != nil || now != version {
				t.Errorf("schema version is %d, %v after the refused open; want %d", now, err, version)
			}
		})
	}
}
