package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSQLiteStoreDealsAndMeetings(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	s, _ := openStore(t, WithSQLiteClock(func() time.Time { return now }))
	ctx := context.Background()

	deal := Deal{ID: "d1", Name: "Fabrikam ERP integration", Account: "Fabrikam", Vendor: "Contoso", Partner: "Northwind", Token: "deal-tok"}
	if err := s.CreateDeal(ctx, deal); err != nil {
		t.Fatal(err)
	}
	got, err := s.Deal(ctx, "d1")
	deal.CreatedAt = now
	if err != nil || !reflect.DeepEqual(got, deal) {
		t.Fatalf("Deal(d1) = %+v, %v; want %+v", got, err, deal)
	}
	if got, err := s.DealByToken(ctx, "deal-tok"); err != nil || got.ID != "d1" {
		t.Errorf("DealByToken = %+v, %v", got, err)
	}
	for _, tc := range []struct {
		name string
		d    Deal
		want error
	}{
		{"same ID", Deal{ID: "d1", Name: "again"}, ErrExists},
		{"same token", Deal{ID: "d2", Name: "other", Token: "deal-tok"}, ErrExists},
		{"no name", Deal{ID: "d3"}, ErrInvalidRecord},
	} {
		if err := s.CreateDeal(ctx, tc.d); !errors.Is(err, tc.want) {
			t.Errorf("CreateDeal(%s) = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := s.CreateDeal(ctx, Deal{ID: "d2", Name: "no token"}); err != nil {
		t.Errorf("a second deal without a token: %v", err)
	}
	for _, q := range []func() error{
		func() error { _, err := s.Deal(ctx, "nope"); return err },
		func() error { _, err := s.DealByToken(ctx, ""); return err },
		func() error { _, err := s.Meeting(ctx, "nope"); return err },
		func() error { _, err := s.MeetingByToken(ctx, "nope"); return err },
	} {
		if err := q(); !errors.Is(err, ErrNotFound) {
			t.Errorf("lookup of a missing record = %v, want ErrNotFound", err)
		}
	}

	started := time.Date(2026, 3, 2, 16, 0, 0, 0, time.FixedZone("CET", 3600))
	m1 := Meeting{ID: "m1", DealID: "d1", Title: "Integration deep-dive", StartedAt: started, Timezone: "Europe/Berlin", Language: "en", Token: "m1-tok"}
	if err := s.CreateMeeting(ctx, m1); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMeeting(ctx, Meeting{ID: "m0", DealID: "d1", Title: "Kick-off", StartedAt: started.Add(-24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMeeting(ctx, Meeting{ID: "solo", Title: "Internal prep"}); err != nil {
		t.Fatal(err)
	}
	gm, err := s.Meeting(ctx, "m1")
	m1.StartedAt = started.UTC()
	if err != nil || !reflect.DeepEqual(gm, m1) {
		t.Fatalf("Meeting(m1) = %+v, %v; want %+v", gm, err, m1)
	}
	if gm, err := s.MeetingByToken(ctx, "m1-tok"); err != nil || gm.ID != "m1" {
		t.Errorf("MeetingByToken = %+v, %v", gm, err)
	}
	if solo, err := s.Meeting(ctx, "solo"); err != nil || !solo.StartedAt.Equal(now) || solo.DealID != "" {
		t.Errorf("meeting without start or deal = %+v, %v", solo, err)
	}
	ms, err := s.Meetings(ctx, "d1")
	if err != nil || len(ms) != 2 || ms[0].ID != "m0" || ms[1].ID != "m1" {
		t.Errorf("Meetings(d1) = %+v, %v; want m0, m1", ms, err)
	}
	if ms, err := s.Meetings(ctx, ""); err != nil || len(ms) != 1 || ms[0].ID != "solo" {
		t.Errorf(`Meetings("") = %+v, %v; want solo`, ms, err)
	}
	for _, tc := range []struct {
		name string
		m    Meeting
		want error
	}{
		{"same ID", Meeting{ID: "m1"}, ErrExists},
		{"same token", Meeting{ID: "m2", Token: "m1-tok"}, ErrExists},
		{"unknown deal", Meeting{ID: "m3", DealID: "nope"}, ErrNotFound},
		{"no ID", Meeting{Title: "x"}, ErrInvalidRecord},
		{"bad timezone", Meeting{ID: "m4", Timezone: "Mars/Olympus"}, ErrInvalidRecord},
	} {
		if err := s.CreateMeeting(ctx, tc.m); !errors.Is(err, tc.want) {
			t.Errorf("CreateMeeting(%s) = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestSQLiteStoreMeetingFirstSeenInLog: appending to an unknown meeting records it; it can then be
// described once, keeping its log.
func TestSQLiteStoreMeetingFirstSeenInLog(t *testing.T) {
	first := time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)
	now := first
	s, _ := openStore(t, WithSQLiteClock(func() time.Time { return now }))
	ctx := context.Background()
	if _, err := s.Append(ctx, final("live", "s1", "hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, Event{Type: TypeSpeakerUpdate, Meeting: "live", Speaker: &SpeakerInfo{ID: "spk", Name: "Tom", Org: "Contoso"}}); err != nil {
		t.Fatal(err)
	}
	m, err := s.Meeting(ctx, "live")
	if err != nil || !m.StartedAt.Equal(first) || m.LastSeq != 2 {
		t.Fatalf("meeting first seen in its log = %+v, %v", m, err)
	}
	now = first.Add(time.Hour)
	if ps, err := s.Participants(ctx, "live"); err != nil || len(ps) != 1 || ps[0].Role != RoleOther {
		t.Fatalf("participant of no deal = %+v, %v", ps, err)
	}
	if err := s.CreateDeal(ctx, Deal{ID: "d", Name: "deal", Vendor: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMeeting(ctx, Meeting{ID: "live", DealID: "d", Title: "Named later"}); err != nil {
		t.Fatal(err)
	}
	m, err = s.Meeting(ctx, "live")
	if err != nil || m.Title != "Named later" || m.DealID != "d" || !m.StartedAt.Equal(first) || m.LastSeq != 2 {
		t.Errorf("described meeting = %+v, %v", m, err)
	}
	if ps, err := s.Participants(ctx, "live"); err != nil || len(ps) != 1 || ps[0].Role != RoleVendor {
		t.Errorf("participant once the meeting joined its deal = %+v, %v", ps, err)
	}
	if err := s.CreateMeeting(ctx, Meeting{ID: "live", Title: "Again"}); !errors.Is(err, ErrExists) {
		t.Errorf("describing it twice = %v, want ErrExists", err)
	}
}

// TestSQLiteStoreProjections replays a call and checks the tables the pages read.
func TestSQLiteStoreProjections(t *testing.T) {
	at := time.Date(2026, 3, 2, 16, 30, 0, 0, time.UTC)
	s, _ := openStore(t, WithSQLiteClock(func() time.Time { return at }))
	ctx := context.Background()
	if err := s.CreateDeal(ctx, Deal{ID: "d", Name: "Fabrikam", Account: "Fabrikam", Vendor: "Contoso", Partner: "northwind"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMeeting(ctx, Meeting{ID: "m", DealID: "d", Timezone: "Europe/Madrid"}); err != nil {
		t.Fatal(err)
	}
	session := loadSession(t)
	for i, e := range session {
		if e.Type == TypeCommitmentUpsert && i == len(session)-2 {
			ctx = WithActor(ctx, "user:ana@northwind.example")
		}
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}

	ps, err := s.Participants(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	wantP := []Participant{
		{MeetingID: "m", SpeakerID: "spk-ana", Channel: "mic", Name: "Ana Ruiz", Org: "Northwind", Role: RolePartner, Seq: 2},
		{MeetingID: "m", SpeakerID: "spk-lee", Channel: "system", Name: "Lee Park", Org: "Fabrikam", Role: RoleBuyer, Seq: 4},
		{MeetingID: "m", SpeakerID: "spk-tom", Channel: "system", Name: "Tom Becker", Org: "Contoso", Role: RoleVendor, Seq: 3},
	}
	if !reflect.DeepEqual(ps, wantP) {
		t.Errorf("Participants:\n got %+v\nwant %+v", ps, wantP)
	}
	if _, err := s.Append(ctx, Event{Type: TypeSpeakerUpdate, Meeting: "m", Speaker: &SpeakerInfo{ID: "spk-lee", Channel: "system", Name: "Lee Park (guest)", Org: "Elsewhere"}}); err != nil {
		t.Fatal(err)
	}
	if ps, err := s.Participants(ctx, "m"); err != nil || ps[1].Name != "Lee Park (guest)" || ps[1].Role != RoleOther {
		t.Errorf("renamed participant = %+v, %v", ps, err)
	}

	segs, err := s.Segments(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range segs {
		ids = append(ids, g.ID)
	}
	if want := []string{"s1", "s2", "s3", "s4", "s5", "s6"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("segment order = %v, want %v", ids, want)
	}
	if want := (Segment{MeetingID: "m", Seq: 7, SegmentInfo: *session[6].Segment}); !reflect.DeepEqual(segs[2], want) {
		t.Errorf("segment s3:\n got %+v\nwant %+v", segs[2], want)
	}

	cs, err := s.Commitments(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("Commitments = %+v, want 2", cs)
	}
	wantC1 := CommitmentRecord{MeetingID: "m", CommitmentInfo: *session[13].Commitment, Seq: 14, UpdatedAt: at, UpdatedBy: "user:ana@northwind.example"}
	if !reflect.DeepEqual(cs[0], wantC1) {
		t.Errorf("edited commitment:\n got %+v\nwant %+v", cs[0], wantC1)
	}
	if cs[1].ID != "c2" || !reflect.DeepEqual(cs[1].SegmentIDs, []string{"s4", "s5"}) || cs[1].UpdatedBy != "" {
		t.Errorf("commitment c2 = %+v", cs[1])
	}

	m, err := s.Meeting(ctx, "m")
	if err != nil || m.State != MeetingRecording || m.LastSeq != int64(len(session))+1 {
		t.Errorf("meeting after the call = %+v, %v", m, err)
	}
	if _, err := s.Append(ctx, Event{Type: TypeMeetingState, Meeting: "m", State: MeetingStopped, Reason: "source ended"}); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Meeting(ctx, "m"); err != nil || m.State != MeetingStopped {
		t.Errorf("meeting after stop = %+v, %v", m, err)
	}
	for _, q := range []func() (int, error){
		func() (int, error) { v, err := s.Segments(ctx, "nobody"); return len(v), err },
		func() (int, error) { v, err := s.Commitments(ctx, "nobody"); return len(v), err },
		func() (int, error) { v, err := s.Participants(ctx, "nobody"); return len(v), err },
	} {
		if n, err := q(); n != 0 || err != nil {
			t.Errorf("projection of an unknown meeting: %d rows, %v", n, err)
		}
	}
}

// TestSQLiteStoreEventsAppendOnly: the log's table refuses changes to what was stored.
func TestSQLiteStoreEventsAppendOnly(t *testing.T) {
	s, path := openStore(t)
	if _, err := s.Append(context.Background(), final("m", "s1", "x")); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	if _, err := db.Exec(`UPDATE events SET json = '{}'`); err == nil {
		t.Error("an event was updated")
	}
	if _, err := db.Exec(`DELETE FROM events`); err == nil {
		t.Error("an event was deleted")
	}
}

// TestSQLiteStoreCurrentState: the one-item reads a live meeting's controls make come from the
// projections and follow every append.
func TestSQLiteStoreCurrentState(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	appendAll := func(events ...Event) Event {
		t.Helper()
		var last Event
		for _, e := range events {
			e.Meeting = "m"
			var err error
			if last, err = s.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		return last
	}
	if _, err := s.LastState(ctx, "m"); !errors.Is(err, ErrNotFound) {
		t.Errorf("state of an unknown meeting: %v, want ErrNotFound", err)
	}
	if n, err := s.Runs(ctx, "m"); n != 0 || err != nil {
		t.Errorf("runs of an unknown meeting: %d, %v", n, err)
	}

	c1 := CommitmentInfo{ID: "c1", What: "send the deck", Owner: "Ana", Status: StatusOpen, Confidence: 0.8, SegmentIDs: []string{"s1"}}
	started := appendAll(
		Event{Type: TypeMeetingState, State: MeetingRecording, Reason: ReasonStarted},
		Event{Type: TypeSpeakerUpdate, Speaker: &SpeakerInfo{ID: "ana", Channel: "mic", Name: "Ana", Org: "vendor"}},
		Event{Type: TypeSpeakerUpdate, Speaker: &SpeakerInfo{ID: "declined-eve", Name: "Eve", Consent: "declined"}},
		Event{Type: TypeSegmentFinal, Segment: &SegmentInfo{ID: "s1", Channel: "call", Speaker: "call/v1", Org: "Acme", EndMS: 500, Text: "hi"}},
		Event{Type: TypeSegmentFinal, Segment: &SegmentInfo{ID: "s2", Channel: "call-2", Speaker: "call/v1", StartMS: 600, EndMS: 900, Text: "yes"}},
		Event{Type: TypeCommitmentUpsert, Commitment: &c1},
	)
	if started.Seq != 6 {
		t.Fatalf("seq %d after six appends", started.Seq)
	}
	paused := appendAll(Event{Type: TypeMeetingState, State: MeetingPaused, Reason: "user"},
		Event{Type: TypeCommitmentUpsert, Commitment: &CommitmentInfo{ID: "c2", What: "intro", Owner: "Lee", Status: StatusOpen}})
	if st, err := s.LastState(ctx, "m"); err != nil || st.Seq != 7 || st.State != MeetingPaused || st.Reason != "user" {
		t.Errorf("state while paused: %+v, %v; want the pause at seq 7", st, err)
	}
	if paused.Seq != 8 {
		t.Fatalf("seq %d", paused.Seq)
	}

	for _, tc := range []struct {
		id   string
		want SpeakerInfo
	}{
		{"ana", SpeakerInfo{ID: "ana", Channel: "mic", Name: "Ana", Org: "vendor"}},
		{"declined-eve", SpeakerInfo{ID: "declined-eve", Name: "Eve", Consent: "declined"}},
		{"call/v1", SpeakerInfo{ID: "call/v1", Channel: "call-2"}}, // never named: its latest final
	} {
		if got, err := s.Speaker(ctx, "m", tc.id); err != nil || got != tc.want {
			t.Errorf("Speaker(%s) = %+v, %v; want %+v", tc.id, got, err, tc.want)
		}
	}
	if _, err := s.Speaker(ctx, "m", "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a speaker never heard: %v, want ErrNotFound", err)
	}

	got, err := s.Commitment(ctx, "m", "c1")
	if want := (CommitmentRecord{MeetingID: "m", CommitmentInfo: c1, Seq: 6, UpdatedAt: got.UpdatedAt}); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Commitment(c1) = %+v, %v; want %+v", got, err, want)
	}
	if c2, err := s.Commitment(ctx, "m", "c2"); err != nil || c2.SegmentIDs != nil || c2.Owner != "Lee" {
		t.Errorf("Commitment(c2) = %+v, %v", c2, err)
	}
	if _, err := s.Commitment(ctx, "m", "c9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown commitment: %v, want ErrNotFound", err)
	}

	// A second run, after the first stopped: resuming from a pause is no new run.
	appendAll(Event{Type: TypeMeetingState, State: MeetingRecording, Reason: "user"},
		Event{Type: TypeMeetingState, State: MeetingStopped, Reason: "stopped"},
		Event{Type: TypeMeetingState, State: MeetingRecording, Reason: ReasonStarted})
	if n, err := s.Runs(ctx, "m"); n != 2 || err != nil {
		t.Errorf("runs: %d, %v; want 2", n, err)
	}
	if st, err := s.LastState(ctx, "m"); err != nil || st.Seq != 11 || st.Reason != ReasonStarted {
		t.Errorf("state of the second run: %+v, %v", st, err)
	}
}

// TestSQLiteStoreMigratesCurrentState: a database written before the current-state columns
// existed gets them filled in from its log.
func TestSQLiteStoreMigratesCurrentState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledgerline.db")
	db := rawDB(t, path)
	v1, err := migrationFiles.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(v1)); err != nil {
		t.Fatal(err)
	}
	const at = "2026-03-02T15:00:00Z"
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
		INSERT INTO schema_migrations VALUES (1, '0001_init', ?);
		INSERT INTO meetings (id, started_at, created_at, state, last_seq) VALUES ('m', ?, ?, 'recording', 4)`, at, at, at); err != nil {
		t.Fatal(err)
	}
	events := []Event{
		{Type: TypeMeetingState, State: MeetingRecording, Reason: ReasonStarted},
		{Type: TypeSpeakerUpdate, Speaker: &SpeakerInfo{ID: "declined-eve", Name: "Eve", Consent: "declined"}},
		{Type: TypeMeetingState, State: MeetingStopped, Reason: "stopped"},
		{Type: TypeMeetingState, State: MeetingRecording, Reason: ReasonStarted},
	}
	for i, e := range events {
		e.V, e.Meeting, e.Seq = SchemaVersion, "m", int64(i+1)
		body, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO events (meeting_id, seq, type, at, json) VALUES ('m', ?, ?, ?, ?)`, e.Seq, string(e.Type), at, string(body)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO participants (meeting_id, speaker_id, name, seq) VALUES ('m', 'declined-eve', 'Eve', 2)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if n, err := s.Runs(ctx, "m"); n != 2 || err != nil {
		t.Errorf("runs after the migration: %d, %v; want 2", n, err)
	}
	if st, err := s.LastState(ctx, "m"); err != nil || st.Seq != 4 || st.State != MeetingRecording {
		t.Errorf("state after the migration: %+v, %v; want the start at seq 4", st, err)
	}
	if sp, err := s.Speaker(ctx, "m", "declined-eve"); err != nil || sp.Consent != "declined" {
		t.Errorf("declined participant after the migration: %+v, %v", sp, err)
	}
}

// Edits made side by side each apply to the commitment as the other left it, and which fields a
// person set is kept in the projection, also after a reopen.
func TestSQLiteStoreEditCommitment(t *testing.T) {
	s, path := openStore(t)
	ctx := context.Background()
	if _, err := s.Append(ctx, Event{Type: TypeCommitmentUpsert, Meeting: "m", Commitment: &CommitmentInfo{
		ID: "c-1", What: "send the pricing", Owner: "Dana", Status: StatusOpen, Quote: "I'll send the pricing.", SegmentIDs: []string{"mic-1"}}}); err != nil {
		t.Fatal(err)
	}
	done, owner, due := StatusDone, "Kenji", "2026-03-20"
	edits := []CommitmentEdit{{Status: &done}, {Owner: &owner}, {Due: &due}}
	var wg sync.WaitGroup
	for i, edit := range edits {
		wg.Go(func() {
			if _, err := s.EditCommitment(ctx, "m", "c-1", edit, fmt.Sprintf("viewer-%d", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	check := func(s *SQLiteStore) {
		t.Helper()
		got, err := s.Commitment(ctx, "m", "c-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != done || got.Owner != owner || got.Due != due || got.Quote != "I'll send the pricing." || len(got.Edited) != 3 ||
			!got.EditedBy(EditStatus) || !got.EditedBy(EditOwner) || !got.EditedBy(EditDue) || !strings.HasPrefix(got.UpdatedBy, "viewer-") {
			t.Errorf("after three edits side by side: %+v", got)
		}
	}
	check(s)
	if _, err := s.EditCommitment(ctx, "m", "c-9", edits[0], "viewer"); !errors.Is(err, ErrNotFound) {
		t.Errorf("edit of an unknown commitment: %v, want ErrNotFound", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	check(again)
}

func TestParseRole(t *testing.T) {
	for in, want := range map[string]Role{"vendor": RoleVendor, "partner": RolePartner, "buyer": RoleBuyer,
		"other": RoleOther, "Partner": RolePartner, " BUYER ": RoleBuyer} {
		if got, err := ParseRole(in); got != want || err != nil {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "bogus", "Northwind", "vendors"} {
		_, err := ParseRole(in)
		if err == nil || !strings.Contains(err.Error(), "use vendor, partner, buyer or other") {
			t.Errorf("ParseRole(%q) = %v; want an error naming the four roles", in, err)
		}
	}
}

func TestDealOrgOf(t *testing.T) {
	d := Deal{Account: "Fabrikam", Vendor: "Contoso", Partner: "Northwind"}
	for r, want := range map[Role]string{RoleVendor: "Contoso", RolePartner: "Northwind", RoleBuyer: "Fabrikam", RoleOther: "", "": ""} {
		if got := d.OrgOf(r); got != want {
			t.Errorf("OrgOf(%q) = %q, want %q", r, got, want)
		}
		if want != "" && d.RoleOf(d.OrgOf(r)) != r {
			t.Errorf("RoleOf(OrgOf(%q)) = %q", r, d.RoleOf(d.OrgOf(r)))
		}
	}
}

// A stated role is the participant's role whatever their organisation; an event recorded before
// roles were stated still has its role guessed from its organisation, also once its meeting joins a
// deal.
func TestSQLiteStoreStatedRoles(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	if err := s.CreateDeal(ctx, Deal{ID: "d", Name: "Fabrikam", Account: "Fabrikam", Vendor: "Contoso", Partner: "Northwind"}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []Event{
		{Type: TypeSpeakerUpdate, Speaker: &SpeakerInfo{ID: "old", Channel: "a", Name: "Ana", Org: "partner"}},
		{Type: TypeSpeakerUpdate, Speaker: &SpeakerInfo{ID: "old-co", Channel: "b", Name: "Tom", Org: "Contoso"}},
		{Type: TypeSpeakerUpdate, Speaker: &SpeakerInfo{ID: "stated", Channel: "c", Name: "Lee", Role: RoleBuyer}},
		{Type: TypeSpeakerUpdate, Speaker: &SpeakerInfo{ID: "both", Channel: "d", Name: "Kim", Org: "Contoso", Role: RoleOther}},
		{Type: TypeSegmentFinal, Segment: &SegmentInfo{ID: "s1", Channel: "c", Speaker: "stated", Role: RoleBuyer, Text: "hi"}},
		{Type: TypeSegmentFinal, Segment: &SegmentInfo{ID: "s2", Channel: "e", Speaker: "voice", Role: RolePartner, Text: "yo"}},
	} {
		e.Meeting = "m"
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	roles := func() map[string][2]Role {
		t.Helper()
		ps, err := s.Participants(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][2]Role{}
		for _, p := range ps {
			out[p.SpeakerID] = [2]Role{p.Role, p.StatedRole}
		}
		return out
	}
	want := map[string][2]Role{"old": {RolePartner, ""}, "old-co": {RoleOther, ""}, "stated": {RoleBuyer, RoleBuyer}, "both": {RoleOther, RoleOther}}
	if got := roles(); !reflect.DeepEqual(got, want) {
		t.Errorf("roles of no deal = %v, want %v", got, want)
	}
	if err := s.CreateMeeting(ctx, Meeting{ID: "m", DealID: "d"}); err != nil {
		t.Fatal(err)
	}
	want["old-co"] = [2]Role{RoleVendor, ""} // guessed again, now from the deal; stated roles stay
	if got := roles(); !reflect.DeepEqual(got, want) {
		t.Errorf("roles once in the deal = %v, want %v", got, want)
	}
	if segs, err := s.Segments(ctx, "m"); err != nil || len(segs) != 2 || segs[0].Role != RoleBuyer {
		t.Errorf("segments = %+v, %v; want the stated role kept", segs, err)
	}
	for id, want := range map[string]SpeakerInfo{
		"stated": {ID: "stated", Channel: "c", Name: "Lee", Role: RoleBuyer},
		"old":    {ID: "old", Channel: "a", Name: "Ana", Org: "partner"}, // no role stated: none given back
		"voice":  {ID: "voice", Channel: "e", Role: RolePartner},         // never named: from its latest final
	} {
		if got, err := s.Speaker(ctx, "m", id); err != nil || got != want {
			t.Errorf("Speaker(%s) = %+v, %v; want %+v", id, got, err, want)
		}
	}
}
