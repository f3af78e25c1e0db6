package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLiteStore is a Store in one SQLite file, for a laptop that records its own meetings.
//
// Concurrency: all methods are safe for concurrent use. Writes go through one connection, as
// SQLite serialises writers anyway; an append holds its meeting's lock from the start of its
// transaction until its event is published, so subscribers see events in Seq order. Reads (Since
// and the record queries) use a pool of read-only connections and never wait for a writer: in WAL
// mode a reader sees the last committed state. Several processes may open one file; a live
// meeting is served by the one that holds its lease (Leases).
//
// Durability: an appended event is on disk (fsynced) before Append returns and before any
// subscriber receives it, so whatever a viewer has seen survives a crash of the process or of the
// machine.
type SQLiteStore struct {
	sqlStore
	path   string
	writer *sql.DB // one connection, the only writer
	reader *sql.DB // read-only pool
}

var (
	_ Log   = (*SQLiteStore)(nil)
	_ Store = (*SQLiteStore)(nil)
)

// SQLiteOption configures a SQLiteStore.
type SQLiteOption func(*sqliteConfig)

type sqliteConfig struct {
	now         func() time.Time
	busyTimeout time.Duration
	readConns   int
	readOnly    bool
}

// WithSQLiteClock sets the wall clock that stamps Event.At and record times (default time.Now).
func WithSQLiteClock(now func() time.Time) SQLiteOption {
	return func(c *sqliteConfig) {
		if now != nil {
			c.now = now
		}
	}
}

// WithBusyTimeout sets how long a statement waits for a lock held by another connection before it
// fails (default 5s).
func WithBusyTimeout(d time.Duration) SQLiteOption {
	return func(c *sqliteConfig) {
		if d > 0 {
			c.busyTimeout = d
		}
	}
}

// OpenSQLite opens the database at path, creating it (and its directory, private to the user) when
// missing, and brings its schema up to date. A database written by a newer Ledgerline is refused
// with ErrSchemaTooNew. With WithReadOnly, it opens an existing database without writing to it
// (see WithReadOnly).
func OpenSQLite(path string, opts ...SQLiteOption) (*SQLiteStore, error) {
	cfg := sqliteConfig{now: time.Now, busyTimeout: 5 * time.Second, readConns: 4}
	for _, o := range opts {
		o(&cfg)
	}
	if path == "" {
		return nil, errors.New("ledger: open store: empty path")
	}
	if cfg.readOnly {
		return openSQLiteReadOnly(path, cfg)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("ledger: open store: %w", err)
	}
	// Create the file private to the user before SQLite does: transcripts are confidential, and
	// SQLite gives its -wal and -shm files the permissions of the database file.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("ledger: open store: %w", err)
	} else if err := f.Close(); err != nil {
		return nil, fmt.Errorf("ledger: open store: %w", err)
	}

	busy := fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds())
	// The writer. journal_mode=WAL lets readers work while a meeting is being written.
	// synchronous=FULL because a final segment or a ledger change must be durable when the event
	// carrying it is sent: in WAL mode, FULL fsyncs the log at every commit, so Append returns (and
	// publishes) only once the event is on disk. NORMAL would fsync only at checkpoints: safe if
	// the process is killed, but a power cut or an OS crash could lose events viewers had already
	// seen. fullfsync asks macOS to flush the drive's cache too (plain fsync there does not); other
	// systems ignore it. The cost is one fsync per event, a few per second in a meeting.
	// _txlock=immediate takes the write lock when a transaction begins rather than on its first
	// write, so two openers of one file wait for each other instead of failing with SQLITE_BUSY.
	w, err := sql.Open("sqlite", sqliteDSN(path, "_txlock=immediate", busy, "foreign_keys(1)",
		"journal_mode(WAL)", "synchronous(FULL)", "fullfsync(1)"))
	if err != nil {
		return nil, fmt.Errorf("ledger: open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &SQLiteStore{path: path, writer: w}
	ctx := context.Background()
	if err := s.checkWriter(ctx); err != nil {
		return nil, errors.Join(err, w.Close())
	}
	if err := migrate(ctx, w, cfg.now().UTC()); err != nil {
		return nil, errors.Join(fmt.Errorf("%w (database %s)", err, path), w.Close())
	}

	r, err := sql.Open("sqlite", sqliteDSN(path, busy, "query_only(1)"))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("ledger: open store %s: %w", path, err), w.Close())
	}
	r.SetMaxOpenConns(cfg.readConns)
	r.SetMaxIdleConns(cfg.readConns)
	if err := r.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("ledger: open store %s: %w", path, err), r.Close(), w.Close())
	}
	s.reader = r
	s.init(sqliteDB{sqliteConn{w}, w}, sqliteConn{r}, cfg.now)
	return s, nil
}

// sqliteDSN builds a SQLite URI for path with the driver's pragmas, which every new connection of
// the pool runs. Characters SQLite would take for URI syntax are escaped in the path.
func sqliteDSN(path string, params ...string) string {
	p := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(filepath.ToSlash(path))
	var q []string
	for _, v := range params {
		if k, val, ok := strings.Cut(v, "="); ok {
			q = append(q, k+"="+url.QueryEscape(val))
		} else {
			q = append(q, "_pragma="+url.QueryEscape(v))
		}
	}
	return "file:" + p + "?" + strings.Join(q, "&")
}

// checkWriter makes sure the writer connection got the settings durability depends on.
func (s *SQLiteStore) checkWriter(ctx context.Context) error {
	var mode string
	if err := s.writer.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return fmt.Errorf("ledger: open store %s: %w", s.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("ledger: open store %s: journal mode is %q, want wal", s.path, mode)
	}
	var syncMode int
	if err := s.writer.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&syncMode); err != nil {
		return fmt.Errorf("ledger: open store %s: %w", s.path, err)
	}
	if syncMode < 2 { // 2 is FULL
		return fmt.Errorf("ledger: open store %s: synchronous is %d, want FULL (2)", s.path, syncMode)
	}
	return nil
}

// Path returns the file the store was opened on.
func (s *SQLiteStore) Path() string { return s.path }

// Close implements Store. It waits for appends in progress to finish. Closing twice returns nil.
func (s *SQLiteStore) Close() error {
	return s.close(func() error {
		var werr error
		if s.writer != nil { // nil when opened read-only
			werr = s.writer.Close()
		}
		if err := errors.Join(s.reader.Close(), werr); err != nil {
			return fmt.Errorf("ledger: close store %s: %w", s.path, err)
		}
		return nil
	})
}

// sqliteConn is the sqlConn of a SQLite database or transaction.
type sqliteConn struct {
	q interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
}

func (c sqliteConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, q, sqliteArgs(args)...)
	if err != nil {
		return 0, sqliteError(err)
	}
	return res.RowsAffected()
}

func (c sqliteConn) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	return c.q.QueryRowContext(ctx, q, sqliteArgs(args)...)
}

func (c sqliteConn) query(ctx context.Context, q string, args ...any) (sqlRows, error) {
	return c.q.QueryContext(ctx, q, sqliteArgs(args)...)
}

// sqliteDB is the writer: the store's transactions begin IMMEDIATE (see OpenSQLite).
type sqliteDB struct {
	sqliteConn
	db *sql.DB
}

func (d sqliteDB) begin(ctx context.Context) (sqlTx, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return sqliteTx{sqliteConn{tx}, tx}, nil
}

type sqliteTx struct {
	sqliteConn
	tx *sql.Tx
}

func (t sqliteTx) commit(context.Context) error   { return t.tx.Commit() }
func (t sqliteTx) rollback(context.Context) error { return t.tx.Rollback() }

// sqliteArgs stores times as the schema keeps them: RFC 3339 text in UTC.
func sqliteArgs(args []any) []any {
	for i, a := range args {
		if t, ok := a.(time.Time); ok {
			args[i] = formatTime(t)
		}
	}
	return args
}

// sqliteError tells the constraint violations the store maps to its errors.
func sqliteError(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fmt.Errorf("%w: %w", errUniqueViolation, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", errForeignKeyViolation, err)
	}
	return err
}

// formatTime is how times are stored: RFC 3339 in UTC, to the nanosecond.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}
