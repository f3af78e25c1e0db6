package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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
	model, audio := liveBenchInputs(b)
	// One decode at a time on both cores: the fastest a lone channel's decodes run.
	for b.Loop() {
		lat, st := liveRun(b, model, audio, 1, asr.Sizing{Workers: 1, Threads: 2})
		report(b, "partial", lat.partials)
		report(b, "first-partial", lat.firstPartials)
		report(b, "final", lat.finals)
		report(b, "final-after-speech", lat.afterSpeech)
		report(b, "first-partial-after-speech", lat.afterStart)
		if st.AudioPushed > 0 {
			b.ReportMetric(float64(st.Decodes)/st.AudioPushed.Seconds(), "passes/speech-s")
			b.ReportMetric(st.AudioDecoded.Seconds()/st.AudioPushed.Seconds(), "encoder-amplification")
		}
	}
}

// BenchmarkLiveChannels finds how many channels of speech one agent decodes
// at real time with the model of BenchmarkLiveLatency, its decodes sized for
// this machine's cores as `ledgerline run` sizes them: each channel replays
// the sample call at real time, and a count is sustained while the last
// final reaches the viewer within 3 s of the end of the audio: decoding kept
// up with the speech instead of building a backlog. (The delay of finals from
// the end of their words, which it reports too, is no measure of keeping up
// with a random-weight model, whose word times fall anywhere in the window.)
// The counts of LEDGERLINE_BENCH_CHANNELS [1,2,3,4,6,8] are tried in order up
// to the first that is not sustained.
func BenchmarkLiveChannels(b *testing.B) {
	model, audio := liveBenchInputs(b)
	size, err := asr.SizeFor(runtime.NumCPU(), 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	counts := benchCounts(b, "LEDGERLINE_BENCH_CHANNELS", []int{1, 2, 3, 4, 6, 8})
	for b.Loop() {
		sustained := 0
		for _, n := range counts {
			lat, _ := liveRun(b, model, audio, n, size)
			p95 := time.Hour
			if len(lat.finals) > 0 {
				slices.Sort(lat.finals)
				p95 = lat.finals[int(0.95*float64(len(lat.finals)-1))]
			}
			b.Logf("%d channels: last final %v after the audio ended, p95 delay of finals %v", n, lat.behind, p95)
			b.ReportMetric(float64(lat.behind.Milliseconds()), fmt.Sprintf("behind-ms/%d-channels", n))
			b.ReportMetric(float64(p95.Milliseconds()), fmt.Sprintf("final-p95-ms/%d-channels", n))
			if len(lat.finals) == 0 || lat.behind >= 3*time.Second {
				break
			}
			sustained = n
		}
		b.ReportMetric(float64(sustained), "channels-sustained")
		b.ReportMetric(float64(runtime.NumCPU()), "cores")
	}
}

// liveBenchInputs are the model LEDGERLINE_BENCH_MODEL names (default: a
// random model of the tiny model's dimensions) and the sample call's samples.
func liveBenchInputs(b *testing.B) (model string, samples []float32) {
	model = os.Getenv("LEDGERLINE_BENCH_MODEL")
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
	return model, audio.Samples
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
// end of their words, first partials from the start of their segment's words,
// as the model placed those words; and, from the sample call's reference
// transcript, each line's words final: from the end of the line's speech to
// the first final after it (a line with no final before the next line ends is
// left out), and each line's first words shown: from the start of its speech
// to the first partial of a new segment after it (one not before the line
// ends is left out). A random-weight model places its words anywhere in the
// window, so only these measure how long a speaker waits for their words.
type liveLatencies struct {
	partials, firstPartials, finals []time.Duration
	afterSpeech, afterStart         []time.Duration
	behind                          time.Duration // from the end of the audio to the last final's arrival
}

// afterStart returns, for each reference line, the delay from its start to the
// first of a channel's first-partial arrivals (on the call's clock) after it,
// when that comes before the line ends.
func afterStart(lines []agent.SampleLine, arrivals []time.Duration) []time.Duration {
	slices.Sort(arrivals)
	var out []time.Duration
	for _, l := range lines {
		j, _ := slices.BinarySearch(arrivals, l.Start)
		if j < len(arrivals) && arrivals[j] < l.End {
			out = append(out, arrivals[j]-l.Start)
		}
	}
	return out
}

// afterSpeech returns, for each reference line, the delay from its end to the
// first of a channel's final arrivals (on the call's clock) after it, when
// that comes before the next line ends.
func afterSpeech(lines []agent.SampleLine, arrivals []time.Duration) []time.Duration {
	slices.Sort(arrivals)
	var out []time.Duration
	for i, l := range lines {
		j, _ := slices.BinarySearch(arrivals, l.End)
		if j == len(arrivals) || (i+1 < len(lines) && arrivals[j] > lines[i+1].End) {
			continue
		}
		out = append(out, arrivals[j]-l.End)
	}
	return out
}

// liveRun replays samples at real time as each of channels channels of one
// meeting, decoded by one engine of the given size, and returns what a
// WebSocket viewer saw with the streams' work summed over the channels.
func liveRun(b *testing.B, model string, samples []float32, channels int, size asr.Sizing) (lat liveLatencies, st asr.StreamStats) {
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

	engine, err := asr.NewWhisper(asr.WhisperConfig{ModelPath: model, Workers: size.Workers, Threads: size.Threads})
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close()
	var sources []stream.Source
	for i := range channels {
		src, err := stream.NewReplaySamples(samples, fmt.Sprintf("call-%d", i+1), 1, 0)
		if err != nil {
			b.Fatal(err)
		}
		sources = append(sources, src)
	}
	session, err := agent.New(agent.Config{Meeting: m.ID(), Engine: engine, Log: store, Sources: sources,
		Options: asr.Options{Language: "en"}})
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
	// Each channel's arrivals on the call's clock: finals, and new segments' first partials.
	finalsAt, shownAt := map[string][]time.Duration{}, map[string][]time.Duration{}
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
					shownAt[a.e.Segment.Channel] = append(shownAt[a.e.Segment.Channel], a.at.Sub(start))
					lat.firstPartials = append(lat.firstPartials, a.at.Sub(start.Add(time.Duration(a.e.Segment.StartMS)*time.Millisecond)))
				}
			case a.e.Type == ledger.TypeSegmentFinal && !seen[a.e.Segment.ID]:
				// A final appended again later (its speaker corrected when the
				// channel ends) is a correction, not a new final.
				seen[a.e.Segment.ID] = true
				finalsAt[a.e.Segment.Channel] = append(finalsAt[a.e.Segment.Channel], a.at.Sub(start))
				lat.finals = append(lat.finals, a.at.Sub(start.Add(time.Duration(a.e.Segment.EndMS)*time.Millisecond)))
				lat.behind = a.at.Sub(start.Add(time.Duration(len(samples)) * time.Second / stream.SampleRate))
			}
		case <-deadline:
			b.Fatal("the meeting's stop never reached the viewer")
		}
	}
	lines, err := agent.SampleCallTranscript()
	if err != nil {
		b.Fatal(err)
	}
	for _, arrivals := range finalsAt {
		lat.afterSpeech = append(lat.afterSpeech, afterSpeech(lines, arrivals)...)
	}
	for _, arrivals := range shownAt {
		lat.afterStart = append(lat.afterStart, afterStart(lines, arrivals)...)
	}
	for _, cs := range session.Stats() {
		st.Decodes += cs.Decodes
		st.AudioDecoded += cs.AudioDecoded
		st.AudioPushed += cs.AudioPushed
	}
	return lat, st
}
