package pgtest

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/ledgerline/ledgerline/internal/leaktest"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(child())
	}
	os.Exit(Main(m, func(ctx context.Context, c *Cluster) error {
		return c.Template(ctx, "fixture", fillFixture)
	}))
}

// prepared counts the runs of fillFixture.
var prepared atomic.Int32

func fillFixture(ctx context.Context, url string) error {
	prepared.Add(1)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `CREATE TABLE note (id int PRIMARY KEY, body text);
		INSERT INTO note VALUES (1, 'from the template')`)
	return err
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryInt(t *testing.T, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func databaseName(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

func TestNewDatabaseCopiesTheTemplate(t *testing.T) {
	c := Shared(t)
	conn := connect(t, c.NewDatabase(t))
	var body string
	if err := conn.QueryRow(t.Context(), "SELECT body FROM note WHERE id = 1").Scan(&body); err != nil {
		t.Fatal(err)
	}
	if body != "from the template" {
		t.Errorf("body = %q", body)
	}
	if err := c.Template(t.Context(), "fixture", fillFixture); err != nil {
		t.Fatal(err)
	}
	c.NewDatabase(t)
	if n := prepared.Load(); n != 1 {
		t.Errorf("the template was prepared %d times, want once", n)
	}
}

func TestDatabasesAreIsolated(t *testing.T) {
	c := Shared(t)
	urlA, urlB := c.NewDatabase(t), c.NewDatabase(t)
	if databaseName(t, urlA) == databaseName(t, urlB) {
		t.Fatalf("two tests got the same database %s", urlA)
	}
	a, b := connect(t, urlA), connect(t, urlB)
	if _, err := a.Exec(t.Context(), "INSERT INTO note VALUES (2, 'only in a'); CREATE TABLE extra (x int)"); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, b, "SELECT count(*) FROM note"); n != 1 {
		t.Errorf("b sees %d notes, want the template's 1", n)
	}
	if n := queryInt(t, b, "SELECT count(*) FROM pg_tables WHERE tablename = 'extra'"); n != 0 {
		t.Error("a table made in a shows in b")
	}
}

func TestDatabaseIsDroppedWhenItsTestEnds(t *testing.T) {
	c := Shared(t)
	var name string
	t.Run("user", func(t *testing.T) { name = databaseName(t, c.NewDatabase(t)) })
	admin := connect(t, c.URL("postgres"))
	if n := queryInt(t, admin, "SELECT count(*) FROM pg_database WHERE datname = $1", name); n != 0 {
		t.Errorf("database %s outlived its test", name)
	}
}

func TestDatabaseWithOpenSessionsIsDropped(t *testing.T) {
	c := Shared(t)
	var name string
	t.Run("leaky", func(t *testing.T) {
		u := c.NewDatabase(t)
		name = databaseName(t, u)
		conn, err := pgx.Connect(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn // left open on purpose: a test that forgot to close its pool
	})
	admin := connect(t, c.URL("postgres"))
	if n := queryInt(t, admin, "SELECT count(*) FROM pg_database WHERE datname = $1", name); n != 0 {
		t.Errorf("database %s with an open session outlived its test", name)
	}
}

// Parallel tests make their databases at once; this reports the time each
// takes.
func TestParallelNewDatabase(t *testing.T) {
	c := Shared(t)
	const n = 8
	var mu sync.Mutex
	var took []time.Duration
	t.Run("group", func(t *testing.T) {
		for range n {
			t.Run("db", func(t *testing.T) {
				t.Parallel()
				start := time.Now()
				u := c.NewDatabase(t)
				d := time.Since(start)
				mu.Lock()
				took = append(took, d)
				mu.Unlock()
				if got := queryInt(t, connect(t, u), "SELECT count(*) FROM note"); got != 1 {
					t.Errorf("%d notes, want 1", got)
				}
			})
		}
	})
	t.Logf("NewDatabase, %d at once: %v", n, took)
	start := time.Now()
	for range 5 {
		c.NewDatabase(t)
	}
	t.Logf("NewDatabase, one at a time: %v each", time.Since(start)/5)
}

func TestFailedTemplateLeavesNothing(t *testing.T) {
	c := Shared(t)
	boom := errors.New("migration 3 failed")
	err := c.Template(t.Context(), "broken", func(context.Context, string) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Template = %v, want the prepare error", err)
	}
	admin := connect(t, c.URL("postgres"))
	if n := queryInt(t, admin, "SELECT count(*) FROM pg_database WHERE datname = 'broken'"); n != 0 {
		t.Error("a failed template's database was left behind")
	}
	// The failure changed nothing: databases still copy the fixture.
	if n := queryInt(t, connect(t, c.NewDatabase(t)), "SELECT count(*) FROM note"); n != 1 {
		t.Errorf("%d notes, want 1", n)
	}
}

func TestSecondClusterRunsBesideTheFirstAndStops(t *testing.T) {
	first := Shared(t)
	// After Stop, nothing of the second cluster may still run here.
	leaktest.Check(t)
	start := time.Now()
	c, err := Start(t.Context())
	Require(t, err)
	t.Cleanup(func() { c.Stop() })
	t.Logf("Start: %v", time.Since(start))
	if c.Dir() == first.Dir() || c.URL("x") == first.URL("x") {
		t.Fatalf("the clusters share %s / %s", c.Dir(), c.URL("x"))
	}

	// A template whose preparation leaves a session open still copies.
	err = c.Template(t.Context(), "leaky", func(ctx context.Context, url string) error {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		_, err = conn.Exec(ctx, "CREATE TABLE leaky (x int)")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	second := connect(t, c.NewDatabase(t))
	if n := queryInt(t, second, "SELECT count(*) FROM pg_tables WHERE tablename = 'leaky'"); n != 1 {
		t.Error("the second cluster's database lacks its template's table")
	}
	if n := queryInt(t, connect(t, first.NewDatabase(t)), "SELECT count(*) FROM pg_tables WHERE tablename = 'leaky'"); n != 0 {
		t.Error("the first cluster has the second's template")
	}
	second.Close(t.Context())

	pid := c.srv.cmd.Process.Pid
	start = time.Now()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop: %v", time.Since(start))
	if alive(pid) {
		t.Errorf("postgres %d still runs after Stop", pid)
	}
	if _, err := os.Stat(c.Dir()); !os.IsNotExist(err) {
		t.Errorf("%s still there after Stop (%v)", c.Dir(), err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := c.createDatabase(t.Context(), "template0"); !errors.Is(err, errStopped) {
		t.Errorf("createDatabase after Stop = %v, want errStopped", err)
	}
	// The first cluster is untouched.
	if n := queryInt(t, connect(t, first.URL("postgres")), "SELECT 1"); n != 1 {
		t.Error("the first cluster stopped answering")
	}
}

func TestNilClusterStops(t *testing.T) {
	var c *Cluster
	if err := c.Stop(); err != nil {
		t.Error(err)
	}
}
