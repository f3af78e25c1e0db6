package ledger

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// PostgresStore is a Store in a PostgreSQL database, for a team server that records many meetings
// at once, possibly from several processes.
//
// Concurrency: all methods are safe for concurrent use, and appends to different meetings run side
// by side. Appends to one meeting are ordered twice. In the database, an append's transaction counts
// the meeting's next Seq on the meeting's row, whose lock it then holds until it commits: Seqs
// commit in order and without gaps, whichever process appends. In the process, an append holds its
// meeting's lock until its event is published, so subscribers see events in Seq order. Subscribers
// receive the events appended and published through this store, and, with a bus (WithBus), those
// of the other processes on the database too.
//
// Durability: an appended event is committed before Append returns and before any subscriber
// receives it, and so is as durable as the server makes a commit (synchronous_commit, replicas).
//
// Times: an event's At is kept exactly, in its JSON; the times of records (Deal.CreatedAt,
// Meeting.StartedAt, CommitmentRecord.UpdatedAt) are kept to the microsecond, as PostgreSQL keeps
// timestamps.
type PostgresStore struct {
	sqlStore
	pool *pgxpool.Pool
}

var (
	_ Log   = (*PostgresStore)(nil)
	_ Store = (*PostgresStore)(nil)
)

// PostgresOption configures a PostgresStore.
type PostgresOption func(*postgresConfig)

type postgresConfig struct {
	now func() time.Time
	bus Bus
}

// WithBus makes the store one of several processes (replicas) serving one database as one server:
// after each commit it publishes the event on bus (partials too), and a meeting's subscribers in
// this process receive every event of the meeting, whichever process appended it, in Seq order and
// without gaps or duplicates. The bus may lose, duplicate or reorder messages: a follower per
// meeting, running while the meeting has subscribers here, drops what it has delivered, fills gaps
// from the store, and polls the meeting's last Seq every second to find what the bus lost, so a
// lost message delays an event by at most about a second. This process's own appends reach its
// subscribers at once, as without a bus. The store does not close the bus.
func WithBus(b Bus) PostgresOption {
	return func(c *postgresConfig) { c.bus = b }
}

// WithPostgresClock sets the wall clock that stamps Event.At and record times (default time.Now).
func WithPostgresClock(now func() time.Time) PostgresOption {
	return func(c *postgresConfig) {
		if now != nil {
			c.now = now
		}
	}
}

// The schema is a list of goose migrations, migrations/postgres/NNNNN_name.sql.
//
//go:embed migrations/postgres/*.sql
var postgresMigrations embed.FS

// migrationLockID names the advisory lock that migrations run under: Ledgerline's own, so that
// another program migrating the same database with goose never waits for it.
const migrationLockID = 0x4c65_6467_6572 // "Ledger"

// OpenPostgres connects to the database at url (postgres://user:password@host:port/database?…;
// pgxpool's settings, such as pool_max_conns, may be added to it) and brings its schema up to date.
// Several processes may open one database at once: migrations run under an advisory lock, one
// process after the other, and a process that finds the schema current applies nothing. A
// database written by a newer Ledgerline is refused with ErrSchemaTooNew. ctx bounds the opening
// only.
func OpenPostgres(ctx context.Context, url string, opts ...PostgresOption) (*PostgresStore, error) {
	cfg := postgresConfig{now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("ledger: open store: %w", err)
	}
	// The database as messages name it: never with the password.
	where := fmt.Sprintf("database %q on %s", pc.ConnConfig.Database, pc.ConnConfig.Host)
	if err := migratePostgres(ctx, pc.ConnConfig); err != nil {
		if errors.Is(err, ErrSchemaTooNew) {
			return nil, fmt.Errorf("%w (%s)", err, where)
		}
		return nil, fmt.Errorf("ledger: open store (%s): %w", where, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("ledger: open store (%s): %w", where, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ledger: open store (%s): %w", where, err)
	}
	s := &PostgresStore{pool: pool}
	s.init(pgDB{pgConn{pool}, pool}, pgConn{pool}, cfg.now)
	if cfg.bus != nil {
		if err := s.useBus(cfg.bus); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return s, nil
}

// migratePostgres applies the migrations the database lacks, under goose's session lock, over a
// connection of its own: should unlocking fail, closing it still releases the lock.
func migratePostgres(ctx context.Context, cc *pgx.ConnConfig) error {
	dir, err := fs.Sub(postgresMigrations, "migrations/postgres")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// Another process migrating holds the lock for the few milliseconds its migrations take:
	// retry every second, for up to five minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	db := stdlib.OpenDB(*cc.Copy())
	p, err := goose.NewProvider(goose.DialectPostgres, db, dir, goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true), goose.WithLogger(goose.NopLogger()))
	if err != nil {
		return errors.Join(fmt.Errorf("migrate: %w", err), db.Close())
	}
	defer p.Close() // closes db
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Up applies nothing to a newer schema: it has every migration this build knows.
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	sources := p.ListSources()
	if latest := sources[len(sources)-1].Version; current > latest {
		return fmt.Errorf("%w: it is at schema version %d, this build knows up to %d; upgrade Ledgerline to open it",
			ErrSchemaTooNew, current, latest)
	}
	return nil
}

// Close implements Store. It waits for appends in progress to finish. Closing twice returns nil.
func (s *PostgresStore) Close() error {
	return s.close(func() error {
		s.pool.Close()
		return nil
	})
}

// pgConn is the sqlConn of the pool or of a transaction.
type pgConn struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

func (c pgConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, rebind(q), args...)
	if err != nil {
		return 0, pgError(err)
	}
	return tag.RowsAffected(), nil
}

func (c pgConn) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	return c.q.QueryRow(ctx, rebind(q), args...)
}

func (c pgConn) query(ctx context.Context, q string, args ...any) (sqlRows, error) {
	rows, err := c.q.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return pgRows{rows}, nil
}

type pgRows struct{ pgx.Rows }

// Close closes the rows; pgx reports a failed read by Err.
func (r pgRows) Close() error {
	r.Rows.Close()
	return nil
}

type pgDB struct {
	pgConn
	pool *pgxpool.Pool
}

// begin starts a transaction at READ COMMITTED, PostgreSQL's default, which appends rely on: an
// append that waited for another's lock on the meeting's row counts on from the Seq that one
// committed.
func (d pgDB) begin(ctx context.Context) (sqlTx, error) {
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return nil, err
	}
	return pgTx{pgConn{tx}, tx}, nil
}

type pgTx struct {
	pgConn
	tx pgx.Tx
}

func (t pgTx) commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t pgTx) rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }

// rebind numbers the store's ? placeholders as PostgreSQL's $1, $2… The queries hold no other ?.
func rebind(q string) string {
	var b strings.Builder
	n := 0
	for {
		i := strings.IndexByte(q, '?')
		if i < 0 {
			b.WriteString(q)
			return b.String()
		}
		n++
		b.WriteString(q[:i])
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
		q = q[i+1:]
	}
}

// unreachable reports an error that says the database could not be reached: a connection that
// could not be made or broke, or a server shutting down or starting up (SQLSTATE class 08, and
// 57P01-57P03). SQLite never returns these.
func unreachable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// pgError tells the constraint violations the store maps to its errors.
func pgError(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505": // unique_violation
		return fmt.Errorf("%w: %w", errUniqueViolation, err)
	case "23503": // foreign_key_violation
		return fmt.Errorf("%w: %w", errForeignKeyViolation, err)
	}
	return err
}
