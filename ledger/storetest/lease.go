package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// leases: a meeting's lease is held by one owner at a time, across two stores on one database;
// another is refused, naming the holder, until it expires or is released; renewing extends it;
// an owner whose lease was taken over or released is fenced, and each acquisition counts the
// epoch on.
func leases(t *testing.T, open StoreOpener) {
	start := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	var offset atomic.Int64 // nanoseconds since start
	clock := func() time.Time { return start.Add(time.Duration(offset.Load())) }
	advance := func(d time.Duration) { offset.Add(int64(d)) }
	opener := open(t)
	a, b := opener(clock), opener(clock) // two processes on one database
	ctx := context.Background()
	const ttl = 30 * time.Second

	la, err := a.Acquire(ctx, "m", "A", "http://a.example:7000", ttl)
	want := ledger.Lease{Meeting: "m", Owner: "A", OwnerURL: "http://a.example:7000", Epoch: 1, Until: start.Add(ttl)}
	if err != nil || la != want {
		t.Fatalf("Acquire = %+v, %v; want %+v", la, err, want)
	}
	refused := func(s Store, owner string, held ledger.Lease) {
		t.Helper()
		_, err := s.Acquire(ctx, "m", owner, "http://"+owner, ttl)
		var le *ledger.LeasedError
		if !errors.Is(err, ledger.ErrLeased) || !errors.As(err, &le) || le.Lease != held || !wrappedOnce(err) {
			t.Fatalf("Acquire by %s while %s holds the lease = %v, want a *ledger.LeasedError with %+v", owner, held.Owner, err, held)
		}
	}
	refused(b, "B", la)
	if l, err := b.Acquire(ctx, "n", "B", "", ttl); err != nil || l.Epoch != 1 {
		t.Errorf("Acquire of another meeting = %+v, %v", l, err)
	}

	advance(20 * time.Second)
	la, err = a.Renew(ctx, la)
	if want.Until = start.Add(20*time.Second + ttl); err != nil || la != want {
		t.Fatalf("Renew = %+v, %v; want %+v", la, err, want)
	}
	advance(ttl - time.Millisecond)
	refused(b, "B", la)

	advance(time.Millisecond) // expired
	lb, err := b.Acquire(ctx, "m", "B", "http://b", ttl)
	if err != nil || lb.Epoch != 2 || lb.Owner != "B" {
		t.Fatalf("Acquire after expiry = %+v, %v; want epoch 2", lb, err)
	}
	if l, err := a.Renew(ctx, la); !errors.Is(err, ledger.ErrFenced) || !wrappedOnce(err) {
		t.Fatalf("Renew of a lease taken over = %+v, %v; want ledger.ErrFenced", l, err)
	}
	if err := a.Release(ctx, la); err != nil {
		t.Fatalf("Release of a lease taken over = %v", err)
	}
	refused(a, "A", lb) // releasing a lost lease let go of nothing

	if err := b.Release(ctx, lb); err != nil {
		t.Fatal(err)
	}
	if l, err := b.Renew(ctx, lb); !errors.Is(err, ledger.ErrFenced) {
		t.Fatalf("Renew after Release = %+v, %v; want ledger.ErrFenced", l, err)
	}
	la, err = a.Acquire(ctx, "m", "A", "http://a", ttl)
	if err != nil || la.Epoch != 3 {
		t.Fatalf("Acquire after Release = %+v, %v; want epoch 3", la, err)
	}
	again, err := a.Acquire(ctx, "m", "A", "http://a", ttl)
	if err != nil || again.Epoch != 4 {
		t.Fatalf("Acquire by the owner again = %+v, %v; want epoch 4", again, err)
	}
	if _, err := a.Renew(ctx, la); !errors.Is(err, ledger.ErrFenced) {
		t.Errorf("Renew of the lease the owner acquired again = %v; want ledger.ErrFenced", err)
	}

	for _, tc := range []struct {
		meeting, owner string
		ttl            time.Duration
	}{{"", "A", ttl}, {"m", "", ttl}, {"m", "A", 0}, {"m", "A\x00", ttl}} {
		if _, err := a.Acquire(ctx, tc.meeting, tc.owner, "", tc.ttl); !errors.Is(err, ledger.ErrInvalidRecord) {
			t.Errorf("Acquire(%q, %q, %v) = %v, want ledger.ErrInvalidRecord", tc.meeting, tc.owner, tc.ttl, err)
		}
	}
}

// leasesAcquiredAtOnce: of owners acquiring one meeting at once through two stores, one gets it.
func leasesAcquiredAtOnce(t *testing.T, open StoreOpener) {
	opener := open(t)
	stores := []Store{opener(time.Now), opener(time.Now)}
	const owners = 8
	var (
		wg  sync.WaitGroup
		won atomic.Int32
	)
	errs := make(chan error, owners)
	for i := range owners {
		wg.Go(func() {
			_, err := stores[i%2].Acquire(context.Background(), "m", fmt.Sprint("owner-", i), "", time.Minute)
			switch {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, ledger.ErrLeased):
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := won.Load(); n != 1 {
		t.Errorf("%d owners acquired the lease, want 1", n)
	}
}
