package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/stream"
)

// BenchmarkWHIPCapacity finds how many participants publishing over WHIP at
// once one agent keeps up with, using the small test model: each publisher
// sends 10 s of speech at real time (Opus encoded once, before the count starts), and a WebSocket viewer measures how far
// behind the audio the captions arrive. A count is sustained while the p95
// lag stays under 3 s. LEDGERLINE_BENCH_PUBLISHERS lists the counts to try,
// in order up to the first that is not sustained.
func BenchmarkWHIPCapacity(b *testing.B) {
	counts := benchCounts(b, "LEDGERLINE_BENCH_PUBLISHERS", []int{1, 2, 4, 8})
	a, err := stream.LoadWAV("../../ingest/testdata/alice.wav")
	if err != nil {
		b.Fatal(err)
	}
	var speech []float32
	for len(speech) < 10*stream.SampleRate {
		speech = append(speech, a.Samples...)
		speech = append(speech, make([]float32, stream.SampleRate/2)...)
	}
	// Encoded once: the publishers send the same Opus frames, so that the cores measure the agent,
	// not twenty-odd encoders of the benchmark's own.
	frames, err := ingest.EncodeOpus(speech)
	if err != nil {
		b.Fatal(err)
	}
	model := testModel(b)
	for b.Loop() {
		sustained := 0
		for _, n := range counts {
			p95 := whipLag(b, model, frames, n)
			b.Logf("%d publishers: p95 caption lag %v", n, p95)
			b.ReportMetric(float64(p95.Milliseconds()), fmt.Sprintf("p95-lag-ms/%d-publishers", n))
			if p95 >= 3*time.Second {
				break // the larger counts cannot do better
			}
			sustained = n
		}
		b.ReportMetric(float64(sustained), "publishers-sustained")
	}
}

// benchCounts reads a comma-separated list of counts from the environment
// variable name, or returns def when it is unset.
func benchCounts(b *testing.B, name string, def []int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var counts []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("%s=%s: give positive counts separated by commas", name, v)
		}
		counts = append(counts, n)
	}
	return counts
}

func whipLag(b *testing.B, model string, frames [][]byte, n int) time.Duration {
	agent := startAgent(b, "--bot", "--model", model, "--language", "en", "--listen", "127.0.0.1:0", "--db", b.TempDir()+"/bench.db")
	ctx := context.Background()
	conn, _, err := websocket.DefaultDialer.Dial(agent.socket(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()

	// The meeting's clock started about when its link was printed.
	meetingStart := time.Now()
	var mu sync.Mutex
	var lags []time.Duration
	go func() {
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			now := time.Now()
			var e ledger.Event
			if json.Unmarshal(msg, &e) != nil || e.Segment == nil || e.Segment.Text == "" {
				continue
			}
			mu.Lock()
			lags = append(lags, now.Sub(meetingStart.Add(time.Duration(e.Segment.EndMS)*time.Millisecond)))
			mu.Unlock()
		}
	}()

	whip := agent.whip()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch := fmt.Sprintf("p%d", i)
			pub, err := ingest.Publish(ctx, whip+"?name="+ch, agent.token, ingest.PublishOptions{Channel: ch, Speed: 1})
			if err != nil {
				b.Error(err)
				return
			}
			if err := pub.SendOpus(ctx, frames); err != nil {
				b.Error(err)
			}
			pub.Close(ctx)
		}()
	}
	wg.Wait()
	agent.end()
	mu.Lock()
	defer mu.Unlock()
	if len(lags) == 0 {
		return time.Hour
	}
	slices.Sort(lags)
	return lags[int(0.95*float64(len(lags)-1))]
}
