package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/models"
	"github.com/ledgerline/ledgerline/stream"
)

// BenchmarkLiveLatency replays the sample call at real time through the live
// pipeline and measures, at a real WebSocket client, how long after the end
// of the words they carry partials and finals arrive, and how long after the
// start of its words a segment's first partial arrives; how many encoder
// passes each second of speech costs; and the streaming amplification: the
// seconds of audio the encoder processed per second of speech (one offline
// pass over the same speech is 1). LEDGERLINE_BENCH_MODEL picks the model
// (default: a random model of the tiny model's dimensions).
func BenchmarkLiveLatency(b *testing.B) {
	model := os.Getenv("LEDGERLINE_BENCH_MODEL")
	if model == "" {
		model = filepath.Join(b.TempDir(), "tiny.bin")
		if err := models.GenerateRandomFile(model, models.ShapeTiny, 1); err != nil {
			b.Fatal(err)
		}
	}
	audio, err := stream.ReadWAV(bytes.NewReader(agent.SampleCallWAV()))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		lat, st := liveRun(b, model, audio.Samples)
		report(b, "partial", lat.partials)
		report(b, "first-partial", lat.firstPartials)
		report(b, "final", lat.finals)
		if st.AudioPushed > 0 {
			b.ReportMetric(float64(st.Decodes)/st.AudioPushed.Seconds(), "passes/speech-s")
			b.ReportMetric(st.AudioDecoded.Seconds()/st.AudioPushed.Seconds(), "encoder-amplification")
		}
	}
}

func report(b *testing.B, kind string, lat []time.Duration) {
	if len(lat) == 0 {
		b.Logf("no %s events arrived", kind)
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Milliseconds()) }
	b.ReportMetric(at(0.5), kind+"-p50-ms")
	b.ReportMetric(at(0.95), kind+"-p95-ms")
	b.ReportMetric(float64(len(lat)), kind+"s")
}

// liveLatencies are the delays a viewer saw: partials and finals from the
// end of their words, first partials from the start of their segment's words.
type liveLatencies struct {
	partials, firstPartials, finals []time.Duration
}

func liveRun(b *testing.B, model string, samples []float32) (lat liveLatencies, st asr.StreamStats) {
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &out, log: newLogger(&out, "")}
	store, err := ledger.OpenSQLite(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	m, err := startMeeting(context.Background(), e, store, agent.MeetingConfig{Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	link, _, _ := strings.Cut(strings.TrimPrefix(out.String(), "overlay: "), "\n")
	wsURL := strings.Replace(strings.Replace(link, "http://", "ws://", 1), "?t=", "/ws?t=", 1)
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		b.Fatalf("dial %s: %v", wsURL, err)
	}
	defer conn.Close()

	engine, err := asr.NewWhisper(asr.WhisperConfig{ModelPath: model, Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close()
	src, err := stream.NewReplaySamples(samples, "call", 1, 0)
	if err != nil {
		b.Fatal(err)
	}
	session, err := agent.New(agent.Config{Meeting: m.ID(), Engine: engine, Log: store, Sources: []stream.Source{src},
		Options: asr.Options{Language: "en", Threads: 2}})
	if err != nil {
		b.Fatal(err)
	}

	type arrival struct {
		e  ledger.Event
		at time.Time
	}
	arrivals := make(chan arrival, 4096)
	go func() {
		defer close(arrivals)
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var ev ledger.Event
			if json.Unmarshal(msg, &ev) == nil {
				arrivals <- arrival{ev, time.Now()}
			}
		}
	}()
	start := time.Now()
	if err := session.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	seen, shown := map[string]bool{}, map[string]bool{}
	// The stop is the last event: once it arrives, everything has.
	deadline := time.After(30 * time.Second)
	for done := false; !done; {
		select {
		case a, ok := <-arrivals:
			if !ok {
				b.Fatal("socket closed before the meeting stopped")
			}
			switch {
			case a.e.Type == ledger.TypeMeetingState && a.e.State == ledger.MeetingStopped:
				done = true
			case a.e.Type == ledger.TypeSegmentPartial && a.e.Segment.Text != "":
				lat.partials = append(lat.partials, a.at.Sub(start.Add(time.Duration(a.e.Segment.EndMS)*time.Millisecond)))
				if !shown[a.e.Segment.ID] {
					shown[a.e.Segment.ID] = true
					lat.firstPartials = append(lat.firstPartials, a.at.Sub(start.Add(time.Duration(a.e.Segment.StartMS)*time.Millisecond)))
				}
			case a.e.Type == ledger.TypeSegmentFinal && !seen[a.e.Segment.ID]:
				// A final appended again later (its speaker corrected when the
				// channel ends) is a correction, not a new final.
				seen[a.e.Segment.ID] = true
				lat.finals = append(lat.finals, a.at.Sub(start.Add(time.Duration(a.e.Segment.EndMS)*time.Millisecond)))
			}
		case <-deadline:
			b.Fatal("the meeting's stop never reached the viewer")
		}
	}
	return lat, session.Stats()["call"]
}
