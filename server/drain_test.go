package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/ledger"
)

// smallBuffers makes the kernel hold little for a connection, so that what the server has written
// and what the viewer has read stay close together.
const smallBuffers = 16 << 10

type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(smallBuffers)
	}
	return c, err
}

// newDrainFixture is newFixture on a listener with small socket buffers.
func newDrainFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	return startFixture(t, ledger.NewMemLog(), edit, func(l net.Listener) net.Listener { return smallBufferListener{l} })
}

// dialSmall connects a viewer whose socket receive buffer is small.
func (f *fixture) dialSmall(query string) *websocket.Conn {
	f.t.Helper()
	d := websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(smallBuffers)
			}
			return c, err
		},
		ReadBufferSize: 1024,
	}
	c, _, err := d.Dial(f.wsURL(testMeeting, f.token, query), nil)
	if err != nil {
		f.t.Fatalf("dial: %v", err)
	}
	f.t.Cleanup(func() { _ = c.Close() })
	return c
}

// A viewer that reads slowly but steadily gets everything, and Drain returns only once the server has
// written it all: at that moment the viewer has read all but what the socket buffers can hold.
func TestDrainSlowSteadyViewer(t *testing.T) {
	const events, textSize = 200, 32 << 10
	f := newDrainFixture(t, func(c *Config) { c.SendQueue = 2 * events })
	viewer := f.dialSmall("")
	text := strings.Repeat("blah ", textSize/5)
	f.appendFinal(1, text) // the viewer is connected once its first event arrives
	if e := readEvent(t, viewer); e.Seq != 1 {
		t.Fatalf("first event seq %d", e.Seq)
	}
	for i := 2; i <= events; i++ {
		f.appendFinal(i, text)
	}

	drained := make(chan error, 1)
	go func() {
		// Generous: the test is about what Drain waits for, not how fast a busy machine writes.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		drained <- f.srv.Drain(ctx, testMeeting)
	}()

	pace := time.NewTicker(time.Millisecond) // slowly but steadily
	defer pace.Stop()
	readAtDrain := -1
	for seq := int64(2); seq <= events; seq++ {
		<-pace.C
		e := readEvent(t, viewer)
		if e.Seq != seq {
			t.Fatalf("got seq %d, want %d", e.Seq, seq)
		}
		if readAtDrain < 0 {
			select {
			case err := <-drained:
				if err != nil {
					t.Fatalf("Drain: %v", err)
				}
				readAtDrain = int(seq)
			default:
			}
		}
	}
	if readAtDrain < 0 {
		if err := <-drained; err != nil {
			t.Fatalf("Drain: %v", err)
		}
		readAtDrain = events
	}
	// The socket buffers (a few times smallBuffers on each side, as the kernel sees fit) hold a few
	// events at most; a Drain that did not wait would have returned with nearly all still unread.
	if inFlight := events - readAtDrain; inFlight > 16 {
		t.Fatalf("Drain returned with %d of %d events not yet read by the viewer", inFlight, events)
	}
	t.Logf("Drain returned with %d events in flight", events-readAtDrain)
}

// Drain waits only for the events stored when it is called, for every viewer, whether it resumed or
// not; with no viewers, or a meeting with no events, it returns at once.
func TestDrainEdges(t *testing.T) {
	f := newDrainFixture(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.srv.Drain(ctx, "no-such-meeting"); !errors.Is(err, ErrNoMeeting) {
		t.Fatalf("Drain of an unknown meeting: %v, want ErrNoMeeting", err)
	}
	if err := f.srv.Drain(ctx, testMeeting); err != nil {
		t.Fatalf("Drain of an empty meeting: %v", err)
	}
	for i := 1; i <= 5; i++ {
		f.appendFinal(i, fmt.Sprintf("Final %d.", i))
	}
	if err := f.srv.Drain(ctx, testMeeting); err != nil {
		t.Fatalf("Drain without viewers: %v", err)
	}
	fresh, resumed := f.dial("", nil), f.dial("since=5", nil)
	for seq := int64(1); seq <= 5; seq++ {
		if e := readEvent(t, fresh); e.Seq != seq {
			t.Fatalf("fresh viewer got seq %d, want %d", e.Seq, seq)
		}
	}
	if !eventually(5*time.Second, func() bool { return f.srv.Viewers(testMeeting) == 2 }) {
		t.Fatal("the resumed viewer did not join")
	}
	f.appendFinal(6, "Final 6.")
	if err := f.srv.Drain(ctx, testMeeting); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	// Both were sent seq 6 before Drain returned; it is there to read.
	for _, c := range []*websocket.Conn{fresh, resumed} {
		if e := readEvent(t, c); e.Seq != 6 {
			t.Fatalf("got seq %d, want 6", e.Seq)
		}
	}
}

// A viewer that stops reading holds Drain up until ctx ends, and no longer than its write deadline:
// it is then dropped, and Drain returns.
func TestDrainStuckViewer(t *testing.T) {
	const writeWait = time.Second
	f := newDrainFixture(t, func(c *Config) { c.WriteWait = writeWait; c.SendQueue = 1000 })
	stuck := f.dialSmall("")
	text := strings.Repeat("x", 32<<10)
	f.appendFinal(1, text)
	if e := readEvent(t, stuck); e.Seq != 1 {
		t.Fatalf("first event seq %d", e.Seq)
	}
	for i := 2; i <= 100; i++ { // far more than the socket buffers hold
		f.appendFinal(i, text)
	}

	short, cancel := context.WithTimeout(context.Background(), writeWait/10)
	defer cancel()
	if err := f.srv.Drain(short, testMeeting); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain with a stuck viewer and a short deadline: %v, want DeadlineExceeded", err)
	}
	long, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := f.srv.Drain(long, testMeeting); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("Drain waited %s for a stuck viewer; its write deadline is %s", waited, writeWait)
	}
	if !eventually(5*time.Second, func() bool { return f.srv.Viewers(testMeeting) == 0 }) {
		t.Fatal("the stuck viewer is still connected")
	}
}

// A viewer that disconnects releases Drain.
func TestDrainViewerLeaves(t *testing.T) {
	f := newDrainFixture(t, func(c *Config) { c.SendQueue = 1000 })
	gone := f.dialSmall("")
	text := strings.Repeat("x", 32<<10)
	f.appendFinal(1, text)
	if e := readEvent(t, gone); e.Seq != 1 {
		t.Fatalf("first event seq %d", e.Seq)
	}
	for i := 2; i <= 100; i++ {
		f.appendFinal(i, text)
	}
	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		drained <- f.srv.Drain(ctx, testMeeting)
	}()
	_ = gone.Close()
	if err := <-drained; err != nil {
		t.Fatalf("Drain after the viewer left: %v", err)
	}
}
