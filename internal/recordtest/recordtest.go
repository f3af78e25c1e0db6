// Package recordtest seeds a real store with a co-selling deal and its meetings, recorded as the live
// pipeline records them, for the tests of the packages that read the record.
package recordtest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/ledger"
)

// A co-selling deal: Acme (vendor) and Globex (partner) sell to Initech (buyer).
const (
	Deal         = "initech-erp"
	DealToken    = "deal-token-0123456789"
	Kickoff      = "kickoff"
	KickoffToken = "kickoff-token-0123456789"
	DeepDive     = "deep-dive"
	EvilText     = `Welcome <b>everyone</b> & thanks; a|b, "quoted" -->`
)

type speaker struct{ id, name, org string }

var (
	dana  = speaker{"spk-dana", "Dana", "Acme"}
	kenji = speaker{"spk-kenji", "Kenji", "Acme"}
	omar  = speaker{"spk-omar", "Omar", "Globex"}
	priya = speaker{"spk-priya", "Priya", "Initech"}
	lucia = speaker{"spk-lucia", "Lucía", "Initech"}
)

type line struct {
	who        speaker
	lang, text string
}

var kickoffLines = []line{
	{dana, "en", EvilText},
	{omar, "en", "We'll send you the integration architecture by Friday."},
	{priya, "en", "Honestly the licence looks too expensive for our team."},
	{dana, "en", "I'll share the pricing options with you tomorrow."},
	{omar, "en", "To confirm, we will send you the integration architecture by March 10."},
	{priya, "en", "Who owns the data migration?"},
	{dana, "en", "Good question, our team does that part."},
	{lucia, "es", "¿Cuánto cuesta el soporte premium?"},
	{lucia, "es", "Es demasiado caro para nosotros."},
	{priya, "en", "We need to check that internally."},
	{priya, "en", "Also, is there an on-prem option?"},
}

var deepDiveLines = []line{
	{omar, "en", "We sent the architecture last week."},
	{dana, "en", "I'll share the pricing options with you by Friday."},
	{kenji, "en", "I will set up the sandbox for you by next Wednesday."},
	{priya, "en", "We'll get back to you with a decision by end of month."},
}

// Seed opens a real SQLite store holding the deal and its meetings, recorded as the live
// pipeline records them: speakers, finals, and the commitments a Detector and a Book find in them.
func Seed(t testing.TB) *ledger.SQLiteStore {
	t.Helper()
	ctx := context.Background()
	st, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledgerline.db"),
		ledger.WithSQLiteClock(func() time.Time { return time.Date(2026, 3, 12, 16, 0, 0, 0, time.UTC) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.CreateDeal(ctx, ledger.Deal{ID: Deal, Name: "Initech ERP rollout", Account: "Initech", Vendor: "Acme",
		Partner: "Globex", Token: DealToken}); err != nil {
		t.Fatal(err)
	}
	kick := time.Date(2026, 3, 5, 14, 0, 0, 0, time.UTC) // a Thursday
	recordMeeting(t, st, ledger.Meeting{ID: Kickoff, DealID: Deal, Title: "Kickoff", StartedAt: kick, Timezone: "UTC",
		Language: "en", Token: KickoffToken}, kickoffLines)
	recordMeeting(t, st, ledger.Meeting{ID: DeepDive, DealID: Deal, Title: "Technical deep dive", StartedAt: kick.AddDate(0, 0, 7),
		Timezone: "UTC", Language: "en", Token: "deep-dive-token-0123456789"}, deepDiveLines)
	return st
}

func recordMeeting(t testing.TB, st *ledger.SQLiteStore, m ledger.Meeting, lines []line) {
	t.Helper()
	ctx := ledger.WithActor(context.Background(), "detector")
	if err := st.CreateMeeting(ctx, m); err != nil {
		t.Fatal(err)
	}
	appendEv := func(e ledger.Event) {
		t.Helper()
		e.Meeting = m.ID
		if _, err := st.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	appendEv(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording})
	named := map[string]bool{}
	det, book := detect.NewDetector(), detect.NewBook()
	var clock int64
	for i, l := range lines {
		if !named[l.who.id] {
			named[l.who.id] = true
			appendEv(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: l.who.id, Channel: "mic-" + l.who.id, Name: l.who.name, Org: l.who.org}})
		}
		seg := ledger.SegmentInfo{ID: fmt.Sprintf("%s-%d", m.ID, i+1), Channel: "mic-" + l.who.id, Speaker: l.who.id, Org: l.who.org,
			StartMS: clock, EndMS: clock + 4000, Text: l.text, Language: l.lang}
		clock += 4500
		appendEv(ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &seg})
		for _, c := range det.Detect(detect.Utterance{Text: l.text, Speaker: detect.Speaker{Name: l.who.name, Org: l.who.org},
			Language: l.lang, MeetingDate: m.StartedAt, Location: time.UTC}) {
			info, _ := book.Add(c, seg)
			appendEv(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &info})
		}
	}
	appendEv(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingStopped, Reason: "user"})
}
