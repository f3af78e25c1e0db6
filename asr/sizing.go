package asr

import (
	"errors"
	"fmt"
)

// Sizing is how a machine's cores are shared between decodes: Workers decodes
// run at once (each holding a decoder state), each on Threads threads. Their
// product must not exceed the cores, or the decodes slow each other down and
// every live stream falls behind together.
type Sizing struct {
	Workers int
	Threads int
}

// ErrSizing reports workers and threads that the machine cannot run at once.
var ErrSizing = errors.New("asr: decode workers × threads exceed the CPU cores")

// SizeFor fills in whichever of workers and threads is 0 for a machine with
// cores CPUs and checks the two together. By default a decode gets up to
// four threads (whisper.cpp gains little past that on one window) and the
// remaining cores go to more decodes at once, so several live channels
// decode side by side.
func SizeFor(cores, workers, threads int) (Sizing, error) {
	if cores < 1 {
		cores = 1
	}
	if workers < 0 || threads < 0 {
		return Sizing{}, fmt.Errorf("asr: decode workers (%d) and threads (%d) must not be negative", workers, threads)
	}
	switch {
	case workers == 0 && threads == 0:
		threads = min(max(cores/2, 1), 4)
		workers = max(cores/threads, 1)
	case workers == 0:
		workers = max(cores/threads, 1)
	case threads == 0:
		threads = max(cores/workers, 1)
	}
	if workers*threads > cores {
		return Sizing{}, fmt.Errorf("%w: %d workers × %d threads = %d busy threads on %d cores; lower --workers or --threads",
			ErrSizing, workers, threads, workers*threads, cores)
	}
	return Sizing{Workers: workers, Threads: threads}, nil
}
