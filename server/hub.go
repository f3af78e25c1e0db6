package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/ledger"
)

// Close codes and reasons the server sends viewers.
const (
	closeTooSlow     = websocket.ClosePolicyViolation // the viewer's send queue was full
	reasonTooSlow    = "too slow"
	reasonStopping   = "server stopping"
	reasonDisconnect = "server restarting"
	reasonBehind     = "server fell behind"
	reasonNoLog      = "cannot read the meeting's log"
)

// outMsg is one event encoded once for all viewers of a meeting.
type outMsg struct {
	seq    int64
	stored bool
	data   []byte
	// supersedes names what a later event of the same name makes stale, for a viewer that has
	// fallen behind: a segment's partial (by a newer partial or its final), a channel's level. ""
	// for events every viewer must get.
	supersedes string
}

// supersedeKey names what e replaces (see outMsg.supersedes).
func supersedeKey(e ledger.Event) string {
	switch {
	case (e.Type == ledger.TypeSegmentPartial || e.Type == ledger.TypeSegmentFinal) && e.Segment != nil:
		return "segment/" + e.Segment.ID
	case e.Type == ledger.TypeCaptureLevel && e.Capture != nil:
		return "level/" + e.Capture.Channel
	}
	return ""
}

// coalesce drops from a viewer's backlog what a later message of it makes stale: published-only
// messages (partials, levels) followed by a newer one of the same name. Stored events all stay,
// in order. The viewer then catches up with fewer writes and sees the same end state.
func coalesce(batch []outMsg) []outMsg {
	if len(batch) < 2 {
		return batch
	}
	latest := make(map[string]int, len(batch))
	for i, m := range batch {
		if m.supersedes != "" {
			latest[m.supersedes] = i
		}
	}
	kept := batch[:0]
	for i, m := range batch {
		if !m.stored && m.supersedes != "" && latest[m.supersedes] != i {
			continue
		}
		kept = append(kept, m)
	}
	return kept
}

// hub owns one meeting's subscription to the log and the set of its viewers. Only run touches
// clients; everything else talks to it through channels, as in gorilla's chat example, and stop ends it.
type hub struct {
	meeting string
	events  EventLog
	buffer  int
	log     *slog.Logger

	register   chan *client
	unregister chan *client
	disconnect chan chan int
	counts     chan chan int
	snapshots  chan chan []*client // Drain asks for the viewers connected now
	quit       chan struct{}
	done       chan struct{}
	stopOnce   sync.Once

	clients map[*client]struct{} // owned by run
	seen    atomic.Int64         // seq of the last stored event broadcast; written by run
	history *histories           // the stored events new viewers are sent first
}

// newHub returns a hub whose reads of the stored history may each take up to readTimeout.
func newHub(meeting string, events EventLog, buffer int, readTimeout time.Duration, log *slog.Logger) *hub {
	h := &hub{
		meeting:    meeting,
		events:     events,
		buffer:     buffer,
		log:        log,
		register:   make(chan *client),
		unregister: make(chan *client),
		disconnect: make(chan chan int),
		counts:     make(chan chan int),
		snapshots:  make(chan chan []*client),
		quit:       make(chan struct{}),
		done:       make(chan struct{}),
		clients:    make(map[*client]struct{}),
	}
	h.history = newHistories(h.readHistory, readTimeout)
	return h
}

// run fans the meeting's events out until stop. It subscribes before it accepts any viewer, so a viewer
// registered here and then reading the log's history misses nothing.
func (h *hub) run() {
	defer close(h.done)
	sub := h.events.Subscribe(h.meeting, h.buffer)
	events := sub.C()
	defer func() {
		sub.Close()
		h.kickAll(websocket.CloseGoingAway, reasonStopping)
	}()
	for {
		select {
		case c := <-h.register:
			h.clients[c] = struct{}{}
		case c := <-h.unregister:
			delete(h.clients, c)
		case reply := <-h.disconnect:
			reply <- h.kickAll(websocket.CloseServiceRestart, reasonDisconnect)
		case reply := <-h.counts:
			reply <- len(h.clients)
		case reply := <-h.snapshots:
			reply <- slices.Collect(maps.Keys(h.clients))
		case e, ok := <-events:
			if !ok {
				sub, events = h.resubscribe(sub)
				continue
			}
			h.broadcast(e)
		case <-h.quit:
			return
		}
	}
}

// resubscribe handles the end of the hub's own subscription. Viewers may have missed events, so all are
// disconnected to resume from their last seq. A lagged subscription is renewed; after any other end
// (the log closed) the hub waits for stop with no events to follow.
func (h *hub) resubscribe(old *ledger.Subscription) (*ledger.Subscription, <-chan ledger.Event) {
	err := old.Err()
	n := h.kickAll(websocket.CloseTryAgainLater, reasonBehind)
	if errors.Is(err, ledger.ErrLagged) {
		h.log.Warn("fell behind the event log; viewers will resume", "viewers", n)
		sub := h.events.Subscribe(h.meeting, h.buffer)
		return sub, sub.C()
	}
	h.log.Error("event log subscription ended", "err", err, "viewers", n)
	return old, nil
}

// broadcast encodes e once and queues it for every viewer without waiting; a viewer whose queue is
// full is dropped with a close frame saying "too slow".
func (h *hub) broadcast(e ledger.Event) {
	data, err := json.Marshal(e)
	if err != nil {
		h.log.Error("cannot encode event", "seq", e.Seq, "type", string(e.Type), "err", err)
		return
	}
	m := outMsg{seq: e.Seq, stored: e.Type.Stored(), data: data, supersedes: supersedeKey(e)}
	if m.stored {
		h.seen.Store(e.Seq)
	}
	for c := range h.clients {
		select {
		case c.send <- m:
		default:
			delete(h.clients, c)
			c.kick(closeTooSlow, reasonTooSlow)
			h.log.Warn("disconnected a slow viewer", "remote", c.remote, "queue", cap(c.send))
		}
	}
}

func (h *hub) kickAll(code int, reason string) int {
	n := len(h.clients)
	for c := range h.clients {
		delete(h.clients, c)
		c.kick(code, reason)
	}
	return n
}

// join adds c to the viewers; false when the hub has stopped.
func (h *hub) join(c *client) bool {
	select {
	case h.register <- c:
		return true
	case <-h.done:
		return false
	}
}

func (h *hub) leave(c *client) {
	select {
	case h.unregister <- c:
	case <-h.done:
	}
}

func (h *hub) disconnectAll() int {
	reply := make(chan int, 1)
	select {
	case h.disconnect <- reply:
		return <-reply
	case <-h.done:
		return 0
	}
}

func (h *hub) count() int {
	reply := make(chan int, 1)
	select {
	case h.counts <- reply:
		return <-reply
	case <-h.done:
		return 0
	}
}

// stop ends run, which disconnects every viewer, and waits for it and for the reads of history
// under way.
func (h *hub) stop() {
	h.stopOnce.Do(func() { close(h.quit) })
	<-h.done
	h.history.stop()
}
