package reliability

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// Viewers who open a long meeting at the same moment each receive its whole history and then every
// live event, once and in order: none is closed for arriving with the others, none misses an event
// appended while it connected. End to end: the meeting in a SQLite store (imported from a laptop,
// as a team server holds it), the server on its own listener with its default limits, each viewer
// a WebSocket client with the meeting's watch link, the crowd coming from many loopback addresses
// as it would from many machines. Under `make soak`, whose crowd of thousands shares this process's
// cores with the server, a viewer the server drops as too slow resumes with since, as the overlay
// page does, and must still receive everything once and in order; the figures count the drops.
func TestCrowdOpensLongMeeting(t *testing.T) {
	skipShort(t)
	viewers, history, live := size(500, 2000), size(2000, 20000), size(20, 200)
	if raceDetector {
		// Every memory access is several times slower under the race detector: the same crowd
		// and a quarter of the history keep the check within its time.
		history /= 4
	}
	const (
		meeting = "crowd"
		perAddr = 50 // below the server's default cap of connections per address
		origin  = "laptop"
		wait    = time.Minute // for any one message: generous, the point is that it comes
	)
	peak := watchMemory()
	ctx := background(t, 10*time.Minute)
	store := openStore(t)
	token := server.NewToken()
	if err := store.CreateMeeting(ctx, ledger.Meeting{ID: meeting, Title: "All hands", Token: token, StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for from := 0; from < history; from += 500 {
		var batch []ledger.Event
		for i := from; i < min(from+500, history); i++ {
			e := final(meeting, fmt.Sprintf("seg-%d", i), int64(i)*1000, fmt.Sprintf("history %d", i))
			e.Seq, e.At = int64(i+1), time.Now()
			batch = append(batch, e)
		}
		if _, err := store.Import(ctx, meeting, origin, int64(from), batch); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := server.New(server.Config{Log: store, Records: store, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if err := srv.AddMeetingToken(meeting, token); err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	link := "ws://" + addr.String() + "/m/" + meeting + "/ws?t=" + url.QueryEscape(server.ScopedToken(token, server.ScopeWatch))

	// One live event is appended while the crowd connects; the others once every viewer has the
	// history, each timed from its append to its arrival at every viewer.
	total := int64(history + 1 + live)
	liveFrom := int64(history + 2) // the seq of the first timed live event
	appended := make([]atomic.Int64, live)
	var (
		begin             = make(chan struct{})
		connected, caught sync.WaitGroup // every viewer has dialled; has the history
		done              sync.WaitGroup
		mu                sync.Mutex
		delays, fulls     []time.Duration
		closes            = map[string]int{}
		resumed           = map[string]int{} // under soak: why viewers were dropped, and resumed
	)
	for v := range viewers {
		connected.Add(1)
		caught.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			w := &crowdViewer{total: total, history: int64(history + 1), liveFrom: liveFrom, appended: appended,
				caught: &caught, began: time.Now(), times: []time.Duration{0}}
			defer w.catchUp()
			dialer := websocket.Dialer{HandshakeTimeout: wait, NetDialContext: dialerFrom(clientAddr(1 + v/perAddr)).DialContext}
			<-begin
			err := w.watch(dialer, link, wait, connected.Done)
			mu.Lock()
			defer mu.Unlock()
			for why, n := range w.dropped {
				resumed[why] += n
			}
			if err != nil {
				key := closeReason(err)
				if closes[key] == 0 {
					t.Logf("viewer %d stopped after %d of %d events: %v", v, w.got, total, err)
				}
				closes[key]++
				return
			}
			delays = append(delays, w.times[1:]...)
			fulls = append(fulls, w.times[0])
		}()
	}
	close(begin)
	start := time.Now()
	if _, err := store.Append(ctx, final(meeting, "live-0", int64(history)*1000, "live while viewers connect")); err != nil {
		t.Fatal(err)
	}
	connected.Wait()
	caught.Wait()
	for i := range live {
		appended[i].Store(time.Now().UnixNano())
		if _, err := store.Append(ctx, final(meeting, fmt.Sprintf("live-%d", i+1), int64(history+1+i)*1000, "live")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // a meeting's pace, not a burst
	}
	done.Wait()
	elapsed := time.Since(start)
	if len(closes) > 0 {
		t.Errorf("viewers not sent the whole meeting, by reason: %v", closes)
	}
	note := fmt.Sprintf("%d stored + %d live events; whole history to each viewer: p99 %s; all in %s",
		history, live+1, duration(p99(fulls)), elapsed.Round(time.Millisecond))
	if len(resumed) > 0 {
		n := 0
		for _, c := range resumed {
			n += c
		}
		note += fmt.Sprintf("; %d times a viewer was dropped and resumed with since (%v)", n, resumed)
	}
	report(t, figures{viewers: viewers, events: int(total) * viewers, rate: float64(int(total)*viewers) / elapsed.Seconds(),
		p99: p99(delays), peak: peak(), note: note})
}

// crowdViewer is one viewer of the crowd: it follows the meeting until seq total, checking that
// events come in order (seq 1, 2, …) with no gap or duplicate, and times its history and each timed
// live event.
type crowdViewer struct {
	total, history, liveFrom int64
	appended                 []atomic.Int64  // when each timed live event was appended
	caught                   *sync.WaitGroup // marked once the viewer has the history, or has failed
	began                    time.Time

	got       int64           // events received in order
	times     []time.Duration // to the whole history, then each timed live event's delay
	caughtUp  bool
	dropped   map[string]int // why the server closed the viewer, when it resumed
	connected bool
}

// gapError reports events out of order: never resumed from, unlike a connection the server closed.
type gapError struct{ seq, after int64 }

func (e *gapError) Error() string {
	return fmt.Sprintf("got seq %d after %d: a gap or a duplicate", e.seq, e.after)
}

// maxResumes bounds how often a viewer is dropped and resumes under soak.
const maxResumes = 100

// watch follows the meeting at link. Under soak, a viewer the server drops (as too slow for it: the
// crowd's clients share this process's cores with the server) reconnects with since, as the overlay
// page does, and goes on; otherwise its first drop is the check's failure.
func (w *crowdViewer) watch(dialer websocket.Dialer, link string, wait time.Duration, dialled func()) error {
	for {
		c, resp, err := dialer.Dial(link+fmt.Sprintf("&since=%d", w.got), nil)
		if !w.connected {
			w.connected = true
			dialled()
		}
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if err == nil {
			err = w.follow(c, wait)
			c.Close()
		}
		var gap *gapError
		if err == nil || errors.As(err, &gap) || !soak || w.resumes() >= maxResumes {
			return err
		}
		if w.dropped == nil {
			w.dropped = map[string]int{}
		}
		w.dropped[closeReason(err)]++
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *crowdViewer) resumes() int {
	n := 0
	for _, c := range w.dropped {
		n += c
	}
	return n
}

func (w *crowdViewer) follow(c *websocket.Conn, wait time.Duration) error {
	for w.got < w.total {
		if err := c.SetReadDeadline(time.Now().Add(wait)); err != nil {
			return err
		}
		_, data, err := c.ReadMessage()
		if err != nil {
			return err
		}
		seq, err := seqOf(data)
		if err != nil {
			return err
		}
		if seq != w.got+1 {
			return &gapError{seq, w.got}
		}
		w.got++
		switch {
		case w.got == w.history:
			w.times[0] = time.Since(w.began)
			w.catchUp()
		case w.got >= w.liveFrom:
			w.times = append(w.times, time.Since(time.Unix(0, w.appended[w.got-w.liveFrom].Load())))
		}
	}
	return nil
}

// catchUp marks the viewer as having the history, or as done trying, once.
func (w *crowdViewer) catchUp() {
	if !w.caughtUp {
		w.caughtUp = true
		w.caught.Done()
	}
}

// closeReason says why a socket ended, for counting: the close frame's code and text, or the error
// without its addresses.
func closeReason(err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("closed %d %q", ce.Code, ce.Text)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// final is a final segment of a meeting, spoken on the mic at startMS.
func final(meeting, id string, startMS int64, text string) ledger.Event {
	return ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: meeting, Segment: &ledger.SegmentInfo{
		ID: id, Channel: "mic", Speaker: "mic", StartMS: startMS, EndMS: startMS + 900, Text: text}}
}
