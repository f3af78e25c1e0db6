package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/ledger"
)

// Viewers who open a long meeting at the same moment each receive its whole history and then the
// live stream, in order, with no gap and no duplicate: none is closed because the others arrived
// at the same time. Events appended while they connect reach every one of them exactly once.
func TestCrowdOpensLongMeeting(t *testing.T) {
	const (
		viewers = 300
		stored  = 2000
	)
	start := time.Now()
	store, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledgerline.db"))
	if err != nil {
		t.Fatal(err)
	}
	reads := &slowDisk{SQLiteStore: store, disk: make(chan struct{}, 1)}
	f := startFixture(t, reads, nil, nil)
	for i := range stored {
		f.appendFinal(i, fmt.Sprintf("history %d", i))
	}

	const total = stored + 2 // one live event while viewers connect, one after
	var (
		dialed, done sync.WaitGroup
		outcomes     = make([]outcome, viewers)
		begin        = make(chan struct{})
	)
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	url := f.wsURL(testMeeting, f.token, "")
	for v := range viewers {
		dialed.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			<-begin
			c, _, err := dialer.Dial(url, nil)
			dialed.Done()
			if err != nil {
				outcomes[v].err = err
				return
			}
			defer c.Close()
			outcomes[v] = readInOrder(c, total)
		}()
	}
	close(begin)
	f.appendFinal(stored, "live while viewers connect")
	dialed.Wait()
	f.appendFinal(stored+1, "live after all connected")
	done.Wait()

	closes := make(map[string]int)
	for v, o := range outcomes {
		if o.err == nil {
			continue
		}
		var ce *websocket.CloseError
		key := o.err.Error()
		if errors.As(o.err, &ce) {
			key = fmt.Sprintf("closed %d %q", ce.Code, ce.Text)
		}
		if closes[key] == 0 {
			t.Logf("viewer %d stopped after %d of %d events: %v", v, o.got, total, o.err)
		}
		closes[key]++
	}
	if len(closes) > 0 {
		t.Errorf("viewers not sent the whole meeting, by reason: %v", closes)
	}
	t.Logf("%d viewers each sent %d events in %s; the whole log was read %d times", viewers, total,
		time.Since(start).Round(time.Millisecond), reads.reads.Load())
}

// readInOrder reads events until the one with seq total, and reports how many arrived in order
// (seq 1, 2, …) or why the stream broke off. It reads only each event's seq, which comes before its
// payload, so that hundreds of viewers in one process decoding their history do not starve the
// server they test.
func readInOrder(c *websocket.Conn, total int64) (o outcome) {
	key := []byte(`"seq":`)
	for int64(o.got) < total {
		if err := c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
			o.err = err
			return o
		}
		_, data, err := c.ReadMessage()
		if err != nil {
			o.err = err
			return o
		}
		i := bytes.Index(data, key)
		if i < 0 {
			o.err = fmt.Errorf("no seq in %s", data)
			return o
		}
		var seq int64
		for _, b := range data[i+len(key):] {
			if b < '0' || b > '9' {
				break
			}
			seq = seq*10 + int64(b-'0')
		}
		if seq != int64(o.got)+1 {
			o.err = fmt.Errorf("got seq %d after %d: a gap or a duplicate", seq, o.got)
			return o
		}
		o.got++
	}
	return o
}

// slowDisk reads a meeting's whole history one read at a time, each taking at least 40 ms: a disk
// as busy as a server's with a meeting ten times as long. Reading it once per viewer for 300
// viewers would take 12 s, more than the 10 s any one read may.
type slowDisk struct {
	*ledger.SQLiteStore
	disk  chan struct{}
	reads atomic.Int64
}

func (d *slowDisk) Since(ctx context.Context, meeting string, seq int64) ([]ledger.Event, error) {
	if seq != 0 {
		return d.SQLiteStore.Since(ctx, meeting, seq)
	}
	d.reads.Add(1)
	select {
	case d.disk <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-d.disk }()
	time.Sleep(40 * time.Millisecond)
	return d.SQLiteStore.Since(ctx, meeting, seq)
}

// outcome is what one viewer received.
type outcome struct {
	got int   // events received in order
	err error // why the stream stopped short
}

// gatedLog holds each read of the history from the start until the test releases it, after the
// read has taken its snapshot of the log; failing, when set, makes those reads fail instead.
type gatedLog struct {
	fixtureLog
	started chan struct{} // a read from the start has its events
	release chan struct{} // lets one such read return
	failing bool
}

func (g *gatedLog) Since(ctx context.Context, meeting string, seq int64) ([]ledger.Event, error) {
	events, err := g.fixtureLog.Since(ctx, meeting, seq)
	if seq != 0 {
		return events, err
	}
	select { // bounded by the read's deadline, so a failing test does not hang
	case g.started <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if g.failing {
		return nil, errors.New("disk on fire")
	}
	return events, err
}

func newGatedFixture(t *testing.T, failing bool) (*fixture, *gatedLog) {
	t.Helper()
	g := &gatedLog{fixtureLog: ledger.NewMemLog(), started: make(chan struct{}), release: make(chan struct{}), failing: failing}
	return startFixture(t, g, nil, nil), g
}

// A viewer who arrives while the history is being read for another is not handed that read, which
// may miss events stored just before it joined, but the next one: it still receives every event
// once, in order.
func TestHistoryNotSharedWithLaterViewers(t *testing.T) {
	f, g := newGatedFixture(t, false)
	for i := range 3 {
		f.appendFinal(i, "before")
	}
	first := f.dial("", nil)
	<-g.started // the first viewer's read holds seqs 1-3
	live := f.appendFinal(3, "after the first read")
	m := f.srv.meetings[testMeeting]
	if !eventually(10*time.Second, func() bool { return m.hub.seen.Load() == live.Seq }) {
		t.Fatal("the hub did not broadcast the live event")
	}
	second := f.dial("", nil) // joins after seq 4 was broadcast: only a later read holds it
	if !eventually(10*time.Second, func() bool { return f.srv.Viewers(testMeeting) == 2 }) {
		t.Fatal("the second viewer did not join")
	}
	g.release <- struct{}{}
	<-g.started // the second viewer's own read, started after the first ended
	g.release <- struct{}{}
	for name, c := range map[string]*websocket.Conn{"first": first, "second": second} {
		if o := readInOrder(c, live.Seq); o.err != nil {
			t.Errorf("%s viewer: %d events in order, then %v", name, o.got, o.err)
		}
	}
}

// Viewers waiting together for a read of the history that fails are closed with 1011, and may
// reconnect; the failure is the store's, not the crowd's.
func TestHistoryReadFailureCloses(t *testing.T) {
	f, g := newGatedFixture(t, true)
	f.appendFinal(0, "stored")
	first := f.dial("", nil)
	<-g.started
	second := f.dial("", nil) // waits for the read after the first
	if !eventually(10*time.Second, func() bool { return f.srv.Viewers(testMeeting) == 2 }) {
		t.Fatal("the second viewer did not join")
	}
	g.release <- struct{}{}
	<-g.started
	g.release <- struct{}{}
	for name, c := range map[string]*websocket.Conn{"first": first, "second": second} {
		ce, _ := readClose(t, c)
		if ce.Code != websocket.CloseInternalServerErr || ce.Text != reasonNoLog {
			t.Errorf("%s viewer closed with %d %q, want 1011 %q", name, ce.Code, ce.Text, reasonNoLog)
		}
	}
}
