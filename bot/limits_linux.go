package bot

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// limitCmd runs the browser at a lower CPU priority (through nice, so that every process it
// starts inherits it) and makes the kernel kill it if the thread that started it ends, as the
// process would otherwise outlive a bot killed hard.
func limitCmd(cmd *exec.Cmd, nice int) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if nice <= 0 {
		return
	}
	if path, err := exec.LookPath("nice"); err == nil {
		cmd.Args = append([]string{"nice", "-n", strconv.Itoa(nice), cmd.Path}, cmd.Args[1:]...)
		cmd.Path = path
	}
}

// Usage is what a bot's browser uses: all its processes together.
type Usage struct {
	CPU       float64 // seconds of CPU time so far
	MemoryMiB float64 // memory now: each process's proportional share of what it has resident (PSS)
	Processes int
}

// usageOf reads the usage of process pid and its descendants from /proc.
func usageOf(pid int) Usage {
	var u Usage
	if pid <= 0 {
		return u
	}
	tick := 100.0 // USER_HZ, 100 on every Linux this runs on
	page := float64(os.Getpagesize())
	seen := map[int]bool{}
	var walk func(int)
	walk = func(p int) {
		if seen[p] {
			return
		}
		seen[p] = true
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "stat"))
		if err != nil {
			return
		}
		// Fields after the command name, which is in parentheses and may hold spaces.
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 22 {
			return
		}
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		rss, _ := strconv.ParseFloat(f[21], 64)
		u.CPU += (utime + stime) / tick
		if pss, ok := proportional(p); ok {
			u.MemoryMiB += pss
		} else {
			u.MemoryMiB += rss * page / (1 << 20)
		}
		u.Processes++
		tasks, _ := os.ReadDir(filepath.Join("/proc", strconv.Itoa(p), "task"))
		for _, t := range tasks {
			children, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "task", t.Name(), "children"))
			if err != nil {
				continue
			}
			for _, c := range strings.Fields(string(children)) {
				if n, err := strconv.Atoi(c); err == nil {
					walk(n)
				}
			}
		}
	}
	walk(pid)
	return u
}

// proportional reads a process's proportional set size, in MiB: its resident memory with what it
// shares with others (Chromium's processes share much) counted in part.
func proportional(pid int) (float64, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Pss:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			kb, err := strconv.ParseFloat(f[0], 64)
			return kb / 1024, err == nil
		}
	}
	return 0, false
}
