//go:build unix

package stream

import (
	"os"

	"golang.org/x/sys/unix"
)

// withStderrMuted runs fn with file descriptor 2 pointed at /dev/null. The
// audio libraries under PortAudio (ALSA, JACK) print pages of probing chatter
// there on every start, burying the program's own messages; their failures
// still reach the caller as PortAudio errors.
func withStderrMuted(fn func() error) error {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return fn()
	}
	defer null.Close()
	saved, err := unix.Dup(2)
	if err != nil {
		return fn()
	}
	defer unix.Close(saved)
	if err := unix.Dup2(int(null.Fd()), 2); err != nil {
		return fn()
	}
	defer unix.Dup2(saved, 2)
	return fn()
}
