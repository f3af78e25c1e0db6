// Package clock waits on the wall clock in a way that a context cuts short,
// for the few places that pace work in real time (replays, publishers,
// retries). It holds no state; safe for concurrent use.
package clock

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx is done, whichever comes first, and then
// returns ctx's error (nil when the wait ran its course). A d of zero or less
// returns at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SleepUntil waits until t, as Sleep does.
func SleepUntil(ctx context.Context, t time.Time) error { return Sleep(ctx, time.Until(t)) }
