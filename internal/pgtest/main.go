package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// EnvRequire, set to 1 (as CI does), turns the skip of tests that find no
// PostgreSQL into a failure, so that a missing install cannot pass quietly.
const EnvRequire = "LEDGERLINE_REQUIRE_POSTGRES"

// startTimeout bounds the shared cluster's start and its preparation
// (migrations into a template).
var startTimeout = 2 * time.Minute

// shared is the test binary's one cluster, started by the first test that
// asks for it, so that a run selecting none of those tests pays nothing.
var shared struct {
	mu      sync.Mutex
	inMain  bool
	prepare func(context.Context, *Cluster) error
	once    sync.Once
	c       *Cluster
	err     error
}

// Main is the body of a TestMain for tests sharing one cluster:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, prepare)) }
//
// It runs the tests and stops the cluster, if one was started, once they
// are done; it returns the exit code. prepare, when not nil, runs once
// right after the cluster starts, typically to make a template with
// Template.
func Main(m *testing.M, prepare func(ctx context.Context, c *Cluster) error) int {
	shared.mu.Lock()
	shared.inMain, shared.prepare = true, prepare
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	c := shared.c
	shared.mu.Unlock()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Shared returns the test binary's cluster, starting it on the first call.
// Where it cannot start, tb skips or fails as Require decides. It needs
// TestMain to run Main, which stops the cluster at the end.
func Shared(tb testing.TB) *Cluster {
	tb.Helper()
	shared.mu.Lock()
	inMain, prepare := shared.inMain, shared.prepare
	shared.mu.Unlock()
	if !inMain {
		tb.Fatal("pgtest: Shared needs TestMain to run pgtest.Main, which stops the cluster")
	}
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		c, err := Start(ctx)
		if err == nil && prepare != nil {
			err = prepare(ctx, c)
		}
		shared.mu.Lock()
		shared.c, shared.err = c, err
		shared.mu.Unlock()
	})
	shared.mu.Lock()
	c, err := shared.c, shared.err
	shared.mu.Unlock()
	Require(tb, err)
	return c
}

// Require returns when err is nil. Otherwise it skips tb when err says that
// PostgreSQL is not available here (ErrUnavailable), unless EnvRequire asks
// for a failure; any other error fails tb. Call it with Start's error.
func Require(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if !errors.Is(err, ErrUnavailable) {
		tb.Fatal(err)
	} else if Required() {
		tb.Fatalf("%v (%s is set: PostgreSQL must be installed)", err, EnvRequire)
	} else {
		tb.Skipf("%v (set %s=1 to fail instead)", err, EnvRequire)
	}
}

// Required says whether EnvRequire demands PostgreSQL.
func Required() bool {
	v, _ := strconv.ParseBool(os.Getenv(EnvRequire))
	return v
}
