package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/ledger"
)

// BenchmarkFanout500 measures how long an appended final takes to reach each of 500 real WebSocket
// viewers of one meeting over loopback: p50/p99/max delivery delay, from just before Append to the
// viewer decoding the message. At most 16 events are in flight, well under each viewer's send queue.
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
	url := "ws" + hs.URL[len("http"):] + "/m/" + testMeeting + "/ws?t=" + token

	sent := make([]atomic.Int64, b.N+1) // unix nanoseconds before Append, by seq
	var (
		mu        sync.Mutex
		cond      = sync.NewCond(&mu)
		delivered int
	)
	delays := make([][]time.Duration, viewers)
	var readers sync.WaitGroup
	conns := make([]*websocket.Conn, viewers)
	for v := range viewers {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatalf("viewer %d: %v", v, err)
		}
		conns[v] = c
		delays[v] = make([]time.Duration, 0, b.N)
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				var e struct {
					Seq int64 `json:"seq"`
				}
				if err := json.Unmarshal(data, &e); err != nil || e.Seq < 1 || e.Seq > int64(b.N) {
					continue
				}
				delays[v] = append(delays[v], time.Duration(time.Now().UnixNano()-sent[e.Seq].Load()))
				mu.Lock()
				delivered++
				if delivered%viewers == 0 {
					cond.Broadcast()
				}
				mu.Unlock()
			}
		}()
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
		readers.Wait()
	}()
	if !eventually(time.Minute, func() bool { return srv.Viewers(testMeeting) == viewers }) {
		b.Fatalf("%d of %d viewers joined", srv.Viewers(testMeeting), viewers)
	}
	waitDelivered := func(n int) {
		mu.Lock()
		for delivered < n {
			cond.Wait()
		}
		mu.Unlock()
	}

	ctx := context.Background()
	seg := ledger.SegmentInfo{ID: "seg", Channel: "mic", Speaker: "spk-1", Org: "Acme", Language: "en",
		Text: "We'll send you the integration architecture and the pricing sheet by Thursday, if that works for you."}
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		waitDelivered(viewers * (i - 1 - inFlight))
		sent[i].Store(time.Now().UnixNano())
		if _, err := log.Append(ctx, ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: testMeeting, Segment: &seg}); err != nil {
			b.Fatal(err)
		}
	}
	waitDelivered(viewers * b.N)
	b.StopTimer()

	if v := srv.Viewers(testMeeting); v != viewers {
		b.Fatalf("%d viewers left at the end, want %d (some were too slow)", v, viewers)
	}
	all := make([]time.Duration, 0, viewers*b.N)
	for _, d := range delays {
		all = append(all, d...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(all[len(all)-1].Microseconds()), "max-µs")
}
