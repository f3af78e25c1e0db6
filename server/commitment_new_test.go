package server

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/ledger"
)

// newDealFixture serves a meeting of a deal (Contoso sells with Northwind to Fabrikam) whose store
// takes the viewers' changes and serves its records (edit, when set, changes the configuration
// further); one speaker, not yet named, has said one thing.
func newDealFixture(t *testing.T, edit func(*Config)) (*fixture, *ledger.SQLiteStore) {
	t.Helper()
	store, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledgerline.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := store.CreateDeal(ctx, ledger.Deal{ID: "acme", Name: "Acme rollout", Vendor: "Contoso", Partner: "Northwind",
		Account: "Fabrikam", Token: "deal-token-0123456789"}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateMeeting(ctx, ledger.Meeting{ID: testMeeting, DealID: "acme", Title: "Security review"}); err != nil {
		t.Fatal(err)
	}
	f := startFixture(t, store, func(c *Config) {
		c.Control, c.Records = store, store
		if edit != nil {
			edit(c)
		}
	}, nil)
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-1", Channel: "system", Name: "Speaker 1"}})
	f.mustAppend(ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "seg-1", Channel: "system", Speaker: "spk-1",
		StartMS: 4000, EndMS: 9000, Text: "Leave the pen test report with me, I'll get it to legal.", Language: "en"}})
	return f, store
}

// A viewer adds a commitment the detector missed, pointing at the segment it was said in: an
// event with who added it, quoting that segment, every field the viewer gave marked as theirs.
func TestControlAddsMissedCommitment(t *testing.T) {
	f, store := newDealFixture(t, nil)
	path := "/m/" + testMeeting + "/commitments"
	e := f.post(path, `{"what":"get the pen test report to legal","owner":"Speaker 1","owner_org":"Fabrikam","due":"2026-03-13","segment":"seg-1","by":"Dana"}`)
	c := e.Commitment
	if e.Type != ledger.TypeCommitmentUpsert || e.By != "Dana" || c == nil || !strings.HasPrefix(c.ID, "added-") ||
		c.What != "get the pen test report to legal" || c.Owner != "Speaker 1" || c.OwnerOrg != "Fabrikam" || c.Due != "2026-03-13" ||
		c.Status != ledger.StatusOpen || c.Possible() || !slices.Equal(c.SegmentIDs, []string{"seg-1"}) || c.StartMS != 4000 ||
		!strings.Contains(c.Quote, "pen test report") || !c.EditedBy(ledger.EditWhat) || !c.EditedBy(ledger.EditOwner) {
		t.Fatalf("added %+v by %q", c, e.By)
	}
	recs, err := store.Commitments(context.Background(), testMeeting)
	if err != nil || len(recs) != 1 || recs[0].ID != c.ID || recs[0].UpdatedBy != "Dana" {
		t.Fatalf("stored %+v, %v", recs, err)
	}

	for _, bad := range []struct {
		body string
		code int
	}{
		{`{"what":"x","owner":"Ravi"}`, http.StatusBadRequest},                 // no segment
		{`{"owner":"Ravi","segment":"seg-1"}`, http.StatusBadRequest},          // no what
		{`{"what":"x","owner":"Ravi","segment":"seg-9"}`, http.StatusNotFound}, // no such segment
		{`{"what":"x","owner":"Ravi","segment":"seg-1","status":"maybe"}`, http.StatusBadRequest},
		{`{"what":"x","owner":"you","segment":"seg-1"}`, http.StatusBadRequest}, // names nobody on a shared page
	} {
		if code, body := f.do(request{path: path, body: bad.body}); code != bad.code {
			t.Errorf("%s: %d %s, want %d", bad.body, code, body, bad.code)
		}
	}
	// The same checks as every change: a page of another site, or a link that may only watch.
	if code, _ := f.do(request{path: path, body: `{"what":"x","owner":"Ravi","segment":"seg-1"}`, header: map[string]string{"Origin": "https://evil.example"}}); code != http.StatusForbidden {
		t.Errorf("cross-site add: %d, want 403", code)
	}
	watch := ScopedToken(f.token, ScopeWatch)
	if code, _ := f.do(request{path: path, body: `{"what":"x","owner":"Ravi","segment":"seg-1"}`, token: &watch}); code != http.StatusForbidden {
		t.Errorf("add with a watch link: %d, want 403", code)
	}
}

// A viewer fixes the words of a commitment, and confirms or dismisses a possible one.
func TestControlFixesWhatAndConfirmsPossible(t *testing.T) {
	f, _ := newDealFixture(t, nil)
	f.mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c1", What: "get it to legal",
		Owner: "Speaker 1", Status: ledger.StatusOpen, Confidence: 0.4, SegmentIDs: []string{"seg-1"}}})
	if !f.lastStored().Commitment.Possible() {
		t.Fatal("the seeded commitment is not possible")
	}
	e := f.post("/m/"+testMeeting+"/commitments/c1", `{"what":"get the pen test report to legal","status":"open","by":"Dana"}`)
	if c := e.Commitment; c.What != "get the pen test report to legal" || c.Possible() || e.By != "Dana" {
		t.Fatalf("confirmed %+v by %q", c, e.By)
	}
}

// A speaker renamed is renamed in the commitments that named them, through the commitments'
// owner, each as an event of who renamed them.
func TestControlRenameReachesCommitments(t *testing.T) {
	f, store := newDealFixture(t, nil)
	f.mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c1", What: "share the checklist",
		Owner: "Northwind", OwnerOrg: "Northwind", Contact: "Speaker 1", Status: ledger.StatusOpen, Confidence: 0.9}})
	f.mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c2", What: "send the pricing",
		Owner: "speaker 1", Status: ledger.StatusOpen, Confidence: 0.9}})
	f.mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c3", What: "book the room",
		Owner: "Laura", Beneficiary: "Speaker 1", Status: ledger.StatusOpen, Confidence: 0.9}})
	f.mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c4", What: "call back",
		Owner: "Laura", Status: ledger.StatusOpen, Confidence: 0.9}})
	before := f.lastStored().Seq

	f.post("/m/"+testMeeting+"/speakers/spk-1", `{"name":"Ravi Menon","role":"partner","by":"Dana"}`)
	events, err := store.Since(context.Background(), testMeeting, before)
	if err != nil {
		t.Fatal(err)
	}
	renamed := map[string]ledger.CommitmentInfo{}
	for _, e := range events {
		if e.Type == ledger.TypeCommitmentUpsert {
			if e.By != "Dana" {
				t.Errorf("rename of %s made by %q, want Dana", e.Commitment.ID, e.By)
			}
			renamed[e.Commitment.ID] = *e.Commitment
		}
	}
	if len(renamed) != 3 || renamed["c1"].Contact != "Ravi Menon" || renamed["c2"].Owner != "Ravi Menon" ||
		renamed["c3"].Beneficiary != "Ravi Menon" || len(renamed["c2"].Edited) != 0 {
		t.Fatalf("renamed commitments %+v", renamed)
	}
	// Now known as Northwind's, the organisations that were theirs are Northwind.
	if renamed["c2"].OwnerOrg != "Northwind" || renamed["c3"].BeneficiaryOrg != "Northwind" || renamed["c1"].Owner != "Northwind" {
		t.Errorf("organisations after the rename: %+v", renamed)
	}
}

// A speaker known only by their side ("partner") who is given their organisation takes it to the
// commitments that were theirs: "we will share the checklist", owned by the side, is now owned by
// the organisation, with them as its contact. An organisation a person set stays; a commitment a
// viewer adds, pointing at what its owner said, is their organisation's.
func TestControlOrganisationReachesCommitments(t *testing.T) {
	f, store := newDealFixture(t, nil)
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-2", Channel: "call", Name: "Ravi", Role: ledger.RolePartner}})
	f.mustAppend(ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "seg-2", Channel: "call", Speaker: "spk-2",
		Role: ledger.RolePartner, StartMS: 10000, EndMS: 12000, Text: "And we will share the deployment checklist.", Language: "en"}})
	f.mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c1", What: "share the deployment checklist",
		Owner: "partner", OwnerOrg: "partner", Contact: "Ravi", Status: ledger.StatusOpen, Confidence: 0.9}})
	f.mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c2", What: "book the room",
		Owner: "Ravi", OwnerOrg: "Fabrikam", Status: ledger.StatusOpen, Confidence: 0.9, Edited: []string{ledger.EditOwnerOrg}}})

	f.post("/m/"+testMeeting+"/speakers/spk-2", `{"org":"Globex","by":"Dana"}`)
	recs, err := store.Commitments(context.Background(), testMeeting)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ledger.CommitmentRecord{}
	for _, c := range recs {
		got[c.ID] = c
	}
	if c := got["c1"]; c.Owner != "Globex" || c.OwnerOrg != "Globex" || c.Contact != "Ravi" {
		t.Errorf("the side's commitment after the organisation was given: %+v", c.CommitmentInfo)
	}
	if c := got["c2"]; c.OwnerOrg != "Fabrikam" {
		t.Errorf("an organisation a person set changed: %+v", c.CommitmentInfo)
	}

	e := f.post("/m/"+testMeeting+"/commitments", `{"what":"send the runbook","owner":"ravi","segment":"seg-2","by":"Dana"}`)
	if c := e.Commitment; c.OwnerOrg != "Globex" || c.EditedBy(ledger.EditOwnerOrg) {
		t.Errorf("added %+v, want it owned by Globex, the organisation of who said it", c)
	}
}

// The pages learn the meeting's title, deal, organisations and links from /about.
func TestAboutDescribesTheMeeting(t *testing.T) {
	f, _ := newDealFixture(t, nil)
	get := func(token string) (int, About) {
		t.Helper()
		resp, err := http.Get(f.http.URL + "/m/" + testMeeting + "/about?t=" + token)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a About
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, a
	}
	code, a := get(f.token)
	if code != http.StatusOK || a.Title != "Security review" || a.Deal == nil || a.Deal.Name != "Acme rollout" ||
		a.Recap != "/m/"+testMeeting+"/recap?t="+f.token || a.Deal.Page != DealPath("acme", "deal-token-0123456789") ||
		!slices.Contains(a.CommitmentLanguages, "en") {
		t.Fatalf("about = %d %+v %+v", code, a, a.Deal)
	}
	want := []AboutOrg{{"Contoso", ledger.RoleVendor}, {"Northwind", ledger.RolePartner}, {"Fabrikam", ledger.RoleBuyer}}
	if !slices.Equal(a.Deal.Organisations, want) {
		t.Errorf("organisations %+v, want %+v", a.Deal.Organisations, want)
	}
	// A join link sees the organisations, not the deal's page: only the meeting's owner gets its token.
	code, a = get(ScopedToken(f.token, ScopeJoin))
	if code != http.StatusOK || a.Deal == nil || a.Deal.Page != "" || len(a.Deal.Organisations) != 3 {
		t.Errorf("about for a join link = %d %+v", code, a.Deal)
	}
	if code, _ := get(ScopedToken(f.token, ScopeRecap)); code != http.StatusForbidden {
		t.Errorf("about for a recap link = %d, want 403", code)
	}
}
