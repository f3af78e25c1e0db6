package pgtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// childEnv makes the test binary a child that starts a cluster, says where,
// and waits to be killed.
const childEnv = "PGTEST_KILL_CHILD"

func child() int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Start(ctx)
	if err != nil {
		fmt.Println("pgtest-child error", err)
		return 1
	}
	fmt.Println("pgtest-child", c.srv.cmd.Process.Pid, c.Dir())
	// Bounded, should the parent fail to kill it.
	time.Sleep(time.Minute)
	c.Stop()
	return 1
}

// A test binary killed with SIGKILL runs no cleanup; the server must die
// with it all the same, and the next run's sweep must remove its directory.
func TestKilledTestBinaryTakesTheServerDown(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux's")
	}
	Shared(t) // skips where PostgreSQL is unavailable

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() { // ends when the child's stdout closes, at its death
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "pgtest-child") {
				lines <- sc.Text()
			}
		}
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(90 * time.Second):
	}
	cmd.Process.Kill()
	cmd.Wait()
	for range lines {
	}
	f := strings.Fields(line)
	if len(f) != 3 {
		t.Fatalf("child said %q", line)
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	dir := f[2]
	t.Cleanup(func() {
		if p, err := os.FindProcess(pid); err == nil && alive(pid) {
			p.Kill()
		}
		os.RemoveAll(dir)
	})

	start := time.Now()
	for alive(pid) || groupAlive(pid) {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("postgres %d (or a backend of it) still runs %v after its test binary was killed", pid, time.Since(start))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("server gone %v after the kill", time.Since(start).Round(time.Millisecond))

	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the killed run's directory: %v", err)
	}
	sweep(filepath.Dir(dir))
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("sweep left %s (%v)", dir, err)
	}
}

// groupAlive says whether a live process (not a zombie awaiting its reaper)
// remains in the process group pgid: a backend that outlived the server.
func groupAlive(pgid int) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		// After the command: state, parent, process group.
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}
