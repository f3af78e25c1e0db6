package pgtest

import "syscall"

// sysProcAttr puts the child in its own process group, so that a Ctrl-C at
// the terminal reaches only the test binary, which then stops the server
// itself, and asks the kernel to send the child SIGQUIT (PostgreSQL's
// immediate shutdown) when its parent dies, even by SIGKILL. Go sets the
// parent-death signal after changing user, which would otherwise clear it.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
}
