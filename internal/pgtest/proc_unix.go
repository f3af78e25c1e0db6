//go:build unix

package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"syscall"
)

// account is the user initdb and the server run as; nil means this
// process's own user.
type account struct {
	name string
	cred *syscall.Credential
}

// serverUsers are the users a root process may hand the server to, in order.
var serverUsers = []string{"postgres", "nobody"}

// serverUser picks who runs the server. initdb refuses to run as root, so a
// root process hands the cluster to the postgres user that Debian's package
// creates, or else to nobody.
func serverUser() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range serverUsers {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			continue
		}
		gid, err := strconv.ParseUint(u.Gid, 10, 32)
		if err != nil {
			continue
		}
		return &account{name: name, cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}, nil
	}
	return nil, fmt.Errorf("%w: running as root, which initdb refuses, and there is no postgres or nobody user to run it as", ErrUnavailable)
}

func (a *account) String() string {
	if a == nil {
		return "this process's user"
	}
	return "user " + a.name
}

func (a *account) credential() *syscall.Credential {
	if a == nil {
		return nil
	}
	return a.cred
}

// chown gives dir to the account, which must write its data there.
func (a *account) chown(dir string) error {
	if a == nil {
		return nil
	}
	return os.Chown(dir, int(a.cred.Uid), int(a.cred.Gid))
}

// proc is a child process and the goroutine that waits for it.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // Wait's result; read it only after done is closed
}

// spawn starts cmd in a process group of its own, as owner. The parent-death
// signal (Linux) goes out when the OS thread that forked the child ends, not
// when this process does; so the fork happens on a goroutine locked to its
// thread, and that goroutine stays there, waiting for the child, for as long
// as the child lives. It is also the one goroutine the child costs: it ends
// when the child does.
func spawn(cmd *exec.Cmd, owner *account) (*proc, error) {
	cmd.SysProcAttr = sysProcAttr(owner.credential())
	p := &proc{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		defer close(p.done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
	}()
	if err := <-started; err != nil {
		<-p.done
		return nil, err
	}
	return p, nil
}

// run spawns cmd and waits for it to end; when ctx ends first, it kills the
// process group and returns ctx's error.
func run(ctx context.Context, cmd *exec.Cmd, owner *account) error {
	p, err := spawn(cmd, owner)
	if err != nil {
		return err
	}
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		p.killGroup()
		<-p.done
		return ctx.Err()
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// killGroup kills the process and its children (the server's backends),
// which share its process group.
func (p *proc) killGroup() {
	if p.exited() {
		return // its id may already name another process
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// alive says whether a process with this id runs. EPERM means it does,
// under another user. A zombie, dead but not yet reaped by whoever adopted
// it, does not count; Linux shows it as state Z in /proc.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc here: trust kill
	}
	// "pid (command) state ...", where the command may hold spaces and ')'.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

var sigInterrupt os.Signal = syscall.SIGINT

// freeBytes is the space left to unprivileged users on dir's file system;
// false when dir cannot be used.
func freeBytes(dir string) (uint64, bool) {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil || syscall.Access(dir, 2 /* W_OK */) != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
