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
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"
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

// loadSession reads the replayed call in testdata/store/session.jsonl: events as a producer hands
// them to the log, of meeting "m".
func loadSession(t testing.TB) []Event {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "store", "session.jsonl"))
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

// closableLog is a Log that can be closed, as MemLog and SQLiteStore are.
type closableLog interface {
	Log
	Close() error
}

// TestLogRules checks that SQLiteStore follows the rules of Log exactly as MemLog does.
func TestLogRules(t *testing.T) {
	at := time.Date(2026, 3, 5, 9, 0, 0, 123456789, time.FixedZone("CET", 3600))
	clock := func() time.Time { return at }
	for name, open := range map[string]func(t *testing.T) closableLog{
		"MemLog": func(t *testing.T) closableLog { return NewMemLog(WithClock(clock)) },
		"SQLiteStore": func(t *testing.T) closableLog {
			s, _ := openStore(t, WithSQLiteClock(clock))
			return s
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			t.Run("seq", func(t *testing.T) {
				l := open(t)
				for i := 1; i <= 3; i++ {
					for _, m := range []string{"a", "b"} {
						e, err := l.Append(ctx, final(m, fmt.Sprint(i), "x"))
						if err != nil {
							t.Fatal(err)
						}
						if e.Seq != int64(i) || e.V != SchemaVersion || !e.At.Equal(at) || e.At.Location() != time.UTC {
							t.Fatalf("meeting %s append %d: seq=%d v=%d at=%v", m, i, e.Seq, e.V, e.At)
						}
					}
				}
				for _, tc := range []struct {
					meeting string
					seq     int64
					want    []int64
				}{{"a", -5, []int64{1, 2, 3}}, {"a", 0, []int64{1, 2, 3}}, {"a", 1, []int64{2, 3}}, {"a", 3, nil}, {"a", 99, nil}, {"nobody", 0, nil}} {
					got, err := l.Since(ctx, tc.meeting, tc.seq)
					if err != nil {
						t.Fatal(err)
					}
					var seqs []int64
					for _, e := range got {
						seqs = append(seqs, e.Seq)
					}
					if !reflect.DeepEqual(seqs, tc.want) {
						t.Errorf("Since(%s, %d) = %v, want %v", tc.meeting, tc.seq, seqs, tc.want)
					}
				}
			})
			t.Run("refusals", func(t *testing.T) {
				l := open(t)
				if _, err := l.Append(ctx, partial("m", "s", "x")); !errors.Is(err, ErrInvalidEvent) {
					t.Errorf("Append(partial) = %v, want ErrInvalidEvent", err)
				}
				if err := l.Publish(final("m", "s", "x")); !errors.Is(err, ErrInvalidEvent) {
					t.Errorf("Publish(final) = %v, want ErrInvalidEvent", err)
				}
				if _, err := l.Append(ctx, Event{Type: TypeSegmentFinal, Meeting: "m"}); !errors.Is(err, ErrInvalidEvent) {
					t.Errorf("Append(no segment) = %v, want ErrInvalidEvent", err)
				}
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				if _, err := l.Append(cctx, final("m", "s", "x")); !errors.Is(err, context.Canceled) {
					t.Errorf("Append(cancelled) = %v, want context.Canceled", err)
				}
				if _, err := l.Since(cctx, "m", 0); !errors.Is(err, context.Canceled) {
					t.Errorf("Since(cancelled) = %v, want context.Canceled", err)
				}
				if got, err := l.Since(ctx, "m", 0); err != nil || len(got) != 0 {
					t.Errorf("refused events were stored: %v, %v", got, err)
				}
			})
			t.Run("copies payload", func(t *testing.T) {
				l := open(t)
				c := &CommitmentInfo{ID: "c1", What: "send", SegmentIDs: []string{"s1"}}
				e, err := l.Append(ctx, Event{Type: TypeCommitmentUpsert, Meeting: "m", Commitment: c})
				if err != nil {
					t.Fatal(err)
				}
				c.What, c.SegmentIDs[0] = "changed", "changed"
				got, err := l.Since(ctx, "m", 0)
				if err != nil {
					t.Fatal(err)
				}
				if e.Commitment.What != "send" || got[0].Commitment.What != "send" || got[0].Commitment.SegmentIDs[0] != "s1" {
					t.Errorf("the log kept the producer's memory: %+v %+v", e.Commitment, got[0].Commitment)
				}
			})
			t.Run("stored then published, partials carry seq", func(t *testing.T) {
				l := open(t)
				sub := l.Subscribe("m", 16)
				other := l.Subscribe("n", 16)
				if err := l.Publish(partial("m", "s1", "we'll")); err != nil {
					t.Fatal(err)
				}
				if _, err := l.Append(ctx, final("m", "s1", "we'll send it")); err != nil {
					t.Fatal(err)
				}
				if err := l.Publish(partial("m", "s2", "by")); err != nil {
					t.Fatal(err)
				}
				if _, err := l.Append(ctx, final("m", "s2", "by Friday")); err != nil {
					t.Fatal(err)
				}
				want := []struct {
					typ EventType
					seq int64
				}{{TypeSegmentPartial, 0}, {TypeSegmentFinal, 1}, {TypeSegmentPartial, 1}, {TypeSegmentFinal, 2}}
				for i, w := range want {
					e := <-sub.C()
					if e.Type != w.typ || e.Seq != w.seq {
						t.Errorf("event %d = %s seq %d, want %s seq %d", i, e.Type, e.Seq, w.typ, w.seq)
					}
					if e.Type.Stored() {
						got, err := l.Since(ctx, "m", e.Seq-1)
						if err != nil || len(got) == 0 || !reflect.DeepEqual(got[0], e) {
							t.Errorf("published %+v, stored %+v, %v", e, got, err)
						}
					}
				}
				select {
				case e := <-other.C():
					t.Errorf("meeting n received %+v", e)
				default:
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				if _, ok := <-sub.C(); ok || !errors.Is(sub.Err(), ErrLogClosed) {
					t.Errorf("after Close: open=%v err=%v", ok, sub.Err())
				}
			})
			t.Run("slow subscriber is dropped", func(t *testing.T) {
				l := open(t)
				slow := l.Subscribe("m", 1)
				for i := range 3 {
					if _, err := l.Append(ctx, final("m", fmt.Sprint(i), "x")); err != nil {
						t.Fatal(err)
					}
				}
				<-slow.C()
				if _, ok := <-slow.C(); ok || !errors.Is(slow.Err(), ErrLagged) {
					t.Errorf("slow subscriber: open=%v err=%v", ok, slow.Err())
				}
			})
			t.Run("closed", func(t *testing.T) {
				l := open(t)
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				if err := l.Close(); err != nil {
					t.Errorf("second Close = %v", err)
				}
				if _, err := l.Append(ctx, final("m", "s", "x")); !errors.Is(err, ErrLogClosed) {
					t.Errorf("Append after Close = %v", err)
				}
				if err := l.Publish(partial("m", "s", "x")); !errors.Is(err, ErrLogClosed) {
					t.Errorf("Publish after Close = %v", err)
				}
				if _, err := l.Since(ctx, "m", 0); !errors.Is(err, ErrLogClosed) {
					t.Errorf("Since after Close = %v", err)
				}
				sub := l.Subscribe("m", 1)
				if _, ok := <-sub.C(); ok || !errors.Is(sub.Err(), ErrLogClosed) {
					t.Errorf("Subscribe after Close: open=%v err=%v", ok, sub.Err())
				}
			})
		})
	}
}

// TestSQLiteStoreConcurrentAppends: appends from several goroutines to one meeting get dense,
// ordered Seqs; each producer's events keep its order; a subscriber sees them in Seq order.
func TestSQLiteStoreConcurrentAppends(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	const producers, each = 4, 25
	sub := s.Subscribe("m", producers*each)
	other := s.Subscribe("n", producers*each)

	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				meeting := "m"
				if i%5 == 4 {
					meeting = "n"
				}
				if _, err := s.Append(ctx, final(meeting, fmt.Sprintf("p%d-%03d", p, i), "x")); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	for meeting, want := range map[string]int{"m": producers * each * 4 / 5, "n": producers * each / 5} {
		got, err := s.Since(ctx, meeting, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Fatalf("meeting %s: %d events, want %d", meeting, len(got), want)
		}
		last := map[byte]string{}
		for i, e := range got {
			if e.Seq != int64(i+1) {
				t.Fatalf("meeting %s: event %d has seq %d", meeting, i, e.Seq)
			}
			p := e.Segment.ID[1]
			if e.Segment.ID <= last[p] {
				t.Errorf("meeting %s: producer %c out of order: %s after %s", meeting, p, e.Segment.ID, last[p])
			}
			last[p] = e.Segment.ID
		}
		ch := sub.C()
		if meeting == "n" {
			ch = other.C()
		}
		for i := range want {
			if e := <-ch; e.Seq != int64(i+1) {
				t.Fatalf("meeting %s: subscriber got seq %d at %d", meeting, e.Seq, i)
			}
		}
	}
}

// TestSQLiteStoreReopen: after a reopen, Since returns exactly what Append returned, the log goes
// on from the last Seq, and partials carry it.
func TestSQLiteStoreReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledgerline.db")
	ctx := context.Background()
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	var appended []Event
	for _, e := range loadSession(t) {
		got, err := s.Append(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		appended = append(appended, got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Since(ctx, "m", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, appended) {
		t.Fatalf("after reopen:\n got %+v\nwant %+v", got, appended)
	}
	got, err = s.Since(ctx, "m", 10)
	if err != nil || !reflect.DeepEqual(got, appended[10:]) {
		t.Fatalf("Since(m, 10) after reopen = %+v, %v", got, err)
	}
	sub := s.Subscribe("m", 4)
	defer sub.Close()
	if err := s.Publish(partial("m", "s9", "and")); err != nil {
		t.Fatal(err)
	}
	if e := <-sub.C(); e.Seq != int64(len(appended)) {
		t.Errorf("partial after reopen carries seq %d, want %d", e.Seq, len(appended))
	}
	e, err := s.Append(ctx, final("m", "s9", "and the API limits"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != int64(len(appended))+1 {
		t.Errorf("append after reopen got seq %d, want %d", e.Seq, len(appended)+1)
	}
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
