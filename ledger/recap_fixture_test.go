package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// A co-selling deal: Acme (vendor) and Globex (partner) sell to Initech (buyer).
const (
	fxDeal      = "initech-erp"
	fxDealToken = "deal-token-0123456789"
	fxKickoff   = "kickoff"
	fxKickToken = "kickoff-token-0123456789"
	fxDeepDive  = "deep-dive"
	fxEvilText  = `Welcome <b>everyone</b> & thanks; a|b, "quoted" -->`
)

type fxSpeaker struct{ id, name, org string }

var (
	fxDana  = fxSpeaker{"spk-dana", "Dana", "Acme"}
	fxKenji = fxSpeaker{"spk-kenji", "Kenji", "Acme"}
	fxOmar  = fxSpeaker{"spk-omar", "Omar", "Globex"}
	fxPriya = fxSpeaker{"spk-priya", "Priya", "Initech"}
	fxLucia = fxSpeaker{"spk-lucia", "Lucía", "Initech"}
)

type fxLine struct {
	who        fxSpeaker
	lang, text string
}

var fxKickoffLines = []fxLine{
	{fxDana, "en", fxEvilText},
	{fxOmar, "en", "We'll send you the integration architecture by Friday."},
	{fxPriya, "en", "Honestly the licence looks too expensive for our team."},
	{fxDana, "en", "I'll share the pricing options with you tomorrow."},
	{fxOmar, "en", "To confirm, we will send you the integration architecture by March 10."},
	{fxPriya, "en", "Who owns the data migration?"},
	{fxDana, "en", "Good question, our team does that part."},
	{fxLucia, "es", "¿Cuánto cuesta el soporte premium?"},
	{fxLucia, "es", "Es demasiado caro para nosotros."},
	{fxPriya, "en", "We need to check that internally."},
	{fxPriya, "en", "Also, is there an on-prem option?"},
}

var fxDeepDiveLines = []fxLine{
	{fxOmar, "en", "We sent the architecture last week."},
	{fxDana, "en", "I'll share the pricing options with you by Friday."},
	{fxKenji, "en", "I will set up the sandbox for you by next Wednesday."},
	{fxPriya, "en", "We'll get back to you with a decision by end of month."},
}

// seedStore opens a real SQLite store holding the deal and its meetings, recorded as the live
// pipeline records them: speakers, finals, and the commitments a Detector and a Book find in them.
func seedStore(t *testing.T) *SQLiteStore {
	t.Helper()
	ctx := context.Background()
	st, err := OpenSQLite(filepath.Join(t.TempDir(), "ledgerline.db"),
		WithSQLiteClock(func() time.Time { return time.Date(2026, 3, 12, 16, 0, 0, 0, time.UTC) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.CreateDeal(ctx, Deal{ID: fxDeal, Name: "Initech ERP rollout", Account: "Initech", Vendor: "Acme",
		Partner: "Globex", Token: fxDealToken}); err != nil {
		t.Fatal(err)
	}
	kick := time.Date(2026, 3, 5, 14, 0, 0, 0, time.UTC) // a Thursday
	recordMeeting(t, st, Meeting{ID: fxKickoff, DealID: fxDeal, Title: "Kickoff", StartedAt: kick, Timezone: "UTC",
		Language: "en", Token: fxKickToken}, fxKickoffLines)
	recordMeeting(t, st, Meeting{ID: fxDeepDive, DealID: fxDeal, Title: "Technical deep dive", StartedAt: kick.AddDate(0, 0, 7),
		Timezone: "UTC", Language: "en", Token: "deep-dive-token-0123456789"}, fxDeepDiveLines)
	return st
}

func recordMeeting(t *testing.T, st *SQLiteStore, m Meeting, lines []fxLine) {
	t.Helper()
	ctx := WithActor(context.Background(), "detector")
	if err := st.CreateMeeting(ctx, m); err != nil {
		t.Fatal(err)
	}
	appendEv := func(e Event) {
		t.Helper()
		e.Meeting = m.ID
		if _, err := st.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	appendEv(Event{Type: TypeMeetingState, State: MeetingRecording})
	named := map[string]bool{}
	det, book := NewDetector(), NewBook()
	var clock int64
	for i, l := range lines {
		if !named[l.who.id] {
			named[l.who.id] = true
			appendEv(Event{Type: TypeSpeakerUpdate, Speaker: &SpeakerInfo{ID: l.who.id, Channel: "mic-" + l.who.id, Name: l.who.name, Org: l.who.org}})
		}
		seg := SegmentInfo{ID: fmt.Sprintf("%s-%d", m.ID, i+1), Channel: "mic-" + l.who.id, Speaker: l.who.id, Org: l.who.org,
			StartMS: clock, EndMS: clock + 4000, Text: l.text, Language: l.lang}
		clock += 4500
		appendEv(Event{Type: TypeSegmentFinal, Segment: &seg})
		for _, c := range det.Detect(Utterance{Text: l.text, Speaker: Speaker{Name: l.who.name, Org: l.who.org},
			Language: l.lang, MeetingDate: m.StartedAt, Location: time.UTC}) {
			info, _ := book.Add(c, seg)
			appendEv(Event{Type: TypeCommitmentUpsert, Commitment: &info})
		}
	}
	appendEv(Event{Type: TypeMeetingState, State: MeetingStopped, Reason: "user"})
}

// markDone records a user marking a commitment done.
func markDone(t *testing.T, st *SQLiteStore, meeting, id string) {
	t.Helper()
	ctx := WithActor(context.Background(), "user:dana@acme.example")
	cs, err := st.Commitments(ctx, meeting)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == id {
			info := c.CommitmentInfo
			info.Status = StatusDone
			if _, err := st.Append(ctx, Event{Type: TypeCommitmentUpsert, Meeting: meeting, Commitment: &info}); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no commitment %q in meeting %q", id, meeting)
}
