//go:build !linux

package bot

import "os/exec"

// limitCmd leaves the browser as it is: the limits are Linux's.
func limitCmd(*exec.Cmd, int) {}

// Usage is what a bot's browser uses: all its processes together.
type Usage struct {
	CPU       float64 // seconds of CPU time so far
	MemoryMiB float64 // memory now: each process's proportional share of what it has resident (PSS)
	Processes int
}

// usageOf is not measured outside Linux.
func usageOf(int) Usage { return Usage{} }
