package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/recap"
	"github.com/ledgerline/ledgerline/stream"
)

// quietEngine hears nothing in any audio, at once: the pipeline runs without a model.
type quietEngine struct{}

func (quietEngine) Transcribe(context.Context, []float32, asr.Options) (asr.Result, error) {
	return asr.Result{}, nil
}

// loadQuiet loads the quiet engine at once.
func loadQuiet(context.Context) (asr.Engine, error) { return quietEngine{}, nil }

// slowLoad loads the quiet engine once release is closed, or fails when ctx ends first: a model
// that takes its time.
func slowLoad(release <-chan struct{}) func(context.Context) (asr.Engine, error) {
	return func(ctx context.Context) (asr.Engine, error) {
		select {
		case <-release:
			return quietEngine{}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func openMeetingStore(t *testing.T) *ledger.SQLiteStore {
	t.Helper()
	store, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledgerline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// startTestMeeting serves a meeting on loopback, closed at the end of the test.
func startTestMeeting(t *testing.T, store *ledger.SQLiteStore, cfg MeetingConfig) *Meeting {
	t.Helper()
	cfg.Store, cfg.Listen = store, "127.0.0.1:0"
	m, err := StartMeeting(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// publish opens a WHIP session to the meeting as a participant; it is up, but has sent nothing.
func publish(t *testing.T, m *Meeting, channel, query string) (*ingest.Publisher, error) {
	t.Helper()
	api, err := ingest.NewAPI(ingest.APIConfig{Loopback: true, ReportInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	endpoint := strings.Replace(strings.Split(m.OverlayURL(), "?")[0], "/m/", "/whip/", 1) + query
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := ingest.Publish(ctx, endpoint, m.token, ingest.PublishOptions{Channel: channel, Speed: 10, API: api,
		ConfirmTimeout: 100 * time.Millisecond})
	if err == nil {
		t.Cleanup(func() { _ = p.Close(context.Background()) })
	}
	return p, err
}

// send sends half a second of a tone, so that the endpoint has the participant's track.
func send(t *testing.T, p *ingest.Publisher) {
	t.Helper()
	tone := make([]float32, stream.SampleRate/2)
	for i := range tone {
		tone[i] = 0.1 * float32(i%40) / 40
	}
	if err := p.Send(context.Background(), tone); err != nil {
		t.Fatal(err)
	}
}

// closeWithin closes m and fails the test unless Close returns within d.
func closeWithin(t *testing.T, m *Meeting, d time.Duration) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(d):
		t.Fatalf("Close did not return within %v", d)
	}
}

// waitUntil polls cond until it holds, failing the test after ten seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: not in 10 s", what)
		}
	}
}

func (m *Meeting) waitingTracks() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.waiting)
}

// A meeting that is not transcribed turns participants away, saying so, and a meeting a
// participant tried to join still closes at once.
func TestMeetingNotTranscribedRefusesParticipants(t *testing.T) {
	m := startTestMeeting(t, openMeetingStore(t), MeetingConfig{TakeAudio: false})
	p, err := publish(t, m, "alice", "?name=Alice")
	if err == nil {
		send(t, p) // on the old path the track arrived here and held the endpoint open
		t.Error("a meeting that is not transcribed took a participant's audio")
	} else if !errors.Is(err, ingest.ErrWHIP) || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "this meeting is not being transcribed") {
		t.Errorf("publish: %v, want 403: this meeting is not being transcribed", err)
	}
	closeWithin(t, m, time.Second)
}

// A participant who joins while the speech engine still loads waits for it without holding the
// meeting: closing it then returns at once, and the transcription ends with it.
func TestMeetingClosesWhileEngineLoads(t *testing.T) {
	m := startTestMeeting(t, openMeetingStore(t), MeetingConfig{TakeAudio: true})
	transcribed := make(chan error, 1)
	go func() { transcribed <- m.Transcribe(context.Background(), Config{}, slowLoad(nil)) }()
	p, err := publish(t, m, "alice", "?name=Alice")
	if err != nil {
		t.Fatal(err)
	}
	send(t, p)
	waitUntil(t, "the track waits for the engine", func() bool { return m.waitingTracks() == 1 })
	closeWithin(t, m, time.Second)
	if err := <-transcribed; !errors.Is(err, context.Canceled) {
		t.Errorf("Transcribe of a closed meeting: %v, want the load cancelled", err)
	}
	if _, err := publish(t, m, "bob", ""); err == nil {
		t.Error("a closed meeting took a participant")
	}
}

// A participant who joins while the engine loads is transcribed once it has loaded, named as they
// announced themselves.
func TestMeetingJoinsTracksThatArriveWhileEngineLoads(t *testing.T) {
	store := openMeetingStore(t)
	m := startTestMeeting(t, store, MeetingConfig{TakeAudio: true})
	release := make(chan struct{})
	ctx, stop := context.WithCancel(context.Background())
	transcribed := make(chan error, 1)
	go func() { transcribed <- m.Transcribe(ctx, Config{}, slowLoad(release)) }()
	p, err := publish(t, m, "alice", "?name=Alice+Martin&org=partner")
	if err != nil {
		t.Fatal(err)
	}
	send(t, p)
	waitUntil(t, "the track waits for the engine", func() bool { return m.waitingTracks() == 1 })
	close(release)
	// Of no deal: her side is known, her organisation is not.
	want := ledger.SpeakerInfo{ID: "alice", Channel: "alice", Name: "Alice Martin", Role: ledger.RolePartner}
	waitUntil(t, "the participant is announced", func() bool {
		sp, err := store.Speaker(ctx, m.ID(), "alice")
		return err == nil && sp == want
	})
	stop()
	if err := <-transcribed; err != nil {
		t.Errorf("Transcribe: %v", err)
	}
	// Once the pipeline has ended, participants are turned away.
	if _, err := publish(t, m, "bob", ""); err == nil || !strings.Contains(err.Error(), "not being transcribed") {
		t.Errorf("publish after the pipeline ended: %v, want a refusal", err)
	}
	closeWithin(t, m, time.Second)
}

// A publisher turned away leaves nothing behind: the name it announced never reaches the track
// that holds the channel.
func TestMeetingRefusedPublisherLeavesNoName(t *testing.T) {
	store := openMeetingStore(t)
	m := startTestMeeting(t, store, MeetingConfig{TakeAudio: true})
	ctx, stop := context.WithCancel(context.Background())
	transcribed := make(chan error, 1)
	go func() { transcribed <- m.Transcribe(ctx, Config{}, loadQuiet) }()
	defer func() {
		stop()
		<-transcribed
	}()

	alice, err := publish(t, m, "alice", "?name=Alice+Martin&org=partner")
	if err != nil {
		t.Fatal(err)
	}
	// Alice's session is up, her track not yet sent: another publisher asks for her channel.
	if _, err := publish(t, m, "alice", "?name=Mallory&org=other"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("a second publisher on a live channel: %v, want 409", err)
	}
	send(t, alice)
	var sp ledger.SpeakerInfo
	waitUntil(t, "the participant is announced", func() bool {
		sp, err = store.Speaker(ctx, m.ID(), "alice")
		return err == nil
	})
	if sp.Name != "Alice Martin" || sp.Role != ledger.RolePartner {
		t.Errorf("the track on alice is attributed to %+v, want Alice Martin (partner)", sp)
	}
}

// A publisher who names no side of the deal is turned away at the POST, told the sides there are,
// and leaves nothing in the record.
func TestMeetingRefusesUnknownSide(t *testing.T) {
	store := openMeetingStore(t)
	m := startTestMeeting(t, store, MeetingConfig{TakeAudio: true})
	ctx, stop := context.WithCancel(context.Background())
	transcribed := make(chan error, 1)
	go func() { transcribed <- m.Transcribe(ctx, Config{}, loadQuiet) }()
	defer func() {
		stop()
		<-transcribed
	}()
	_, err := publish(t, m, "mallory", "?name=Mallory&org=bogus")
	if err == nil || !errors.Is(err, ingest.ErrWHIP) || !strings.Contains(err.Error(), "403") ||
		!strings.Contains(err.Error(), "vendor, partner, buyer or other") {
		t.Fatalf("publish with org=bogus: %v, want 403 naming the sides", err)
	}
	if ps, err := store.Participants(ctx, m.ID()); err != nil || len(ps) != 0 {
		t.Errorf("participants after the refusal: %+v, %v; want none", ps, err)
	}
}

// In a meeting of a deal, a participant's side gives their organisation: the deal's on that side.
func TestMeetingOfADealNamesParticipantsOrganisations(t *testing.T) {
	store := openMeetingStore(t)
	ctx, stop := context.WithCancel(context.Background())
	if err := store.CreateDeal(ctx, ledger.Deal{ID: "initech", Name: "Initech ERP", Account: "Initech", Vendor: "Acme", Partner: "Globex"}); err != nil {
		t.Fatal(err)
	}
	m := startTestMeeting(t, store, MeetingConfig{TakeAudio: true, Deal: "initech"})
	if got := m.withOrgs(map[string]Speaker{"mic": {Name: "Me", Role: ledger.RoleVendor}}); got["mic"] != (Speaker{Name: "Me", Org: "Acme", Role: ledger.RoleVendor}) {
		t.Errorf("the mic's speaker with run --org vendor: %+v, want of Acme", got["mic"])
	}
	transcribed := make(chan error, 1)
	go func() { transcribed <- m.Transcribe(ctx, Config{}, loadQuiet) }()
	defer func() {
		stop()
		<-transcribed
	}()
	p, err := publish(t, m, "omar", "?name=Omar&org=partner")
	if err != nil {
		t.Fatal(err)
	}
	send(t, p)
	want := ledger.SpeakerInfo{ID: "omar", Channel: "omar", Name: "Omar", Org: "Globex", Role: ledger.RolePartner}
	waitUntil(t, "the participant is announced", func() bool {
		sp, err := store.Speaker(ctx, m.ID(), "omar")
		return err == nil && sp == want
	})
	ps, err := store.Participants(ctx, m.ID())
	if err != nil || len(ps) != 1 || ps[0].Org != "Globex" || ps[0].Role != ledger.RolePartner {
		t.Errorf("participants = %+v, %v; want Omar of Globex, partner", ps, err)
	}
}

// A meeting continued by a later run gives that run's IDs a prefix of their own, counted from the
// runs the store holds.
func TestMeetingContinuedByLaterRuns(t *testing.T) {
	store := openMeetingStore(t)
	ctx := context.Background()
	id := ""
	for run := 1; run <= 3; run++ {
		m := startTestMeeting(t, store, MeetingConfig{Continue: id, Title: "Weekly"})
		if id == "" {
			id = m.ID()
		}
		want := ""
		if run > 1 {
			want = fmt.Sprintf("r%d-", run)
		}
		if m.ID() != id || m.run.idPrefix != want {
			t.Fatalf("run %d: meeting %s with prefix %q, want %s with %q", run, m.ID(), m.run.idPrefix, id, want)
		}
		src, err := stream.NewReplaySamples(make([]float32, stream.SampleRate/10), "call", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Transcribe(ctx, Config{Sources: []stream.Source{src}}, loadQuiet); err != nil {
			t.Fatal(err)
		}
		if err := m.Transcribe(ctx, Config{Sources: []stream.Source{src}}, loadQuiet); err == nil {
			t.Fatal("a meeting was transcribed twice")
		}
		closeWithin(t, m, time.Second)
	}
	if runs, err := store.Runs(ctx, id); runs != 3 || err != nil {
		t.Errorf("runs: %d, %v; want 3", runs, err)
	}
	if _, err := StartMeeting(ctx, MeetingConfig{Store: store, Listen: "127.0.0.1:0", Continue: "nope"}); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("continuing an unknown meeting: %v, want ErrNotFound", err)
	}
}

// A meeting continued twice keeps one clock: each run's segments come after every segment of the
// runs before it, in the store's transcript order and in the exports, and the recap's duration
// covers every run.
func TestMeetingContinuedRunsFollowEachOtherOnTheClock(t *testing.T) {
	store := openMeetingStore(t)
	ctx := context.Background()
	speech := sampleSpeech(t, 4)
	id := ""
	for range 3 {
		m := startTestMeeting(t, store, MeetingConfig{Continue: id, Title: "Weekly"})
		id = m.ID()
		src, err := stream.NewReplaySamples(speech, "mic", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		load := func(context.Context) (asr.Engine, error) { return sayingEngine{"Let us go through the numbers."}, nil }
		if err := m.Transcribe(ctx, Config{Sources: []stream.Source{src}, Speakers: map[string]Speaker{"mic": {Name: "Dana"}}}, load); err != nil {
			t.Fatal(err)
		}
		closeWithin(t, m, 5*time.Second)
	}

	segs, err := store.Segments(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// The runs' IDs tell them apart: "r2-…" and "r3-…" for the later ones.
	runOf := func(segID string) int {
		var n int
		if _, err := fmt.Sscanf(segID, "r%d-", &n); err == nil {
			return n
		}
		return 1
	}
	ends := map[int]int64{} // the end of each run's last segment
	cur := 1
	for _, g := range segs {
		r := runOf(g.ID)
		switch {
		case r < cur:
			t.Fatalf("segment %s (%d-%d ms) of run %d comes after run %d's in the transcript", g.ID, g.StartMS, g.EndMS, r, cur)
		case r > cur && g.StartMS <= ends[cur]:
			t.Errorf("run %d starts at %d ms, before run %d ended at %d ms", r, g.StartMS, cur, ends[cur])
		}
		cur = r
		ends[r] = max(ends[r], g.EndMS)
	}
	if len(ends) != 3 {
		t.Fatalf("segments of runs %v, want three runs'", ends)
	}
	if ends[2]-ends[1] < runGap.Milliseconds() || ends[3]-ends[2] < runGap.Milliseconds() {
		t.Errorf("runs ending at %v ms: each later run should end a gap and its own speech later", ends)
	}

	d, err := recap.LoadMeeting(ctx, store, id)
	if err != nil {
		t.Fatal(err)
	}
	if r := recap.New(d); r.DurationMS != ends[3] {
		t.Errorf("recap duration %d ms, want the end of the third run, %d ms", r.DurationMS, ends[3])
	}
	vtt, err := recap.LookupExport("vtt")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := vtt.Export(&b, d, recap.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	// Each cue is named after its segment.
	var cues []string
	for _, block := range strings.Split(b.String(), "\n\n")[1:] {
		cues = append(cues, strings.SplitN(block, "\n", 2)[0])
	}
	if len(cues) != len(segs) {
		t.Fatalf("%d cues for %d segments:\n%s", len(cues), len(segs), b.String())
	}
	for i := 1; i < len(cues); i++ {
		if runOf(cues[i]) < runOf(cues[i-1]) {
			t.Fatalf("cue %s follows %s in the VTT export:\n%s", cues[i], cues[i-1], b.String())
		}
	}

	// Every run stopped by itself: none was closed for another.
	events, err := store.Since(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Type == ledger.TypeMeetingState && e.Reason == reasonUnstopped {
			t.Errorf("a run that stopped was closed again: %+v", e)
		}
	}
}

// A meeting whose last run ended without recording its stop (its process killed) is recorded as
// stopped when it is continued, before the next run starts; a run still paused likewise.
func TestMeetingContinuedAfterARunThatNeverStopped(t *testing.T) {
	for _, left := range []ledger.MeetingState{ledger.MeetingRecording, ledger.MeetingPaused} {
		t.Run(string(left), func(t *testing.T) {
			store := openMeetingStore(t)
			ctx := context.Background()
			m := startTestMeeting(t, store, MeetingConfig{Title: "Weekly"})
			id := m.ID()
			closeWithin(t, m, 5*time.Second)
			// What a run leaves when it is killed: its start, some words, no stop.
			for _, e := range []ledger.Event{
				{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording, Reason: ledger.ReasonStarted},
				{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "mic-1", Channel: "mic", StartMS: 200, EndMS: 2500, Text: "hello"}},
				{Type: ledger.TypeMeetingState, State: left, Reason: "user"},
			} {
				e.Meeting = id
				if _, err := store.Append(ctx, e); err != nil {
					t.Fatal(err)
				}
			}

			m = startTestMeeting(t, store, MeetingConfig{Continue: id})
			src, err := stream.NewReplaySamples(make([]float32, stream.SampleRate/10), "mic", 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Transcribe(ctx, Config{Sources: []stream.Source{src}}, loadQuiet); err != nil {
				t.Fatal(err)
			}
			closeWithin(t, m, 5*time.Second)

			events, err := store.Since(ctx, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			var states []string
			for _, e := range events {
				if e.Type == ledger.TypeMeetingState {
					states = append(states, fmt.Sprintf("%s (%s)", e.State, e.Reason))
				}
			}
			want := []string{"recording (started)", string(left) + " (user)", "stopped (" + reasonUnstopped + ")",
				"recording (started)", "stopped (sources ended)"}
			if strings.Join(states, ", ") != strings.Join(want, ", ") {
				t.Errorf("states %q, want %q", states, want)
			}
			if m.run.startAt != 2500*time.Millisecond+runGap {
				t.Errorf("the next run starts at %v, want after the killed run's words, at %v", m.run.startAt, 2500*time.Millisecond+runGap)
			}
		})
	}
}

// Viewers pause and resume the meeting while it is transcribed, and are told the state it stands
// in; once transcription has ended they cannot.
func TestMeetingPauseAndResumeFromTheOverlay(t *testing.T) {
	store := openMeetingStore(t)
	m := startTestMeeting(t, store, MeetingConfig{TakeAudio: true})
	ctx, stop := context.WithCancel(context.Background())
	transcribed := make(chan error, 1)
	go func() { transcribed <- m.Transcribe(ctx, Config{}, loadQuiet) }()
	post := func(verb string) (int, ledger.Event) {
		t.Helper()
		u := strings.Replace(m.OverlayURL(), "?t=", "/"+verb+"?t=", 1)
		req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Ledgerline", "test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e ledger.Event
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, e
	}
	waitUntil(t, "the pipeline runs", func() bool {
		st, err := store.LastState(ctx, m.ID())
		return err == nil && st.State == ledger.MeetingRecording
	})
	code, paused := post("pause")
	if code != http.StatusOK || paused.State != ledger.MeetingPaused {
		t.Fatalf("pause: %d %+v", code, paused)
	}
	if code, again := post("pause"); code != http.StatusOK || again.Seq != paused.Seq {
		t.Errorf("pausing again: %d %+v, want the standing pause (seq %d)", code, again, paused.Seq)
	}
	if code, resumed := post("resume"); code != http.StatusOK || resumed.State != ledger.MeetingRecording || resumed.Seq <= paused.Seq {
		t.Errorf("resume: %d %+v", code, resumed)
	}
	stop()
	if err := <-transcribed; err != nil {
		t.Fatal(err)
	}
	if code, _ := post("pause"); code != http.StatusConflict {
		t.Errorf("pause once transcription ended: %d, want 409", code)
	}
}

// A publisher's name and side are checked as the overlay checks what viewers type: a name with
// a line break, a bidirectional override or of any length is turned away with what to change,
// before any WebRTC session exists.
func TestMeetingChecksWhatPublishersAnnounce(t *testing.T) {
	m := startTestMeeting(t, openMeetingStore(t), MeetingConfig{TakeAudio: true})
	endpoint := strings.Replace(strings.Split(m.OverlayURL(), "?")[0], "/m/", "/whip/", 1)
	post := func(query url.Values) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, endpoint+"?"+query.Encode(), strings.NewReader("not an offer"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+m.token)
		req.Header.Set("Content-Type", "text/plain")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, q := range []url.Values{
		{"name": {"Dana\nCEO: approved"}},
		{"name": {"Dana\u202enimdA"}},
		{"name": {"Dana\u2066"}},
		{"name": {"Da\u200bna"}},
		{"name": {strings.Repeat("D", 81)}},
		{"name": {"Dana"}, "org": {"partner\u202e"}},
		{"name": {"Dana"}, "org": {"<script>" + strings.Repeat("x", 100)}},
	} {
		code, body := post(q)
		if code != http.StatusForbidden || !strings.Contains(body, "characters") || strings.ContainsAny(body, "\u202e\u2066\u200b<") {
			t.Errorf("%q: %d %q, want 403 saying what to change, without echoing it", q, code, body)
		}
	}
	// Text as the join page sends it passes, to the offer's own checks.
	if code, body := post(url.Values{"name": {"  Zoë 👩\u200d💻 "}, "org": {"Partner"}}); code != http.StatusUnsupportedMediaType {
		t.Errorf("a fine name: %d %q, want it past the checks (415 for this body)", code, body)
	}
	name, err := m.participant(url.Values{"name": {"  Zoë 👩\u200d💻 "}})
	if err != nil || name.Name != "Zoë 👩\u200d💻" {
		t.Errorf("participant: %+v, %v; want the name trimmed", name, err)
	}
}

// Listening on every interface, the links carry an address that another machine can reach, and
// that works; on loopback, they stay there.
func TestMeetingLinksReachableFromOtherMachines(t *testing.T) {
	store := openMeetingStore(t)
	for _, listen := range []string{"0.0.0.0:0", "[::]:0", "127.0.0.1:0", "localhost:0"} {
		m, err := StartMeeting(context.Background(), MeetingConfig{Store: store, Listen: listen})
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(m.OverlayURL())
		if err != nil {
			t.Fatal(err)
		}
		host := u.Hostname()
		ip := net.ParseIP(host)
		switch loopback := strings.HasPrefix(listen, "127.") || strings.HasPrefix(listen, "localhost"); {
		case loopback && (ip == nil || !ip.IsLoopback()):
			t.Errorf("listening on %s: link %s, want a loopback address", listen, u)
		case !loopback && (host == "localhost" || ip != nil && (ip.IsLoopback() || ip.IsUnspecified())):
			t.Errorf("listening on %s: link %s, which no other machine can open", listen, u)
		}
		if ip != nil { // an address of this machine: the link opens here too
			resp, err := http.Get(m.OverlayURL())
			if err != nil {
				t.Errorf("listening on %s: GET %s: %v", listen, u, err)
			} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
				t.Errorf("listening on %s: GET %s: %d", listen, u, resp.StatusCode)
			}
		}
		closeWithin(t, m, 10*time.Second)
	}
}

func TestReachableHost(t *testing.T) {
	ips := func(s ...string) []net.IP {
		var out []net.IP
		for _, a := range s {
			out = append(out, net.ParseIP(a))
		}
		return out
	}
	for _, tc := range []struct {
		ips  []net.IP
		name string
		want string
	}{
		{ips("192.168.1.20", "10.0.0.5"), "laptop", "192.168.1.20"},
		{ips("127.0.0.1", "::1", "fe80::1", "169.254.3.4", "10.0.0.5"), "laptop", "10.0.0.5"},
		{ips("2001:db8::5", "10.0.0.5"), "laptop", "10.0.0.5"},
		{ips("127.0.0.1", "fe80::1", "2001:db8::5"), "laptop", "2001:db8::5"},
		{ips("127.0.0.1", "::1"), "laptop", "laptop"},
		{nil, "", "localhost"},
	} {
		if got := reachableHost(tc.ips, tc.name); got != tc.want {
			t.Errorf("reachableHost(%v, %q) = %q, want %q", tc.ips, tc.name, got, tc.want)
		}
	}
}

// One process serves a meeting at a time: a second Meeting for it, from the same store or from
// another store on the same file, is refused, told who serves it and what to do, and leaves the
// record untouched; once the first closes, the second starts at once, as the meeting's next run.
func TestMeetingServedByOneProcessAtATime(t *testing.T) {
	store := openMeetingStore(t)
	ctx := context.Background()
	first := startTestMeeting(t, store, MeetingConfig{Title: "Weekly"})
	src, err := stream.NewReplaySamples(make([]float32, stream.SampleRate/10), "call", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Transcribe(ctx, Config{Sources: []stream.Source{src}}, loadQuiet); err != nil {
		t.Fatal(err)
	}
	recorded, err := store.Since(ctx, first.ID(), 0)
	if err != nil {
		t.Fatal(err)
	}

	other, err := ledger.OpenSQLite(store.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	for name, s := range map[string]*ledger.SQLiteStore{"same store": store, "another store": other} {
		m, err := StartMeeting(ctx, MeetingConfig{Store: s, Listen: "127.0.0.1:0", Continue: first.ID()})
		if err == nil {
			m.Close()
			t.Fatalf("%s: a second Meeting served the meeting", name)
		}
		msg := err.Error()
		if !errors.Is(err, ledger.ErrLeased) || !strings.Contains(msg, first.lease.Owner) ||
			!strings.Contains(msg, first.base) || !strings.Contains(msg, "stop it there") {
			t.Errorf("%s: refused with %q; want ledger.ErrLeased naming %q at %s and what to do", name, msg, first.lease.Owner, first.base)
		}
	}
	if got, err := store.Since(ctx, first.ID(), 0); err != nil || len(got) != len(recorded) {
		t.Errorf("the refused Meetings wrote to the record: %d events, want %d (%v)", len(got), len(recorded), err)
	}

	closeWithin(t, first, time.Second)
	second := startTestMeeting(t, other, MeetingConfig{Continue: first.ID()})
	if second.run.idPrefix != "r2-" || second.lease.Epoch != 2 {
		t.Errorf("after the first closed: run prefix %q, lease epoch %d; want r2-, 2", second.run.idPrefix, second.lease.Epoch)
	}
}

// A Meeting whose lease another process took over (it was paused past the lease's expiry) stops its
// pipeline at its next renewal, says why, and records nothing more.
func TestMeetingStopsWhenItsLeaseIsTakenOver(t *testing.T) {
	store := openMeetingStore(t)
	ctx := context.Background()
	m := startTestMeeting(t, store, MeetingConfig{TakeAudio: true})
	done := make(chan error, 1)
	go func() { done <- m.Transcribe(ctx, Config{}, slowLoad(nil)) }()

	// What another process finds once the lease expired unrenewed: the lease free to take.
	if err := store.Release(ctx, m.lease); err != nil {
		t.Fatal(err)
	}
	taker, err := store.Acquire(ctx, m.ID(), "another process", "http://elsewhere", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	before, err := store.Since(ctx, m.ID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	m.renew()
	select {
	case err := <-done:
		if !errors.Is(err, ledger.ErrFenced) || !strings.Contains(err.Error(), "another process took it over") {
			t.Errorf("Transcribe = %v, want ledger.ErrFenced saying the meeting was taken over", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the pipeline went on after its lease was lost")
	}
	if _, err := (ownedLog{m}).Append(ctx, ledger.Event{Type: ledger.TypeMeetingState, Meeting: m.ID(),
		State: ledger.MeetingStopped}); !errors.Is(err, ledger.ErrFenced) {
		t.Errorf("Append after the lease was lost = %v, want ledger.ErrFenced", err)
	}
	closeWithin(t, m, time.Second)
	if after, err := store.Since(ctx, m.ID(), 0); err != nil || len(after) != len(before) {
		t.Errorf("the Meeting that lost its lease wrote %d events (%v)", len(after)-len(before), err)
	}
	if _, err := store.Renew(ctx, taker); err != nil {
		t.Errorf("closing the Meeting that lost its lease released the new owner's: %v", err)
	}
}

// Pages of an allowed origin (a CRM embedding the overlay) may open the meeting's socket; others
// may not.
func TestMeetingAllowsNamedOrigins(t *testing.T) {
	store := openMeetingStore(t)
	m := startTestMeeting(t, store, MeetingConfig{AllowedOrigins: []string{"https://crm.example.com"}})
	ws := "ws" + strings.TrimPrefix(strings.Replace(m.OverlayURL(), "?t=", "/ws?t=", 1), "http")
	for origin, want := range map[string]int{"https://crm.example.com": http.StatusSwitchingProtocols, "https://evil.example": http.StatusForbidden} {
		conn, resp, err := websocket.DefaultDialer.Dial(ws, http.Header{"Origin": {origin}})
		if conn != nil {
			conn.Close()
		}
		if resp == nil || resp.StatusCode != want {
			t.Errorf("socket from %s: %v, %v; want %d", origin, resp, err, want)
		}
	}
}
