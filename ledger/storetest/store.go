package storetest

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// Store is a ledger.Store with the reads of current state and the edit that a live meeting's
// controls make, as every store of the record provides them.
type Store interface {
	ledger.Store
	ledger.Leases
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
// reopen, refused text, Close, and the leases that pick the one process serving a live meeting.
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
	if err != nil || m.State != ledger.MeetingRecording || m.LastSeq != int64(len(call))+1 {
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

// currentState: the one-item reads a live meeting's controls make, and those a continued meeting
// starts from, come from the projections and the log and follow every append.
func currentState(t *testing.T, open StoreOpener) {
	s := open(t)(time.Now)
	ctx := context.Background()
	appendAll := func(events ...ledger.Event) ledger.Event {
		t.Helper()
		var last ledger.Event
		for _, e := range events {
			e.Meeting = "m"
			var err error
			if last, err = s.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		return last
	}
	if _, err := s.LastState(ctx, "m"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("state of an unknown meeting: %v, want ledger.ErrNotFound", err)
	}
	if n, err := s.Runs(ctx, "m"); n != 0 || err != nil {
		t.Errorf("runs of an unknown meeting: %d, %v", n, err)
	}
	if d, err := s.ClockReached(ctx, "m"); d != 0 || err != nil {
		t.Errorf("clock of an unknown meeting: %v, %v", d, err)
	}

	c1 := ledger.CommitmentInfo{ID: "c1", What: "send the deck", Owner: "Ana", Status: ledger.StatusOpen, Confidence: 0.8, SegmentIDs: []string{"s1"}}
	started := appendAll(
		ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording, Reason: ledger.ReasonStarted},
		ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "ana", Channel: "mic", Name: "Ana", Org: "vendor"}},
		ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "declined-eve", Name: "Eve", Consent: "declined"}},
		ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "s1", Channel: "call", Speaker: "call/v1", Org: "Acme", EndMS: 500, Text: "hi"}},
		ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "s2", Channel: "call-2", Speaker: "call/v1", StartMS: 600, EndMS: 900, Text: "yes"}},
		ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &c1},
	)
	if started.Seq != 6 {
		t.Fatalf("seq %d after six appends", started.Seq)
	}
	paused := appendAll(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingPaused, Reason: "user"},
		ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c2", What: "intro", Owner: "Lee", Status: ledger.StatusOpen}})
	if st, err := s.LastState(ctx, "m"); err != nil || st.Seq != 7 || st.State != ledger.MeetingPaused || st.Reason != "user" {
		t.Errorf("state while paused: %+v, %v; want the pause at seq 7", st, err)
	}
	if paused.Seq != 8 {
		t.Fatalf("seq %d", paused.Seq)
	}

	for _, tc := range []struct {
		id   string
		want ledger.SpeakerInfo
	}{
		{"ana", ledger.SpeakerInfo{ID: "ana", Channel: "mic", Name: "Ana", Org: "vendor"}},
		{"declined-eve", ledger.SpeakerInfo{ID: "declined-eve", Name: "Eve", Consent: "declined"}},
		{"call/v1", ledger.SpeakerInfo{ID: "call/v1", Channel: "call-2"}}, // never named: its latest final
	} {
		if got, err := s.Speaker(ctx, "m", tc.id); err != nil || got != tc.want {
			t.Errorf("Speaker(%s) = %+v, %v; want %+v", tc.id, got, err, tc.want)
		}
	}
	if _, err := s.Speaker(ctx, "m", "nobody"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("a speaker never heard: %v, want ledger.ErrNotFound", err)
	}

	got, err := s.Commitment(ctx, "m", "c1")
	if want := (ledger.CommitmentRecord{MeetingID: "m", CommitmentInfo: c1, Seq: 6, UpdatedAt: got.UpdatedAt}); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Commitment(c1) = %+v, %v; want %+v", got, err, want)
	}
	if c2, err := s.Commitment(ctx, "m", "c2"); err != nil || c2.SegmentIDs != nil || c2.Owner != "Lee" {
		t.Errorf("Commitment(c2) = %+v, %v", c2, err)
	}
	if _, err := s.Commitment(ctx, "m", "c9"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("an unknown commitment: %v, want ledger.ErrNotFound", err)
	}

	// A second run, after the first stopped: resuming from a pause is no new run.
	appendAll(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording, Reason: "user"},
		ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingStopped, Reason: "stopped"},
		ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording, Reason: ledger.ReasonStarted})
	if n, err := s.Runs(ctx, "m"); n != 2 || err != nil {
		t.Errorf("runs: %d, %v; want 2", n, err)
	}
	if st, err := s.LastState(ctx, "m"); err != nil || st.Seq != 11 || st.Reason != ledger.ReasonStarted {
		t.Errorf("state of the second run: %+v, %v", st, err)
	}

	// The clock reaches the end of the last segment, whichever was appended last, or a loss after it.
	if d, err := s.ClockReached(ctx, "m"); d != 900*time.Millisecond || err != nil {
		t.Errorf("clock reached: %v, %v; want the end of s2, 900ms", d, err)
	}
	appendAll(ledger.Event{Type: ledger.TypeChannelLoss, Loss: &ledger.LossInfo{Channel: "call", UndecodedMS: 700, AtMS: 1600}},
		ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "s0", Channel: "call", StartMS: 100, EndMS: 400, Text: "so"}},
		ledger.Event{Type: ledger.TypeChannelLoss, Loss: &ledger.LossInfo{Channel: "mic", CaptureMS: 20, AtMS: 1200}})
	if d, err := s.ClockReached(ctx, "m"); d != 1600*time.Millisecond || err != nil {
		t.Errorf("clock reached: %v, %v; want the latest loss, 1.6s", d, err)
	}
}

// editsSideBySide: edits made side by side each apply to the commitment as the other left it,
// while the pipeline appends to the same meeting; which fields a person set is kept in the
// projection, also after a reopen.
func editsSideBySide(t *testing.T, open StoreOpener) {
	db := open(t)
	s := db(time.Now)
	ctx := context.Background()
	if _, err := s.Append(ctx, ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: "m", Commitment: &ledger.CommitmentInfo{
		ID: "c-1", What: "send the pricing", Owner: "Dana", Status: ledger.StatusOpen, Quote: "I'll send the pricing.", SegmentIDs: []string{"mic-1"}}}); err != nil {
		t.Fatal(err)
	}
	sub := s.Subscribe("m", 64)
	done, owner, due := ledger.StatusDone, "Kenji", "2026-03-20"
	edits := []ledger.CommitmentEdit{{Status: &done}, {Owner: &owner}, {Due: &due}}
	var wg sync.WaitGroup
	for i, edit := range edits {
		wg.Go(func() {
			if _, err := s.EditCommitment(ctx, "m", "c-1", edit, fmt.Sprintf("viewer-%d", i)); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := s.Append(ctx, final("m", fmt.Sprint("s", i), "meanwhile")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range 2 * len(edits) {
		if e := <-sub.C(); e.Seq != int64(i+2) {
			t.Errorf("subscriber got seq %d at %d", e.Seq, i)
		}
	}
	sub.Close()
	check := func(s Store) {
		t.Helper()
		got, err := s.Commitment(ctx, "m", "c-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != done || got.Owner != owner || got.Due != due || got.Quote != "I'll send the pricing." || len(got.Edited) != 3 ||
			!got.EditedBy(ledger.EditStatus) || !got.EditedBy(ledger.EditOwner) || !got.EditedBy(ledger.EditDue) || !strings.HasPrefix(got.UpdatedBy, "viewer-") {
			t.Errorf("after three edits side by side: %+v", got)
		}
	}
	check(s)
	for _, tc := range []struct{ meeting, id string }{{"m", "c-9"}, {"nobody", "c-1"}} {
		if _, err := s.EditCommitment(ctx, tc.meeting, tc.id, edits[0], "viewer"); !errors.Is(err, ledger.ErrNotFound) || !wrappedOnce(err) {
			t.Errorf("edit of an unknown commitment %s/%s: %v, want ledger.ErrNotFound", tc.meeting, tc.id, err)
		}
	}
	if m, err := s.Meeting(ctx, "m"); err != nil || m.LastSeq != 7 {
		t.Errorf("meeting after the edits = %+v, %v; want seq 7, nothing appended by a refused edit", m, err)
	}
	if _, err := s.Meeting(ctx, "nobody"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("a refused edit recorded its meeting: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(db(time.Now))
}

// statedRoles: a stated role is the participant's role whatever their organisation; an event
// recorded before roles were stated still has its role guessed from its organisation, also once
// its meeting joins a deal.
func statedRoles(t *testing.T, open StoreOpener) {
	s := open(t)(time.Now)
	ctx := context.Background()
	if err := s.CreateDeal(ctx, ledger.Deal{ID: "d", Name: "Fabrikam", Account: "Fabrikam", Vendor: "Contoso", Partner: "Northwind"}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []ledger.Event{
		{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "old", Channel: "a", Name: "Ana", Org: "partner"}},
		{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "old-co", Channel: "b", Name: "Tom", Org: "Contoso"}},
		{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "stated", Channel: "c", Name: "Lee", Role: ledger.RoleBuyer}},
		{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "both", Channel: "d", Name: "Kim", Org: "Contoso", Role: ledger.RoleOther}},
		{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "s1", Channel: "c", Speaker: "stated", Role: ledger.RoleBuyer, Text: "hi"}},
		{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "s2", Channel: "e", Speaker: "voice", Role: ledger.RolePartner, Text: "yo"}},
	} {
		e.Meeting = "m"
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	roles := func() map[string][2]ledger.Role {
		t.Helper()
		ps, err := s.Participants(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][2]ledger.Role{}
		for _, p := range ps {
			out[p.SpeakerID] = [2]ledger.Role{p.Role, p.StatedRole}
		}
		return out
	}
	want := map[string][2]ledger.Role{"old": {ledger.RolePartner, ""}, "old-co": {ledger.RoleOther, ""},
		"stated": {ledger.RoleBuyer, ledger.RoleBuyer}, "both": {ledger.RoleOther, ledger.RoleOther}}
	if got := roles(); !reflect.DeepEqual(got, want) {
		t.Errorf("roles of no deal = %v, want %v", got, want)
	}
	if err := s.CreateMeeting(ctx, ledger.Meeting{ID: "m", DealID: "d"}); err != nil {
		t.Fatal(err)
	}
	want["old-co"] = [2]ledger.Role{ledger.RoleVendor, ""} // guessed again, now from the deal; stated roles stay
	if got := roles(); !reflect.DeepEqual(got, want) {
		t.Errorf("roles once in the deal = %v, want %v", got, want)
	}
	if segs, err := s.Segments(ctx, "m"); err != nil || len(segs) != 2 || segs[0].Role != ledger.RoleBuyer {
		t.Errorf("segments = %+v, %v; want the stated role kept", segs, err)
	}
	for id, want := range map[string]ledger.SpeakerInfo{
		"stated": {ID: "stated", Channel: "c", Name: "Lee", Role: ledger.RoleBuyer},
		"old":    {ID: "old", Channel: "a", Name: "Ana", Org: "partner"}, // no role stated: none given back
		"voice":  {ID: "voice", Channel: "e", Role: ledger.RolePartner},  // never named: from its latest final
	} {
		if got, err := s.Speaker(ctx, "m", id); err != nil || got != want {
			t.Errorf("Speaker(%s) = %+v, %v; want %+v", id, got, err, want)
		}
	}
}

// reopen: after a reopen, Since returns exactly what Append returned, the log goes on from the
// last Seq, and partials carry it.
func reopen(t *testing.T, open StoreOpener) {
	db := open(t)
	s := db(time.Now)
	ctx := context.Background()
	var appended []ledger.Event
	for _, e := range session(t) {
		got, err := s.Append(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		appended = append(appended, got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = db(time.Now)
	got, err := s.Since(ctx, "m", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, appended) {
		t.Fatalf("after reopen:\n got %+v\nwant %+v", got, appended)
	}
	got, err = s.Since(ctx, "m", 10)
	if err != nil || !reflect.DeepEqual(got, appended[10:]) {
		t.Fatalf("Since(m, 10) after reopen = %+v, %v", got, err)
	}
	sub := s.Subscribe("m", 4)
	defer sub.Close()
	if err := s.Publish(partial("m", "s9", "and")); err != nil {
		t.Fatal(err)
	}
	if e := <-sub.C(); e.Seq != int64(len(appended)) {
		t.Errorf("partial after reopen carries seq %d, want %d", e.Seq, len(appended))
	}
	e, err := s.Append(ctx, final("m", "s9", "and the API limits"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != int64(len(appended))+1 {
		t.Errorf("append after reopen got seq %d, want %d", e.Seq, len(appended)+1)
	}
}

// text: what a store cannot keep as given is refused (records) or stored as the event's JSON
// says it (text that is not UTF-8); a key no record can hold matches nothing.
func text(t *testing.T, open StoreOpener) {
	s := open(t)(time.Now)
	ctx := context.Background()
	for name, err := range map[string]error{
		"deal ID with NUL":         s.CreateDeal(ctx, ledger.Deal{ID: "d\x00", Name: "x"}),
		"deal name not UTF-8":      s.CreateDeal(ctx, ledger.Deal{ID: "d", Name: "caf\xe9"}),
		"meeting title with NUL":   s.CreateMeeting(ctx, ledger.Meeting{ID: "m", Title: "a\x00b"}),
		"meeting token not UTF-8":  s.CreateMeeting(ctx, ledger.Meeting{ID: "m", Token: "\xff"}),
		"meeting ID not UTF-8 too": s.CreateMeeting(ctx, ledger.Meeting{ID: "m\xff"}),
	} {
		if !errors.Is(err, ledger.ErrInvalidRecord) || !wrappedOnce(err) {
			t.Errorf("%s: %v, want ledger.ErrInvalidRecord", name, err)
		}
	}
	e, err := s.Append(ctx, final("m", "s1", "caf\xe9 con leche"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "caf\uFFFD con leche"; e.Segment.Text != want {
		t.Errorf("appended text %q, want %q", e.Segment.Text, want)
	}
	if got, err := s.Since(ctx, "m", 0); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], e) {
		t.Errorf("stored %+v, %v; appended %+v", got, err, e)
	}
	if segs, err := s.Segments(ctx, "m"); err != nil || len(segs) != 1 || segs[0].Text != e.Segment.Text {
		t.Errorf("projected %+v, %v; appended %+v", segs, err, e.Segment)
	}
	who := ledger.WithActor(ctx, "ana\x00\xff")
	if _, err := s.Append(who, ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: "m", Commitment: &ledger.CommitmentInfo{ID: "c", What: "x"}}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Commitment(ctx, "m", "c"); err != nil || c.UpdatedBy != "ana\uFFFD\uFFFD" {
		t.Errorf("commitment by an actor with NUL and not UTF-8: %+v, %v", c, err)
	}
	for _, key := range []string{"m\x00", "m\xff"} {
		if _, err := s.Meeting(ctx, key); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("Meeting(%q) = %v, want ledger.ErrNotFound", key, err)
		}
		if _, err := s.Speaker(ctx, "m", key); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("Speaker(%q) = %v, want ledger.ErrNotFound", key, err)
		}
		if _, err := s.EditCommitment(ctx, key, "c", ledger.CommitmentEdit{}, "viewer"); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("EditCommitment(%q) = %v, want ledger.ErrNotFound", key, err)
		}
		if got, err := s.Since(ctx, key, 0); err != nil || len(got) != 0 {
			t.Errorf("Since(%q) = %v, %v", key, got, err)
		}
		if got, err := s.Participants(ctx, key); err != nil || len(got) != 0 {
			t.Errorf("Participants(%q) = %v, %v", key, got, err)
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
