package teamsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// How an Uploader paces itself.
const (
	// subscribeBuffer is the wake-ups a subscription holds; one that overflows is replaced.
	subscribeBuffer = 256
	// persistEvery spaces the outbox's writes while a meeting is followed: each goes through the
	// store's one writer, which the recording appends through too. What was not yet written is
	// asked of the server the next time, so nothing depends on it.
	persistEvery = time.Second
	// Retries after a failure wait from minBackoff, doubling up to maxBackoff, with jitter so
	// that laptops cut off together do not come back together.
	minBackoff = 250 * time.Millisecond
	maxBackoff = 10 * time.Second
	// receiveEvery spaces the requests for the changes made on the server while a meeting is
	// followed; failed ones are tried again with backoff, no sooner.
	receiveEvery = 2 * time.Second
)

// Uploader follows one meeting being recorded into the store and sends its events to the server
// as they are appended, trying again with backoff while the server cannot be reached; meanwhile it
// brings back the changes made to the meeting on the server, every couple of seconds (see
// Receive). Its owner calls Run once, on a goroutine of its own, and cancels Run's context to stop
// it; Drain waits for the server to have every event first.
type Uploader struct {
	c       *Client
	meeting string
	origin  string
	s       *sender       // Run's alone
	wake    chan struct{} // asks Run for a pass now, past any backoff

	mu sync.Mutex
	p  Progress
	// unsent are the seqs of the laptop's own events after p.Acked, in order: the sender's last
	// reading, with those the subscription and Drain told of since.
	unsent  []int64
	running bool          // Run was called
	ended   bool          // Run returned
	stopErr error         // the permanent error Run returned with
	changed chan struct{} // closed, and replaced, when p, ended or stopErr change
}

// Follow adds a meeting of the store to the outbox (a live one, being recorded) and returns the
// Uploader that sends it to the server.
func (c *Client) Follow(ctx context.Context, meetingID string) (*Uploader, error) {
	up, _, err := c.register(ctx, meetingID)
	if err != nil {
		return nil, err
	}
	s := &sender{c: c, meeting: up.MeetingID, origin: up.Origin, deal: up.DealID, acked: up.Acked, last: up.Acked}
	if _, err := s.read(ctx, s.acked); err != nil {
		return nil, err
	}
	return &Uploader{c: c, meeting: up.MeetingID, origin: up.Origin, s: s, wake: make(chan struct{}, 1), p: s.progress(),
		unsent: slices.Clone(s.unsent), changed: make(chan struct{})}, nil
}

// Progress returns how far the server has acknowledged the meeting, as last known.
func (u *Uploader) Progress() Progress {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.p
}

// Pending returns the number of the meeting's events the server has not acknowledged, as last
// known.
func (u *Uploader) Pending() int64 { return u.Progress().Pending() }

// update changes the progress and tells Drain.
func (u *Uploader) update(f func(p *Progress)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	f(&u.p)
	close(u.changed)
	u.changed = make(chan struct{})
}

// fromSender takes the sender's ack and reading of what waits, keeping what the subscription and
// Drain told of beyond its reading, and err, the pass's failure (nil after a success).
func (u *Uploader) fromSender(err error) {
	s := u.s
	u.update(func(p *Progress) {
		unsent := append(make([]int64, 0, len(s.unsent)+len(u.unsent)), s.unsent...)
		for _, seq := range u.unsent {
			if seq > s.last {
				unsent = append(unsent, seq)
			}
		}
		u.unsent = unsent
		p.Acked, p.Last, p.Err = s.acked, max(p.Last, s.last, s.acked), err
		p.unsent = int64(len(unsent))
	})
}

// saw counts the laptop's own events of these seqs among those that wait, unless they are
// acknowledged or counted already.
func (u *Uploader) saw(seqs ...int64) {
	u.update(func(p *Progress) {
		for _, seq := range seqs {
			if seq <= p.Acked {
				continue
			}
			if i, found := slices.BinarySearch(u.unsent, seq); !found {
				u.unsent = slices.Insert(u.unsent, i, seq)
			}
			p.Last = max(p.Last, seq)
		}
		p.unsent = int64(len(u.unsent))
	})
}

// Run sends the meeting's events to the server as the store records them, until ctx is cancelled,
// and then returns nil, having recorded in the outbox how far the server acknowledged it. A
// permanent error (see Permanent) ends it sooner, and is returned. Run may be called once.
func (u *Uploader) Run(ctx context.Context) (err error) {
	u.mu.Lock()
	if u.running {
		u.mu.Unlock()
		return errors.New("teamsync: Uploader.Run called twice")
	}
	u.running = true
	u.mu.Unlock()

	persisted, lastPersist := u.s.acked, time.Time{}
	persist := func(ctx context.Context) {
		if u.s.acked <= persisted {
			return
		}
		if err := u.c.store.SetUploaded(ctx, u.s.meeting, u.c.server, u.s.acked); err != nil {
			u.c.log.Warn("could not record the server's acknowledgement; it is asked again next time", "meeting", u.s.meeting, "err", err)
			return
		}
		persisted, lastPersist = u.s.acked, time.Now()
	}
	var flush *time.Timer // armed while an acknowledgement waits to be recorded
	var again *time.Timer // armed while a retry waits
	defer func() {
		if flush != nil {
			flush.Stop()
		}
		if again != nil {
			again.Stop()
		}
		// What the server acknowledged is recorded even though ctx is done.
		final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		persist(final)
		cancel()
		u.mu.Lock()
		u.ended, u.stopErr = true, err
		close(u.changed)
		u.changed = make(chan struct{})
		u.mu.Unlock()
	}()

	// The server's changes come back on a goroutine of their own, which ends before Run does.
	receiving, stopReceiving := context.WithCancel(ctx)
	var received sync.WaitGroup
	received.Add(1)
	go func() {
		defer received.Done()
		u.receive(receiving)
	}()
	defer func() {
		stopReceiving()
		received.Wait()
	}()

	// Subscribe before the first read, so that no event falls between the two.
	sub := u.c.store.Subscribe(u.s.meeting, subscribeBuffer)
	defer func() { sub.Close() }()
	var retry backoff
	failing := false
	for {
		err := u.s.send(ctx, func() { u.fromSender(nil) })
		if ctx.Err() != nil {
			return nil
		}
		var wait <-chan time.Time
		switch {
		case err != nil && Permanent(err):
			u.c.log.Error("the meeting is not sent to the team server", "meeting", u.s.meeting, "err", err)
			u.update(func(p *Progress) { p.Err = err })
			return err
		case err != nil:
			if !failing {
				u.c.log.Warn("the team server cannot be reached: the meeting's events wait in the local store and are sent when it answers",
					"meeting", u.s.meeting, "err", err)
			}
			failing = true
			u.fromSender(err)
			again = time.NewTimer(retry.next())
			wait = again.C
		default:
			if failing {
				u.c.log.Info("the team server answers again", "meeting", u.s.meeting)
			}
			failing = false
			retry.reset()
			u.fromSender(nil)
			if u.s.acked > persisted && flush == nil {
				if d := persistEvery - time.Since(lastPersist); d > 0 {
					flush = time.NewTimer(d)
				} else {
					persist(ctx)
				}
			}
		}

		for pass := false; !pass; {
			var flushed <-chan time.Time
			if flush != nil {
				flushed = flush.C
			}
			select {
			case <-ctx.Done():
				return nil
			case e, ok := <-sub.C():
				switch {
				case !ok && errors.Is(sub.Err(), ledger.ErrLogClosed):
					return fmt.Errorf("teamsync: meeting %s: %w", u.s.meeting, sub.Err())
				case !ok:
					// Fallen behind (or closed under it): Since is the truth, read it again.
					sub = u.c.store.Subscribe(u.s.meeting, subscribeBuffer)
					pass = wait == nil
				case e.Type.Stored() && e.Seq > u.s.acked && e.Origin == "":
					// One of the laptop's own: those brought back from the server are not sent.
					u.saw(e.Seq)
					// While backing off, the event waits for the next try.
					pass = wait == nil
				}
			case <-wait:
				again, pass = nil, true
			case <-u.wake:
				if again != nil {
					again.Stop()
					again = nil
				}
				pass = true
			case <-flushed:
				flush = nil
				persist(ctx)
			}
		}
	}
}

// Drain waits, up to timeout, until the server has acknowledged every event the store holds of
// the meeting; Run must be running. It returns the progress, and nil once the server holds all;
// else an error: ErrPending with why (the timeout, ctx, or the last failure), or the permanent
// error that stopped Run. progress, when not nil, is called on Drain's goroutine, first and then
// whenever the progress changes.
func (u *Uploader) Drain(ctx context.Context, timeout time.Duration, progress func(Progress)) (Progress, error) {
	// What waits is read here, rather than left to Run: its pass may be backing off.
	events, err := u.c.store.Since(ctx, u.meeting, u.Progress().Acked)
	if err != nil {
		return u.Progress(), fmt.Errorf("teamsync: read meeting %s: %w", u.meeting, err)
	}
	var own []int64
	for _, e := range events {
		if e.Origin == "" {
			own = append(own, e.Seq)
		}
	}
	u.saw(own...)
	select { // one pass now, rather than after a backoff
	case u.wake <- struct{}{}:
	default:
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var shown *Progress
	for {
		u.mu.Lock()
		p, ended, stopErr, changed := u.p, u.ended, u.stopErr, u.changed
		u.mu.Unlock()
		if progress != nil && (shown == nil || !same(*shown, p)) {
			progress(p)
			shown = &p
		}
		switch {
		case p.Pending() == 0:
			return p, nil
		case stopErr != nil:
			return p, stopErr
		case ended:
			return p, fmt.Errorf("%w: %d events of meeting %s: the upload was stopped", ErrPending, p.Pending(), p.Meeting)
		}
		select {
		case <-changed:
		case <-deadline.C:
			why := p.Err
			if why == nil {
				why = context.DeadlineExceeded
			}
			return p, fmt.Errorf("%w: %d events of meeting %s not acknowledged after %s: %w", ErrPending, p.Pending(), p.Meeting, timeout, why)
		case <-ctx.Done():
			return p, fmt.Errorf("%w: %d events of meeting %s: %w", ErrPending, p.Pending(), p.Meeting, ctx.Err())
		}
	}
}

// receive brings back the server's changes to the meeting every receiveEvery, until ctx is done.
// Its failures are tried again with backoff; they are logged, and stop nothing: the upload tells
// of a server that cannot be reached, or refuses the token, and a meeting the server does not know
// yet has no changes.
func (u *Uploader) receive(ctx context.Context) {
	var retry backoff
	failing := false
	for {
		_, err := u.c.receive(ctx, u.meeting, u.origin)
		if ctx.Err() != nil {
			return
		}
		wait := u.c.receiveEvery
		switch {
		case err != nil:
			if !failing {
				level := slog.LevelDebug
				if Permanent(err) && !errors.Is(err, ErrNotVisible) && !errors.Is(err, ErrUnauthorized) {
					level = slog.LevelWarn
				}
				u.c.log.Log(ctx, level, "the changes made on the team server are not brought back for now", "meeting", u.meeting, "err", err)
			}
			failing = true
			wait = max(retry.next(), u.c.receiveEvery)
		case failing:
			u.c.log.Debug("the changes made on the team server are brought back again", "meeting", u.meeting)
			failing = false
			retry.reset()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// same reports whether two progresses would be told alike.
func same(a, b Progress) bool {
	if a.Acked != b.Acked || a.Last != b.Last || a.unsent != b.unsent || (a.Err == nil) != (b.Err == nil) {
		return false
	}
	return a.Err == nil || a.Err.Error() == b.Err.Error()
}

// backoff spaces retries: from minBackoff, doubling to maxBackoff, each drawn between half and
// all of it.
type backoff struct{ n int }

func (b *backoff) next() time.Duration {
	d := min(minBackoff<<min(b.n, 10), maxBackoff)
	b.n++
	return d/2 + rand.N(d/2+1)
}

func (b *backoff) reset() { b.n = 0 }
