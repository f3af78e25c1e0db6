package ledger_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/ledger/storetest"
)

func TestMemLogConformance(t *testing.T) {
	storetest.RunLog(t, func(t *testing.T, now func() time.Time) storetest.Log {
		return ledger.NewMemLog(ledger.WithClock(now))
	})
}

func TestSQLiteStoreConformance(t *testing.T) {
	storetest.RunLog(t, func(t *testing.T, now func() time.Time) storetest.Log {
		s, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledgerline.db"), ledger.WithSQLiteClock(now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		return s
	})
}
