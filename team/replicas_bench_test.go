package team

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ledgerline/ledgerline/broker"
	"github.com/ledgerline/ledgerline/internal/pgtest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/natsbus"
)

// BenchmarkTeamReplicas measures, in one run, the delivery of live events to
// LEDGERLINE_BENCH_REPLICA_VIEWERS WebSocket viewers (default 5000) by one team server replica and
// by two, on one PostgreSQL database. Each replica is wired as `ledgerline serve --db postgres://…
// --nats …` wires it: a PostgresStore publishing on and following its meetings from a NATS bus
// (natsbus over one embedded broker, ledger.WithBus) and a team.Server on its own listener; the
// single replica is the same deployment with one replica running. The viewers (signed in with an
// organisation's API token) are spread evenly over LEDGERLINE_BENCH_REPLICA_MEETINGS meetings
// (default 50) and, with two replicas, each meeting's viewers evenly over both. Events are
// appended on the first replica's store, as a meeting it hosts appends them, at
// LEDGERLINE_BENCH_REPLICA_RATE events/s in all (default 100, spread evenly over the meetings) for
// LEDGERLINE_BENCH_REPLICA_SECONDS (default 10). A viewer on the second replica gets them through
// the bus and that replica's follower. Delivery is the time from the log accepting an event to a
// viewer reading it; it reports p50, p99 and max for each deployment, and the ratios two/one.
// Each deployment runs twice, in the order one, two, two, one replicas (each run on a fresh
// database), and its figures pool both runs, so that a change in what else the machine is doing
// during the benchmark weighs on both deployments alike.
//
// Replicas, broker, PostgreSQL's client side and every viewer run in the benchmark's process and
// share its CPUs: two replicas here share the cores one had, so the figure is the cost of the hop
// between replicas, not the gain of a second machine. It skips where PostgreSQL is not installed.
func BenchmarkTeamReplicas(b *testing.B) {
	viewers := benchInt(b, "REPLICA_VIEWERS", 5000)
	meetings := min(benchInt(b, "REPLICA_MEETINGS", 50), viewers)
	rate := benchInt(b, "REPLICA_RATE", 100)
	seconds := benchInt(b, "REPLICA_SECONDS", 10)
	pgtest.Shared(b) // skips where PostgreSQL is missing
	raiseFileLimit(b, 2*viewers+512)
	for b.Loop() {
		one, two := replicaFigures{replicas: 1}, replicaFigures{replicas: 2}
		for _, n := range []int{1, 2, 2, 1} {
			f := replicaRun(b, n, viewers, meetings, rate, seconds)
			b.Logf("%d cores, %d replica(s), one run: %s", runtime.NumCPU(), n, f)
			if n == 1 {
				one.pool(f)
			} else {
				two.pool(f)
			}
		}
		for _, f := range []replicaFigures{one, two} {
			f.report(b)
		}
		b.ReportMetric(two.pct(0.50)/one.pct(0.50), "p50-2/1")
		b.ReportMetric(two.pct(0.99)/one.pct(0.99), "p99-2/1")
	}
}

// replicaFigures are what runs of BenchmarkTeamReplicas measured.
type replicaFigures struct {
	replicas, viewers, meetings, runs int
	appended                          int
	appendsPerSec                     float64         // the mean of the runs'
	delivery                          []time.Duration // sorted
	far                               []time.Duration // sorted: those to viewers of the replicas that did not append
	missed, duplicated, dropped       int
	connect                           time.Duration // the longest
	rssPeakMB, cpuPct                 float64       // the highest, and the mean
}

// pool adds the figures of another run of the same deployment.
func (f *replicaFigures) pool(o replicaFigures) {
	f.viewers, f.meetings = o.viewers, o.meetings
	f.appendsPerSec = (f.appendsPerSec*float64(f.runs) + o.appendsPerSec) / float64(f.runs+1)
	f.cpuPct = (f.cpuPct*float64(f.runs) + o.cpuPct) / float64(f.runs+1)
	f.runs++
	f.appended += o.appended
	f.delivery = append(f.delivery, o.delivery...)
	slices.Sort(f.delivery)
	f.far = append(f.far, o.far...)
	slices.Sort(f.far)
	f.missed += o.missed
	f.duplicated += o.duplicated
	f.dropped += o.dropped
	f.connect = max(f.connect, o.connect)
	f.rssPeakMB = max(f.rssPeakMB, o.rssPeakMB)
}

// pct is the q-quantile of the delivery times in ms; -1 with none.
func (f replicaFigures) pct(q float64) float64 { return quantileMS(f.delivery, q) }

// quantileMS is the q-quantile of sorted durations in ms; -1 with none.
func quantileMS(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return -1
	}
	return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000
}

func (f replicaFigures) report(b *testing.B) {
	name := fmt.Sprintf("%d-replica", f.replicas)
	if f.replicas > 1 {
		name += "s"
	}
	b.ReportMetric(f.pct(0.50), name+"-p50-ms")
	b.ReportMetric(f.pct(0.99), name+"-p99-ms")
	b.ReportMetric(f.pct(1), name+"-max-ms")
	if len(f.far) > 0 {
		b.ReportMetric(quantileMS(f.far, 0.50), name+"-other-p50-ms")
		b.ReportMetric(quantileMS(f.far, 0.99), name+"-other-p99-ms")
	}
	b.ReportMetric(float64(len(f.delivery)), name+"-deliveries")
	b.ReportMetric(float64(f.missed), name+"-missed")
	b.ReportMetric(float64(f.dropped), name+"-viewers-dropped")
	b.ReportMetric(f.appendsPerSec, name+"-appends/s")
	b.ReportMetric(f.rssPeakMB, name+"-rss-peak-MB")
	b.ReportMetric(f.cpuPct, name+"-cpu-%")
	b.Logf("%d cores, %d replica(s), %d runs pooled: %s", runtime.NumCPU(), f.replicas, f.runs, f)
}

func (f replicaFigures) String() string {
	s := fmt.Sprintf("%d viewers of %d meetings (joined in %s at most, %d dropped), %d events appended (%.0f/s), %d deliveries "+
		"(%d missed, %d twice): p50 %.1f ms, p99 %.1f ms, max %.1f ms", f.viewers, f.meetings, f.connect.Round(time.Millisecond),
		f.dropped, f.appended, f.appendsPerSec, len(f.delivery), f.missed, f.duplicated, f.pct(0.5), f.pct(0.99), f.pct(1))
	if len(f.far) > 0 {
		s += fmt.Sprintf(" (to the second replica's viewers: p50 %.1f ms, p99 %.1f ms)", quantileMS(f.far, 0.5), quantileMS(f.far, 0.99))
	}
	return s + fmt.Sprintf("; peak RSS %.0f MB, CPU %.0f%%", f.rssPeakMB, f.cpuPct)
}

// benchReplica is one team server process's worth: its NATS connection, its store on the shared
// database, and its server.
type benchReplica struct {
	store *ledger.PostgresStore
	srv   *Server
	addr  string
}

func replicaRun(b *testing.B, nReplicas, nViewers, nMeetings, rate, seconds int) replicaFigures {
	ctx := context.Background()
	fig := replicaFigures{replicas: nReplicas, viewers: nViewers, meetings: nMeetings, runs: 1}
	db := pgtest.Shared(b).NewDatabase(b)
	br, err := broker.Start(broker.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	replicas := make([]benchReplica, nReplicas)
	for i := range replicas {
		nc, err := br.Connect()
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close() // after the store, which stops following first
		bus, err := natsbus.New(nc)
		if err != nil {
			b.Fatal(err)
		}
		store, err := ledger.OpenPostgres(ctx, db, ledger.WithBus(bus))
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		srv, addr := startBenchServer(b, Config{Store: store})
		defer srv.Close()
		replicas[i] = benchReplica{store: store, srv: srv, addr: addr}
	}
	admin, err := replicas[0].srv.EnsureAdmin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	api := newBenchClient(b, "http://"+replicas[0].addr)
	token := api.orgToken(admin)

	// The meetings: each started by a first event imported to the first replica, which makes it
	// the organisation's.
	meetings := make([]string, nMeetings)
	began := time.Now().UTC()
	for i := range meetings {
		meetings[i] = uuid.Must(uuid.NewV7()).String()
		first := ledger.Event{Seq: 1, Type: ledger.TypeMeetingState, Meeting: meetings[i], At: began,
			State: ledger.MeetingRecording, Reason: ledger.ReasonStarted}
		api.must(http.MethodPost, "/api/v1/meetings/"+meetings[i]+"/import", token, map[string]any{
			"origin": "bench", "after": 0, "events": []ledger.Event{first},
			"meeting": map[string]any{"title": fmt.Sprintf("Live meeting %d", i+1), "started_at": began, "timezone": "UTC"},
		}, http.StatusOK, nil)
	}

	// The viewers join before the first event after that, each meeting's spread over the replicas.
	debug.FreeOSMemory() // what an earlier run freed does not count to this one
	resetPeakRSS()
	var lastMessage atomic.Int64
	noCaptions := func() int64 { return 0 }
	servers, addrs := make([]*Server, nReplicas), make([]string, nReplicas)
	for i, r := range replicas {
		servers[i], addrs[i] = r.srv, r.addr
	}
	viewers := make([]*liveViewer, nViewers)
	defer closeViewers(viewers)
	dial := viewerDial{servers: servers, addrs: addrs, meetings: meetings, since: 1, sayServer: true,
		header:    http.Header{"Authorization": {"Bearer " + token}},
		published: func(int) func() int64 { return noCaptions }}
	fig.connect = dialViewers(b, viewers, dial, &lastMessage)

	// Each meeting appends its share of the rate on the first replica, at even intervals, the
	// meetings staggered over one interval.
	interval := time.Duration(float64(time.Second) * float64(nMeetings) / float64(rate))
	perMeeting := max(rate*seconds/nMeetings, 1)
	appendStart := time.Now().Add(100 * time.Millisecond)
	cpuStart := cpuTime()
	var appends sync.WaitGroup
	var appended atomic.Int64
	for i, id := range meetings {
		appends.Add(1)
		go func() {
			defer appends.Done()
			start := appendStart.Add(time.Duration(i) * interval / time.Duration(nMeetings))
			for j := range perMeeting {
				time.Sleep(time.Until(start.Add(time.Duration(j) * interval)))
				ms := int64(j+1) * 2000
				_, err := replicas[0].store.Append(ctx, ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: id,
					Segment: &ledger.SegmentInfo{ID: fmt.Sprint("s", j+1), Channel: "mic", Speaker: "mic", StartMS: ms - 1800,
						EndMS: ms, Language: "en", Text: fmt.Sprintf("Point %d: we'll send you the integration architecture by Thursday.", j+1)}})
				if err != nil {
					b.Errorf("meeting %d: append: %v", i, err)
					return
				}
				appended.Add(1)
			}
		}()
	}
	appends.Wait()
	fig.appended = int(appended.Load())
	fig.appendsPerSec = float64(fig.appended) / time.Since(appendStart).Seconds()

	// Every viewer has read everything once none has read anything for a while.
	const quiet = 3 * time.Second
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		now := time.Now()
		if now.Sub(time.Unix(0, lastMessage.Load())) >= quiet || now.After(deadline) {
			break
		}
	}
	fig.rssPeakMB = peakRSS()
	// CPU while events flowed: from the first append to the last message read.
	if wall := time.Unix(0, lastMessage.Load()).Sub(appendStart); wall > 0 {
		fig.cpuPct = 100 * (cpuTime() - cpuStart).Seconds() / wall.Seconds()
	}
	closeStart := time.Now()
	closeViewers(viewers)
	fig.dropped = droppedBefore(viewers, closeStart)
	for v, lv := range viewers {
		fig.delivery = append(fig.delivery, lv.delivery...)
		if dial.server(v) != 0 {
			fig.far = append(fig.far, lv.delivery...)
		}
		got := lv.received()
		for seq := int64(2); seq <= int64(perMeeting)+1; seq++ {
			switch got[seq] {
			case 0:
				fig.missed++
			case 1:
			default:
				fig.duplicated++
			}
		}
	}
	slices.Sort(fig.delivery)
	slices.Sort(fig.far)
	return fig
}
