package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/internal/pgtest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/ledger/storetest"
)

// testBus is a Bus in memory that loses a share of the messages (drop), delivers some twice and,
// each message from a goroutine of its own after a random delay, in any order.
type testBus struct {
	drop float64

	mu     sync.Mutex
	rng    *rand.Rand
	next   int
	subs   map[string]map[int]func([]byte)
	sent   int
	lost   int
	copies sync.WaitGroup // deliveries under way
}

var _ ledger.Bus = (*testBus)(nil)

func newTestBus(drop float64, seed uint64) *testBus {
	return &testBus{drop: drop, rng: rand.New(rand.NewPCG(seed, seed)), subs: make(map[string]map[int]func([]byte))}
}

func (b *testBus) Publish(meeting string, event []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, deliver := range b.subs[meeting] {
		b.sent++
		if b.rng.Float64() < b.drop {
			b.lost++
			continue
		}
		copies := 1
		if b.rng.IntN(50) == 0 {
			copies = 2
		}
		for range copies {
			delay := time.Duration(b.rng.IntN(3000)) * time.Microsecond
			b.copies.Add(1)
			go func() {
				defer b.copies.Done()
				time.Sleep(delay)
				deliver(event)
			}()
		}
	}
	return nil
}

func (b *testBus) Subscribe(meeting string, deliver func([]byte)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	id := b.next
	if b.subs[meeting] == nil {
		b.subs[meeting] = make(map[int]func([]byte))
	}
	b.subs[meeting][id] = deliver
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs[meeting], id)
	}, nil
}

func (b *testBus) subscribers(meeting string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs[meeting])
}

// A PostgreSQL store with a bus passes the conformance suites as one without.
func TestPostgresStoreWithBusConformance(t *testing.T) {
	c := pgtest.Shared(t)
	runStoreConformance(t, func(t *testing.T) func(now func() time.Time) storetest.Store {
		url := c.NewDatabase(t)
		bus := newTestBus(0, 1)
		t.Cleanup(bus.copies.Wait)
		return func(now func() time.Time) storetest.Store {
			return openPostgres(t, url, ledger.WithPostgresClock(now), ledger.WithBus(bus))
		}
	})
}

// Two stores on one database append to one meeting side by side, over a bus that loses about 5%
// of the messages, repeats some and reorders them: every subscriber, on either store, receives
// 1..N in order, each once, and each partial after the stored event whose Seq it carries.
func TestFollowerAcrossStores(t *testing.T) {
	cluster := pgtest.Shared(t) // the cluster's goroutines outlive the test
	leaktest.Check(t)
	url := cluster.NewDatabase(t)
	bus := newTestBus(0.05, 7)
	t.Cleanup(bus.copies.Wait)
	a := openPostgres(t, url, ledger.WithBus(bus))
	b := openPostgres(t, url, ledger.WithBus(bus))
	const meeting, perStore = "m-follow", 150
	const n = 2 * perStore

	// One event before anyone follows: history, which subscribers do not receive.
	if _, err := a.Append(t.Context(), final(meeting, "before")); err != nil {
		t.Fatal(err)
	}
	subs := []*ledger.Subscription{
		a.Subscribe(meeting, 4*n), a.Subscribe(meeting, 4*n),
		b.Subscribe(meeting, 4*n), b.Subscribe(meeting, 4*n),
	}
	var wg sync.WaitGroup
	for i, s := range []*ledger.PostgresStore{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perStore {
				if _, err := s.Append(context.Background(), final(meeting, fmt.Sprintf("s%d-%d", i, j))); err != nil {
					t.Error(err)
					return
				}
				if j%10 == 0 {
					p := ledger.Event{Type: ledger.TypeSegmentPartial, Meeting: meeting,
						Segment: &ledger.SegmentInfo{ID: "p", Channel: "mic", Text: "…"}}
					if err := s.Publish(p); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()

	for i, sub := range subs {
		var last int64 = 1 // the history
		deadline := time.After(20 * time.Second)
		for last < n+1 {
			select {
			case e, ok := <-sub.C():
				if !ok {
					t.Fatalf("subscriber %d: ended at seq %d: %v", i, last, sub.Err())
				}
				if !e.Type.Stored() {
					if e.Seq != last {
						t.Fatalf("subscriber %d: partial with seq %d after seq %d", i, e.Seq, last)
					}
					continue
				}
				if e.Seq != last+1 {
					t.Fatalf("subscriber %d: seq %d after %d", i, e.Seq, last)
				}
				last = e.Seq
			case <-deadline:
				t.Fatalf("subscriber %d: stuck at seq %d of %d", i, last, n+1)
			}
		}
		sub.Close()
	}
	bus.mu.Lock()
	t.Logf("bus: %d messages, %d lost", bus.sent, bus.lost)
	bus.mu.Unlock()

	// Without subscribers the followers stop, and their bus subscriptions with them.
	deadline := time.Now().Add(10 * time.Second)
	for bus.subscribers(meeting) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d followers still subscribed to the bus", bus.subscribers(meeting))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A subscriber whose store has a follower receives an event appended on another store once the
// poll finds it, when the bus lost every message.
func TestFollowerPollsWhatTheBusLost(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	bus := newTestBus(1, 3)
	a := openPostgres(t, url, ledger.WithBus(bus))
	b := openPostgres(t, url, ledger.WithBus(bus))
	sub := b.Subscribe("m-lost", 8)
	defer sub.Close()
	if _, err := a.Append(t.Context(), final("m-lost", "s1")); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-sub.C():
		if e.Seq != 1 || e.Segment.ID != "s1" {
			t.Fatalf("got %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the poll did not deliver the event the bus lost")
	}
}
