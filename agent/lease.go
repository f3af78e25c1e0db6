package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/ledgerline/ledgerline/ledger"
)

// The meeting's lease lasts leaseTTL from its last renewal, and is renewed every leaseRenewal:
// two renewals may fail (the database busy or unreachable for a while) before another process can
// take the meeting over, and a process that was killed holds it up for no longer than leaseTTL.
const (
	leaseTTL     = 30 * time.Second
	leaseRenewal = 10 * time.Second
)

// acquire takes the meeting's lease and starts renewing it. Another process serving the meeting
// is named, with what to do about it.
func (m *Meeting) acquire(ctx context.Context) error {
	l, err := m.cfg.Store.Acquire(ctx, m.id, newOwnerID(), m.base, leaseTTL)
	var le *ledger.LeasedError
	if errors.As(err, &le) {
		held := le.Lease
		where := ""
		if held.OwnerURL != "" {
			where = " at " + held.OwnerURL
		}
		return &leasedError{held: le, msg: fmt.Sprintf("agent: meeting %s: %v by %s%s: stop it there, or, if it is no "+
			"longer running, wait until its lease expires at %s and start again", m.id, ledger.ErrLeased, held.Owner, where,
			held.Until.Local().Format("2006-01-02 15:04:05 MST"))}
	}
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	m.mu.Lock()
	m.lease = l
	m.mu.Unlock()
	m.wg.Add(1)
	go m.keepLease()
	return nil
}

// leasedError says what to do about a meeting another process serves; it wraps the store's
// *ledger.LeasedError, which names where (a Host redirects publishers there) and matches ErrLeased.
type leasedError struct {
	held *ledger.LeasedError
	msg  string
}

func (e *leasedError) Error() string { return e.msg }
func (e *leasedError) Unwrap() error { return e.held }

// keepLease renews the lease until Close begins or the lease is lost.
func (m *Meeting) keepLease() {
	defer m.wg.Done()
	tick := time.NewTicker(leaseRenewal)
	defer tick.Stop()
	for m.owned.Err() == nil {
		select {
		case <-m.owned.Done():
		case <-tick.C:
			m.renew()
		}
	}
}

// renew renews the lease once. A renewal that fails is tried again at the next one, as the lease
// outlasts two; a lease lost to another process stops the pipeline.
func (m *Meeting) renew() {
	m.mu.Lock()
	l := m.lease
	m.mu.Unlock()
	renewed, err := m.cfg.Store.Renew(m.owned, l)
	switch {
	case err == nil:
		m.mu.Lock()
		m.lease = renewed
		m.mu.Unlock()
	case errors.Is(err, ledger.ErrFenced):
		m.loseLease(err)
	case m.owned.Err() == nil:
		m.log.Warn("the meeting's lease was not renewed; trying again", "until", l.Until, "err", err)
	}
}

// loseLease records why the lease was lost and stops the pipeline: another process serves the
// meeting now, and what this one still recorded would reach none of that one's viewers.
func (m *Meeting) loseLease(err error) {
	lost := fmt.Errorf("agent: meeting %s: stopped, as another process took it over: %w", m.id, err)
	m.mu.Lock()
	m.lost, m.taking = lost, false
	m.mu.Unlock()
	m.log.Error("stopped serving the meeting", "err", lost)
	m.disown()
}

// leaseLost returns why the lease was lost, nil while it is held.
func (m *Meeting) leaseLost() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lost
}

// release gives the lease up, once nothing of the meeting runs: another process may serve it at
// once rather than after the lease expires.
func (m *Meeting) release() error {
	m.mu.Lock()
	l, lost := m.lease, m.lost
	m.mu.Unlock()
	if l.Epoch == 0 || lost != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.cfg.Store.Release(ctx, l); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	return nil
}

// newOwnerID names this Meeting as the holder of its lease, for the person another process turns
// away: the machine and process, and a random part that tells apart two Meetings of one process.
func newOwnerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown host"
	}
	return fmt.Sprintf("ledgerline on %s (pid %d, %s)", host, os.Getpid(), uuid.NewString()[:8])
}

// ownedLog is the store as the pipeline writes to it: once the lease is lost, what the stopping
// pipeline would still record is refused, since the meeting's record is another process's now.
type ownedLog struct{ m *Meeting }

var _ EventLog = ownedLog{}

func (o ownedLog) Append(ctx context.Context, e ledger.Event) (ledger.Event, error) {
	if lost := o.m.leaseLost(); lost != nil {
		return ledger.Event{}, lost
	}
	return o.m.cfg.Store.Append(ctx, e)
}

func (o ownedLog) Publish(e ledger.Event) error {
	if lost := o.m.leaseLost(); lost != nil {
		return lost
	}
	return o.m.cfg.Store.Publish(e)
}
