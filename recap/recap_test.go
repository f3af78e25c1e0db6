package recap

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/internal/recordtest"
	"github.com/ledgerline/ledgerline/ledger"
)

func TestRecapFromStore(t *testing.T) {
	st := recordtest.Seed(t)
	r, err := Build(context.Background(), st, recordtest.Kickoff)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name() != "Kickoff" || r.Deal != "Initech ERP rollout" || r.DurationMS != 10*4500+4000 {
		t.Errorf("recap header: %q %q %d", r.Name(), r.Deal, r.DurationMS)
	}
	if strings.Join(r.Languages, ",") != "en,es" {
		t.Errorf("languages %v, want en then es", r.Languages)
	}

	// Attendees by organisation, with their side and talk time.
	orgs := map[string]OrgRecap{}
	var share float64
	for _, o := range r.Orgs {
		orgs[o.Org] = o
		share += o.TalkShare
	}
	if len(orgs) != 3 || orgs["Initech"].Role != ledger.RoleBuyer || orgs["Acme"].Role != ledger.RoleVendor || orgs["Globex"].Role != ledger.RolePartner {
		t.Fatalf("organisations %+v", r.Orgs)
	}
	if got := strings.Join(orgs["Initech"].People, ","); got != "Lucía,Priya" {
		t.Errorf("Initech attendees %q", got)
	}
	if orgs["Initech"].TalkMS != 6*4000 || orgs["Acme"].TalkMS != 3*4000 || orgs["Globex"].TalkMS != 2*4000 || r.Orgs[0].Org != "Initech" {
		t.Errorf("talk time %+v", r.Orgs)
	}
	if share < 0.999 || share > 1.001 {
		t.Errorf("talk shares add up to %f", share)
	}

	// Commitments, the repeated one merged with both quotes at their times.
	if len(r.Commitments) != 2 {
		t.Fatalf("commitments %+v", r.Commitments)
	}
	arch := r.Commitments[0]
	if arch.Owner != "Globex" || arch.Due != "2026-03-10" || len(arch.Evidence) != 2 ||
		arch.Evidence[1].StartMS != 4*4500 || !strings.Contains(arch.Evidence[1].Quote, "March 10") {
		t.Errorf("merged commitment %+v", arch)
	}

	// Questions nobody from another organisation answered, and objections in two languages.
	var open []string
	for _, q := range r.OpenQuestions {
		open = append(open, q.Text)
	}
	if strings.Join(open, "|") != "¿Cuánto cuesta el soporte premium?|Also, is there an on-prem option?" {
		t.Errorf("open questions %q", open)
	}
	var obj []string
	for _, o := range r.Objections {
		obj = append(obj, o.Speaker+": "+o.Text)
	}
	if strings.Join(obj, "|") != "Priya: Honestly the licence looks too expensive for our team.|Lucía: Es demasiado caro para nosotros." {
		t.Errorf("objections %q", obj)
	}
}

func TestSegmentAnchor(t *testing.T) {
	for id, want := range map[string]string{
		"call-3":    "seg-call-3",
		"r2-mic_1":  "seg-r2-mic_1",
		"mic/2":     "seg." + "6d69632f32",
		`"><script`: "seg." + "223e3c736372697074",
	} {
		if got := SegmentAnchor(id); got != want {
			t.Errorf("SegmentAnchor(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestRecapRendersEscaped(t *testing.T) {
	st := recordtest.Seed(t)
	r, err := Build(context.Background(), st, recordtest.Kickoff)
	if err != nil {
		t.Fatal(err)
	}
	var html, md bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	page := html.String()
	// Each line of the transcript is a target, named by its segment, and the evidence links to it.
	anchors := []string{}
	for _, l := range r.Transcript {
		anchors = append(anchors, `id="`+SegmentAnchor(l.SegmentID)+`"`)
	}
	for _, c := range r.Commitments {
		for _, e := range c.Evidence {
			anchors = append(anchors, `href="#`+SegmentAnchor(e.SegmentID)+`"`)
		}
	}
	if len(anchors) <= len(r.Transcript) {
		t.Fatal("the seeded recap has no evidence to link")
	}
	for _, want := range anchors {
		if !strings.Contains(page, want) {
			t.Errorf("HTML recap lacks %s", want)
		}
	}
	for _, want := range []string{`<table id="commitments">`, "send you the integration architecture",
		"Welcome &lt;b&gt;everyone&lt;/b&gt; &amp; thanks", "Lucía", "<style>" + pageCSS + "</style>"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML recap lacks %q", want)
		}
	}
	for _, banned := range []string{"<b>everyone", "<script", "http://", "https://"} {
		if strings.Contains(page, banned) {
			t.Errorf("HTML recap holds %q", banned)
		}
	}
	text := md.String()
	for _, want := range []string{"# Recap: Kickoff", "| Owner | What | Due | Status | Evidence |",
		"| " + mdCell(OwnerLabel(r.Commitments[0].CommitmentInfo)) + " | ",
		" | 2026-03-10 (“by March 10”) | open |",
		"## Open questions", "- “Also, is there an on-prem option?” — Priya (Initech), [0:45]", "demasiado caro"} {
		if !strings.Contains(text, want) {
			t.Errorf("Markdown recap lacks %q:\n%s", want, text)
		}
	}
	if got := mdEscape(recordtest.EvilText); strings.ContainsAny(strings.NewReplacer(`\|`, "", "&lt;", "", "&gt;", "", "&amp;", "").Replace(got), "|<>") {
		t.Errorf("Markdown escape left markup: %q", got)
	}
}

func TestRecapUnknownMeeting(t *testing.T) {
	st := recordtest.Seed(t)
	if _, err := Build(context.Background(), st, "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

// Speakers are shown and grouped by their organisation, or by their side of the deal where their
// organisation is unknown; a speaker of neither is grouped apart, as before roles were stated.
func TestRecapGroupsByOrganisationThenRole(t *testing.T) {
	seg := func(id, speaker, org string, role ledger.Role, start int64) ledger.Segment {
		return ledger.Segment{MeetingID: "m", SegmentInfo: ledger.SegmentInfo{ID: id, Channel: speaker, Speaker: speaker, Org: org, Role: role,
			StartMS: start, EndMS: start + 1000, Text: "Hello."}}
	}
	d := MeetingData{
		Meeting: ledger.Meeting{ID: "m"},
		Participants: []ledger.Participant{
			{MeetingID: "m", SpeakerID: "ana", Name: "Ana", Role: ledger.RolePartner, StatedRole: ledger.RolePartner},
			{MeetingID: "m", SpeakerID: "omar", Name: "Omar", Org: "Globex", Role: ledger.RolePartner, StatedRole: ledger.RolePartner},
			{MeetingID: "m", SpeakerID: "voice", Name: "Speaker 1", Role: ledger.RoleOther},
		},
		Segments: []ledger.Segment{seg("s1", "ana", "", ledger.RolePartner, 0), seg("s2", "omar", "Globex", ledger.RolePartner, 1000),
			seg("s3", "voice", "", "", 2000)},
	}
	r := New(d)
	orgs := map[string]OrgRecap{}
	for _, o := range r.Orgs {
		orgs[o.Org] = o
	}
	if len(orgs) != 3 || orgs["partner"].Role != ledger.RolePartner || strings.Join(orgs["partner"].People, ",") != "Ana" ||
		orgs["Globex"].Role != ledger.RolePartner || strings.Join(orgs["Globex"].People, ",") != "Omar" ||
		strings.Join(orgs[""].People, ",") != "Speaker 1" {
		t.Fatalf("organisations %+v", r.Orgs)
	}
	if r.Transcript[0].Org != "partner" || r.Transcript[1].Org != "Globex" || r.Transcript[2].Org != "" {
		t.Errorf("transcript organisations %q %q %q", r.Transcript[0].Org, r.Transcript[1].Org, r.Transcript[2].Org)
	}
}
