package recap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/internal/recordtest"
	"github.com/ledgerline/ledgerline/ledger"
)

func TestDealReport(t *testing.T) {
	st := recordtest.Seed(t)
	markDone(t, st, recordtest.Kickoff, "c-1") // Globex sent the architecture
	ctx := context.Background()
	s, err := DealReport(ctx, st, recordtest.Deal, false)
	if err != nil {
		t.Fatal(err)
	}
	if s.Deal.Name != "Initech ERP rollout" || len(s.Meetings) != 2 || s.Meetings[0].ID != recordtest.Kickoff || s.Meetings[1].Commitments != 3 {
		t.Fatalf("deal %+v, meetings %+v", s.Deal, s.Meetings)
	}

	// The pricing promise made in both meetings counts once, first raised by Dana in the kickoff.
	if len(s.Commitments) != 4 {
		t.Fatalf("commitments %+v", s.Commitments)
	}
	// Found by owner, not by the detector's wording of the action.
	byOwner := map[string]DealCommitment{}
	for _, c := range s.Commitments {
		byOwner[c.Owner] = c
	}
	pricing := byOwner["Dana"]
	if !slices.Equal(pricing.Meetings, []string{recordtest.Kickoff, recordtest.DeepDive}) || pricing.FirstMeeting != recordtest.Kickoff ||
		pricing.FirstRaisedBy != "Dana" || pricing.FirstRaisedOrg != "Acme" || pricing.Due != "2026-03-13" || pricing.FirstStartMS != 3*4500 {
		t.Errorf("pricing %+v", pricing)
	}
	if arch := byOwner["Globex"]; arch.Status != ledger.StatusDone || arch.FirstRaisedBy != "Omar" {
		t.Errorf("architecture %+v", arch)
	}

	orgs := map[string]DealOrg{}
	for _, o := range s.Orgs {
		orgs[o.Org] = o
	}
	want := map[string][3]int{"Acme": {2, 0, 2}, "Globex": {1, 1, 0}, "Initech": {1, 0, 1}}
	for org, w := range want {
		o := orgs[org]
		if [3]int{o.Made, o.Kept, o.Open} != w {
			t.Errorf("%s made/kept/open %d/%d/%d, want %v", org, o.Made, o.Kept, o.Open, w)
		}
	}
	if orgs["Acme"].Role != ledger.RoleVendor || s.Orgs[0].Org != "Acme" || orgs["Initech"].TalkMS != 7*4000 {
		t.Errorf("organisations %+v", s.Orgs)
	}

	// Who was in which call.
	people := map[string][]string{}
	for _, p := range s.People {
		people[p.Name] = p.Meetings
	}
	if !slices.Equal(people["Kenji"], []string{recordtest.DeepDive}) || !slices.Equal(people["Dana"], []string{recordtest.Kickoff, recordtest.DeepDive}) ||
		!slices.Equal(people["Lucía"], []string{recordtest.Kickoff}) {
		t.Errorf("attendance %v", people)
	}
	if len(s.Objections) != 2 || s.Objections[1].Meeting != recordtest.Kickoff || len(s.OpenQuestions) != 2 {
		t.Errorf("objections %+v, questions %+v", s.Objections, s.OpenQuestions)
	}

	// Open only: the done one leaves the list, the counts stay.
	open, err := DealReport(ctx, st, recordtest.Deal, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(open.Commitments) != 3 || !open.OpenOnly || !slices.EqualFunc(open.Orgs, s.Orgs, func(a, b DealOrg) bool { return a == b }) {
		t.Errorf("open only: %+v", open.Commitments)
	}

	var js bytes.Buffer
	if err := open.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back DealSummary
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Commitments) != 3 || back.Deal.ID != recordtest.Deal {
		t.Fatalf("JSON round trip: %v %+v", err, back)
	}
	if strings.Contains(js.String(), recordtest.DealToken) || strings.Contains(js.String(), recordtest.KickoffToken) {
		t.Fatal("the deal report holds a token")
	}

	var table bytes.Buffer
	if err := s.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(table.String(), "\n")
	var header, pricingRow string
	for _, l := range lines {
		if strings.HasPrefix(l, "ORGANISATION") {
			header = l
		}
		if strings.HasPrefix(l, "Dana (Acme)") {
			pricingRow = l
		}
	}
	if !strings.Contains(header, "MADE  KEPT  OPEN") || pricing.What == "" || !strings.Contains(pricingRow, pricing.What) ||
		!strings.Contains(pricingRow, "Dana (Acme)") || !strings.Contains(pricingRow, "kickoff 0:13") {
		t.Errorf("table:\n%s", table.String())
	}

	var page bytes.Buffer
	if err := s.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="open-commitments"`, `data-owner="Dana (Acme)"`, "set up the sandbox for you", "Es demasiado caro",
		`<th>Technical deep dive</th>`, "Kenji"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("deal page lacks %q", want)
		}
	}
	if strings.Contains(page.String(), "<b>everyone") {
		t.Error("deal page holds unescaped meeting text")
	}
	if want := fmt.Sprintf("%d meetings</p>", len(s.Meetings)); len(s.Meetings) < 2 || !strings.Contains(page.String(), want) {
		t.Errorf("deal page does not count %d meetings as %q", len(s.Meetings), want)
	}
	one := s
	one.Meetings = s.Meetings[:1]
	page.Reset()
	if err := one.WriteHTML(&page); err != nil || !strings.Contains(page.String(), "· 1 meeting</p>") {
		t.Errorf("a deal of one meeting is not counted as 1 meeting (%v)", err)
	}

	if _, err := DealReport(ctx, st, "nope", false); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("unknown deal: %v", err)
	}
}
