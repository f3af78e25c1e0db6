package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

var (
	// ErrReadOnly reports a write to a store opened with WithReadOnly.
	ErrReadOnly = errors.New("store opened read-only; writing needs a store opened for writing")
	// ErrSchemaTooOld reports a database, opened read-only, whose schema this build would first
	// have to upgrade, which it does only when opening the database for writing.
	ErrSchemaTooOld = errors.New("ledger: database schema is older than this build of Ledgerline")
)

// WithReadOnly opens the store for reading only, for commands that only report on the record: the
// database must exist, it is neither created nor migrated, and every write (Append, CreateDeal, a
// lease…) fails with ErrReadOnly. Nothing is written to the database's file or its directory,
// so a database on read-only media, or one the user may only read, can be opened; a database whose
// schema is older than this build's is refused with ErrSchemaTooOld, one whose schema is newer with
// ErrSchemaTooNew.
func WithReadOnly() SQLiteOption {
	return func(c *sqliteConfig) { c.readOnly = true }
}

// openSQLiteReadOnly opens the database at path with SQLite's read-only mode.
//
// A WAL database is read through its -shm file, which a reader creates when it is missing (the
// last connection to close removes it) and leaves behind: where the directory cannot be written
// that fails, and the database is then opened as immutable, which SQLite reads without any -shm or
// lock. A database file that nobody may write is opened as immutable straight away when it has no
// -wal or -shm file, as a database closed cleanly has not: the files a reader would create there
// take the database's read-only permissions, and would stop writers once it is made writable
// again. Immutable ignores the -wal file, so it is used only when that holds nothing: otherwise
// changes committed there would be missing from what is read.
func openSQLiteReadOnly(path string, cfg sqliteConfig) (*SQLiteStore, error) {
	fail := func(err error) (*SQLiteStore, error) {
		return nil, fmt.Errorf("ledger: open store %s read-only: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fail(err)
	}
	busy := fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds())
	immutable := func() (*sql.DB, int, error) {
		return openSQLiteReader(path, cfg.readConns, "mode=ro", "immutable=1", busy, "query_only(1)")
	}
	var (
		r       *sql.DB
		version int
	)
	if fi.Mode().Perm()&0o222 == 0 && !exists(path+"-wal") && !exists(path+"-shm") {
		if r, version, err = immutable(); err != nil {
			return fail(err)
		}
	} else if r, version, err = openSQLiteReader(path, cfg.readConns, "mode=ro", busy, "query_only(1)"); err != nil {
		if !walIsEmpty(path) {
			return fail(fmt.Errorf("%w (its -wal file holds changes that can be read only where the "+
				"database's directory can be written: copy the database with its -wal file to such a directory)", err))
		}
		var ierr error
		if r, version, ierr = immutable(); ierr != nil {
			return fail(err) // the first error: the usual way of opening it is the one to report
		}
	}
	switch latest := latestSchemaVersion(); {
	case version > latest:
		return nil, errors.Join(fmt.Errorf("%w: it is at schema version %d, this build knows up to %d; upgrade Ledgerline to open it (database %s)",
			ErrSchemaTooNew, version, latest, path), r.Close())
	case version < latest:
		return nil, errors.Join(fmt.Errorf("%w: it is at schema version %d, this build reads version %d; "+
			"open it once with a command that writes to it, such as 'ledgerline run --db FILE', to upgrade it (database %s)",
			ErrSchemaTooOld, version, latest, path), r.Close())
	}
	s := &SQLiteStore{path: path, reader: r}
	s.init(sqliteReadOnlyDB{}, sqliteConn{r}, cfg.now)
	return s, nil
}

// openSQLiteReader opens a pool of connections with params and reads the schema version through
// it, which also proves that the database can be read that way.
func openSQLiteReader(path string, conns int, params ...string) (*sql.DB, int, error) {
	r, err := sql.Open("sqlite", sqliteDSN(path, params...))
	if err != nil {
		return nil, 0, err
	}
	r.SetMaxOpenConns(conns)
	r.SetMaxIdleConns(conns)
	version, err := schemaVersion(context.Background(), r)
	if err != nil {
		return nil, 0, errors.Join(err, r.Close())
	}
	return r, version, nil
}

// schemaVersion reads the version of the database's schema without writing: 0 when it has none.
func schemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables); err != nil {
		return 0, err
	}
	if tables == 0 {
		return 0, nil
	}
	var v int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	return v, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// walIsEmpty reports whether the database at path has no -wal file, or an empty one.
func walIsEmpty(path string) bool {
	fi, err := os.Stat(path + "-wal")
	return errors.Is(err, os.ErrNotExist) || (err == nil && fi.Size() == 0)
}

// sqliteReadOnlyDB stands in for the writer of a store opened read-only: it refuses everything.
type sqliteReadOnlyDB struct{}

func (sqliteReadOnlyDB) exec(context.Context, string, ...any) (int64, error) { return 0, ErrReadOnly }
func (sqliteReadOnlyDB) queryRow(context.Context, string, ...any) rowScanner {
	return errRow{ErrReadOnly}
}
func (sqliteReadOnlyDB) query(context.Context, string, ...any) (sqlRows, error) {
	return nil, ErrReadOnly
}
func (sqliteReadOnlyDB) begin(context.Context) (sqlTx, error) { return nil, ErrReadOnly }

// errRow is a row whose Scan fails with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
