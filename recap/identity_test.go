package recap

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// acmeDeal records a deal's call as a laptop records it: Ravi joined from the join page as
// "partner", before the page offered organisations; Laura named her organisation; Kim declined.
// Northwind promises Laura the checklist; an older commitment still names "you".
func acmeDeal(t *testing.T) *ledger.SQLiteStore {
	t.Helper()
	st, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if err := st.CreateDeal(ctx, ledger.Deal{ID: "acme", Name: "Acme rollout", Vendor: "Contoso", Partner: "Northwind", Account: "Fabrikam"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateMeeting(ctx, ledger.Meeting{ID: "m1", DealID: "acme", Title: "Kickoff", StartedAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	events := []ledger.Event{
		{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "ravi", Channel: "ravi", Name: "Ravi Menon", Role: ledger.RolePartner}},
		{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "laura", Channel: "laura", Name: "Laura Chen", Org: "Fabrikam", Role: ledger.RoleBuyer}},
		{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "declined-kim", Name: "Kim Lee", Org: "Fabrikam", Role: ledger.RoleBuyer, Consent: "declined"}},
		{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "s1", Channel: "ravi", Speaker: "ravi", Org: "partner", Role: ledger.RolePartner,
			StartMS: 0, EndMS: 5000, Text: "We will share the security checklist with you by Friday.", Language: "en"}},
		{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "s2", Channel: "laura", Speaker: "laura", Org: "Fabrikam", Role: ledger.RoleBuyer,
			StartMS: 5000, EndMS: 8000, Text: "Thanks, that works for us.", Language: "en"}},
		{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c1", What: "share the security checklist",
			Owner: "Northwind", OwnerOrg: "Northwind", Contact: "Ravi Menon", Beneficiary: "Laura Chen", BeneficiaryOrg: "Fabrikam",
			Due: "2026-03-06", Status: ledger.StatusOpen, Confidence: 0.9, SegmentIDs: []string{"s1"}}},
		{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c2", What: "send the pricing",
			Owner: "Ravi Menon", Beneficiary: "you", Due: "2026-03-09", Status: ledger.StatusOpen, Confidence: 0.9, SegmentIDs: []string{"s1"}}},
	}
	for _, e := range events {
		e.Meeting = "m1"
		if _, err := st.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// Someone who joined as "partner" belongs to the deal's partner, Northwind: one row per
// organisation in the deal report, the recap's attendees and talk time.
func TestReportsGroupSidesUnderTheDealsOrganisations(t *testing.T) {
	st := acmeDeal(t)
	ctx := context.Background()
	s, err := DealReport(ctx, st, "acme", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range s.Orgs {
		if o.Org == "partner" {
			t.Errorf("a side counted as an organisation: %+v", s.Orgs)
		}
		if o.Org == "Northwind" && (o.TalkMS != 5000 || o.Role != ledger.RolePartner || o.Made != 2) {
			t.Errorf("Northwind = %+v, want 0:05 of talk, partner, 2 made", o)
		}
	}
	var table bytes.Buffer
	if err := s.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(table.String(), "partner  ") && strings.Contains(table.String(), "\npartner") {
		t.Errorf("table has a row for the side:\n%s", table.String())
	}
	for _, p := range s.People {
		if p.Name == "Ravi Menon" && p.Org != "Northwind" {
			t.Errorf("Ravi's organisation = %q, want Northwind", p.Org)
		}
	}

	r, err := Build(ctx, st, "m1")
	if err != nil {
		t.Fatal(err)
	}
	var orgs []string
	for _, o := range r.Orgs {
		orgs = append(orgs, o.Org)
	}
	if strings.Join(orgs, ",") != "Northwind,Fabrikam" || r.Orgs[0].TalkMS != 5000 || r.Orgs[0].Role != ledger.RolePartner {
		t.Errorf("recap organisations %+v", r.Orgs)
	}
	if r.Transcript[0].Org != "Northwind" {
		t.Errorf("transcript shows Ravi's organisation as %q", r.Transcript[0].Org)
	}
}

// Every rendering names an organisation's owner with its contact and the beneficiary with their
// organisation, and never "you".
func TestIdentitiesInEveryRendering(t *testing.T) {
	st := acmeDeal(t)
	ctx := context.Background()
	d, err := LoadMeeting(ctx, st, "m1")
	if err != nil {
		t.Fatal(err)
	}
	r := New(d)
	outputs := map[string]*bytes.Buffer{}
	write := func(name string, fn func(*bytes.Buffer) error) {
		var b bytes.Buffer
		if err := fn(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		outputs[name] = &b
	}
	write("recap.html", func(b *bytes.Buffer) error { return r.WriteHTML(b) })
	write("recap.md", func(b *bytes.Buffer) error { return r.WriteMarkdown(b) })
	for _, kind := range []string{"csv", "ics"} {
		f, err := LookupExport(kind)
		if err != nil {
			t.Fatal(err)
		}
		write(kind, func(b *bytes.Buffer) error { return f.Export(b, d, ExportOptions{}) })
	}
	s, err := DealReport(ctx, st, "acme", false)
	if err != nil {
		t.Fatal(err)
	}
	write("deal.html", func(b *bytes.Buffer) error { return s.WriteHTML(b) })
	write("deal table", func(b *bytes.Buffer) error { return s.WriteTable(b) })

	for name, b := range outputs {
		out := b.String()
		owner, forWhom := "Northwind — Ravi Menon", "for Laura Chen (Fabrikam)"
		switch name {
		case "csv":
			owner, forWhom = "Northwind,Northwind,share the security checklist,Laura Chen", "Ravi Menon,Fabrikam"
		case "ics":
			forWhom = "For: Laura Chen (Fabrikam)"
		}
		if !strings.Contains(out, owner) || !strings.Contains(out, forWhom) {
			t.Errorf("%s lacks %q or %q:\n%s", name, owner, forWhom, out)
		}
		if strings.Contains(out, "→") || strings.Contains(out, "for you") || strings.Contains(out, "For: you") || strings.Contains(out, ",you,") {
			t.Errorf("%s names the listener as \"you\":\n%s", name, out)
		}
	}
}

// Someone who declined recording is shown as declined, not as an attendee.
func TestDeclinedShownAsDeclined(t *testing.T) {
	st := acmeDeal(t)
	ctx := context.Background()
	r, err := Build(ctx, st, "m1")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range r.Orgs {
		if strings.Contains(strings.Join(o.People, ","), "Kim Lee") {
			t.Errorf("Kim is listed as an attendee: %+v", o)
		}
		if o.Org == "Fabrikam" && strings.Join(o.Declined, ",") != "Kim Lee" {
			t.Errorf("Fabrikam declined = %v, want Kim Lee", o.Declined)
		}
	}
	var html, md bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "Kim Lee <span class=\"meta\">declined recording") || !strings.Contains(md.String(), "Kim Lee (declined recording)") {
		t.Errorf("recap does not show Kim as declined:\n%s\n%s", html.String(), md.String())
	}

	s, err := DealReport(ctx, st, "acme", false)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := s.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	row := page.String()[strings.Index(page.String(), "<td>Kim Lee</td>"):]
	row = row[:strings.Index(row, "</tr>")]
	if strings.Contains(row, "✓") || !strings.Contains(row, `data-attended="declined"`) {
		t.Errorf("deal page row for Kim: %s", row)
	}
}

// A speaker renamed after they spoke is named anew everywhere the recap names them: attendees,
// talk time and the transcript, organisation included.
func TestRenameReachesTranscriptAndAttendees(t *testing.T) {
	st := acmeDeal(t)
	ctx := context.Background()
	if _, err := st.Append(ctx, ledger.Event{Type: ledger.TypeSpeakerUpdate, Meeting: "m1", Speaker: &ledger.SpeakerInfo{ID: "laura",
		Channel: "laura", Name: "Laura Chen-Park", Org: "Fabrikam Europe"}}); err != nil {
		t.Fatal(err)
	}
	r, err := Build(ctx, st, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if l := r.Transcript[1]; l.Speaker != "Laura Chen-Park" || l.Org != "Fabrikam Europe" {
		t.Errorf("transcript names her %q (%q)", l.Speaker, l.Org)
	}
	for _, o := range r.Orgs {
		people := strings.Join(o.People, ",")
		if strings.Contains(people, "Laura Chen,") || people == "Laura Chen" || (o.Org == "Fabrikam" && o.TalkMS > 0) {
			t.Errorf("the former name or organisation is still an attendee: %+v", r.Orgs)
		}
		if o.Org == "Fabrikam Europe" && (people != "Laura Chen-Park" || o.TalkMS != 3000) {
			t.Errorf("Fabrikam Europe = %+v", o)
		}
	}
}

// A commitment recorded with only a side for its organisation ("we" of someone who joined as
// "partner", or a meeting recorded before it joined the deal) is the deal's organisation's, in the
// deal report, the recap and the exports alike.
func TestCommitmentsOfASideBelongToTheDealsOrganisation(t *testing.T) {
	st := acmeDeal(t)
	ctx := context.Background()
	if _, err := st.Append(ctx, ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: "m1", Commitment: &ledger.CommitmentInfo{
		ID: "c3", What: "run the pilot", Owner: "partner", OwnerOrg: "partner", Contact: "Ravi Menon", Beneficiary: "Laura Chen",
		BeneficiaryOrg: "buyer", Status: ledger.StatusOpen, Confidence: 0.9, SegmentIDs: []string{"s1"}}}); err != nil {
		t.Fatal(err)
	}
	s, err := DealReport(ctx, st, "acme", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range s.Orgs {
		if o.Org == "partner" || o.Org == "buyer" {
			t.Errorf("a side counted as an organisation: %+v", s.Orgs)
		}
		if o.Org == "Northwind" && o.Made != 3 {
			t.Errorf("Northwind made %d, want 3 (its side's commitment counted under its name)", o.Made)
		}
	}
	for _, c := range s.Commitments {
		if c.ID == "c3" && (c.Owner != "Northwind" || c.OwnerOrg != "Northwind" || c.BeneficiaryOrg != "Fabrikam") {
			t.Errorf("deal report commitment %+v, want owned by Northwind for Laura Chen (Fabrikam)", c)
		}
	}
	d, err := LoadMeeting(ctx, st, "m1")
	if err != nil {
		t.Fatal(err)
	}
	var csv bytes.Buffer
	if err := writeCSV(&csv, d, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(csv.String(), "\n") {
		if strings.HasPrefix(line, "c3,") && (!strings.Contains(line, "Northwind") || strings.Contains(line, "partner") || strings.Contains(line, "buyer")) {
			t.Errorf("CSV row %q, want the organisations' names", line)
		}
	}
}
