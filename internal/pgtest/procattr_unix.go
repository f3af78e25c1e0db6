//go:build unix && !linux

package pgtest

import "syscall"

// sysProcAttr puts the child in its own process group. Without Linux's
// parent-death signal, a server whose test binary is killed outlives it
// until the next run's sweep finds its directory.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}
