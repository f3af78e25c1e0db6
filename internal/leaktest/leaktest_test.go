package leaktest

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
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

// parked waits for stop; a goroutine only the option below ignores.
func parked(stop <-chan struct{}) { <-stop }

func TestCheckIgnoresOnlyWhatItIsTold(t *testing.T) {
	defer func(d time.Duration) { settle = d }(settle)
	settle = 200 * time.Millisecond
	stop := make(chan struct{})
	defer close(stop)

	ignored := &recorder{TB: t}
	Check(ignored, goleak.IgnoreTopFunction("github.com/ledgerline/ledgerline/internal/leaktest.parked"))
	go parked(stop)
	ignored.cleanups[0]()
	if len(ignored.errs) != 0 {
		t.Errorf("an ignored goroutine was reported: %v", ignored.errs)
	}

	other := &recorder{TB: t}
	Check(other, goleak.IgnoreTopFunction("github.com/ledgerline/ledgerline/internal/leaktest.parked"))
	go func() { <-stop }()
	other.cleanups[0]()
	if len(other.errs) != 1 {
		t.Errorf("a goroutine the option does not name was not reported: %v", other.errs)
	}
}
