package server

import (
	"log/slog"
	"sync"
	"time"
)

// maxWarnKeys bounds how many kinds, meetings and addresses are counted apart; beyond it, the
// refusals from every further address are counted together, so that a flood from many addresses
// does not grow the map without end.
const maxWarnKeys = 1024

// manyAddrs stands for the addresses counted together beyond maxWarnKeys.
const manyAddrs = "many addresses"

// warnings logs the refusals any client can cause (a wrong token, another site's page, too many
// connections) at most once per interval for each message, meeting and client address, and the
// number of those it held back in one line at the end of the interval: a client that keeps
// knocking is still seen, and fills no disk.
type warnings struct {
	log      *slog.Logger
	interval time.Duration

	mu     sync.Mutex
	closed bool
	counts map[warnKey]*warnCount
	wg     sync.WaitGroup // timers whose function is due or running
}

type warnKey struct{ msg, meeting, client string }

type warnCount struct {
	held  int // refusals not logged in this interval
	timer *time.Timer
}

func newWarnings(log *slog.Logger, interval time.Duration) *warnings {
	return &warnings{log: log, interval: interval, counts: make(map[warnKey]*warnCount)}
}

// warn logs msg for a meeting ("" for none) and a client's address (host and port), with attrs,
// unless it was logged for both within the interval; then it is only counted.
func (w *warnings) warn(msg, meeting, remote string, attrs ...any) {
	k := warnKey{msg: msg, meeting: meeting, client: clientKey(remote)}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.emit(k, 0, attrs)
		return
	}
	if _, ok := w.counts[k]; !ok && len(w.counts) >= maxWarnKeys {
		k.client = manyAddrs
	}
	if c := w.counts[k]; c != nil {
		c.held++
		return
	}
	w.emit(k, 0, attrs)
	c := &warnCount{}
	w.counts[k] = c
	w.arm(k, c)
}

// arm starts the interval of k. Called with w.mu held.
func (w *warnings) arm(k warnKey, c *warnCount) {
	w.wg.Add(1)
	c.timer = time.AfterFunc(w.interval, func() {
		defer w.wg.Done()
		w.tick(k)
	})
}

// tick ends an interval of k: it logs what was held back and starts another, or forgets k when
// nothing was.
func (w *warnings) tick(k warnKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.counts[k]
	if w.closed || c == nil {
		return
	}
	if c.held == 0 {
		delete(w.counts, k)
		return
	}
	w.emit(k, c.held, nil)
	c.held = 0
	w.arm(k, c)
}

// emit writes one line: the first refusal of an interval with its attrs, or the number held back
// since then.
func (w *warnings) emit(k warnKey, held int, attrs []any) {
	line := make([]any, 0, 6+len(attrs))
	if k.meeting != "" {
		line = append(line, "meeting", k.meeting)
	}
	line = append(line, "remote", k.client)
	if held > 0 {
		line = append(line, "repeated", held, "within", w.interval)
	}
	w.log.Warn(k.msg, append(line, attrs...)...)
}

// close logs what is still held back and stops the timers; later warnings are logged each.
func (w *warnings) close() {
	w.mu.Lock()
	w.closed = true
	for k, c := range w.counts {
		if c.timer.Stop() {
			w.wg.Done()
		}
		if c.held > 0 {
			w.emit(k, c.held, nil)
		}
		delete(w.counts, k)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
