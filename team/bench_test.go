package team

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/internal/pgtest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/models"
	"github.com/ledgerline/ledgerline/server"
	"github.com/ledgerline/ledgerline/stream"
)

// The team server's benchmarks take their sizes from the environment, so that a quick run is
// possible:
//
//	LEDGERLINE_BENCH_MEETINGS=5 LEDGERLINE_BENCH_VIEWERS=100 \
//		scripts/with-whisper go test -run '^$' -bench TeamLive -benchtime 1x ./team
//
//	LEDGERLINE_BENCH_MEETINGS          live meetings, one WHIP publisher each (default 50)
//	LEDGERLINE_BENCH_VIEWERS           WebSocket viewers spread evenly over them (default 2000)
//	LEDGERLINE_BENCH_SECONDS           seconds of speech each publisher sends at real time (default 15)
//	LEDGERLINE_BENCH_DRAIN             seconds at most to wait, once the publishers are done, for the
//	                                   meetings to finish decoding what they were sent (default 90)
//	LEDGERLINE_BENCH_STORES            stores to run the live benchmark on (default sqlite,postgres)
//	LEDGERLINE_BENCH_IMPORT_EVENTS     events each laptop imports per run (default 3000)
//	LEDGERLINE_BENCH_IMPORT_BATCH      events per import request (default 100)
//	LEDGERLINE_BENCH_REPLICA_VIEWERS   viewers of BenchmarkTeamReplicas (default 5000)
//	LEDGERLINE_BENCH_REPLICA_MEETINGS  meetings they are spread over (default 50)
//	LEDGERLINE_BENCH_REPLICA_RATE      events appended per second, over all meetings (default 100)
//	LEDGERLINE_BENCH_REPLICA_SECONDS   seconds of appending (default 20)
const benchEnvPrefix = "LEDGERLINE_BENCH_"

func benchInt(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(benchEnvPrefix + name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s%s=%q: give a whole number ≥ 1", benchEnvPrefix, name, v)
	}
	return n
}

func benchStores() []string {
	v := os.Getenv(benchEnvPrefix + "STORES")
	if v == "" {
		return []string{"sqlite", "postgres"}
	}
	return strings.Split(v, ",")
}

// benchStore is what the benchmarks' servers keep their record in: a team server's store that
// also serves an agent.Host, as `ledgerline serve` uses it.
type benchStore interface {
	Store
	agent.HostStore
}

// openBenchStore opens an empty store of the kind named. The PostgreSQL test cluster runs without
// fsync (internal/pgtest), while SQLite fsyncs each commit: the two are not alike in durability.
func openBenchStore(b *testing.B, kind string) benchStore {
	b.Helper()
	switch kind {
	case "sqlite":
		s, err := ledger.OpenSQLite(filepath.Join(b.TempDir(), "team.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	case "postgres":
		s, err := ledger.OpenPostgres(context.Background(), pgtest.Shared(b).NewDatabase(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	b.Fatalf("%sSTORES: unknown store %q: use sqlite or postgres", benchEnvPrefix, kind)
	return nil
}

// benchClient calls a team server's API as a program with a token does.
type benchClient struct {
	b    *testing.B
	base string
	http *http.Client
}

func newBenchClient(b *testing.B, base string) *benchClient {
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	b.Cleanup(tr.CloseIdleConnections)
	return &benchClient{b: b, base: base, http: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

// call sends a request and decodes its JSON answer into out; the status must be want.
func (c *benchClient) call(method, path, token string, body []byte, want int, out any) error {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// must is call for the setup, which fails the benchmark.
func (c *benchClient) must(method, path, token string, body any, want int, out any) {
	c.b.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		c.b.Fatal(err)
	}
	if err := c.call(method, path, token, data, want, out); err != nil {
		c.b.Fatal(err)
	}
}

// orgToken makes an organisation and an API token of it with the administrator's token.
func (c *benchClient) orgToken(admin string) string {
	c.b.Helper()
	var org struct{ ID string }
	c.must(http.MethodPost, "/api/v1/orgs", admin, map[string]string{"name": "Bench Co"}, http.StatusCreated, &org)
	var tok struct{ Token string }
	c.must(http.MethodPost, "/api/v1/tokens", admin, map[string]string{"org": org.ID, "name": "bench"}, http.StatusCreated, &tok)
	return tok.Token
}

// BenchmarkTeamLive runs a team server as `ledgerline serve` wires it (team.Server, an agent.Host
// on one shared whisper.cpp engine, the store) with LEDGERLINE_BENCH_MEETINGS live meetings, each
// fed by one WHIP publisher sending LEDGERLINE_BENCH_SECONDS of speech at real time, and
// LEDGERLINE_BENCH_VIEWERS WebSocket viewers (signed in with an organisation's API token) spread
// evenly over them. Everything runs in the benchmark's process, over loopback.
//
// The model is the random-weight `test` model (models.ShapeTest): its text is noise and its
// decoding far cheaper than a real model's, so the figures measure the server's plumbing (WHIP,
// pipelines, the store, fan-out) rather than transcription. Each sub-benchmark's name says so.
//
// It reports: meetings running at peak; viewers connected, and those the server dropped before the
// end (too slow for their send queue); stored events and their appends/s; the delivery delay of
// stored events to viewers (arrival − the time the log accepted the event), p50/p99/max; caption
// lag of finals (arrival − the end of the words, taking the meeting's clock to start when its
// publisher began its WHIP request: an upper bound); speech dropped undecoded because decoding fell
// behind (as the record's channel.loss events say), and meetings whose record ends early (their
// finals span under 60% of the speech sent: speech lost on the way, said or not); the process's
// peak and final RSS (server, publishers and viewers together) and CPU use.
// The publishers' Opus encoders run in the same process and take a large share of its CPU (about
// 40% of it at 50 meetings in a profile), which the server would not pay in a deployment.
// Falling behind real time is a finding, not a failure: the benchmark fails only when the server
// does not work at all.
func BenchmarkTeamLive(b *testing.B) {
	meetings := benchInt(b, "MEETINGS", 50)
	viewers := benchInt(b, "VIEWERS", 2000)
	seconds := benchInt(b, "SECONDS", 15)
	drain := time.Duration(benchInt(b, "DRAIN", 90)) * time.Second
	raiseFileLimit(b, 2*viewers+20*meetings+256)

	a, err := stream.LoadWAV("../ingest/testdata/alice.wav")
	if err != nil {
		b.Fatal(err)
	}
	var speech []float32
	for len(speech) < seconds*stream.SampleRate {
		speech = append(speech, a.Samples...)
		speech = append(speech, make([]float32, stream.SampleRate/2)...)
	}
	speech = speech[:seconds*stream.SampleRate]
	model := filepath.Join(b.TempDir(), "ggml-random-test.bin")
	if err := models.GenerateRandomFile(model, models.ShapeTest, 11); err != nil {
		b.Fatal(err)
	}
	for _, kind := range benchStores() {
		b.Run("model=random-test/store="+kind, func(b *testing.B) {
			var fig liveFigures
			for b.Loop() {
				fig = liveRun(b, openBenchStore(b, kind), model, speech, meetings, viewers, drain)
			}
			fig.report(b)
		})
	}
}

// liveFigures are what one live run measured.
type liveFigures struct {
	meetings, viewers, peakRunning, dropped, publishFailed int
	stored, delivered, partials, finals                    int
	missed, duplicated, truncated                          int
	appendsPerSec                                          float64
	delivery, captions                                     []time.Duration
	undecodedPct                                           float64
	rssStartMB, rssPeakMB, rssEndMB                        float64
	cpuPct, cpuLivePct                                     float64
	connect, publish, settle                               time.Duration
	whipSetup                                              []time.Duration
	goroutinesLeft                                         int
	heapEndMB                                              float64
	settled                                                bool
}

func (f liveFigures) report(b *testing.B) {
	pct := func(d []time.Duration, q float64) float64 {
		if len(d) == 0 {
			return -1
		}
		return float64(d[int(q*float64(len(d)-1))].Milliseconds())
	}
	slices.Sort(f.delivery)
	slices.Sort(f.captions)
	b.ReportMetric(float64(f.meetings), "meetings")
	b.ReportMetric(float64(f.peakRunning), "running-peak")
	b.ReportMetric(float64(f.viewers), "viewers")
	b.ReportMetric(float64(f.dropped), "viewers-dropped")
	b.ReportMetric(float64(f.publishFailed), "publishers-failed")
	b.ReportMetric(float64(f.stored), "events-stored")
	b.ReportMetric(f.appendsPerSec, "appends/s")
	b.ReportMetric(float64(f.delivered), "deliveries")
	b.ReportMetric(float64(f.missed), "deliveries-missed")
	b.ReportMetric(float64(f.duplicated), "deliveries-duplicated")
	b.ReportMetric(pct(f.delivery, 0.50), "delivery-p50-ms")
	b.ReportMetric(pct(f.delivery, 0.99), "delivery-p99-ms")
	b.ReportMetric(pct(f.delivery, 1), "delivery-max-ms")
	b.ReportMetric(float64(f.finals), "finals")
	b.ReportMetric(pct(f.captions, 0.50), "caption-lag-p50-ms")
	b.ReportMetric(pct(f.captions, 0.99), "caption-lag-p99-ms")
	b.ReportMetric(float64(f.partials), "partials-delivered")
	b.ReportMetric(f.undecodedPct, "speech-undecoded-%")
	b.ReportMetric(float64(f.truncated), "meetings-truncated")
	b.ReportMetric(f.rssStartMB, "rss-start-MB")
	b.ReportMetric(f.rssPeakMB, "rss-peak-MB")
	b.ReportMetric(f.rssEndMB, "rss-end-MB")
	b.ReportMetric(f.cpuPct, "cpu-%")
	b.ReportMetric(f.cpuLivePct, "cpu-publishing-%")
	b.ReportMetric(float64(f.goroutinesLeft), "goroutines-left")
	b.ReportMetric(f.heapEndMB, "go-heap-end-MB")
	slices.Sort(f.whipSetup)
	b.ReportMetric(pct(f.whipSetup, 0.5), "whip-setup-p50-ms")
	b.ReportMetric(pct(f.whipSetup, 1), "whip-setup-max-ms")
	b.ReportMetric(f.connect.Seconds(), "viewers-connect-s")
	b.ReportMetric(f.publish.Seconds(), "publish-s")
	b.ReportMetric(f.settle.Seconds(), "settle-s")
	b.Logf("random-weight test model, %d cores: %d meetings (%d running at peak), %d viewers (%d dropped), "+
		"%d events stored (%.0f appends/s), %d deliveries p50 %.0f ms p99 %.0f ms, %d finals caption lag p50 %.0f ms p99 %.0f ms, "+
		"%.1f%% of speech undecoded, %d meetings' records end early, RSS %.0f → peak %.0f MB, CPU %.0f%% (%.0f%% while publishing), decoding settled: %v after %s",
		runtime.NumCPU(), f.meetings, f.peakRunning, f.viewers, f.dropped, f.stored, f.appendsPerSec, f.delivered,
		pct(f.delivery, 0.5), pct(f.delivery, 0.99), f.finals, pct(f.captions, 0.5), pct(f.captions, 0.99),
		f.undecodedPct, f.truncated, f.rssStartMB, f.rssPeakMB, f.cpuPct, f.cpuLivePct, f.settled, f.settle.Round(time.Second))
}

// liveMessage is what a viewer reads of an event.
type liveMessage struct {
	Type    ledger.EventType `json:"type"`
	Seq     int64            `json:"seq"`
	At      time.Time        `json:"at"`
	Segment *struct {
		ID    string `json:"id"`
		EndMS int64  `json:"end_ms"`
	} `json:"segment"`
}

// liveViewer is one WebSocket viewer and what it measured; its fields are its reader's until
// done is closed.
type liveViewer struct {
	meeting  int
	conn     *websocket.Conn
	done     chan struct{}
	seqs     []int64 // of the stored events it received
	delivery []time.Duration
	captions []time.Duration
	partials int
	ended    time.Time // when reading ended
}

// startBenchServer makes a team server of cfg and starts its listener on a free loopback port,
// with no limit on the connections from one address (every viewer comes from this process). It
// returns the server, which the caller closes, and the address it listens on.
func startBenchServer(b *testing.B, cfg Config) (*Server, string) {
	b.Helper()
	cfg.Server.Addr, cfg.Server.MaxConnsPerAddr = "127.0.0.1:0", -1
	srv, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	addr, err := srv.Overlay().Start()
	if err != nil {
		srv.Close()
		b.Fatal(err)
	}
	return srv, addr.String()
}

// viewerDial is where dialViewers connects a run's viewers, and how.
type viewerDial struct {
	servers   []*Server
	addrs     []string    // where each of servers listens
	meetings  []string    // the meetings' ids
	since     int64       // each viewer asks for the events after this seq
	header    http.Header // signs each viewer in
	sayServer bool        // the error for a viewer turned away names its server
	// published returns, for a meeting, the clock its viewers time captions by: unix ns when its
	// publisher began, 0 before it did or where nothing times captions (see liveViewer.read).
	published func(meeting int) func() int64
}

// server is the index of the server viewer v connects to: each meeting's viewers spread evenly
// over the servers.
func (d viewerDial) server(v int) int { return (v / len(d.meetings)) % len(d.servers) }

// dialViewers connects len(viewers) WebSocket viewers, 32 at a time, viewer v to meeting
// v%len(d.meetings) on server d.server(v), and starts each one's reader, which keeps lastMessage.
// A viewer the server turns away fails the benchmark, as do viewers not all in their meetings'
// hubs within two minutes. It returns the time from the first dial until all had joined. The
// caller closes the viewers, deferring closeViewers before it dials them.
func dialViewers(b *testing.B, viewers []*liveViewer, d viewerDial, lastMessage *atomic.Int64) time.Duration {
	b.Helper()
	dialer := &websocket.Dialer{HandshakeTimeout: time.Minute}
	connectStart := time.Now()
	var dials sync.WaitGroup
	dialErrs := make(chan error, len(viewers))
	slots := make(chan struct{}, 32)
	for v := range viewers {
		lv := &liveViewer{meeting: v % len(d.meetings), done: make(chan struct{})}
		viewers[v] = lv
		at := d.addrs[d.server(v)]
		dials.Add(1)
		slots <- struct{}{}
		go func() {
			defer dials.Done()
			defer func() { <-slots }()
			ws := "ws://" + at + "/m/" + d.meetings[lv.meeting] + "/ws?since=" + strconv.FormatInt(d.since, 10)
			conn, resp, err := dialer.Dial(ws, d.header)
			if err != nil {
				if resp != nil {
					err = fmt.Errorf("%w (status %d)", err, resp.StatusCode)
				}
				where := ""
				if d.sayServer {
					where = " on " + at
				}
				dialErrs <- fmt.Errorf("viewer %d of meeting %d%s: %w", v, lv.meeting, where, err)
				close(lv.done)
				return
			}
			lv.conn = conn
			go lv.read(d.published(lv.meeting), lastMessage)
		}()
	}
	dials.Wait()
	close(dialErrs)
	for err := range dialErrs {
		b.Fatal(err) // the server turned a viewer away: not a matter of speed
	}
	joined := func() int {
		n := 0
		for _, srv := range d.servers {
			for _, m := range d.meetings {
				n += srv.Overlay().Viewers(m)
			}
		}
		return n
	}
	for deadline := time.Now().Add(2 * time.Minute); joined() < len(viewers); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d viewers joined their meetings' hubs", joined(), len(viewers))
		}
	}
	return time.Since(connectStart)
}

// closeViewers closes the viewers' sockets and waits for their readers to end; it passes over
// those not dialled yet.
func closeViewers(viewers []*liveViewer) {
	for _, lv := range viewers {
		if lv == nil {
			continue
		}
		if lv.conn != nil {
			lv.conn.Close()
		}
		<-lv.done
	}
}

// droppedBefore counts the viewers whose reading ended before t, when the run began to close
// them: those the server dropped.
func droppedBefore(viewers []*liveViewer, t time.Time) int {
	n := 0
	for _, lv := range viewers {
		if lv.ended.Before(t) {
			n++
		}
	}
	return n
}

// received returns how many times the viewer received each stored event, by seq.
func (lv *liveViewer) received() map[int64]int {
	got := map[int64]int{}
	for _, seq := range lv.seqs {
		got[seq]++
	}
	return got
}

func liveRun(b *testing.B, store benchStore, model string, speech []float32, nMeetings, nViewers int, drain time.Duration) liveFigures {
	ctx := context.Background()
	fig := liveFigures{meetings: nMeetings, viewers: nViewers}
	debug.FreeOSMemory() // what an earlier run freed does not count to this one
	fig.rssStartMB = resetPeakRSS()
	goroutines := runtime.NumGoroutine()
	cpuStart := cpuTime()
	wallStart := time.Now()

	size, err := asr.SizeFor(runtime.NumCPU(), 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	host, err := agent.NewHost(agent.HostConfig{Store: store, Options: asr.Options{Language: "en"}, Loopback: true,
		IdleStop: time.Hour, // the meetings run until the benchmark closes the host
		Load: func(context.Context) (asr.Engine, error) {
			return asr.NewWhisper(asr.WhisperConfig{ModelPath: model, Workers: size.Workers, Threads: size.Threads})
		}})
	if err != nil {
		b.Fatal(err)
	}
	hostClosed := false
	defer func() {
		if !hostClosed {
			host.Close()
		}
	}()
	srv, addr := startBenchServer(b, Config{Store: store, Control: host, Recorder: host,
		Server: server.Config{Ingest: host.Ingest()}})
	defer srv.Close()
	base := "http://" + addr
	if err := host.Attach(srv.Overlay(), base); err != nil {
		b.Fatal(err)
	}
	admin, err := srv.EnsureAdmin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	api := newBenchClient(b, base)
	token := api.orgToken(admin)

	type liveMeeting struct{ id, token string }
	meetings := make([]liveMeeting, nMeetings)
	ids := make([]string, nMeetings)
	for i := range meetings {
		var m struct{ ID, Overlay string }
		api.must(http.MethodPost, "/api/v1/meetings", token, map[string]string{"title": fmt.Sprintf("Bench meeting %d", i+1)},
			http.StatusCreated, &m)
		u, err := url.Parse(m.Overlay)
		if err != nil {
			b.Fatal(err)
		}
		meetings[i] = liveMeeting{id: m.ID, token: u.Query().Get("t")}
		ids[i] = m.ID
	}

	// The viewers join before any audio, so that every event reaches them live.
	published := make([]atomic.Int64, nMeetings) // unix ns when each meeting's publisher began
	var lastMessage atomic.Int64                 // unix ns of the last message any viewer read
	viewers := make([]*liveViewer, nViewers)
	defer closeViewers(viewers)
	fig.connect = dialViewers(b, viewers, viewerDial{servers: []*Server{srv}, addrs: []string{addr}, meetings: ids,
		since: 0, header: http.Header{"Authorization": {"Bearer " + token}},
		published: func(m int) func() int64 { return published[m].Load }}, &lastMessage)

	// The sampler follows the running meetings and the process's memory.
	stopSampling := make(chan struct{})
	var sampled sync.WaitGroup
	var peakRunning atomic.Int64
	sampled.Add(1)
	go func() {
		defer sampled.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if n := int64(host.Running()); n > peakRunning.Load() {
				peakRunning.Store(n)
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()

	// Each meeting's publisher joins, sends its speech at real time, and leaves.
	publishStart := time.Now()
	cpuPublish := cpuTime()
	var pubs sync.WaitGroup
	var failed atomic.Int64
	setups := make([]time.Duration, nMeetings)
	for i, m := range meetings {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			rtc, err := ingest.NewAPI(ingest.APIConfig{Loopback: true})
			if err != nil {
				b.Error(err)
				return
			}
			published[i].Store(time.Now().UnixNano())
			pctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			p, err := ingest.Publish(pctx, base+"/whip/"+m.id+"?name=dana", m.token,
				ingest.PublishOptions{Channel: "dana", Speed: 1, API: rtc})
			if err != nil {
				b.Logf("meeting %d: publish: %v", i, err)
				failed.Add(1)
				return
			}
			setups[i] = time.Since(time.Unix(0, published[i].Load()))
			if err := p.Send(ctx, speech); err != nil {
				b.Logf("meeting %d: send: %v", i, err)
				failed.Add(1)
			}
			_ = p.Close(ctx)
		}()
	}
	pubs.Wait()
	fig.publish = time.Since(publishStart)
	fig.cpuLivePct = 100 * (cpuTime() - cpuPublish).Seconds() / fig.publish.Seconds()
	fig.publishFailed = int(failed.Load())
	for _, d := range setups {
		if d > 0 {
			fig.whipSetup = append(fig.whipSetup, d)
		}
	}
	if fig.publishFailed == nMeetings {
		b.Fatal("no publisher could send its meeting audio")
	}

	// The meetings decode what they were sent: wait until no viewer has heard anything for a
	// while, or for the drain at most.
	const quiet = 5 * time.Second
	settleStart := time.Now()
	for {
		now := time.Now()
		if now.Sub(time.Unix(0, lastMessage.Load())) >= quiet && now.Sub(settleStart) >= quiet {
			fig.settled = true
			break
		}
		if now.Sub(settleStart) >= drain {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	fig.settle = time.Since(settleStart)

	// Stopping the meetings ends each run (drained to its viewers) and their hubs.
	closeStart := time.Now()
	close(stopSampling)
	sampled.Wait()
	if err := host.Close(); err != nil {
		b.Errorf("host Close: %v", err)
	}
	hostClosed = true
	fig.peakRunning = int(peakRunning.Load())
	fig.rssPeakMB, fig.rssEndMB = peakRSS(), currentRSS()
	if wall := time.Since(wallStart).Seconds(); wall > 0 {
		fig.cpuPct = 100 * (cpuTime() - cpuStart).Seconds() / wall
	}
	// Each meeting's hub, stopped with it, sends its viewers a close frame after their events:
	// they end on their own once they have read everything.
	ends := time.After(time.Minute)
	for _, lv := range viewers {
		select {
		case <-lv.done:
		case <-ends:
			lv.conn.Close()
			<-lv.done
		}
	}
	fig.dropped = droppedBefore(viewers, closeStart)
	for _, lv := range viewers {
		fig.delivery = append(fig.delivery, lv.delivery...)
		fig.captions = append(fig.captions, lv.captions...)
		fig.partials += lv.partials
	}
	fig.delivered = len(fig.delivery)
	srv.Close()
	api.http.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections() // the publishers'
	// Everything the run started has stopped: what is left would be a leak.
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > goroutines && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	fig.goroutinesLeft = runtime.NumGoroutine() - goroutines
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fig.heapEndMB = float64(ms.HeapAlloc) / (1 << 20)
	if fig.goroutinesLeft > 0 {
		buf := make([]byte, 1<<20)
		b.Logf("%d goroutines more than before the run:\n%s", fig.goroutinesLeft, buf[:runtime.Stack(buf, true)])
	}

	// The record: events stored, finals, and speech the pipelines dropped undecoded.
	var first, last time.Time
	var undecoded time.Duration
	records := make([][]ledger.Event, nMeetings)
	for i, m := range meetings {
		events, err := store.Since(ctx, m.id, 0)
		if err != nil {
			b.Fatal(err)
		}
		records[i] = events
		lost := map[string]int64{}
		var heard []*ledger.SegmentInfo // the finals
		for _, e := range events {
			fig.stored++
			if first.IsZero() || e.At.Before(first) {
				first = e.At
			}
			if e.At.After(last) && e.Type != ledger.TypeMeetingState {
				last = e.At
			}
			switch e.Type {
			case ledger.TypeSegmentFinal:
				fig.finals++
				heard = append(heard, e.Segment)
			case ledger.TypeChannelLoss:
				lost[e.Loss.Channel] = e.Loss.UndecodedMS // totals: the last one counts
			}
		}
		// The finals of a meeting whose publisher sent all its speech span nearly all of it; a
		// record that ends early lost the rest on the way, whether or not it says so.
		var span time.Duration
		if len(heard) > 0 {
			span = time.Duration(heard[len(heard)-1].EndMS-heard[0].StartMS) * time.Millisecond
		}
		if sent := time.Duration(len(speech)) * time.Second / stream.SampleRate; span < sent*6/10 {
			fig.truncated++
			if fig.truncated <= 5 {
				b.Logf("meeting %d (%s): its %d finals span %s of the %s of speech sent", i, m.id, len(heard),
					span, sent)
			}
		}
		for _, ms := range lost {
			undecoded += time.Duration(ms) * time.Millisecond
		}
	}
	// Every viewer that stayed should have received every stored event of its meeting once.
	for v, lv := range viewers {
		got := lv.received()
		for _, e := range records[lv.meeting] {
			switch got[e.Seq] {
			case 1:
			case 0:
				fig.missed++
				if fig.missed <= 10 {
					b.Logf("viewer %d of meeting %d (%s) missed seq %d %s %s (at %s, reading ended %s after the stop began)",
						v, lv.meeting, meetings[lv.meeting].id, e.Seq, e.Type, e.State, e.At.Format(time.StampMicro),
						lv.ended.Sub(closeStart).Round(time.Millisecond))
				}
			default:
				fig.duplicated++
			}
		}
	}
	if span := last.Sub(first).Seconds(); span > 0 {
		fig.appendsPerSec = float64(fig.stored) / span
	}
	sent := time.Duration(nMeetings-fig.publishFailed) * time.Duration(len(speech)) * time.Second / stream.SampleRate
	if sent > 0 {
		fig.undecodedPct = 100 * undecoded.Seconds() / sent.Seconds()
	}
	return fig
}

// read reads the viewer's socket until it closes, timing each stored event from the moment the
// log accepted it, and each final from the end of its words.
func (lv *liveViewer) read(published func() int64, lastMessage *atomic.Int64) {
	defer close(lv.done)
	defer func() { lv.ended = time.Now() }()
	seen := map[string]bool{}
	for {
		_, data, err := lv.conn.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now()
		lastMessage.Store(now.UnixNano())
		var e liveMessage
		if err := json.Unmarshal(data, &e); err != nil {
			continue
		}
		if e.Type == ledger.TypeSegmentPartial {
			lv.partials++
			continue
		}
		if e.Seq < 1 || e.At.IsZero() {
			continue
		}
		lv.seqs = append(lv.seqs, e.Seq)
		lv.delivery = append(lv.delivery, now.Sub(e.At))
		if e.Type == ledger.TypeSegmentFinal && e.Segment != nil && !seen[e.Segment.ID] {
			seen[e.Segment.ID] = true
			if start := published(); start != 0 {
				spoken := time.Unix(0, start).Add(time.Duration(e.Segment.EndMS) * time.Millisecond)
				lv.captions = append(lv.captions, now.Sub(spoken))
			}
		}
	}
}

// BenchmarkImport measures appends per second through the import path, as laptops upload their
// meetings to a team server: POST /api/v1/meetings/{id}/import with batches of
// LEDGERLINE_BENCH_IMPORT_BATCH events (one transaction each), LEDGERLINE_BENCH_IMPORT_EVENTS
// events per meeting, from one laptop and from eight uploading different meetings at once. It
// reports events/s and the p50/p99 time of one batch's request. The PostgreSQL test cluster runs
// without fsync, while SQLite fsyncs each commit (see openBenchStore).
func BenchmarkImport(b *testing.B) {
	perMeeting := benchInt(b, "IMPORT_EVENTS", 3000)
	batchSize := min(benchInt(b, "IMPORT_BATCH", 100), MaxImportEvents)
	for _, kind := range []string{"sqlite", "postgres"} {
		for _, laptops := range []int{1, 8} {
			b.Run(fmt.Sprintf("store=%s/laptops=%d", kind, laptops), func(b *testing.B) {
				ts, err := New(Config{Store: openBenchStore(b, kind)})
				if err != nil {
					b.Fatal(err)
				}
				hs := httptest.NewServer(ts.Handler())
				defer func() {
					hs.Close()
					ts.Close()
				}()
				admin, err := ts.EnsureAdmin(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				api := newBenchClient(b, hs.URL)
				token := api.orgToken(admin)
				var (
					events  int
					spent   time.Duration
					batches []time.Duration
				)
				for b.Loop() {
					n, took, each := importRun(b, api, token, laptops, perMeeting, batchSize)
					events += n
					spent += took
					batches = append(batches, each...)
				}
				slices.Sort(batches)
				at := func(q float64) float64 {
					return float64(batches[int(q*float64(len(batches)-1))].Microseconds()) / 1000
				}
				b.ReportMetric(float64(events)/spent.Seconds(), "events/s")
				b.ReportMetric(at(0.5), "batch-p50-ms")
				b.ReportMetric(at(0.99), "batch-p99-ms")
			})
		}
	}
}

// importRun has each of laptops upload a new meeting of perMeeting events in batches, all at
// once, and returns how many events were stored, how long that took, and each batch's time.
func importRun(b *testing.B, api *benchClient, token string, laptops, perMeeting, batchSize int) (int, time.Duration, []time.Duration) {
	// The bodies are made before the clock starts: a laptop has them on its disk.
	bodies := make([][][]byte, laptops)
	ids := make([]string, laptops)
	at := time.Now().UTC().Add(-time.Hour)
	for l := range bodies {
		ids[l] = uuid.Must(uuid.NewV7()).String()
		events := make([]ledger.Event, 0, perMeeting)
		events = append(events, ledger.Event{Seq: 1, Type: ledger.TypeMeetingState, Meeting: ids[l], At: at,
			State: ledger.MeetingRecording, Reason: ledger.ReasonStarted})
		for i := 2; i <= perMeeting; i++ {
			ms := int64(i) * 3000
			events = append(events, ledger.Event{Seq: int64(i), Type: ledger.TypeSegmentFinal, Meeting: ids[l],
				At: at.Add(time.Duration(ms) * time.Millisecond),
				Segment: &ledger.SegmentInfo{ID: fmt.Sprint("s", i), Channel: "mic", Speaker: "mic", StartMS: ms - 2500, EndMS: ms,
					Language: "en", Text: fmt.Sprintf("Point %d: we'll send you the integration architecture by Thursday.", i)}})
		}
		for start := 0; start < len(events); start += batchSize {
			chunk := events[start:min(start+batchSize, len(events))]
			body, err := json.Marshal(map[string]any{"origin": "laptop-" + strconv.Itoa(l), "after": chunk[0].Seq - 1, "events": chunk,
				"meeting": map[string]any{"title": "Imported call", "started_at": at, "timezone": "Europe/Madrid"}})
			if err != nil {
				b.Fatal(err)
			}
			bodies[l] = append(bodies[l], body)
		}
	}
	times := make([][]time.Duration, laptops)
	var wg sync.WaitGroup
	start := time.Now()
	for l := range laptops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, body := range bodies[l] {
				t0 := time.Now()
				if err := api.call(http.MethodPost, "/api/v1/meetings/"+ids[l]+"/import", token, body, http.StatusOK, nil); err != nil {
					b.Error(err)
					return
				}
				times[l] = append(times[l], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	var all []time.Duration
	for _, t := range times {
		all = append(all, t...)
	}
	return laptops * perMeeting, took, all
}

// raiseFileLimit raises the soft limit on open files towards need (each viewer holds two sockets
// in this process: its own and the server's), as far as the hard limit allows.
func raiseFileLimit(b *testing.B, need int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Logf("open files limit: %v", err)
		return
	}
	if lim.Cur >= uint64(need) {
		return
	}
	lim.Cur = min(uint64(need), lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Logf("raise the open files limit to %d: %v", lim.Cur, err)
	}
	if lim.Cur < uint64(need) {
		b.Logf("the open files limit is %d, under the %d the benchmark may need: raise it with ulimit -n", lim.Cur, need)
	}
}

// procStatus returns a field of /proc/self/status in MB (its value is in kB); 0 where there is
// none (not Linux).
func procStatus(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func currentRSS() float64 { return procStatus("VmRSS") }
func peakRSS() float64    { return procStatus("VmHWM") }

// resetPeakRSS resets the process's peak RSS to its current RSS (Linux's clear_refs), so that a
// sub-benchmark's peak is its own, and returns the current RSS.
func resetPeakRSS() float64 {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	return currentRSS()
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
