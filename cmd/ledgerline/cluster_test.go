package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/broker"
	"github.com/ledgerline/ledgerline/internal/pgtest"
	"github.com/ledgerline/ledgerline/ledger"
)

// TestReplicasServeOneMeeting runs two `serve` replicas on one PostgreSQL database, sharing
// events over one NATS server (the broker, in the test's process, outlives the replicas), and
// decoding on two `asr-worker`s. A hosted meeting runs on replica A; viewers on B follow it from
// the start and from the middle, a viewer on A moves to B when A is killed, a publisher sent to B
// is redirected to A, one worker is killed mid-meeting, and once A's lease has expired the
// publisher starts the meeting again on B. Every viewer ends with the store's seqs, contiguous,
// each once, and no final is stored twice.
func TestReplicasServeOneMeeting(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster, a NATS server and two team servers as processes")
	}
	dbURL := pgtest.Shared(t).NewDatabase(t)
	model := testModel(t)
	nats, err := broker.Start(broker.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nats.Close() })
	t.Setenv(envNATSToken, nats.Token())

	serve := func() (*process, string) { return serveReplica(t, dbURL, nats.URL(), model, "--asr", "remote") }
	worker := func(name string) *process {
		return start(t, "asr-worker", "--nats", nats.URL(), "--model", model, "--slots", "1", "--threads", "1", "--name", name)
	}
	doomed := worker("doomed")
	defer worker("lasting").kill()
	a, baseA := serve()
	token := a.await(`^admin token: (\S+)$`)
	b, baseB := serve()
	defer b.kill()

	member, id, guest := hostedMeeting(t, baseA, token)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	follow := func(name string, since int64, bases ...string) *viewer {
		v := &viewer{name: name, first: since, last: since}
		wg.Add(1)
		go func() {
			defer wg.Done()
			v.follow(ctx, id, member, bases)
		}()
		return v
	}
	fromStart := follow("B from the start", 0, baseB)
	onA := follow("A, then B", 0, baseA, baseB)

	// The meeting runs on A: its first publisher's POST went there.
	p1 := start(t, "publish", sample, "--url", baseA+"/whip/"+id, "--token", guest, "--name", "Dana", "--org", "vendor", "--speed", "1")
	waitFor(t, "viewers on B to see A's events", func() bool { return fromStart.seen() >= 3 })
	middle := follow("B from the middle", fromStart.seen(), baseB)
	// One worker dies mid-meeting, its window in flight: the window goes to the other.
	doomed.await(`decoded its first window`)
	doomed.kill()

	// A publisher that reaches B is redirected to A, which runs the meeting.
	if code, out, errOut := ledgerline(t, "publish", sample, "--url", baseB+"/whip/"+id, "--token", guest, "--name", "Lee",
		"--org", "partner", "--speed", "8"); code != 0 {
		t.Fatalf("publish to B: exit %d: %s%s", code, out, errOut)
	}

	// A dies mid-meeting; its publisher with it. Once A's lease expires, B takes the meeting.
	a.kill()
	p1.kill()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, out, errOut := ledgerline(t, "publish", sample, "--url", baseB+"/whip/"+id, "--token", guest, "--name", "Dana",
			"--org", "vendor", "--speed", "4")
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish to B after A died: exit %d: %s%s", code, out, errOut)
		}
		time.Sleep(time.Second)
	}
	var m struct {
		State   string `json:"state"`
		LastSeq int64  `json:"last_seq"`
	}
	waitFor(t, "the meeting to stop on B", func() bool {
		api(t, http.MethodGet, baseB+"/api/v1/meetings/"+id, member, http.StatusOK, &m)
		return m.State == "stopped"
	})
	stored := eventsOn(t, baseB, member, id)
	finals := map[string]bool{}
	for i, e := range stored {
		if e.Seq != int64(i+1) {
			t.Fatalf("the store holds seq %d at %d", e.Seq, i)
		}
		if e.Type == ledger.TypeSegmentFinal {
			if finals[e.Segment.ID] {
				t.Fatalf("final %s stored twice", e.Segment.ID)
			}
			finals[e.Segment.ID] = true
		}
	}
	if len(finals) == 0 {
		t.Fatal("no final stored")
	}
	last := int64(len(stored))
	if last != m.LastSeq || last < 10 {
		t.Fatalf("the store holds %d events, last_seq %d", last, m.LastSeq)
	}
	for _, v := range []*viewer{fromStart, onA, middle} {
		waitFor(t, v.name+" to reach the last seq", func() bool { return v.seen() >= last })
	}
	cancel()
	wg.Wait()
	for _, v := range []*viewer{fromStart, onA, middle} {
		v.mu.Lock()
		seqs, errs := v.seqs, v.errs
		v.mu.Unlock()
		for i, s := range seqs {
			if s != v.first+int64(i)+1 {
				t.Fatalf("%s: seq %d at %d after since=%d (%d received): a gap or a duplicate", v.name, s, i, v.first, len(seqs))
			}
		}
		if int64(len(seqs)) != last-v.first {
			t.Fatalf("%s: received %d events after since=%d; the store holds %d", v.name, len(seqs), v.first, last)
		}
		t.Logf("%s: seqs %d..%d, reconnected %d times: %.600q", v.name, v.first+1, last, len(errs), errs)
	}
}

// serveReplica starts a `serve` replica on the database and NATS server, and returns it and its URL.
func serveReplica(t *testing.T, dbURL, natsURL, model string, extra ...string) (*process, string) {
	t.Helper()
	p := start(t, append([]string{"serve", "--db", dbURL, "--listen", "127.0.0.1:0", "--model", model,
		"--idle-stop", "3s", "--nats", natsURL}, extra...)...)
	return p, p.await(`serving the team server on (http://\S+),`)
}

// hostedMeeting makes an organisation, a member's token and a meeting the server records, and
// returns the token, the meeting's ID and its guest token.
func hostedMeeting(t *testing.T, base, adminToken string) (member, id, guest string) {
	t.Helper()
	org := admin(t, base, adminToken, "org", "create", "Acme")
	member = admin(t, base, adminToken, "token", "create", "--org", org, "--name", "bot")
	lines := map[string]string{}
	for _, line := range strings.Split(admin(t, base, member, "meeting", "create", "--title", "Replicas"), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			lines[k] = v
		}
	}
	join := lines["join"]
	return member, lines["id"], join[strings.Index(join, "?t=")+3:]
}

// TestJoinPageOnAnotherReplica: a browser whose join page was served by a replica that does not
// run the meeting joins it all the same: its offer is relayed to the replica that runs it, and
// its audio reaches that replica.
func TestJoinPageOnAnotherReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster, a NATS server, two team servers and Chromium")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("skipping: no Chromium at %s (%v)", chromiumPath, err)
	}
	dbURL := pgtest.Shared(t).NewDatabase(t)
	model := testModel(t)
	nats, err := broker.Start(broker.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nats.Close() })
	t.Setenv(envNATSToken, nats.Token())
	a, baseA := serveReplica(t, dbURL, nats.URL(), model)
	token := a.await(`^admin token: (\S+)$`)
	b, baseB := serveReplica(t, dbURL, nats.URL(), model)
	member, id, guest := hostedMeeting(t, baseA, token)

	// The meeting runs on A, where its first publisher's POST went.
	start(t, "publish", sample, "--url", baseA+"/whip/"+id, "--token", guest, "--name", "Dana", "--org", "vendor", "--speed", "1")
	speaker := func(name string) func() bool {
		return func() bool {
			for _, e := range eventsOn(t, baseA, member, id) {
				if e.Type == ledger.TypeSpeakerUpdate && e.Speaker.Name == name {
					return true
				}
			}
			return false
		}
	}
	waitFor(t, "the meeting to run on A", speaker("Dana"))

	page := browserPage(t, speechWithPause(t, "../../ingest/testdata/alice.wav"))
	joinAs(t, page, baseB+"/m/"+id+"/join?t="+guest, "Carla Duarte", "buyer",
		func() string { return "A: " + a.output() + "\nB: " + b.output() })
	waitFor(t, "the browser's audio to reach A", speaker("Carla Duarte"))
}

// viewer is a WebSocket viewer of a meeting that reconnects with since, to the next replica in its
// list when one fails.
type viewer struct {
	name  string
	first int64 // the since it started with

	mu   sync.Mutex
	last int64   // the last stored seq received
	seqs []int64 // stored seqs received, in order
	errs []string
}

func (v *viewer) seen() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.last
}

func (v *viewer) follow(ctx context.Context, meeting, token string, bases []string) {
	at := 0
	for ctx.Err() == nil {
		err := v.session(ctx, bases[at], meeting, token)
		if ctx.Err() != nil {
			return
		}
		v.mu.Lock()
		v.errs = append(v.errs, fmt.Sprintf("%s: %v", bases[at], err))
		v.mu.Unlock()
		if at < len(bases)-1 && strings.Contains(err.Error(), "connection refused") {
			at++ // the replica is gone: on to the next
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// session follows the meeting on one replica from the last seq seen, until the connection ends.
func (v *viewer) session(ctx context.Context, base, meeting, token string) error {
	u := "ws://" + strings.TrimPrefix(base, "http://") + "/m/" + url.PathEscape(meeting) + fmt.Sprintf("/ws?since=%d", v.seen())
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, u, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			return fmt.Errorf("%w: %s: %s", err, resp.Status, bytes.TrimSpace(body))
		}
		return err
	}
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()
	defer ws.Close()
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		var e ledger.Event
		if err := json.Unmarshal(data, &e); err != nil || !e.Type.Stored() {
			continue
		}
		v.mu.Lock()
		v.seqs = append(v.seqs, e.Seq)
		v.last = max(v.last, e.Seq)
		v.mu.Unlock()
	}
}
