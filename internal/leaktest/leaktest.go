// Package leaktest checks, with goleak, that a test leaves no goroutine of
// its own running. Not for parallel tests: it would take another test's
// goroutines for this one's leak.
package leaktest

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// settle is how long goroutines that are ending get to end: long enough
// that a busy machine does not make a leak of a slow exit.
var settle = 10 * time.Second

// Check fails tb when a goroutine started after the call is still running
// once tb and the cleanups registered after Check are done. Call it first,
// so that its cleanup runs after the others (cleanups run last in, first
// out).
//
// opts add to what the check ignores, for goroutines outside the code under
// test that may outlive a test legitimately (a browser's, a library's that
// end on their own time). Keep them narrow: goleak.IgnoreTopFunction or
// goleak.IgnoreAnyFunction naming the one function, with a comment saying
// why it may linger.
func Check(tb testing.TB, opts ...goleak.Option) {
	tb.Helper()
	opts = append([]goleak.Option{goleak.IgnoreCurrent()}, opts...)
	tb.Cleanup(func() {
		deadline := time.Now().Add(settle)
		for {
			err := goleak.Find(opts...)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				tb.Errorf("goroutines left running: %v", err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
