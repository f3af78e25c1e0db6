package storetest

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// Store is a ledger.Store with the reads of current state and the edit that a live meeting's
// controls make, as every store of the record provides them.
type Store interface {
	ledger.Store
	ledger.Leases
	ledger.FollowUps
	Speaker(ctx context.Context, meeting, id string) (ledger.SpeakerInfo, error)
	Commitment(ctx context.Context, meeting, id string) (ledger.CommitmentRecord, error)
	EditCommitment(ctx context.Context, meeting, id string, edit ledger.CommitmentEdit, by string) (ledger.Event, error)
	Runs(ctx context.Context, meeting string) (int, error)
	LastState(ctx context.Context, meeting string) (ledger.Event, error)
	ClockReached(ctx context.Context, meeting string) (time.Duration, error)
}

// StoreOpener makes an empty database for one test and returns how to open a store on it: each
// call of open opens another store on that same database, with now as its clock. The suite closes
// the stores it needs closed; the opener's own cleanup must tolerate a second Close.
type StoreOpener func(t *testing.T) (open func(now func() time.Time) Store)

// RunStore checks what every Store keeps beyond its log: deals and meetings, a meeting first seen
// in its log, the projections of a replayed call, the current state a live meeting's controls and
// a continued meeting read, edits made side by side, stated and guessed roles, the log after a
// reopen, refused text, Close, the leases that pick the one process serving a live meeting, and
// the follow-ups that stopped meetings owe.
func RunStore(t *testing.T, open StoreOpener) {
	t.Run("deals and meetings", func(t *testing.T) { dealsAndMeetings(t, open) })
	t.Run("meeting first seen in its log", func(t *testing.T) { meetingFirstSeenInLog(t, open) })
	t.Run("projections", func(t *testing.T) { projections(t, open) })
	t.Run("current state", func(t *testing.T) { currentState(t, open) })
	t.Run("edits side by side", func(t *testing.T) { editsSideBySide(t, open) })
	t.Run("stated roles", func(t *testing.T) { statedRoles(t, open) })
	t.Run("reopen", func(t *testing.T) { reopen(t, open) })
	t.Run("text", func(t *testing.T) { text(t, open) })
	t.Run("closed", func(t *testing.T) { closed(t, open) })
	t.Run("leases", func(t *testing.T) { leases(t, open) })
	t.Run("leases acquired at once", func(t *testing.T) { leasesAcquiredAtOnce(t, open) })
	t.Run("follow-ups", func(t *testing.T) { followUps(t, open) })
}

func fixedClock(at time.Time) func() time.Time { return func() time.Time { return at } }

func dealsAndMeetings(t *testing.T, open StoreOpener) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	s := open(t)(fixedClock(now))
	ctx := context.Background()

	deal := ledger.Deal{ID: "d1", Name: "Fabrikam ERP integration", Account: "Fabrikam", Vendor: "Contoso", Partner: "Northwind", Token: "deal-tok"}
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
		d    ledger.Deal
		want error
	}{
		{"same ID", ledger.Deal{ID: "d1", Name: "again"}, ledger.ErrExists},
		{"same token", ledger.Deal{ID: "d2", Name: "other", Token: "deal-tok"}, ledger.ErrExists},
		{"no name", ledger.Deal{ID: "d3"}, ledger.ErrInvalidRecord},
	} {
		if err := s.CreateDeal(ctx, tc.d); !errors.Is(err, tc.want) || !wrappedOnce(err) {
			t.Errorf("CreateDeal(%s) = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := s.CreateDeal(ctx, ledger.Deal{ID: "d2", Name: "no token"}); err != nil {
		t.Errorf("a second deal without a token: %v", err)
	}
	for _, q := range []func() error{
		func() error { _, err := s.Deal(ctx, "nope"); return err },
		func() error { _, err := s.DealByToken(ctx, ""); return err },
		func() error { _, err := s.Meeting(ctx, "nope"); return err },
		func() error { _, err := s.MeetingByToken(ctx, "nope"); return err },
	} {
		if err := q(); !errors.Is(err, ledger.ErrNotFound) || !wrappedOnce(err) {
			t.Errorf("lookup of a missing record = %v, want ledger.ErrNotFound", err)
		}
	}

	started := time.Date(2026, 3, 2, 16, 0, 0, 0, time.FixedZone("CET", 3600))
	m1 := ledger.Meeting{ID: "m1", DealID: "d1", Title: "Integration deep-dive", StartedAt: started, Timezone: "Europe/Berlin", Language: "en", Token: "m1-tok"}
	if err := s.CreateMeeting(ctx, m1); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMeeting(ctx, ledger.Meeting{ID: "m0", DealID: "d1", Title: "Kick-off", StartedAt: started.Add(-24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMeeting(ctx, ledger.Meeting{ID: "solo", Title: "Internal prep"}); err != nil {
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
		m    ledger.Meeting
		want error
	}{
		{"same ID", ledger.Meeting{ID: "m1"}, ledger.ErrExists},
		{"same token", ledger.Meeting{ID: "m2", Token: "m1-tok"}, ledger.ErrExists},
		{"unknown deal", ledger.Meeting{ID: "m3", DealID: "nope"}, ledger.ErrNotFound},
		{"no ID", ledger.Meeting{Title: "x"}, ledger.ErrInvalidRecord},
		{"bad timezone", ledger.Meeting{ID: "m4", Timezone: "Mars/Olympus"}, ledger.ErrInvalidRecord},
	} {
		if err := s.CreateMeeting(ctx, tc.m); !errors.Is(err, tc.want) || !wrappedOnce(err) {
			t.Errorf("CreateMeeting(%s) = %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, id := range []string{"m2", "m3", "m4"} {
		if _, err := s.Meeting(ctx, id); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("a refused meeting %s was recorded: %v", id, err)
		}
	}
}

// wrappedOnce reports whether err says where it comes from once: "ledger: …".
func wrappedOnce(err error) bool {
	return strings.HasPrefix(err.Error(), "ledger: ") && strings.Count(err.Error(), "ledger: ") == 1
}

// meetingFirstSeenInLog: appending to an unknown meeting records it; it can then be described
// once, keeping its log, and the roles of its participants follow its deal.
func meetingFirstSeenInLog(t *testing.T, open StoreOpener) {
	first := time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)
	now := first
	s := open(t)(func() time.Time { return now })
	ctx := context.Background()
	if _, err := s.Append(ctx, final("live", "s1", "hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, ledger.Event{Type: ledger.TypeSpeakerUpdate, Meeting: "live", Speaker: &ledger.SpeakerInfo{ID: "spk", Name: "Tom", Org: "Contoso"}}); err != nil {
		t.Fatal(err)
	}
	m, err := s.Meeting(ctx, "live")
	if err != nil || !m.StartedAt.Equal(first) || m.LastSeq != 2 {
		t.Fatalf("meeting first seen in its log = %+v, %v", m, err)
	}
	now = first.Add(time.Hour)
	if ps, err := s.Participants(ctx, "live"); err != nil || len(ps) != 1 || ps[0].Role != ledger.RoleOther {
		t.Fatalf("participant of no deal = %+v, %v", ps, err)
	}
	if err := s.CreateDeal(ctx, ledger.Deal{ID: "d", Name: "deal", Vendor: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMeeting(ctx, ledger.Meeting{ID: "live", DealID: "d", Title: "Named later"}); err != nil {
		t.Fatal(err)
	}
	m, err = s.Meeting(ctx, "live")
	if err != nil || m.Title != "Named later" || m.DealID != "d" || !m.StartedAt.Equal(first) || m.LastSeq != 2 {
		t.Errorf("described meeting = %+v, %v", m, err)
	}
	if ps, err := s.Participants(ctx, "live"); err != nil || len(ps) != 1 || ps[0].Role != ledger.RoleVendor {
		t.Errorf("participant once the meeting joined its deal = %+v, %v", ps, err)
	}
	if err := s.CreateMeeting(ctx, ledger.Meeting{ID: "live", Title: "Again"}); !errors.Is(err, ledger.ErrExists) {
		t.Errorf("describing it twice = %v, want ledger.ErrExists", err)
	}
}

// projections replays a call and checks the tables the pages read.
func projections(t *testing.T, open StoreOpener) {
	at := time.Date(2026, 3, 2, 16, 30, 0, 0, time.UTC)
	s := open(t)(fixedClock(at))
	ctx := context.Background()
	if err := s.CreateDeal(ctx, ledger.Deal{ID: "d", Name: "Fabrikam", Account: "Fabrikam", Vendor: "Contoso", Partner: "northwind"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMeeting(ctx, ledger.Meeting{ID: "m", DealID: "d", Timezone: "Europe/Madrid"}); err != nil {
		t.Fatal(err)
	}
	call := session(t)
	for i, e := range call {
		if e.Type == ledger.TypeCommitmentUpsert && i == len(call)-2 {
			ctx = ledger.WithActor(ctx, "user:ana@northwind.example")
		}
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}

	ps, err := s.Participants(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	wantP := []ledger.Participant{
		{MeetingID: "m", SpeakerID: "spk-ana", Channel: "mic", Name: "Ana Ruiz", Org: "Northwind", Role: ledger.RolePartner, Seq: 2},
		{MeetingID: "m", SpeakerID: "spk-lee", Channel: "system", Name: "Lee Park", Org: "Fabrikam", Role: ledger.RoleBuyer, Seq: 4},
		{MeetingID: "m", SpeakerID: "spk-tom", Channel: "system", Name: "Tom Becker", Org: "Contoso", Role: ledger.RoleVendor, Seq: 3},
	}
	if !reflect.DeepEqual(ps, wantP) {
		t.Errorf("Participants:\n got %+v\nwant %+v", ps, wantP)
	}
	if _, err := s.Append(ctx, ledger.Event{Type: ledger.TypeSpeakerUpdate, Meeting: "m", Speaker: &ledger.SpeakerInfo{ID: "spk-lee", Channel: "system", Name: "Lee Park (guest)", Org: "Elsewhere"}}); err != nil {
		t.Fatal(err)
	}
	if ps, err := s.Participants(ctx, "m"); err != nil || ps[1].Name != "Lee Park (guest)" || ps[1].Role != ledger.RoleOther {
		t.Errorf("renamed participant = %+v, %v", ps, err)
	}
	if _, err := s.Append(ctx, ledger.Event{Type: ledger.TypeSpeakerUpdate, Meeting: "m", Speaker: &ledger.SpeakerInfo{ID: "declined-kim", Name: "Kim", Consent: "declined"}}); err != nil {
		t.Fatal(err)
	}
	if ps, err := s.Participants(ctx, "m"); err != nil || len(ps) != 4 || ps[0].SpeakerID != "declined-kim" || ps[0].Consent != "declined" || ps[1].Consent != "" {
		t.Errorf("participant who declined = %+v, %v; want consent declined on theirs only", ps, err)
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
	if want := (ledger.Segment{MeetingID: "m", Seq: 7, SegmentInfo: *call[6].Segment}); !reflect.DeepEqual(segs[2], want) {
		t.Errorf("segment s3:\n got %+v\nwant %+v", segs[2], want)
	}

	cs, err := s.Commitments(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("Commitments = %+v, want 2", cs)
	}
	wantC1 := ledger.CommitmentRecord{MeetingID: "m", CommitmentInfo: *call[13].Commitment, Seq: 14, UpdatedAt: at, UpdatedBy: "user:ana@northwind.example"}
	if !reflect.DeepEqual(cs[0], wantC1) {
		t.Errorf("edited commitment:\n got %+v\nwant %+v", cs[0], wantC1)
	}
	if cs[1].ID != "c2" || !reflect.DeepEqual(cs[1].SegmentIDs, []string{"s4", "s5"}) || cs[1].UpdatedBy != "" {
		t.Errorf("commitment c2 = %+v", cs[1])
	}

	m, err := s.Meeting(ctx, "m")
	if err != nil || m.State != ledger.MeetingRecording || m.LastSeq != int64(len(call))+2 { // the call, the rename and the refusal
		t.Errorf("meeting after the call = %+v, %v", m, err)
	}
	if _, err := s.Append(ctx, ledger.Event{Type: ledger.TypeMeetingState, Meeting: "m", State: ledger.MeetingStopped, Reason: "source ended"}); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Meeting(ctx, "m"); err != nil || m.State != ledger.MeetingStopped {
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

// closed: after Close, records are neither read nor written.
func closed(t *testing.T, open StoreOpener) {
	s := open(t)(time.Now)
	ctx := context.Background()
	if err := s.CreateDeal(ctx, ledger.Deal{ID: "d", Name: "deal"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"CreateDeal":     s.CreateDeal(ctx, ledger.Deal{ID: "d2", Name: "deal"}),
		"CreateMeeting":  s.CreateMeeting(ctx, ledger.Meeting{ID: "m"}),
		"Deal":           second(s.Deal(ctx, "d")),
		"Meetings":       second(s.Meetings(ctx, "d")),
		"Participants":   second(s.Participants(ctx, "m")),
		"Commitment":     second(s.Commitment(ctx, "m", "c")),
		"Runs":           second(s.Runs(ctx, "m")),
		"ClockReached":   second(s.ClockReached(ctx, "m")),
		"EditCommitment": second(s.EditCommitment(ctx, "m", "c", ledger.CommitmentEdit{}, "viewer")),
		"Acquire":        second(s.Acquire(ctx, "m", "owner", "", time.Minute)),
	} {
		if !errors.Is(err, ledger.ErrLogClosed) || !wrappedOnce(err) {
			t.Errorf("%s after Close = %v, want ledger.ErrLogClosed", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

//go:embed testdata/session.jsonl
var sessionJSONL []byte

// session returns the replayed call of testdata/session.jsonl: events of meeting "m" as a producer
// hands them to the log.
func session(t *testing.T) []ledger.Event {
	t.Helper()
	var out []ledger.Event
	sc := bufio.NewScanner(bytes.NewReader(sessionJSONL))
	for sc.Scan() {
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.DisallowUnknownFields()
		var e ledger.Event
		if err := d.Decode(&e); err != nil {
			t.Fatalf("session line %d: %v", len(out)+1, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
