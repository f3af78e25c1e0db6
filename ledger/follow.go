package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Following a meeting across processes. Several processes (replicas) serving one PostgreSQL
// database each append to its meetings: a hosted meeting's pipeline on one, a laptop's import or
// a person's edit on another. Each store hands what it appends to its own subscribers at once and
// publishes it on the bus; a follower per meeting, running while the meeting has subscribers in
// this process, turns what the other processes publish into the same ordered, gap-free stream:
//
//   - delivered is the Seq of the last stored event handed to the meeting's fan-out. The follower
//     starts at the meeting's last_seq as committed when the first subscriber arrives: what comes
//     before is history, which a subscriber reads with Since after subscribing.
//   - An event with Seq <= delivered is dropped (a duplicate, or this process's own echo); Seq ==
//     delivered+1 is handed on; a greater Seq means some were lost or are late: since Seqs commit
//     in order, every Seq before it is committed, and one Since(delivered) fills the gap.
//   - The bus may lose the last event of a burst: every followPoll the store reads the followed
//     meetings' last_seq in one query and fills those that are ahead.
//   - A partial is handed on only when it carries the Seq delivered last, after filling up to it.
//
// Everything that hands a meeting's events to its fan-out does so under the meeting's lock
// (meetingLog.mu), the follower included, so the order holds whoever delivers.

// followPoll is how often a store with a bus reads the followed meetings' last_seq: how late an
// event whose bus message was lost reaches the subscribers of other processes.
const followPoll = time.Second

// followTimeout bounds each read a follower makes.
const followTimeout = 10 * time.Second

// followInbox is how many bus messages a follower queues; more are dropped, and the poll fills in.
const followInbox = 1024

// follower follows one meeting from the bus for this process's subscribers. Its goroutine (run)
// is the only reader of inbox and poke; the store starts and stops it.
type follower struct {
	meeting string
	m       *meetingLog
	inbox   chan []byte
	poke    chan int64 // the meeting's last_seq as the poll read it, when ahead of nothing in particular
	quit    chan struct{}
	done    chan struct{}
	stopBus func() // nil when the bus refused the subscription: the poll alone keeps up
	once    sync.Once
}

// busState is a store's side of its bus: the followers of its meetings and the poll.
type busState struct {
	bus Bus
	id  string // this store instance on the bus

	// Guarded by sqlStore.mu, which is taken under a meeting's lock, never the other way round.
	followed map[string]*follower
	stopping bool

	quit chan struct{}
	done chan struct{}
}

// useBus makes the store publish on bus and follow its meetings from it; called once, before the
// store is used.
func (s *sqlStore) useBus(bus Bus) error {
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return fmt.Errorf("ledger: bus: %w", err)
	}
	s.bus = &busState{bus: bus, id: hex.EncodeToString(id[:]), followed: make(map[string]*follower),
		quit: make(chan struct{}), done: make(chan struct{})}
	go s.pollLoop()
	return nil
}

// publishBus sends a stored event or a partial to the other processes; a lost message is made up
// for by their followers.
func (s *sqlStore) publishBus(e Event) {
	if s.bus == nil {
		return
	}
	data, err := encodeBusMessage(s.bus.id, e)
	if err != nil {
		return
	}
	_ = s.bus.bus.Publish(e.Meeting, data) // lost: the receivers' poll fills in
}

// deliverLocked hands the stored event e (committed) to the meeting's subscribers, once and in
// Seq order; the meeting's lock is held. Without a follower it is published as it comes: the
// meeting's lock already orders this process's appends, and no other process's are followed.
func (s *sqlStore) deliverLocked(m *meetingLog, e Event) {
	if m.fol == nil {
		s.fan.publish(e)
		return
	}
	if e.Seq > m.delivered+1 {
		s.fillLocked(m, e.Meeting)
	}
	if e.Seq == m.delivered+1 {
		s.fan.publish(e)
		m.delivered = e.Seq
	}
	// Else a duplicate, or a gap that could not be read now: the poll fills it in later.
}

// deliverPartialLocked hands a partial on if it carries the Seq delivered last, filling up to it first.
func (s *sqlStore) deliverPartialLocked(m *meetingLog, e Event) {
	if e.Seq > m.delivered {
		s.fillLocked(m, e.Meeting)
	}
	if e.Seq == m.delivered {
		s.fan.publish(e)
	}
}

// fillLocked hands on the stored events after delivered, read from the store; the meeting's lock
// is held. On a failed read it hands on nothing, and a later message or poll tries again.
func (s *sqlStore) fillLocked(m *meetingLog, meeting string) {
	ctx, cancel := context.WithTimeout(context.Background(), followTimeout)
	defer cancel()
	events, err := s.Since(ctx, meeting, m.delivered)
	if err != nil {
		return
	}
	for _, e := range events {
		if e.Seq != m.delivered+1 {
			return // cannot happen: Seqs commit in order and without gaps
		}
		s.fan.publish(e)
		m.delivered = e.Seq
	}
	m.seq = max(m.seq, m.delivered)
}

// followLocked starts following the meeting for its first subscriber; the meeting's lock is held,
// so no append of this process is between its commit and its delivery. The bus subscription comes
// first, then the read of where the log stands: every event after that is on the bus or found by
// the poll, and every event up to it is history, which subscribers read from the store.
func (s *sqlStore) followLocked(meeting string, m *meetingLog) error {
	f := &follower{meeting: meeting, m: m, inbox: make(chan []byte, followInbox), poke: make(chan int64, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	if stop, err := s.bus.bus.Subscribe(meeting, f.receive); err == nil {
		f.stopBus = stop
	}
	ctx, cancel := context.WithTimeout(context.Background(), followTimeout)
	defer cancel()
	var last int64
	what := fmt.Sprintf("follow meeting %q: read seq", meeting)
	if err := s.row(ctx, what, `SELECT last_seq FROM meetings WHERE id = ?`, []any{meeting}, &last); err != nil &&
		!errors.Is(err, ErrNotFound) {
		f.stop()
		return err
	}
	s.mu.Lock()
	if s.bus.stopping {
		s.mu.Unlock()
		f.stop() // the store is closing: the subscription is about to end
		return nil
	}
	s.bus.followed[meeting] = f
	s.mu.Unlock()
	m.fol, m.delivered = f, last
	m.seq = max(m.seq, last)
	go s.followLoop(f)
	return nil
}

// receive queues a bus message without waiting; one that finds the queue full is dropped.
func (f *follower) receive(data []byte) {
	select {
	case f.inbox <- data:
	default:
	}
}

// stop ends the follower's goroutine, if started, and its bus subscription. Not under the meeting's lock.
func (f *follower) stop() {
	f.once.Do(func() {
		close(f.quit)
		if f.stopBus != nil {
			f.stopBus()
		}
	})
}

func (s *sqlStore) followLoop(f *follower) {
	defer close(f.done)
	for {
		select {
		case <-f.quit:
			return
		case data := <-f.inbox:
			e, ok, err := decodeBusMessage(s.bus.id, f.meeting, data)
			if err != nil || !ok {
				continue
			}
			s.whileFollowing(f, func(m *meetingLog) {
				if e.Type.Stored() {
					s.deliverLocked(m, e)
				} else {
					s.deliverPartialLocked(m, e)
				}
			})
		case last := <-f.poke:
			s.whileFollowing(f, func(m *meetingLog) {
				if last > m.delivered {
					s.fillLocked(m, f.meeting)
				}
			})
		}
	}
}

// whileFollowing runs fn under the meeting's lock if f still follows it.
func (s *sqlStore) whileFollowing(f *follower, fn func(m *meetingLog)) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if f.m.fol == f {
		fn(f.m)
	}
}

// pollLoop reads the followed meetings' last_seq every followPoll, pokes the followers that are
// behind, and stops those whose meeting has no subscriber left. It runs until the store closes.
func (s *sqlStore) pollLoop() {
	defer close(s.bus.done)
	t := time.NewTicker(followPoll)
	defer t.Stop()
	for {
		select {
		case <-s.bus.quit:
			return
		case <-t.C:
			s.poll()
		}
	}
}

func (s *sqlStore) poll() {
	s.mu.Lock()
	fs := make(map[string]*follower, len(s.bus.followed))
	for id, f := range s.bus.followed {
		fs[id] = f
	}
	s.mu.Unlock()
	ids := make([]string, 0, len(fs))
	for id, f := range fs {
		if s.fan.count(id) == 0 {
			s.unfollow(f)
			delete(fs, id)
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return
	}
	type head struct {
		id   string
		last int64
	}
	ctx, cancel := context.WithTimeout(context.Background(), followTimeout)
	defer cancel()
	heads, err := readRows(ctx, s, s.r, "poll followed meetings",
		`SELECT id, last_seq FROM meetings WHERE id = ANY(?)`, []any{ids},
		func(rows sqlRows) (head, error) {
			var h head
			err := rows.Scan(&h.id, &h.last)
			return h, err
		})
	if err != nil {
		return // the next poll tries again
	}
	for _, h := range heads {
		if f := fs[h.id]; f != nil {
			select {
			case f.poke <- h.last:
			default: // a poke is pending; the follower reads the log's head then
			}
		}
	}
}

// unfollow stops f unless its meeting has gained a subscriber since.
func (s *sqlStore) unfollow(f *follower) {
	m := f.m
	m.mu.Lock()
	if m.fol != f || s.fan.count(f.meeting) > 0 {
		m.mu.Unlock()
		return
	}
	m.fol = nil
	m.mu.Unlock()
	s.mu.Lock()
	if s.bus.followed[f.meeting] == f {
		delete(s.bus.followed, f.meeting)
	}
	s.mu.Unlock()
	f.stop()
	<-f.done
}

// stopFollowing stops the poll and every follower, before the store closes; no follower starts after.
func (s *sqlStore) stopFollowing() {
	if s.bus == nil {
		return
	}
	s.mu.Lock()
	if s.bus.stopping {
		s.mu.Unlock()
		return
	}
	s.bus.stopping = true
	fs := s.bus.followed
	s.bus.followed = nil
	s.mu.Unlock()
	close(s.bus.quit)
	<-s.bus.done
	for _, f := range fs {
		f.m.mu.Lock()
		if f.m.fol == f {
			f.m.fol = nil
		}
		f.m.mu.Unlock()
		f.stop()
		<-f.done
	}
}
