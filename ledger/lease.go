package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Lease is one owner's hold on a live meeting: while it is unexpired, no other owner acquires the
// meeting. Every process appends to one store, but subscribers receive only what their own process
// published, so two processes serving one meeting would each show their viewers half of it.
type Lease struct {
	Meeting  string
	Owner    string    // who holds it: one ID per process and meeting served
	OwnerURL string    // where the owner serves the meeting, for those it turns away; "" when not said
	Epoch    int64     // counts the meeting's acquisitions, so that a later one fences this one
	Until    time.Time // when it expires unless renewed, in UTC, to the millisecond
}

// Leases pick the one process that serves a live meeting. Times are the store's clock
// (WithSQLiteClock, WithPostgresClock): owners on several machines need clocks that agree to well
// within the time-to-live.
type Leases interface {
	// Acquire takes the meeting's lease for owner, until ttl from now, with the next epoch. It is
	// one write, whichever process makes it: of two owners acquiring at once, one fails. While
	// another owner holds an unexpired lease it fails with a *LeasedError (matching ErrLeased)
	// that names them. An owner may acquire its own lease again, which fences the one it held.
	Acquire(ctx context.Context, meeting, owner, ownerURL string, ttl time.Duration) (Lease, error)
	// Renew extends a held lease by the time-to-live it was acquired with. A lease that another
	// owner acquired since, or that was released, fails with ErrFenced: its owner must stop serving
	// the meeting. A lease that expired but that nobody acquired since is renewed.
	Renew(ctx context.Context, l Lease) (Lease, error)
	// Release gives the lease up, so that another owner acquires the meeting at once. A lease
	// already lost or released is left as it is.
	Release(ctx context.Context, l Lease) error
}

var (
	// ErrLeased reports a meeting whose lease another owner holds: a *LeasedError matches it.
	ErrLeased = errors.New("already served")
	// ErrFenced reports a lease that its owner lost: another owner acquired the meeting since (its
	// lease had expired), or it was released.
	ErrFenced = errors.New("lease lost")
)

// LeasedError reports that another owner holds a meeting's lease.
type LeasedError struct {
	Lease Lease // the lease held
}

func (e *LeasedError) Error() string {
	where := ""
	if e.Lease.OwnerURL != "" {
		where = " at " + e.Lease.OwnerURL
	}
	return fmt.Sprintf("ledger: meeting %q: %v by %s%s until %s", e.Lease.Meeting, ErrLeased, e.Lease.Owner, where,
		e.Lease.Until.Format(time.RFC3339))
}

// Is makes a *LeasedError match ErrLeased.
func (e *LeasedError) Is(target error) bool { return target == ErrLeased }

var (
	_ Leases = (*SQLiteStore)(nil)
	_ Leases = (*PostgresStore)(nil)
)

// Acquire implements Leases. The lease is taken by one upsert whose condition is the lease being
// free (released, expired, or the owner's own), so that the database decides between owners
// acquiring at once; its transaction then reads who holds a lease it could not take.
func (s *sqlStore) Acquire(ctx context.Context, meeting, owner, ownerURL string, ttl time.Duration) (Lease, error) {
	what := fmt.Sprintf("acquire lease on meeting %q", meeting)
	if meeting == "" || owner == "" || ttl < time.Millisecond || !storableArgs([]any{meeting, owner, ownerURL}) {
		return Lease{}, fmt.Errorf("ledger: %s: %w: want a meeting, an owner and a time-to-live of at least 1ms",
			what, ErrInvalidRecord)
	}
	var l Lease
	err := s.leaseTx(ctx, what, func(tx sqlConn) error {
		now := s.now().UnixMilli()
		l = Lease{Meeting: meeting, Owner: owner, OwnerURL: ownerURL, Until: time.UnixMilli(now + ttl.Milliseconds()).UTC()}
		err := tx.queryRow(ctx, `INSERT INTO leases (meeting_id, owner, owner_url, epoch, ttl_ms, expires_ms)
			VALUES (?, ?, ?, 1, ?, ?)
			ON CONFLICT (meeting_id) DO UPDATE SET owner = excluded.owner, owner_url = excluded.owner_url,
				epoch = leases.epoch + 1, ttl_ms = excluded.ttl_ms, expires_ms = excluded.expires_ms
			WHERE leases.owner = '' OR leases.owner = excluded.owner OR leases.expires_ms <= ?
			RETURNING epoch`, meeting, owner, ownerURL, ttl.Milliseconds(), l.Until.UnixMilli(), now).Scan(&l.Epoch)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		held, err := readLease(ctx, tx, meeting)
		if err != nil {
			return err
		}
		return &LeasedError{Lease: held}
	})
	if err != nil {
		return Lease{}, err
	}
	return l, nil
}

// Renew implements Leases.
func (s *sqlStore) Renew(ctx context.Context, l Lease) (Lease, error) {
	what := fmt.Sprintf("renew lease on meeting %q (epoch %d)", l.Meeting, l.Epoch)
	err := s.leaseTx(ctx, what, func(tx sqlConn) error {
		var until int64
		err := tx.queryRow(ctx, `UPDATE leases SET expires_ms = ? + ttl_ms
			WHERE meeting_id = ? AND owner = ? AND epoch = ? RETURNING expires_ms`,
			s.now().UnixMilli(), l.Meeting, l.Owner, l.Epoch).Scan(&until)
		if err == nil {
			l.Until = time.UnixMilli(until).UTC()
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		held, err := readLease(ctx, tx, l.Meeting)
		if err != nil || held.Owner == "" {
			return ErrFenced
		}
		return fmt.Errorf("%w: acquired by %s at epoch %d", ErrFenced, held.Owner, held.Epoch)
	})
	if err != nil {
		return Lease{}, err
	}
	return l, nil
}

// Release implements Leases. The row stays, so that the next acquisition counts the epoch on.
func (s *sqlStore) Release(ctx context.Context, l Lease) error {
	what := fmt.Sprintf("release lease on meeting %q (epoch %d)", l.Meeting, l.Epoch)
	return s.leaseTx(ctx, what, func(tx sqlConn) error {
		_, err := tx.exec(ctx, `UPDATE leases SET owner = '', owner_url = '', expires_ms = 0
			WHERE meeting_id = ? AND owner = ? AND epoch = ?`, l.Meeting, l.Owner, l.Epoch)
		return err
	})
}

// leaseTx runs fn in a write transaction (writeTx); fn's errors are returned saying what failed,
// but for a *LeasedError, which says all there is: its message names the meeting and who serves it.
func (s *sqlStore) leaseTx(ctx context.Context, what string, fn func(tx sqlConn) error) error {
	return s.writeTx(ctx, what, func(tx sqlConn) error {
		err := fn(tx)
		if _, leased := err.(*LeasedError); err == nil || leased {
			return err
		}
		return fmt.Errorf("ledger: %s: %w", what, err)
	})
}

// readLease reads the meeting's lease as stored.
func readLease(ctx context.Context, c sqlConn, meeting string) (Lease, error) {
	l := Lease{Meeting: meeting}
	var until int64
	if err := c.queryRow(ctx, `SELECT owner, owner_url, epoch, expires_ms FROM leases WHERE meeting_id = ?`,
		meeting).Scan(&l.Owner, &l.OwnerURL, &l.Epoch, &until); err != nil {
		return Lease{}, err
	}
	l.Until = time.UnixMilli(until).UTC()
	return l, nil
}
