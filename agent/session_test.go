package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/models"
	"github.com/ledgerline/ledgerline/stream"
)

var (
	engineOnce sync.Once
	engine     *asr.Whisper
	engineErr  error
	modelDir   string
)

// testEngine loads one random-weight model for the whole test binary.
func testEngine(t *testing.T) *asr.Whisper {
	t.Helper()
	engineOnce.Do(func() {
		modelDir, engineErr = os.MkdirTemp("", "ledgerline-agent-")
		if engineErr != nil {
			return
		}
		path := filepath.Join(modelDir, "ggml-test.bin")
		if engineErr = models.GenerateRandomFile(path, models.ShapeTest, 5); engineErr != nil {
			return
		}
		engine, engineErr = asr.NewWhisper(asr.WhisperConfig{ModelPath: path, Workers: 2, Threads: 1})
	})
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return engine
}

func TestMain(m *testing.M) {
	code := m.Run()
	if engine != nil {
		engine.Close()
	}
	if modelDir != "" {
		os.RemoveAll(modelDir)
	}
	os.Exit(code)
}

func sampleSpeech(t *testing.T, seconds float64) []float32 {
	t.Helper()
	a, err := stream.LoadWAV("../testdata/sample-call.wav")
	if err != nil {
		t.Fatal(err)
	}
	return a.Samples[:int(seconds*stream.SampleRate)]
}

func TestSessionTurnsSpeechIntoOrderedEvents(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	sub := log.Subscribe("m1", 4096)
	defer sub.Close()
	speech := sampleSpeech(t, 12)
	mic, err := stream.NewReplaySamples(speech, "mic", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{
		Meeting: "m1", Engine: testEngine(t), Log: log, Sources: []stream.Source{mic},
		Options:  asr.Options{Language: "en", Threads: 1, MaxFallbacks: -1},
		Speakers: map[string]Speaker{"mic": {Name: "Dana", Org: "vendor"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	leaktest.Check(t)
	if err := s.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := s.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run: %v, want ErrRunning", err)
	}

	stored, err := log.Since(context.Background(), "m1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) < 4 {
		t.Fatalf("%d stored events, want the state changes, the speaker and some finals", len(stored))
	}
	if first := stored[0]; first.Type != ledger.TypeMeetingState || first.State != ledger.MeetingRecording {
		t.Errorf("first event %+v, want recording", first)
	}
	if last := stored[len(stored)-1]; last.Type != ledger.TypeMeetingState || last.State != ledger.MeetingStopped || last.Reason != "sources ended" {
		t.Errorf("last event %+v, want stopped because the sources ended", last)
	}
	finals := 0
	var prevEnd int64
	audioMS := int64(len(speech) * 1000 / stream.SampleRate)
	for i, e := range stored {
		if e.Seq != int64(i+1) {
			t.Errorf("event %d has seq %d", i, e.Seq)
		}
		if e.Type != ledger.TypeSegmentFinal {
			continue
		}
		finals++
		seg := e.Segment
		if seg.Channel != "mic" || seg.Speaker != "mic" || seg.Org != "vendor" {
			t.Errorf("final %+v is not attributed to the mic's speaker", seg)
		}
		if seg.StartMS < prevEnd-1 || seg.EndMS < seg.StartMS || seg.EndMS > audioMS {
			t.Errorf("final %+v overlaps the previous one (end %d) or lies outside the %d ms of audio", seg, prevEnd, audioMS)
		}
		prevEnd = seg.EndMS
	}
	if finals == 0 {
		t.Error("no final segments from 12 s of speech")
	}
	if st := s.Stats()["mic"]; st.Decodes == 0 || st.Finals != finals {
		t.Errorf("stats %+v: want decodes and %d finals", st, finals)
	}
	// Every stored event also reached the live subscriber, in order, with partials and levels
	// between them.
	var live []ledger.Event
	levels := 0
	for len(live) < len(stored) {
		select {
		case e := <-sub.C():
			switch {
			case e.Type == ledger.TypeCaptureLevel:
				levels++
			case e.Type.Stored():
				live = append(live, e)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("subscriber got %d of %d stored events", len(live), len(stored))
		}
	}
	for i := range live {
		if live[i].Seq != stored[i].Seq {
			t.Fatalf("live event %d has seq %d, stored %d", i, live[i].Seq, stored[i].Seq)
		}
	}
	// 12 s of audio: a level each quarter second or so.
	if levels < 20 {
		t.Errorf("%d capture levels published for 12 s of audio, want about 46", levels)
	}
}

// gate is a source the test feeds by hand.
type gate struct {
	frames chan stream.Frame
}

func (g *gate) Channels() []string { return []string{"system"} }

func (g *gate) Start(ctx context.Context, out chan<- stream.Frame) error {
	for {
		select {
		case f, ok := <-g.frames:
			if !ok {
				return nil
			}
			select {
			case out <- f:
			case <-ctx.Done():
				return ctx.Err()
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func TestSessionPauseDropsAudioAndStopFlushes(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	src := &gate{frames: make(chan stream.Frame)}
	s, err := New(Config{Meeting: "m2", Engine: testEngine(t), Log: log, Sources: []stream.Source{src},
		Options: asr.Options{Language: "en", Threads: 1, MaxFallbacks: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Pause(); err == nil {
		t.Error("Pause before Run succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	speech := sampleSpeech(t, 6)
	frame := func(i int) stream.Frame {
		const n = stream.SampleRate / 50
		return stream.Frame{Channel: "system", At: time.Duration(i) * 20 * time.Millisecond, Samples: speech[i*n : (i+1)*n]}
	}
	// The first second is heard; the rest arrives while paused and must be dropped.
	for i := range 50 {
		src.frames <- frame(i)
	}
	waitFor(t, func() bool { return s.isRunning() })
	if err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	for i := 50; i < 300; i++ {
		src.frames <- frame(i)
	}
	if err := s.Resume(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	stored, _ := log.Since(context.Background(), "m2", 0)
	var states []ledger.MeetingState
	for _, e := range stored {
		switch e.Type {
		case ledger.TypeMeetingState:
			states = append(states, e.State)
		case ledger.TypeSegmentFinal:
			if e.Segment.StartMS >= 1300 { // 1 s heard, plus the segmenter's post-roll and rounding
				t.Errorf("final %+v comes from audio sent while paused", e.Segment)
			}
		}
	}
	want := []ledger.MeetingState{ledger.MeetingRecording, ledger.MeetingPaused, ledger.MeetingRecording, ledger.MeetingStopped}
	if len(states) != len(want) {
		t.Fatalf("states %v, want %v", states, want)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Fatalf("states %v, want %v", states, want)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		runtime.Gosched()
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	for name, cfg := range map[string]Config{
		"no meeting": {Engine: testEngine(t), Log: log, Sources: []stream.Source{&gate{}}},
		"no engine":  {Meeting: "m", Log: log, Sources: []stream.Source{&gate{}}},
		"no source":  {Meeting: "m", Engine: testEngine(t), Log: log},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// sayingEngine hears the same sentence in any audio, its words spread evenly
// over the window: a stand-in for a model that understands speech, so the
// flow from finals to commitments can be checked with known words.
type sayingEngine struct{ sentence string }

func (e sayingEngine) Transcribe(ctx context.Context, pcm []float32, opt asr.Options) (asr.Result, error) {
	words := strings.Fields(e.sentence)
	dur := time.Duration(len(pcm)) * time.Second / asr.SampleRate
	seg := asr.Segment{End: dur, Text: e.sentence, Language: "en"}
	for i, w := range words {
		seg.Tokens = append(seg.Tokens, asr.Token{ID: i, Text: " " + w, P: 0.9,
			Start: dur * time.Duration(i) / time.Duration(len(words)), End: dur * time.Duration(i+1) / time.Duration(len(words))})
	}
	return asr.Result{Language: "en", Segments: []asr.Segment{seg}}, nil
}

func TestSessionRecordsCommitmentsAfterTheirFinal(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	mic, err := stream.NewReplaySamples(sampleSpeech(t, 5), "mic", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	monday := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	s, err := New(Config{Meeting: "m3", Engine: sayingEngine{"I will send you the pricing by Friday."}, Log: log,
		// Her side alone is known: it stands for her organisation in the commitment.
		Sources: []stream.Source{mic}, Speakers: map[string]Speaker{"mic": {Name: "Dana", Role: ledger.RoleVendor}}, MeetingDate: monday})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	stored, _ := log.Since(context.Background(), "m3", 0)
	finals := map[string]ledger.Event{}
	var commitments []ledger.Event
	for _, e := range stored {
		switch e.Type {
		case ledger.TypeSegmentFinal:
			finals[e.Segment.ID] = e
		case ledger.TypeCommitmentUpsert:
			commitments = append(commitments, e)
		}
	}
	if len(commitments) == 0 {
		t.Fatalf("no commitment recorded; stored: %+v", stored)
	}
	// The same promise, said in every final, is one commitment with more evidence each time.
	ids := map[string]bool{}
	for _, e := range commitments {
		ids[e.Commitment.ID] = true
	}
	if len(ids) != 1 {
		t.Errorf("%d commitments for one promise repeated: %v", len(ids), ids)
	}
	if last := commitments[len(commitments)-1].Commitment; len(commitments) > 1 && len(last.SegmentIDs) != len(commitments) {
		t.Errorf("merged commitment %+v cites %d segments, want %d", last, len(last.SegmentIDs), len(commitments))
	}
	for _, e := range commitments {
		c := e.Commitment
		if c.Owner != "Dana" || c.OwnerOrg != "vendor" || c.Due != "2026-12-04" || c.Status != ledger.StatusOpen || !strings.Contains(c.What, "pricing") {
			t.Errorf("commitment %+v, want Dana (vendor) to send the pricing by 2026-12-04", c)
		}
		final, ok := finals[c.SegmentIDs[len(c.SegmentIDs)-1]]
		if !ok || final.Seq > e.Seq || !strings.Contains(strings.ToLower(final.Segment.Text), "friday") && !strings.Contains(c.Quote, "Friday") {
			t.Errorf("commitment %+v does not follow the final %+v that states it", c, final.Segment)
		}
	}
}

func TestSessionAcceptsSourcesThatJoinLater(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	sub := log.Subscribe("m4", 4096)
	defer sub.Close()
	s, err := New(Config{Meeting: "m4", Engine: sayingEngine{"We will share the deployment checklist."}, Log: log, KeepOpen: true,
		Sources: []stream.Source{&gate{frames: make(chan stream.Frame)}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	alice, err := stream.NewReplaySamples(sampleSpeech(t, 4), "alice", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	track := &endedSource{Source: alice, done: make(chan struct{})}
	waitFor(t, func() bool {
		return s.AddSource(track, map[string]Speaker{"alice": {Name: "Alice", Org: "Globex", Role: ledger.RolePartner}}) == nil
	})
	// The joined track ends; the meeting goes on until it is stopped, and
	// then flushes what alice said.
	<-track.done
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	stored, _ := log.Since(context.Background(), "m4", 0)
	var named, finals bool
	for _, e := range stored {
		if e.Type == ledger.TypeSpeakerUpdate && e.Speaker.ID == "alice" && e.Speaker.Org == "Globex" && e.Speaker.Role == ledger.RolePartner {
			named = true
		}
		if e.Type == ledger.TypeSegmentFinal && e.Segment.Speaker == "alice" && e.Segment.Org == "Globex" && e.Segment.Role == ledger.RolePartner {
			finals = true
		}
	}
	if !named || !finals {
		t.Errorf("joined source: speaker announced %v, finals attributed %v; events %+v", named, finals, stored)
	}
}

// endedSource tells when its source has sent everything.
type endedSource struct {
	stream.Source
	done chan struct{}
}

func (e *endedSource) Start(ctx context.Context, out chan<- stream.Frame) error {
	defer close(e.done)
	return e.Source.Start(ctx, out)
}

func (s *Session) isRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

func TestSessionRefinerDismissesAndFailureLeavesRulesStanding(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		want   string
	}{
		"model dismisses":  {http.StatusOK, ledger.StatusDropped},
		"endpoint failing": {http.StatusServiceUnavailable, ledger.StatusOpen},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			fmt.Fprint(w, `{"choices":[{"message":{"content":"{\"verdicts\":[{\"index\":0,\"keep\":false}]}"}}]}`)
		}))
		log := ledger.NewMemLog()
		mic, err := stream.NewReplaySamples(sampleSpeech(t, 3), "mic", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{Meeting: "m5", Engine: sayingEngine{"I will send you the pricing by Friday."}, Log: log,
			Sources: []stream.Source{mic}, Speakers: map[string]Speaker{"mic": {Name: "Dana", Org: "vendor"}},
			Refiner: &detect.ChatRefiner{URL: srv.URL}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		stored, _ := log.Since(context.Background(), "m5", 0)
		last := map[string]string{}
		for _, e := range stored {
			if e.Type == ledger.TypeCommitmentUpsert {
				last[e.Commitment.ID] = e.Commitment.Status
			}
		}
		if len(last) == 0 {
			t.Errorf("%s: no commitment recorded", name)
		}
		for id, st := range last {
			if st != tc.want {
				t.Errorf("%s: commitment %s ends %q, want %q", name, id, st, tc.want)
			}
		}
		srv.Close()
		log.Close()
	}
}

func TestRenamedSpeakersCarryTheirNewNames(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	s, err := New(Config{Meeting: "m6", Engine: sayingEngine{"x"}, Log: log, Sources: []stream.Source{&gate{}},
		Speakers: map[string]Speaker{"mic": {Name: "Me", Org: "vendor"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	voice, err := s.speaker(ctx, "system", "system/spk1")
	if err != nil || voice.Name != "Speaker 1" {
		t.Fatalf("first voice %+v, %v; want Speaker 1", voice, err)
	}
	s.Rename("system/spk1", Speaker{Name: "Laura Chen", Org: "buyer"})
	s.Rename("mic", Speaker{Name: "Dana Whitfield", Org: "vendor"})
	if sp, _ := s.speaker(ctx, "system", "system/spk1"); sp != (Speaker{Name: "Laura Chen", Org: "buyer"}) {
		t.Errorf("renamed voice is %+v", sp)
	}
	if sp, _ := s.speaker(ctx, "mic", "mic"); sp != (Speaker{Name: "Dana Whitfield", Org: "vendor"}) {
		t.Errorf("renamed mic speaker is %+v", sp)
	}
	stored, _ := log.Since(ctx, "m6", 0)
	if len(stored) != 1 {
		t.Errorf("%d events; want only the first voice's announcement (renames are appended by whoever made them)", len(stored))
	}
}

// In a mixed channel, each line of the sample call ends attributed to one of
// its three voices, and the buyer's lines to a voice other than the vendor's.
func TestDiarizedChannelEndsWithEachVoiceApart(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	a, err := stream.LoadWAV("../testdata/sample-call.wav")
	if err != nil {
		t.Fatal(err)
	}
	call, err := stream.NewReplaySamples(a.Samples, "call", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Meeting: "m7", Engine: sayingEngine{"We can look at it."}, Log: log, Sources: []stream.Source{call}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	stored, _ := log.Since(context.Background(), "m7", 0)
	last := map[string]ledger.SegmentInfo{} // a corrected final replaces the first
	for _, e := range stored {
		if e.Type == ledger.TypeSegmentFinal {
			last[e.Segment.ID] = *e.Segment
		}
	}
	lines, _ := SampleCallTranscript()
	voiceOf := map[string]map[string]int{} // reference speaker → final speaker → segments
	for _, seg := range last {
		for _, l := range lines {
			if seg.StartMS < l.End.Milliseconds() && seg.EndMS > l.Start.Milliseconds() {
				if voiceOf[l.Speaker] == nil {
					voiceOf[l.Speaker] = map[string]int{}
				}
				voiceOf[l.Speaker][seg.Speaker]++
			}
		}
	}
	main := func(who string) string {
		best := ""
		for v, n := range voiceOf[who] {
			if best == "" || n > voiceOf[who][best] {
				best = v
			}
		}
		return best
	}
	t.Logf("voices by reference speaker: %v", voiceOf)
	if dana, laura := main("Dana Whitfield"), main("Laura Chen"); dana == "" || dana == laura || !strings.HasPrefix(dana, "call/") {
		t.Errorf("vendor heard as %q and buyer as %q: want two voices of the call channel", dana, laura)
	}
}

// A participant who has joined but not spoken is known by full name when a colleague hands them a
// task: the session tells the detector of each speaker it announces.
func TestSessionKnowsWhoJoinedBeforeTheySpeak(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	mic, err := stream.NewReplaySamples(sampleSpeech(t, 5), "mic", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	quiet, err := stream.NewReplaySamples(make([]float32, asr.SampleRate), "tom", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	monday := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	s, err := New(Config{Meeting: "m-meet", Engine: sayingEngine{"and tom will draft the statement of work by friday"}, Log: log,
		Sources: []stream.Source{mic, quiet}, MeetingDate: monday, Speakers: map[string]Speaker{
			"mic": {Name: "Dana Scott", Org: "Northwind"}, "tom": {Name: "Tom Baker", Org: "Northwind"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	stored, _ := log.Since(context.Background(), "m-meet", 0)
	var owners []string
	for _, e := range stored {
		if e.Type == ledger.TypeCommitmentUpsert {
			owners = append(owners, e.Commitment.Owner+" ("+e.Commitment.OwnerOrg+")")
		}
	}
	if len(owners) == 0 {
		t.Fatalf("no commitment recorded; stored: %+v", stored)
	}
	for _, o := range owners {
		if o != "Tom Baker (Northwind)" {
			t.Errorf("owner %q, want Tom Baker (Northwind), who joined before the task was handed to him", o)
		}
	}
}
