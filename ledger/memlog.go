package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

var (
	// ErrLagged is what Subscription.Err reports when the subscriber fell behind: its buffer was full
	// when an event came, so the log closed its channel rather than wait. Resume with Log.Since.
	ErrLagged = errors.New("ledger: subscriber fell behind")
	// ErrLogClosed is returned by a closed log, and reported by the subscriptions it closed.
	ErrLogClosed = errors.New("log closed")
)

// DefaultSubscribeBuffer is the buffer a subscription gets when Subscribe is asked for less than one.
const DefaultSubscribeBuffer = 64

// MemLog is a Log kept in memory, for tests, demos and a meeting that needs no history after the
// process ends. All methods are safe for concurrent use; events of every meeting are ordered by a
// single lock, taken briefly and never held while waiting on a subscriber.
type MemLog struct {
	now func() time.Time

	mu       sync.Mutex // guards meetings and closed; taken before fan.mu
	meetings map[string]*memMeeting
	closed   bool

	fan fanout
}

var _ Log = (*MemLog)(nil)

type memMeeting struct {
	events []Event // events[i].Seq == i+1
}

// MemLogOption configures a MemLog.
type MemLogOption func(*MemLog)

// WithClock sets the wall clock that stamps Event.At (default time.Now).
func WithClock(now func() time.Time) MemLogOption {
	return func(m *MemLog) {
		if now != nil {
			m.now = now
		}
	}
}

// NewMemLog returns an empty in-memory log.
func NewMemLog(opts ...MemLogOption) *MemLog {
	m := &MemLog{now: time.Now, meetings: make(map[string]*memMeeting)}
	for _, o := range opts {
		o(m)
	}
	return m
}

// prepareAppend checks an event to append and returns the copy a log stores:
// every Log implementation refuses the same events.
func prepareAppend(ctx context.Context, e Event) (Event, error) {
	if err := ctx.Err(); err != nil {
		return Event{}, fmt.Errorf("ledger: append: %w", err)
	}
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	if !e.Type.Stored() {
		return Event{}, fmt.Errorf("%w: %s is published, not appended", ErrInvalidEvent, e.Type)
	}
	e = e.clone()
	e.V = SchemaVersion
	return e, nil
}

// preparePublish checks a partial to publish and returns the copy a log sends.
func preparePublish(e Event) (Event, error) {
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	if e.Type.Stored() {
		return Event{}, fmt.Errorf("%w: %s must be appended, not published", ErrInvalidEvent, e.Type)
	}
	e = e.clone()
	e.V = SchemaVersion
	return e, nil
}

// Append implements Log.
func (m *MemLog) Append(ctx context.Context, e Event) (Event, error) {
	e, err := prepareAppend(ctx, e)
	if err != nil {
		return Event{}, err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Event{}, fmt.Errorf("ledger: append to meeting %q: %w", e.Meeting, ErrLogClosed)
	}
	mt := m.meetings[e.Meeting]
	if mt == nil {
		mt = &memMeeting{}
		m.meetings[e.Meeting] = mt
	}
	e.Seq = int64(len(mt.events)) + 1
	e.At = m.now().UTC()
	mt.events = append(mt.events, e) // stored first
	m.fan.publish(e)                 // published second, still in Seq order
	return e, nil
}

// Publish implements Log. Only segment.partial events may be published.
func (m *MemLog) Publish(e Event) error {
	e, err := preparePublish(e)
	if err != nil {
		return err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("ledger: publish to meeting %q: %w", e.Meeting, ErrLogClosed)
	}
	if mt := m.meetings[e.Meeting]; mt != nil {
		e.Seq = int64(len(mt.events))
	} else {
		e.Seq = 0
	}
	e.At = m.now().UTC()
	m.fan.publish(e)
	return nil
}

// Since implements Log. An unknown meeting has no events.
func (m *MemLog) Since(ctx context.Context, meeting string, seq int64) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ledger: read meeting %q: %w", meeting, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("ledger: read meeting %q: %w", meeting, ErrLogClosed)
	}
	mt := m.meetings[meeting]
	if mt == nil {
		return nil, nil
	}
	seq = max(seq, 0)
	if seq >= int64(len(mt.events)) {
		return nil, nil
	}
	return append([]Event(nil), mt.events[seq:]...), nil
}

// Subscribe implements Log. On a closed log the subscription comes back closed, with ErrLogClosed.
func (m *MemLog) Subscribe(meeting string, buffer int) *Subscription {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.fan.subscribe(meeting, buffer)
	if m.closed {
		m.fan.remove(s, ErrLogClosed)
	}
	return s
}

// Close closes every subscription with ErrLogClosed; later calls fail with ErrLogClosed. It returns nil.
func (m *MemLog) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		m.fan.closeAll(ErrLogClosed)
	}
	return nil
}

// Subscription follows one meeting's events. Receive from C until it is closed, then read Err to
// learn why: nil after Close, ErrLagged when the subscriber fell behind, ErrLogClosed when the log
// closed. Close may be called from any goroutine, any number of times.
type Subscription struct {
	meeting string
	ch      chan Event
	fan     *fanout

	mu  sync.Mutex // guards err
	err error
}

// C returns the channel of events, closed when the subscription ends.
func (s *Subscription) C() <-chan Event { return s.ch }

// Meeting returns the ID of the meeting followed.
func (s *Subscription) Meeting() string { return s.meeting }

// Close ends the subscription and closes its channel. Events still buffered may be received.
func (s *Subscription) Close() { s.fan.remove(s, nil) }

// Err reports why the channel was closed; nil while it is open or after Close.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Subscription) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// fanout delivers events to subscriptions without ever blocking. It is the publishing half of every
// Log in this package; callers serialise publish per meeting to keep the order of events.
type fanout struct {
	mu   sync.Mutex
	subs map[string]map[*Subscription]struct{}
}

func (f *fanout) subscribe(meeting string, buffer int) *Subscription {
	if buffer < 1 {
		buffer = DefaultSubscribeBuffer
	}
	s := &Subscription{meeting: meeting, ch: make(chan Event, buffer), fan: f}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs == nil {
		f.subs = make(map[string]map[*Subscription]struct{})
	}
	set := f.subs[meeting]
	if set == nil {
		set = make(map[*Subscription]struct{})
		f.subs[meeting] = set
	}
	set[s] = struct{}{}
	return s
}

// publish hands e to every subscriber of its meeting; one whose buffer is full is dropped with ErrLagged.
func (f *fanout) publish(e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs[e.Meeting] {
		select {
		case s.ch <- e:
		default:
			f.removeLocked(s, ErrLagged)
		}
	}
}

// count returns how many subscribers the meeting has.
func (f *fanout) count(meeting string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs[meeting])
}

// remove ends s with err, unless it has already ended.
func (f *fanout) remove(s *Subscription, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removeLocked(s, err)
}

func (f *fanout) removeLocked(s *Subscription, err error) {
	set := f.subs[s.meeting]
	if _, ok := set[s]; !ok {
		return
	}
	delete(set, s)
	if len(set) == 0 {
		delete(f.subs, s.meeting)
	}
	s.setErr(err) // before close, so a receiver that sees the close sees the reason
	close(s.ch)
}

func (f *fanout) closeAll(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, set := range f.subs {
		for s := range set {
			f.removeLocked(s, err)
		}
	}
}
