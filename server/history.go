package server

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"
)

// errHubStopped reports a history asked for after the hub stopped; its viewers are being closed.
var errHubStopped = errors.New("server: meeting no longer served")

// histories shares reads of a meeting's stored history among the viewers who join it together.
// Each viewer asking with the same since waits for one read instead of making its own: a crowd
// opening a long meeting at once would otherwise queue for the store's few read connections, each
// decoding the whole log, until reads ran out of time.
//
// A viewer may only share a read that starts after it joined the hub: an event stored between an
// earlier read and its joining would be in neither that read nor its send queue. So for each since
// there is at most one read running and one waiting to start, which every viewer that asks while
// the first runs shares. Reads are forgotten once done; their events stay in memory only while
// viewers are still writing them.
type histories struct {
	read    func(ctx context.Context, since int64) ([]outMsg, error)
	timeout time.Duration // bounds one read, however many viewers share it

	mu      sync.Mutex // guards the fields below
	running map[int64]*history
	next    map[int64]*history // starts when the running read of its since ends
	stopped bool
	reads   sync.WaitGroup
}

// history is one read of the events after since, shared by the viewers waiting for it.
type history struct {
	since int64
	done  chan struct{} // closed when msgs and err are set
	msgs  []outMsg      // read-only once done: every waiting viewer writes from it
	err   error
}

func newHistories(read func(ctx context.Context, since int64) ([]outMsg, error), timeout time.Duration) *histories {
	return &histories{read: read, timeout: timeout, running: make(map[int64]*history), next: make(map[int64]*history)}
}

// get returns the read a viewer that has joined the hub waits for: one starting now, or the next
// one for since when a read of it is already running.
func (hs *histories) get(since int64) *history {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.stopped {
		f := &history{since: since, done: make(chan struct{}), err: errHubStopped}
		close(f.done)
		return f
	}
	if hs.running[since] == nil {
		return hs.start(since)
	}
	f := hs.next[since]
	if f == nil {
		f = &history{since: since, done: make(chan struct{})}
		hs.next[since] = f
	}
	return f
}

// start runs a read of since in the background; hs.mu is held.
func (hs *histories) start(since int64) *history {
	f := hs.next[since]
	delete(hs.next, since)
	if f == nil {
		f = &history{since: since, done: make(chan struct{})}
	}
	hs.running[since] = f
	hs.reads.Add(1)
	go hs.run(f)
	return f
}

func (hs *histories) run(f *history) {
	defer hs.reads.Done()
	ctx, cancel := context.WithTimeout(context.Background(), hs.timeout)
	f.msgs, f.err = hs.read(ctx, f.since)
	cancel()
	hs.mu.Lock()
	defer hs.mu.Unlock()
	close(f.done)
	delete(hs.running, f.since)
	if hs.next[f.since] != nil && !hs.stopped {
		hs.start(f.since)
	}
}

// stop waits for the reads running and starts no more: those waiting fail with errHubStopped.
func (hs *histories) stop() {
	hs.mu.Lock()
	hs.stopped = true
	for since, f := range hs.next {
		f.err = errHubStopped
		close(f.done)
		delete(hs.next, since)
	}
	hs.mu.Unlock()
	hs.reads.Wait()
}

// readHistory reads the stored events after since and encodes each once for all the viewers
// sharing the read.
func (h *hub) readHistory(ctx context.Context, since int64) ([]outMsg, error) {
	events, err := h.events.Since(ctx, h.meeting, since)
	if err != nil {
		h.log.Error("cannot read the meeting's log for new viewers", "since", since, "err", err)
		return nil, err
	}
	msgs := make([]outMsg, 0, len(events))
	for _, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			h.log.Error("cannot encode event", "seq", e.Seq, "type", string(e.Type), "err", err)
			continue
		}
		msgs = append(msgs, outMsg{seq: e.Seq, stored: true, data: data})
	}
	return msgs, nil
}
