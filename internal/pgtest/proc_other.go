//go:build !unix

package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
)

// The helper runs the server only on Unix systems; elsewhere Start reports
// PostgreSQL as unavailable, so that tests skip.

type account struct{ name string }

func serverUser() (*account, error) {
	return nil, fmt.Errorf("%w: pgtest runs the server on Unix systems only, not %s", ErrUnavailable, runtime.GOOS)
}

func (a *account) chown(string) error { return nil }
func (a *account) String() string     { return "this process's user" }

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func spawn(*exec.Cmd, *account) (*proc, error)       { return nil, errUnsupported }
func run(context.Context, *exec.Cmd, *account) error { return errUnsupported }
func (p *proc) exited() bool                         { return true }
func (p *proc) signal(os.Signal) error               { return errUnsupported }
func (p *proc) killGroup()                           {}
func freeBytes(string) (uint64, bool)                { return 0, false }
func alive(int) bool                                 { return true }

var errUnsupported = fmt.Errorf("%w: not a Unix system", ErrUnavailable)

var sigInterrupt = os.Interrupt
