package ledger_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/pgtest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/ledger/storetest"
)

// TestMain shares one PostgreSQL cluster among the tests that need one, started by the first of
// them; each test's database is a copy of one migrated once.
func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, func(ctx context.Context, c *pgtest.Cluster) error {
		return c.Template(ctx, "ledger", func(ctx context.Context, url string) error {
			s, err := ledger.OpenPostgres(ctx, url)
			if err != nil {
				return err
			}
			return s.Close()
		})
	}))
}

var (
	_ storetest.Store = (*ledger.SQLiteStore)(nil)
	_ storetest.Store = (*ledger.PostgresStore)(nil)
)

func TestMemLogConformance(t *testing.T) {
	storetest.RunLog(t, func(t *testing.T, now func() time.Time) storetest.Log {
		return ledger.NewMemLog(ledger.WithClock(now))
	})
}

func TestSQLiteStoreConformance(t *testing.T) {
	runStoreConformance(t, func(t *testing.T) func(now func() time.Time) storetest.Store {
		path := filepath.Join(t.TempDir(), "ledgerline.db")
		return func(now func() time.Time) storetest.Store {
			s, err := ledger.OpenSQLite(path, ledger.WithSQLiteClock(now))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { closeStore(t, s) })
			return s
		}
	})
}

func TestPostgresStoreConformance(t *testing.T) {
	runStoreConformance(t, postgresOpener(pgtest.Shared(t)))
}

// postgresOpener makes each test a database of its own on c.
func postgresOpener(c *pgtest.Cluster) storetest.StoreOpener {
	return func(t *testing.T) func(now func() time.Time) storetest.Store {
		url := c.NewDatabase(t)
		return func(now func() time.Time) storetest.Store {
			return openPostgres(t, url, ledger.WithPostgresClock(now))
		}
	}
}

// openPostgres opens a store on url, closed at the end of the test.
func openPostgres(t *testing.T, url string, opts ...ledger.PostgresOption) *ledger.PostgresStore {
	t.Helper()
	s, err := ledger.OpenPostgres(t.Context(), url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore(t, s) })
	return s
}

func closeStore(t *testing.T, s ledger.Store) {
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

// runStoreConformance runs the suites on stores that open delivers.
func runStoreConformance(t *testing.T, open storetest.StoreOpener) {
	t.Run("log", func(t *testing.T) {
		storetest.RunLog(t, func(t *testing.T, now func() time.Time) storetest.Log { return open(t)(now) })
	})
	t.Run("store", func(t *testing.T) { storetest.RunStore(t, open) })
	t.Run("team", func(t *testing.T) { storetest.RunTeam(t, open) })
	t.Run("crm", func(t *testing.T) { storetest.RunCRM(t, open) })
}
