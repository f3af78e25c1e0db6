package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The writes of sqlStore's records other than appends (team records, leases, the outbox): one
// transaction helper and one single-record update, shared by both databases.

// updateOne runs an update of one record, named by keys: ErrNotFound when a key cannot be stored
// or the update matched nothing. A unique or foreign-key violation is returned as the error the
// caller names (errUniqueViolation, errForeignKeyViolation), with what it was doing.
func (s *sqlStore) updateOne(ctx context.Context, what string, keys []string, q string, args ...any) error {
	for _, k := range keys {
		if !storable(k) {
			return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
		}
	}
	if s.closed.Load() {
		return fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	n, err := s.w.exec(ctx, q, args...)
	switch {
	case errors.Is(err, errUniqueViolation), errors.Is(err, errForeignKeyViolation):
		return err
	case err != nil:
		return s.readErr(what, err)
	case n == 0:
		return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return nil
}

// writeTx runs fn in a write transaction and commits it. fn's errors say what failed, "ledger: "
// and all, and are returned as they are.
func (s *sqlStore) writeTx(ctx context.Context, what string, fn func(tx sqlConn) error) error {
	s.closing.RLock()
	defer s.closing.RUnlock()
	if err := s.readable(ctx, what); err != nil {
		return err
	}
	tx, err := s.w.begin(ctx)
	if err != nil {
		return s.readErr(what+": begin", err)
	}
	defer tx.rollback(ctx) //nolint:errcheck // a no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.commit(ctx); err != nil {
		return s.readErr(what+": commit", err)
	}
	return nil
}

// nullDBTime scans a stored time that may be NULL, read back as the zero time.
type nullDBTime struct{ dbTime }

func (t *nullDBTime) Scan(v any) error {
	if v == nil {
		t.Time = time.Time{}
		return nil
	}
	return t.dbTime.Scan(v)
}
