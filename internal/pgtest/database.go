package pgtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var errStopped = errors.New("pgtest: cluster stopped")

// Template creates the database name, lets prepare fill it through url (run
// the migrations, load fixtures) and turns it into a template, which
// NewDatabase copies from then on. A name already made is not made again,
// so that tests may all ask for the template and prepare runs once; a
// failed attempt leaves nothing behind and may be retried.
//
// Sessions that prepare leaves open are ended, since a template with a
// session on it cannot be copied.
func (c *Cluster) Template(ctx context.Context, name string, prepare func(ctx context.Context, url string) error) error {
	c.tmplMu.Lock()
	defer c.tmplMu.Unlock()
	if !c.templates[name] {
		if err := c.makeTemplate(ctx, name, prepare); err != nil {
			return err
		}
		c.templates[name] = true
	}
	c.mu.Lock()
	c.template = name
	c.mu.Unlock()
	return nil
}

func (c *Cluster) makeTemplate(ctx context.Context, name string, prepare func(ctx context.Context, url string) error) error {
	q := pgx.Identifier{name}.Sanitize()
	if err := c.exec(ctx, "CREATE DATABASE "+q+" TEMPLATE template0"); err != nil {
		return fmt.Errorf("pgtest: creating template %s: %w", name, err)
	}
	err := prepare(ctx, c.URL(name))
	if err != nil {
		err = fmt.Errorf("pgtest: preparing template %s: %w", name, err)
	} else {
		err = c.exec(ctx, "ALTER DATABASE "+q+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
		if err == nil {
			err = c.exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
		}
		if err != nil {
			err = fmt.Errorf("pgtest: making %s a template: %w", name, err)
		}
	}
	if err != nil {
		// The context may be what failed; the drop gets its own.
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if derr := c.drop(dctx, name); derr != nil {
			err = errors.Join(err, derr)
		}
	}
	return err
}

// NewDatabase creates a database for tb alone, a copy of the latest
// template (an empty database before any), drops it when tb ends and
// returns its URL. It fails tb when the database cannot be made, and on a
// nil Cluster, which is what a failed Start returns.
func (c *Cluster) NewDatabase(tb testing.TB) string {
	tb.Helper()
	if c == nil {
		tb.Fatal("pgtest: NewDatabase on a nil Cluster: check Start's error with Require")
	}
	c.mu.Lock()
	template := c.template
	c.mu.Unlock()
	return c.NewDatabaseFrom(tb, template)
}

// NewDatabaseFrom is NewDatabase copying the named template, for packages
// that keep more than one.
func (c *Cluster) NewDatabaseFrom(tb testing.TB, template string) string {
	tb.Helper()
	if c == nil {
		tb.Fatal("pgtest: NewDatabaseFrom on a nil Cluster: check Start's error with Require")
	}
	name, err := c.createDatabase(tb.Context(), template)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.drop(ctx, name); err != nil && !errors.Is(err, errStopped) {
			tb.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})
	return c.URL(name)
}

func (c *Cluster) createDatabase(ctx context.Context, template string) (string, error) {
	name := fmt.Sprintf("t%d", c.seq.Add(1))
	err := c.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{template}.Sanitize())
	if err != nil {
		return "", fmt.Errorf("pgtest: creating database %s from %s: %w", name, template, err)
	}
	return name, nil
}

// drop removes a database, ending the sessions a test left open on it.
func (c *Cluster) drop(ctx context.Context, name string) error {
	return c.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// exec runs one statement as the superuser in the postgres database, on an
// idle admin connection or a new one. Each statement has a connection to
// itself, so parallel tests create their databases at once.
func (c *Cluster) exec(ctx context.Context, sql string, args ...any) error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return errStopped
	}
	var conn *pgx.Conn
	if n := len(c.idle); n > 0 {
		conn, c.idle = c.idle[n-1], c.idle[:n-1]
	}
	c.mu.Unlock()
	if conn == nil {
		var err error
		if conn, err = c.connect(ctx, "postgres"); err != nil {
			return c.explain(err)
		}
	}
	_, err := conn.Exec(ctx, sql, args...)
	c.release(conn)
	return c.explain(err)
}

func (c *Cluster) connect(ctx context.Context, database string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return pgx.Connect(ctx, c.URL(database))
}

// release keeps a healthy connection for the next statement and closes one
// that failed or that a stopped cluster no longer needs.
func (c *Cluster) release(conn *pgx.Conn) {
	c.mu.Lock()
	if !c.stopped && !conn.IsClosed() {
		c.idle = append(c.idle, conn)
		conn = nil
	}
	c.mu.Unlock()
	if conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(ctx)
	}
}

// explain adds the server's last words to an error met after it died.
func (c *Cluster) explain(err error) error {
	if err == nil || c.srv == nil || !c.srv.exited() {
		return err
	}
	return fmt.Errorf("%w (postgres has exited: %v; server log:\n%s)", err, c.srv.err, c.logTail())
}
