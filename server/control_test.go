package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
)

// fakeRecorder pauses and resumes like the agent does: it appends the meeting.state itself, and
// refuses when the meeting is not being recorded.
type fakeRecorder struct {
	store *ledger.SQLiteStore

	mu      sync.Mutex
	running bool
	paused  bool
}

var _ Recorder = (*fakeRecorder)(nil)

func (r *fakeRecorder) Pause(ctx context.Context, meeting string) (ledger.Event, error) {
	return r.set(ctx, meeting, true)
}

func (r *fakeRecorder) Resume(ctx context.Context, meeting string) (ledger.Event, error) {
	return r.set(ctx, meeting, false)
}

func (r *fakeRecorder) set(ctx context.Context, meeting string, paused bool) (ledger.Event, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.running {
		return ledger.Event{}, errors.New("not running")
	}
	if r.paused == paused {
		return r.store.LastState(ctx, meeting)
	}
	r.paused = paused
	st := ledger.MeetingRecording
	if paused {
		st = ledger.MeetingPaused
	}
	return r.store.Append(ctx, ledger.Event{Type: ledger.TypeMeetingState, Meeting: meeting, State: st, Reason: "user"})
}

// newControlFixture serves a meeting whose store takes the viewers' changes, with a running recorder.
func newControlFixture(t *testing.T) (*fixture, *fakeRecorder) {
	t.Helper()
	store, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledgerline.db"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &fakeRecorder{store: store, running: true}
	f := startFixture(t, &replayCounter{SQLiteStore: store}, func(c *Config) {
		c.Control = store
		c.Recorder = rec
	}, nil)
	return f, rec
}

// replayCounter counts the reads of a meeting's log from its start.
type replayCounter struct {
	*ledger.SQLiteStore
	replays atomic.Int64
}

func (r *replayCounter) Since(ctx context.Context, meeting string, seq int64) ([]ledger.Event, error) {
	if seq == 0 {
		r.replays.Add(1)
	}
	return r.SQLiteStore.Since(ctx, meeting, seq)
}

// request is one control request; zero fields take what the overlay page sends.
type request struct {
	method, path, body string
	token              *string
	header             map[string]string // "" deletes a default header
}

func (f *fixture) do(req request) (int, string) {
	f.t.Helper()
	token := f.token
	if req.token != nil {
		token = *req.token
	}
	method := req.method
	if method == "" {
		method = http.MethodPost
	}
	u := f.http.URL + req.path
	if token != "" {
		u += "?t=" + url.QueryEscape(token)
	}
	r, err := http.NewRequest(method, u, strings.NewReader(req.body))
	if err != nil {
		f.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Origin", f.http.URL)
	for k, v := range req.header {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// post sends a change as the page does and decodes the event of a 200 answer.
func (f *fixture) post(path, body string) ledger.Event {
	f.t.Helper()
	code, resp := f.do(request{path: path, body: body})
	if code != http.StatusOK {
		f.t.Fatalf("POST %s %s: %d %s", path, body, code, resp)
	}
	var e ledger.Event
	if err := json.Unmarshal([]byte(resp), &e); err != nil {
		f.t.Fatalf("POST %s: answer %q: %v", path, resp, err)
	}
	return e
}

func (f *fixture) mustAppend(e ledger.Event) ledger.Event {
	f.t.Helper()
	e.Meeting = testMeeting
	stored, err := f.log.Append(context.Background(), e)
	if err != nil {
		f.t.Fatal(err)
	}
	return stored
}

// lastStored returns the meeting's last stored event.
func (f *fixture) lastStored() ledger.Event {
	f.t.Helper()
	events, err := f.log.Since(context.Background(), testMeeting, 0)
	if err != nil || len(events) == 0 {
		f.t.Fatalf("log: %d events, %v", len(events), err)
	}
	return events[len(events)-1]
}

func seedCommitment(f *fixture) ledger.Event {
	return f.mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{
		ID: "c1", What: "send the integration architecture", Owner: "Dana", OwnerOrg: "Acme", Beneficiary: "you",
		Due: "2026-03-06", DuePhrase: "by Friday", Status: ledger.StatusOpen, Confidence: 0.9,
		Quote: "I'll send it by Friday.", SegmentIDs: []string{"seg-3"}, StartMS: 3000}})
}

func TestControlStatusCodes(t *testing.T) {
	f, rec := newControlFixture(t)
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-1", Channel: "mic", Name: "Dana"}})
	seedCommitment(f)
	none, wrong := "", "not-the-token-of-this-meeting"
	const speaker, commitment = "/m/" + testMeeting + "/speakers/spk-1", "/m/" + testMeeting + "/commitments/c1"
	const rename = `{"name":"Dana Smith","org":"vendor"}`
	long := strings.Repeat("x", 81)

	for _, tc := range []struct {
		name string
		req  request
		want int
	}{
		{"rename", request{path: speaker, body: rename}, 200},
		{"edit commitment", request{path: commitment, body: `{"status":"done"}`}, 200},
		{"pause", request{path: "/m/" + testMeeting + "/pause", body: `{}`}, 200},
		{"resume with an empty body", request{path: "/m/" + testMeeting + "/resume"}, 200},
		{"program without Origin sends the header", request{path: speaker, body: rename, header: map[string]string{"Origin": "", "X-Ledgerline": "cli"}}, 200},
		{"content type with charset", request{path: speaker, body: rename, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}}, 200},

		{"unknown meeting", request{path: "/m/nope/speakers/spk-1", body: rename}, 404},
		{"no token", request{path: speaker, body: rename, token: &none}, 401},
		{"wrong token", request{path: speaker, body: rename, token: &wrong}, 403},
		{"other origin", request{path: speaker, body: rename, header: map[string]string{"Origin": "https://evil.example"}}, 403},
		{"null origin", request{path: speaker, body: rename, header: map[string]string{"Origin": "null"}}, 403},
		{"no origin, no header", request{path: speaker, body: rename, header: map[string]string{"Origin": ""}}, 403},
		{"form post", request{path: speaker, body: "name=x", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415},
		{"text/plain", request{path: commitment, body: `{"status":"done"}`, header: map[string]string{"Content-Type": "text/plain"}}, 415},
		{"no content type", request{path: commitment, body: `{"status":"done"}`, header: map[string]string{"Content-Type": ""}}, 415},
		{"too large", request{path: commitment, body: `{"what":"` + strings.Repeat("a", 5000) + `"}`}, 413},
		{"GET", request{method: http.MethodGet, path: speaker}, 405},
		{"PUT", request{method: http.MethodPut, path: commitment, body: `{}`}, 405},
		{"GET pause", request{method: http.MethodGet, path: "/m/" + testMeeting + "/pause"}, 405},

		{"malformed JSON", request{path: speaker, body: `{"name":`}, 400},
		{"not an object", request{path: speaker, body: `["Dana"]`}, 400},
		{"unknown field", request{path: speaker, body: `{"name":"Dana","side":"vendor"}`}, 400},
		{"two objects", request{path: speaker, body: `{"name":"A"}{"name":"B"}`}, 400},
		{"nothing to change", request{path: speaker, body: `{"by":"Ana"}`}, 400},
		{"empty name", request{path: speaker, body: `{"name":"  "}`}, 400},
		{"name too long", request{path: speaker, body: `{"name":"` + long + `"}`}, 400},
		{"name with a newline", request{path: speaker, body: `{"name":"Dana\nSmith"}`}, 400},
		{"role not a side", request{path: speaker, body: `{"name":"Dana","role":"Acme"}`}, 400},
		{"empty role", request{path: speaker, body: `{"role":""}`}, 400},
		{"org too long", request{path: speaker, body: `{"org":"` + long + `"}`}, 400},
		{"by too long", request{path: speaker, body: `{"name":"Dana","by":"` + long + `"}`}, 400},
		{"name a number", request{path: speaker, body: `{"name":5}`}, 400},
		{"bad status", request{path: commitment, body: `{"status":"closed"}`}, 400},
		{"bad due", request{path: commitment, body: `{"due":"06/03/2026"}`}, 400},
		{"impossible due", request{path: commitment, body: `{"due":"2026-02-30"}`}, 400},
		{"due a number", request{path: commitment, body: `{"due":20260306}`}, 400},
		{"empty owner", request{path: commitment, body: `{"owner":""}`}, 400},
		{"what too long", request{path: commitment, body: `{"what":"` + strings.Repeat("w", 501) + `"}`}, 400},
		{"no edit", request{path: commitment, body: `{}`}, 400},
		{"pause with fields", request{path: "/m/" + testMeeting + "/pause", body: `{"state":"paused"}`}, 400},

		{"unknown speaker", request{path: "/m/" + testMeeting + "/speakers/spk-9", body: rename}, 404},
		{"unknown commitment", request{path: "/m/" + testMeeting + "/commitments/c9", body: `{"status":"done"}`}, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			before := f.lastStored().Seq
			code, body := f.do(tc.req)
			if code != tc.want {
				t.Fatalf("%s %s: %d %q, want %d", tc.req.method, tc.req.path, code, body, tc.want)
			}
			if after := f.lastStored().Seq; code != 200 && after != before {
				t.Fatalf("a refused request appended events %d..%d", before+1, after)
			}
		})
	}
	f.t = t

	// The recorder refuses when the meeting is not being recorded.
	rec.mu.Lock()
	rec.running = false
	rec.mu.Unlock()
	if code, body := f.do(request{path: "/m/" + testMeeting + "/pause", body: `{}`}); code != http.StatusConflict {
		t.Fatalf("pause of a stopped recording: %d %q, want 409", code, body)
	}
}

func TestControlNotConfigured(t *testing.T) {
	f := newFixture(t, nil)
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-1", Channel: "mic", Name: "Dana"}})
	for _, path := range []string{"/speakers/spk-1", "/commitments/c1", "/pause", "/resume"} {
		if code, body := f.do(request{path: "/m/" + testMeeting + path, body: `{"name":"Dana"}`}); code != http.StatusNotImplemented {
			t.Errorf("%s without Control or Recorder: %d %q, want 501", path, code, body)
		}
	}
	// Still no way in without the token.
	none := ""
	if code, _ := f.do(request{path: "/m/" + testMeeting + "/pause", token: &none}); code != http.StatusUnauthorized {
		t.Errorf("pause without a token: %d, want 401", code)
	}
}

func TestControlSpeakerUpdate(t *testing.T) {
	f, _ := newControlFixture(t)
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-1", Channel: "old", Name: "Speaker 1"}})
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-1", Channel: "system", Name: "Speaker 1", Org: "Acme"}})
	f.appendFinal(1, "Hello.") // spk-1 on mic: the channel of the speaker.update stands
	f.mustAppend(ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "t-1", Channel: "track-7", Speaker: "spk-2", StartMS: 0, EndMS: 500, Text: "Hi."}})
	viewer := f.dial("since=4", nil)

	e := f.post("/m/"+testMeeting+"/speakers/spk-1", `{"name":"  Dana Smith ","by":"Ana"}`)
	want := ledger.SpeakerInfo{ID: "spk-1", Channel: "system", Name: "Dana Smith", Org: "Acme"}
	if e.Type != ledger.TypeSpeakerUpdate || e.Seq != 5 || e.By != "Ana" || e.Speaker == nil || *e.Speaker != want {
		t.Fatalf("rename answered %+v (speaker %+v), want seq 5 by Ana with %+v", e, e.Speaker, want)
	}
	if got := readEvent(t, viewer); got.Seq != 5 || got.By != "Ana" || *got.Speaker != want {
		t.Fatalf("viewer got %+v, want the rename", got)
	}

	// An org alone keeps the name just set; no by means "viewer".
	e = f.post("/m/"+testMeeting+"/speakers/spk-1", `{"org":"partner"}`)
	want.Org = "partner"
	if *e.Speaker != want || e.By != "viewer" {
		t.Fatalf("org change answered %+v by %q, want %+v by viewer", e.Speaker, e.By, want)
	}
	if got := f.lastStored(); got.Seq != e.Seq || *got.Speaker != want || got.By != "viewer" {
		t.Fatalf("stored %+v, want the answered event", got)
	}

	// A speaker never named takes its channel from its segments.
	e = f.post("/m/"+testMeeting+"/speakers/spk-2", `{"name":"Lee","org":"buyer","by":""}`)
	if want := (ledger.SpeakerInfo{ID: "spk-2", Channel: "track-7", Name: "Lee", Org: "buyer"}); *e.Speaker != want || e.By != "viewer" {
		t.Fatalf("first naming answered %+v by %q, want %+v", e.Speaker, e.By, want)
	}

	// A role, in any case, is the side of the deal; the meeting has no deal, so no organisation is
	// known on that side: the one the speaker had was on their former side.
	e = f.post("/m/"+testMeeting+"/speakers/spk-1", `{"role":"Vendor"}`)
	want.Org, want.Role = "", ledger.RoleVendor
	if *e.Speaker != want {
		t.Fatalf("role change answered %+v, want %+v", e.Speaker, want)
	}
	// An organisation given with it is kept; the same role again keeps the organisation.
	e = f.post("/m/"+testMeeting+"/speakers/spk-1", `{"org":"Contoso","role":"vendor"}`)
	want.Org = "Contoso"
	if *e.Speaker != want {
		t.Fatalf("org and role answered %+v, want %+v", e.Speaker, want)
	}
	if e = f.post("/m/"+testMeeting+"/speakers/spk-1", `{"name":"Dana","role":"vendor"}`); e.Speaker.Org != "Contoso" {
		t.Fatalf("the same role again answered %+v, want Contoso kept", e.Speaker)
	}
	code, body := f.do(request{path: "/m/" + testMeeting + "/speakers/spk-1", body: `{"role":"reseller"}`})
	if code != http.StatusBadRequest || !strings.Contains(body, "vendor, partner, buyer or other") {
		t.Fatalf("an unknown role answered %d %q, want 400 naming the roles", code, body)
	}
}

// In a meeting of a deal, a speaker given a role without an organisation gets the deal's
// organisation on that side, and the store projects the role stated.
func TestControlSpeakerRoleInDeal(t *testing.T) {
	store, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledgerline.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := store.CreateDeal(ctx, ledger.Deal{ID: "d", Name: "Initech ERP", Account: "Initech", Vendor: "Acme", Partner: "Globex"}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateMeeting(ctx, ledger.Meeting{ID: testMeeting, DealID: "d"}); err != nil {
		t.Fatal(err)
	}
	f := startFixture(t, store, func(c *Config) { c.Control, c.Records = store, store }, nil)
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-1", Channel: "system", Name: "Speaker 1"}})

	e := f.post("/m/"+testMeeting+"/speakers/spk-1", `{"name":"Omar","role":"partner"}`)
	if want := (ledger.SpeakerInfo{ID: "spk-1", Channel: "system", Name: "Omar", Org: "Globex", Role: ledger.RolePartner}); *e.Speaker != want {
		t.Fatalf("rename answered %+v, want %+v", e.Speaker, want)
	}
	ps, err := store.Participants(ctx, testMeeting)
	if err != nil || len(ps) != 1 || ps[0].Org != "Globex" || ps[0].Role != ledger.RolePartner || ps[0].StatedRole != ledger.RolePartner {
		t.Fatalf("participants = %+v, %v; want Omar of Globex, partner", ps, err)
	}
}

func TestControlCommitmentEdits(t *testing.T) {
	f, _ := newControlFixture(t)
	seed := seedCommitment(f)
	f.mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{
		ID: "c2", What: "intro to procurement", Owner: "Lee", Status: ledger.StatusOpen, Confidence: 0.7}})
	path := "/m/" + testMeeting + "/commitments/c1"
	want := *seed.Commitment

	step := func(body, by string, edit func(*ledger.CommitmentInfo)) {
		t.Helper()
		e := f.post(path, body)
		edit(&want)
		if e.Type != ledger.TypeCommitmentUpsert || e.By != by || !reflect.DeepEqual(*e.Commitment, want) {
			t.Fatalf("%s answered by %q %+v\nwant by %q %+v", body, e.By, e.Commitment, by, want)
		}
		if got := f.lastStored(); got.Seq != e.Seq || !reflect.DeepEqual(*got.Commitment, want) || got.By != by {
			t.Fatalf("%s stored %+v, want %+v", body, got, e)
		}
	}
	// Each edit applies to the latest state: the status set first survives the owner change.
	// Each field a person set is marked as theirs, once.
	step(`{"status":"done","by":"Ana"}`, "Ana", func(c *ledger.CommitmentInfo) {
		c.Status, c.Edited = ledger.StatusDone, []string{"status"}
	})
	step(`{"owner":"Sam","owner_org":"Partnerco","by":"Raj"}`, "Raj", func(c *ledger.CommitmentInfo) {
		c.Owner, c.OwnerOrg, c.Edited = "Sam", "Partnerco", append(c.Edited, "owner", "owner_org")
	})
	step(`{"due":"2026-03-10"}`, "viewer", func(c *ledger.CommitmentInfo) { c.Due, c.Edited = "2026-03-10", append(c.Edited, "due") })
	step(`{"due":null,"what":"send the architecture and the pricing"}`, "viewer", func(c *ledger.CommitmentInfo) {
		c.Due, c.DuePhrase, c.What, c.Edited = "", "", "send the architecture and the pricing", append(c.Edited, "what")
	})
	step(`{"status":"dropped","owner_org":""}`, "viewer", func(c *ledger.CommitmentInfo) { c.Status, c.OwnerOrg = ledger.StatusDropped, "" })
	step(`{"status":"open"}`, "viewer", func(c *ledger.CommitmentInfo) { c.Status = ledger.StatusOpen })

	// The other commitment is untouched, and a viewer resuming from the start sees every edit.
	viewer := f.dial("", nil)
	var last ledger.Event
	for range f.lastStored().Seq {
		last = readEvent(t, viewer)
		if last.Commitment != nil && last.Commitment.ID == "c2" && last.Commitment.Owner != "Lee" {
			t.Fatalf("c2 changed: %+v", last.Commitment)
		}
	}
	if !reflect.DeepEqual(*last.Commitment, want) {
		t.Fatalf("viewer's last event %+v, want %+v", last.Commitment, want)
	}
}

// The store records who made an edit, in the event and as the commitment's last actor.
func TestControlByInStore(t *testing.T) {
	leaktest.Check(t)
	store, err := ledger.OpenSQLite(t.TempDir() + "/l.db")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv, err := New(Config{Log: store, Control: store})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	token, err := srv.AddMeeting(testMeeting)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	f := &fixture{t: t, srv: srv, token: token, http: ts}
	if _, err := store.Append(context.Background(), ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: testMeeting,
		Commitment: &ledger.CommitmentInfo{ID: "c1", What: "send the deck", Owner: "Dana", Status: ledger.StatusOpen}}); err != nil {
		t.Fatal(err)
	}
	e := f.post("/m/"+testMeeting+"/commitments/c1", `{"status":"done","by":"Ana"}`)
	events, err := store.Since(context.Background(), testMeeting, e.Seq-1)
	if err != nil || len(events) != 1 || events[0].By != "Ana" || events[0].Commitment.Status != ledger.StatusDone {
		t.Fatalf("stored %+v, %v; want the edit by Ana", events, err)
	}
	cs, err := store.Commitments(context.Background(), testMeeting)
	if err != nil || len(cs) != 1 || cs[0].UpdatedBy != "Ana" || cs[0].Status != ledger.StatusDone {
		t.Fatalf("commitments %+v, %v; want c1 done, updated by Ana", cs, err)
	}
}

func TestControlPauseResume(t *testing.T) {
	f, _ := newControlFixture(t)
	f.mustAppend(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording})
	viewer := f.dial("since=1", nil)
	e := f.post("/m/"+testMeeting+"/pause", `{}`)
	if e.Type != ledger.TypeMeetingState || e.State != ledger.MeetingPaused || e.Seq != 2 {
		t.Fatalf("pause answered %+v, want the paused state at seq 2", e)
	}
	if got := readEvent(t, viewer); got.State != ledger.MeetingPaused || got.Seq != 2 {
		t.Fatalf("viewer got %+v", got)
	}
	// Pausing again changes nothing and answers the standing state.
	if again := f.post("/m/"+testMeeting+"/pause", ``); again.Seq != 2 || again.State != ledger.MeetingPaused {
		t.Fatalf("second pause answered %+v", again)
	}
	if e := f.post("/m/"+testMeeting+"/resume", `{}`); e.State != ledger.MeetingRecording || e.Seq != 3 {
		t.Fatalf("resume answered %+v", e)
	}
}

// A change reads the current state of what it changes from the store's projections: answering it
// never replays the meeting's log, however long the meeting.
func TestControlReadsNoLog(t *testing.T) {
	f, _ := newControlFixture(t)
	f.mustAppend(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording})
	for i := range 50 {
		f.appendFinal(i, "Hello.")
	}
	seedCommitment(f)
	replays := &f.log.(*replayCounter).replays
	before := replays.Load()
	f.post("/m/"+testMeeting+"/speakers/spk-1", `{"name":"Dana"}`)
	f.post("/m/"+testMeeting+"/commitments/c1", `{"status":"done"}`)
	f.post("/m/"+testMeeting+"/pause", `{}`)
	f.post("/m/"+testMeeting+"/pause", `{}`)
	if n := replays.Load() - before; n != 0 {
		t.Errorf("the changes read the meeting's log from its start %d times", n)
	}
}

// Renaming a participant who declined to be recorded keeps their refusal on record.
func TestControlRenameKeepsConsent(t *testing.T) {
	f, _ := newControlFixture(t)
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "declined-eve", Name: "Eve", Consent: ConsentDeclined}})
	e := f.post("/m/"+testMeeting+"/speakers/declined-eve", `{"name":"Eve Ng","org":"partner"}`)
	if want := (ledger.SpeakerInfo{ID: "declined-eve", Name: "Eve Ng", Org: "partner", Consent: ConsentDeclined}); *e.Speaker != want {
		t.Fatalf("rename answered %+v, want %+v", *e.Speaker, want)
	}
}
