package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

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

	c1 := ledger.CommitmentInfo{ID: "c1", What: "send the deck to Laura Chen", Owner: "vendor", Contact: "Ana", Beneficiary: "Laura Chen",
		BeneficiaryOrg: "Acme", Status: ledger.StatusOpen, Confidence: 0.8, SegmentIDs: []string{"s1"}}
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

	// Capture health is read back from the log as it was said, in order.
	if got, err := s.CaptureHealth(ctx, "m"); len(got) != 0 || err != nil {
		t.Errorf("capture health before any: %+v, %v", got, err)
	}
	silent := ledger.CaptureInfo{Channel: "system", LevelDB: -90, PeakDB: -90, Problem: ledger.CaptureSilent,
		Message: "No call audio for 60 s — is the meeting playing through another device?", AtMS: 60000}
	well := ledger.CaptureInfo{Channel: "system", LevelDB: -20, PeakDB: -8, Message: "The call audio device is working again.", AtMS: 75000}
	appendAll(ledger.Event{Type: ledger.TypeCaptureHealth, Capture: &silent},
		ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "s9", Channel: "call", StartMS: 1700, EndMS: 1800, Text: "ok"}},
		ledger.Event{Type: ledger.TypeCaptureHealth, Capture: &well})
	if got, err := s.CaptureHealth(ctx, "m"); err != nil || !reflect.DeepEqual(got, []ledger.CaptureInfo{silent, well}) {
		t.Errorf("capture health: %+v, %v; want the problem, then its end", got, err)
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
