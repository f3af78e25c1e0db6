package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/ledger"
)

// The viewer process of BenchmarkFanout500 is this test binary, run again with these set.
const (
	viewerURLEnv    = "LEDGERLINE_FANOUT_URL"
	viewerCountEnv  = "LEDGERLINE_FANOUT_VIEWERS"
	viewerEventsEnv = "LEDGERLINE_FANOUT_EVENTS"
)

// BenchmarkFanout500 measures how long an appended final takes to reach each of 500 real WebSocket
// viewers of one meeting over loopback: p50/p99/max delivery delay, from the log's accepting the
// event (its "at") to the viewer decoding the message. The viewers run in a process of their own,
// so that the figure is the server's, not the clients' share of the cores. At most 16 events are
// in flight, well under each viewer's send queue.
//
//	go test -run '^$' -bench Fanout500 -benchtime 500x ./server/
func BenchmarkFanout500(b *testing.B) {
	const (
		viewers  = 500
		inFlight = 16
	)
	log := ledger.NewMemLog()
	srv, err := New(Config{Log: log})
	if err != nil {
		b.Fatal(err)
	}
	token, err := srv.AddMeeting(testMeeting)
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer func() {
		_ = srv.Close()
		hs.Close()
		_ = log.Close()
	}()

	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	child := exec.Command(self, "-test.run=^TestFanoutViewerProcess$", "-test.v")
	child.Env = append(os.Environ(),
		viewerURLEnv+"=ws"+hs.URL[len("http"):]+"/m/"+testMeeting+"/ws?t="+token,
		viewerCountEnv+"="+strconv.Itoa(viewers), viewerEventsEnv+"="+strconv.Itoa(b.N))
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()

	// The viewer process says "delivered N" once every viewer has the first N events, then its
	// figures.
	var (
		mu        sync.Mutex
		cond      = sync.NewCond(&mu)
		delivered int
		result    []string
		ended     bool
	)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			mu.Lock()
			switch {
			case len(f) == 2 && f[0] == "delivered":
				delivered, _ = strconv.Atoi(f[1])
			case len(f) == 4 && f[0] == "result":
				result = f[1:]
			}
			cond.Broadcast()
			mu.Unlock()
		}
		mu.Lock()
		ended = true
		cond.Broadcast()
		mu.Unlock()
	}()
	waitFor := func(done func() bool) {
		mu.Lock()
		defer mu.Unlock()
		for !done() && !ended {
			cond.Wait()
		}
		if !done() {
			b.Fatalf("the viewer process ended early (%d events delivered)", delivered)
		}
	}
	if !eventually(2*time.Minute, func() bool { return srv.Viewers(testMeeting) == viewers }) {
		b.Fatalf("%d of %d viewers joined", srv.Viewers(testMeeting), viewers)
	}

	ctx := context.Background()
	seg := ledger.SegmentInfo{ID: "seg", Channel: "mic", Speaker: "spk-1", Org: "Acme", Language: "en",
		Text: "We'll send you the integration architecture and the pricing sheet by Thursday, if that works for you."}
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		waitFor(func() bool { return delivered >= i-1-inFlight })
		if _, err := log.Append(ctx, ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: testMeeting, Segment: &seg}); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(func() bool { return result != nil })
	b.StopTimer()

	for i, name := range []string{"p50-µs", "p99-µs", "max-µs"} {
		v, err := strconv.ParseFloat(result[i], 64)
		if err != nil {
			b.Fatalf("figures %q: %v", result, err)
		}
		b.ReportMetric(v, name)
	}
}

// TestFanoutViewerProcess is BenchmarkFanout500's viewer process, run only by it: it connects the
// viewers, reads each event's delay from the time the log accepted it, reports progress and the
// percentiles on stdout, and ends once every viewer has every event; a viewer disconnected as too
// slow fails it, with no figures.
func TestFanoutViewerProcess(t *testing.T) {
	url := os.Getenv(viewerURLEnv)
	if url == "" {
		t.Skip("run by BenchmarkFanout500 only")
	}
	viewers, _ := strconv.Atoi(os.Getenv(viewerCountEnv))
	events, _ := strconv.Atoi(os.Getenv(viewerEventsEnv))
	var (
		mu     sync.Mutex
		got    = make([]int, events+1) // viewers that have each seq
		next   = 1                     // the first seq not yet everyone's
		delays = make([]time.Duration, 0, viewers*events)
		all    sync.WaitGroup
	)
	conns := make([]*websocket.Conn, viewers)
	for v := range viewers {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatalf("viewer %d: %v", v, err)
		}
		conns[v] = c
		all.Add(1)
		go func() {
			defer all.Done()
			for seen := 0; seen < events; {
				_, data, err := c.ReadMessage()
				if err != nil {
					t.Errorf("viewer %d after %d events: %v", v, seen, err)
					return
				}
				now := time.Now()
				seq, at, ok := stamp(data)
				if !ok || seq < 1 || seq > int64(events) {
					continue
				}
				seen++
				mu.Lock()
				delays = append(delays, now.Sub(at))
				got[seq]++
				for next <= events && got[next] == viewers {
					next++
					fmt.Printf("delivered %d\n", next-1)
				}
				mu.Unlock()
			}
		}()
	}
	all.Wait()
	for _, c := range conns {
		_ = c.Close()
	}
	if t.Failed() || len(delays) == 0 {
		t.Fatal("not every viewer had every event (one too slow was disconnected): no figures")
	}
	slices.Sort(delays)
	pct := func(p float64) int64 { return delays[int(p*float64(len(delays)-1))].Microseconds() }
	fmt.Printf("result %d %d %d\n", pct(0.50), pct(0.99), delays[len(delays)-1].Microseconds())
}

// stamp reads an event's seq and at, the first two of its fields that come before any nested object,
// without decoding the rest: the viewer process spends its share of the cores on reading sockets,
// as a browser would, rather than on decoding segments the figure does not need.
func stamp(data []byte) (seq int64, at time.Time, ok bool) {
	field := func(name string) []byte {
		i := bytes.Index(data, []byte(`"`+name+`":`))
		if i < 0 {
			return nil
		}
		v := data[i+len(name)+3:]
		if j := bytes.IndexAny(v, ",}"); j >= 0 {
			v = v[:j]
		}
		return v
	}
	seq, err := strconv.ParseInt(string(field("seq")), 10, 64)
	if err != nil {
		return 0, time.Time{}, false
	}
	if err := at.UnmarshalJSON(field("at")); err != nil {
		return 0, time.Time{}, false
	}
	return seq, at, true
}
