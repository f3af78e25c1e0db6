package bot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// ErrNoCapacity: this machine already runs as many bots as it may.
var ErrNoCapacity = errors.New("no capacity")

// Capacity caps the bots one machine runs at once, all processes together: each bot holds one of
// Max slots, a file in Dir locked while it runs. The kernel lets go of a slot when its process
// ends, however it ends, so a crashed bot never keeps one.
type Capacity struct {
	// Max is how many bots may run at once [DefaultMaxBots].
	Max int
	// Dir holds the slots [$LEDGERLINE_BOT_DIR, else ledgerline-bots in the user's runtime or
	// temporary directory].
	Dir string
}

// DefaultMaxBots is how many bots a machine runs at once unless told otherwise: one per core,
// as a browser in a call takes about half a core and transcription the rest.
func DefaultMaxBots() int { return max(1, runtime.NumCPU()) }

// Slot is a running bot's place on the machine.
type Slot struct {
	f *os.File
	n int
}

// Acquire takes a free slot, or returns an error wrapping ErrNoCapacity.
func (c Capacity) Acquire() (*Slot, error) {
	if c.Max <= 0 {
		c.Max = DefaultMaxBots()
	}
	dir := c.Dir
	if dir == "" {
		dir = os.Getenv("LEDGERLINE_BOT_DIR")
	}
	if dir == "" {
		base := os.Getenv("XDG_RUNTIME_DIR")
		if base == "" {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "ledgerline-bots-"+strconv.Itoa(os.Getuid()))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bot slots: %w", err)
	}
	for n := range c.Max {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("slot-%d.lock", n)), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, fmt.Errorf("bot slots: %w", err)
		}
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("bot slots: %w", err)
		}
		if ok {
			return &Slot{f: f, n: n}, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("%w: this machine runs %d bots already, as many as it may (raise it with --max-bots, or wait for one to leave)", ErrNoCapacity, c.Max)
}

// Release lets go of the slot.
func (s *Slot) Release() {
	if s == nil || s.f == nil {
		return
	}
	unlock(s.f)
	s.f.Close()
	s.f = nil
}
