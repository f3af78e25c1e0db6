package reliability

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
	"github.com/ledgerline/ledgerline/stream"
)

// A meeting continued by later runs keeps one timeline, wherever its words came from (the
// laptop's own audio in one run, a participant's over WHIP in the next): each run's segments start
// after the end of every segment of the runs before it. A viewer who opens the meeting as its last
// run starts receives the record of every run and then the last run live, in order and without a
// gap; the recap's duration, and the order of an export's cues, served over HTTP, say the same.
func TestContinuedMeetingTimeline(t *testing.T) {
	skipShort(t)
	runs := size(3, 10)
	ctx := background(t, 5*time.Minute)
	store := openStore(t)
	audio := speech(t, 6)
	var (
		id, base, token string
		seen            []ledger.Event // what the viewer of the last run received
	)
	for run := 1; run <= runs; run++ {
		participant := run%2 == 0 // else the laptop's own audio
		m, err := agent.StartMeeting(ctx, agent.MeetingConfig{Store: store, Listen: "127.0.0.1:0", Continue: id,
			Title: "Weekly", TakeAudio: participant})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		base, id, token = splitLink(t, m.OverlayURL())
		var viewer *websocket.Conn
		var head int64
		if run == runs {
			before, err := store.Since(ctx, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			head = int64(len(before))
			watch := wsURL(base, "/m/"+id+"/ws?t="+url.QueryEscape(server.ScopedToken(token, server.ScopeWatch)))
			c, resp, err := websocket.DefaultDialer.Dial(watch, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			defer c.Close()
			viewer = c
		}
		load := loadSaying(fmt.Sprintf("Run %d: let us go through the numbers.", run))
		if participant {
			speakOverWHIP(ctx, t, m, store, run, audio, load)
		} else {
			mic, err := stream.NewReplaySamples(audio, "mic", 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Transcribe(ctx, agent.Config{Sources: []stream.Source{mic},
				Speakers: map[string]agent.Speaker{"mic": {Name: "Dana", Role: ledger.RoleVendor}}}, load); err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
		}
		if viewer != nil {
			// The viewer follows until this run's stop: every run's record, then this one live.
			for {
				e, err := readEvent(viewer, time.Minute)
				if err != nil {
					t.Fatalf("the viewer of run %d, after %d events: %v", run, len(seen), err)
				}
				if !e.Type.Stored() {
					continue
				}
				seen = append(seen, e)
				if e.Seq > head && e.Type == ledger.TypeMeetingState && e.State == ledger.MeetingStopped {
					break
				}
			}
			checkTimelineServed(t, base, id, token, store)
		}
		if err := m.Finish(ctx); err != nil {
			t.Errorf("run %d: Finish: %v", run, err)
		}
		if err := m.Close(); err != nil {
			t.Fatalf("run %d: Close: %v", run, err)
		}
	}

	stored, err := store.Since(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(stored) {
		t.Fatalf("the viewer received %d events, the store holds %d", len(seen), len(stored))
	}
	for i := range stored {
		if seen[i].Seq != int64(i+1) || !sameEvent(seen[i], stored[i]) {
			t.Fatalf("event %d: the viewer received %+v, the store holds %+v", i+1, seen[i], stored[i])
		}
	}
	if n, err := store.Runs(ctx, id); err != nil || n != runs {
		t.Errorf("the store counts %d runs (%v), want %d", n, err, runs)
	}
	var finals []ledger.SegmentInfo
	for _, e := range seen {
		if e.Type == ledger.TypeSegmentFinal {
			finals = append(finals, *e.Segment)
		}
	}
	checkTimeline(t, "the viewer's events", finals, runs)
	report(t, figures{viewers: 1, events: len(seen), note: fmt.Sprintf("%d runs, %d segments", runs, len(finals))})
}

// speakOverWHIP runs a meeting's pipeline while a participant speaks to it over WHIP with the join
// link, until their words are recorded.
func speakOverWHIP(ctx context.Context, t *testing.T, m *agent.Meeting, store *ledger.SQLiteStore, run int, audio []float32,
	load func(context.Context) (asr.Engine, error)) {
	t.Helper()
	running, stop := context.WithCancel(ctx)
	transcribed := make(chan error, 1)
	go func() { transcribed <- m.Transcribe(running, agent.Config{}, load) }()
	defer func() {
		stop()
		if err := <-transcribed; err != nil {
			t.Errorf("run %d: %v", run, err)
		}
	}()
	base, id, joinToken := splitLink(t, m.JoinURL())
	p, err := ingest.Publish(ctx, base+"/whip/"+url.PathEscape(id)+"?name=Omar+Haddad&org=partner", joinToken,
		ingest.PublishOptions{Channel: "omar", Speed: 4, API: loopbackAPI(t), ConfirmTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("run %d: publish: %v", run, err)
	}
	if err := p.Send(ctx, audio); err != nil {
		t.Fatalf("run %d: send: %v", run, err)
	}
	if err := p.Close(ctx); err != nil {
		t.Errorf("run %d: close the publisher: %v", run, err)
	}
	prefix := fmt.Sprintf("r%d-", run)
	waitFor(t, fmt.Sprintf("run %d to record the participant's words", run), time.Minute, func() bool {
		segs, err := store.Segments(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range segs {
			if strings.HasPrefix(g.ID, prefix) && g.Channel == "omar" {
				return true
			}
		}
		return false
	})
}

// checkTimelineServed checks the meeting's timeline as its server serves it: the store's
// transcript, the recap's duration and the order of the VTT export's cues.
func checkTimelineServed(t *testing.T, base, id, token string, store *ledger.SQLiteStore) {
	t.Helper()
	segs, err := store.Segments(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var infos []ledger.SegmentInfo
	var end int64
	for _, g := range segs {
		infos = append(infos, g.SegmentInfo)
		end = max(end, g.EndMS)
	}
	checkTimeline(t, "the store's transcript", infos, 0)
	recap := server.ScopedToken(token, server.ScopeRecap)
	code, body := request(t, http.DefaultClient, http.MethodGet, base+server.RecapPath(id, token)+"&format=md", "", "", nil)
	if want := "Duration: " + detect.FormatClock(end); code != http.StatusOK || !strings.Contains(body, want) {
		t.Errorf("the recap: %d, without %q, the end of the last run:\n%s", code, want, body)
	}
	code, body = request(t, http.DefaultClient, http.MethodGet, base+server.ExportPath(id, "vtt", recap), "", "", nil)
	if code != http.StatusOK {
		t.Fatalf("the VTT export: %d", code)
	}
	var cues []string
	for _, block := range strings.Split(body, "\n\n")[1:] {
		if block = strings.TrimSpace(block); block != "" {
			cues = append(cues, strings.SplitN(block, "\n", 2)[0])
		}
	}
	if len(cues) != len(segs) {
		t.Fatalf("%d cues for %d segments:\n%s", len(cues), len(segs), body)
	}
	for i, cue := range cues {
		if cue != segs[i].ID {
			t.Fatalf("cue %d is %s, segment %s in the transcript:\n%s", i, cue, segs[i].ID, body)
		}
	}
}

// checkTimeline checks that segments, in the order given, hold each run's after the runs' before
// it, each run's starting after every segment of the earlier runs ended; and, for runs > 0, that
// each of that many runs recorded some.
func checkTimeline(t *testing.T, what string, segs []ledger.SegmentInfo, runs int) {
	t.Helper()
	runOf := func(id string) int {
		var n int
		if _, err := fmt.Sscanf(id, "r%d-", &n); err == nil {
			return n
		}
		return 1
	}
	run, end, before := 1, int64(0), int64(-1) // before: where the runs before this one ended
	counts := map[int]int{}
	for _, g := range segs {
		r := runOf(g.ID)
		if r < run {
			t.Errorf("%s: segment %s of run %d comes after run %d's", what, g.ID, r, run)
			return
		}
		if r > run {
			before, run = end, r
		}
		if g.StartMS <= before {
			t.Errorf("%s: segment %s of run %d starts at %d ms, before the runs before it ended, at %d ms", what, g.ID, r, g.StartMS, before)
		}
		end = max(end, g.EndMS)
		counts[r]++
	}
	for r := 1; r <= runs; r++ {
		if counts[r] == 0 {
			t.Errorf("%s: run %d recorded no segment (segments by run: %v)", what, r, counts)
		}
	}
}
