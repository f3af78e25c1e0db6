package leaktest

import (
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps the errors reported to it.
type recorder struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recorder) Helper()                   {}
func (r *recorder) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(f string, a ...any) { r.errs = append(r.errs, f) }

func TestCheckFindsALeakAndPassesWithout(t *testing.T) {
	clean := &recorder{TB: t}
	Check(clean)
	done := make(chan struct{})
	go func() { <-done }()
	close(done)
	clean.cleanups[0]()
	if len(clean.errs) != 0 {
		t.Errorf("a goroutine that ended was reported: %v", clean.errs)
	}

	leaky := &recorder{TB: t}
	Check(leaky)
	stop := make(chan struct{})
	go func() { <-stop }()
	defer close(stop)
	defer func(d time.Duration) { settle = d }(settle)
	settle = 200 * time.Millisecond
	leaky.cleanups[0]()
	if len(leaky.errs) != 1 || !strings.Contains(leaky.errs[0], "goroutines left running") {
		t.Errorf("a leaked goroutine was not reported: %v", leaky.errs)
	}
}
