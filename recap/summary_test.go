package recap

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/summary"
)

func pilotCall() MeetingData {
	seg := func(id, speaker string, start int64, text string) ledger.Segment {
		return ledger.Segment{MeetingID: "m", SegmentInfo: ledger.SegmentInfo{ID: id, Channel: speaker, Speaker: speaker,
			StartMS: start, EndMS: start + 4000, Text: text, Language: "en"}}
	}
	return MeetingData{
		Meeting: ledger.Meeting{ID: "m", Title: "Pilot"},
		Participants: []ledger.Participant{
			{MeetingID: "m", SpeakerID: "laura", Name: "Laura Chen", Org: "Fabrikam"},
			{MeetingID: "m", SpeakerID: "ravi", Name: "Ravi Menon", Org: "Northwind"},
		},
		Segments: []ledger.Segment{
			seg("s1", "laura", 0, "So we agreed to start with the pilot in March."),
			seg("s2", "ravi", 5000, "We'll share the security checklist with Laura by Friday."),
			seg("s3", "laura", 10000, "Honestly the licence looks too expensive for our team."),
			seg("s4", "laura", 15000, "Is there an on-prem option?"),
		},
		Commitments: []ledger.CommitmentRecord{{MeetingID: "m", CommitmentInfo: ledger.CommitmentInfo{ID: "c1",
			What: "share the security checklist", Owner: "Northwind", OwnerOrg: "Northwind", Contact: "Ravi Menon",
			Beneficiary: "Laura Chen", BeneficiaryOrg: "Fabrikam", Due: "2026-03-06", Status: ledger.StatusOpen, Confidence: 0.9,
			SegmentIDs: []string{"s2"}, StartMS: 5000}}},
	}
}

// The recap opens with its summary, every line linking to the moment it was said.
func TestRecapSummaryLinksEveryLine(t *testing.T) {
	r := New(pilotCall())
	sm := r.Summary
	if len(sm.Decisions) != 1 || sm.Decisions[0].SegmentIDs[0] != "s1" || len(sm.NextSteps) != 1 ||
		sm.NextSteps[0].Text != "Northwind — Ravi Menon: share the security checklist for Laura Chen (Fabrikam), due 2026-03-06" ||
		len(sm.Risks) != 1 || sm.Risks[0].SegmentIDs[0] != "s3" || len(sm.Questions) != 1 || sm.Questions[0].SegmentIDs[0] != "s4" {
		t.Fatalf("summary %+v", sm)
	}
	var html, md bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	page := html.String()
	sec := page[strings.Index(page, `<section id="summary">`):]
	sec = sec[:strings.Index(sec, "</section>")]
	for _, want := range []string{`id="decisions"`, `href="#seg-s1"`, `id="next-steps"`, `href="#seg-s2"`, `id="risks"`, `href="#seg-s3"`,
		`id="summary-questions"`, `href="#seg-s4"`} {
		if !strings.Contains(sec, want) {
			t.Errorf("summary lacks %s:\n%s", want, sec)
		}
	}
	if strings.Index(page, `id="summary"`) > strings.Index(page, `id="attendees"`) {
		t.Error("the summary is not at the top of the recap")
	}
	if !strings.Contains(md.String(), "### Decisions\n\n- “So we agreed to start with the pilot in March.” — Laura Chen (Fabrikam), [0:00]") {
		t.Errorf("Markdown summary:\n%s", md.String())
	}
}

// With a local model, the recap adds its narrative, checked against the transcript.
func TestRecapNarrativeFromLocalModel(t *testing.T) {
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		content := `{"sentences":[{"text":"Fabrikam agreed to start with the pilot in March.","cites":["s1"]},` +
			`{"text":"Northwind offered free support for two years.","cites":["s2"]}]}`
		_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"content": content}}}})
	}))
	defer model.Close()
	r := New(pilotCall())
	if err := r.Narrate(context.Background(), &summary.ChatNarrator{URL: model.URL}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if len(r.Summary.Narrative) != 1 || r.Summary.Narrative[0].SegmentIDs[0] != "s1" {
		t.Fatalf("narrative %+v", r.Summary.Narrative)
	}
	var html bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), `<p id="narrative">Fabrikam agreed to start with the pilot in March. <a href="#seg-s1">[0:00]</a>`) ||
		strings.Contains(html.String(), "free support") {
		t.Errorf("narrative rendered as:\n%s", html.String())
	}
}

// A commitment done, or dismissed, is no next step; the header says no language it does not know.
func TestNextStepsAreTheOpenCommitments(t *testing.T) {
	data := pilotCall()
	open := data.Commitments[0]
	done := open
	done.ID, done.What, done.Status = "c2", "send the pricing", ledger.StatusDone
	dropped := open
	dropped.ID, dropped.What, dropped.Status = "c3", "book the room", ledger.StatusDropped
	data.Commitments = []ledger.CommitmentRecord{open, done, dropped}
	r := New(data)
	if len(r.Summary.NextSteps) != 1 || !strings.Contains(r.Summary.NextSteps[0].Text, "share the security checklist") {
		t.Errorf("next steps %+v, want only the open commitment", r.Summary.NextSteps)
	}
	r.Languages = nil
	var html bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html.String(), "· ·") || strings.Contains(html.String(), "· </p>") {
		t.Errorf("the header has an empty part: %s", html.String()[strings.Index(html.String(), `<p class="meta">`):][:200])
	}
}

// A voice the diarizer told apart on a shared channel whose words all went to someone else is no
// attendee; someone on a channel of their own who said nothing is one.
func TestUnheardVoicesAreNoAttendees(t *testing.T) {
	data := pilotCall()
	for i := range data.Participants {
		data.Participants[i].Channel = data.Participants[i].SpeakerID
	}
	data.Participants = append(data.Participants,
		ledger.Participant{MeetingID: "m", SpeakerID: "spk-2", Channel: "laura", Name: "Speaker 2"},
		ledger.Participant{MeetingID: "m", SpeakerID: "tom", Channel: "tom", Name: "Tom Baker", Org: "Fabrikam"})
	data.dropUnheardVoices()
	var names []string
	for _, p := range data.Participants {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "Laura Chen,Ravi Menon,Tom Baker" {
		t.Errorf("attendees %s, want Speaker 2 left out and silent Tom kept", got)
	}
}
