package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ledgerline/ledgerline/ledger"
)

// The overlay names the meeting and its deal and links to their pages; names owners with their
// contact and beneficiaries with their organisation, never "you"; says when commitments are not
// detected in the language spoken; lets a viewer confirm a possible commitment, fix what was
// promised and add one the ledger missed; and once stopped, shows only Stopped.
func TestOverlayLedgerInChromium(t *testing.T) {
	f, store := newDealFixture(t, nil)
	ctx := newBrowser(t)
	f.mustAppend(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording})
	f.mustAppend(ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "seg-2", Channel: "system", Speaker: "spk-1",
		StartMS: 9000, EndMS: 20000, Text: "Vi skickar checklistan på fredag.", Language: "sv"}})
	// Ravi joined as "partner", before the join page offered organisations: he is Northwind's.
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-2", Channel: "ravi", Name: "Ravi Menon", Role: ledger.RolePartner}})
	f.mustAppend(ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "seg-3", Channel: "ravi", Speaker: "spk-2",
		Org: "partner", Role: ledger.RolePartner, StartMS: 21000, EndMS: 26000, Text: "We'll share the checklist.", Language: "en"}})
	// Another voice on the same channel, told apart from Speaker 1 by the diarizer.
	f.mustAppend(ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "seg-4", Channel: "system", Speaker: "spk-3",
		StartMS: 27000, EndMS: 28000, Text: "Ok.", Language: "en"}})
	f.mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c1", What: "share the checklist",
		Owner: "Northwind", OwnerOrg: "Northwind", Contact: "Ravi Menon", Beneficiary: "Laura Chen", BeneficiaryOrg: "Fabrikam",
		Status: ledger.StatusOpen, Confidence: 0.9, Quote: "We'll share the checklist.", SegmentIDs: []string{"seg-1"}}})
	f.mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c2", What: "look at the pricing",
		Owner: "Speaker 1", Beneficiary: "you", Status: ledger.StatusOpen, Confidence: 0.4, SegmentIDs: []string{"seg-1"}}})

	li := func(id string) string { return `document.querySelector('#commitments [data-commitment="` + id + `"]')` }
	err := chromedp.Do(ctx,
		chromedp.Navigate(f.http.URL+PagePath(testMeeting, f.token)),
		waitJS(`document.querySelector('#meeting').textContent === 'Security review' && !document.querySelector('#deal').hidden && `+
			`document.querySelector('#deal').textContent.includes('Acme rollout') && `+li("c2")+` !== null && `+
			`document.querySelector('#conn').dataset.conn === 'live' && `+
			// Talk time and the languages note render once a burst of events has passed.
			`document.querySelectorAll('#talk-orgs [data-org]').length === 2 && !document.querySelector('#languages-note').hidden`),
	)
	if err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]string{
		`document.querySelector('#recap-link').getAttribute('href')`:                                                            "/m/" + testMeeting + "/recap?t=" + f.token,
		`document.querySelector('#deal-link').getAttribute('href')`:                                                             DealPath("acme", "deal-token-0123456789"),
		li("c1") + `.querySelector('.owner').textContent`:                                                                       "Northwind — Ravi Menon",
		li("c1") + `.querySelector('.beneficiary').textContent`:                                                                 "for Laura Chen (Fabrikam)",
		li("c2") + `.querySelector('.status-badge').textContent`:                                                                "possible",
		li("c2") + `.querySelector('.beneficiary') === null ? '' : 'shown'`:                                                     "",
		`[...document.querySelectorAll('#commitments .meta')].map((m) => m.textContent).join(' ').includes('you') ? 'you' : ''`: "",
		`document.querySelector('#languages-note').hidden ? '' : document.querySelector('#languages-note').textContent`:         "Commitments are not detected in Swedish.",
		`[...document.querySelectorAll('#talk-orgs [data-org]')].map((li) => li.dataset.org).sort().join(',')`:                  "Northwind,unassigned",
		`[...document.querySelectorAll('#talk-orgs .talk-name')].map((n) => n.textContent).sort().join(',')`:                    "No organisation,Northwind",
		`document.querySelector('#captions [data-segment="seg-3"] .org').textContent`:                                           "Northwind",
		`document.querySelector('#captions [data-segment="seg-1"]').style.getPropertyValue('--c') === document.querySelector('#captions [data-segment="seg-4"]').style.getPropertyValue('--c') ? 'alike' : 'apart'`: "apart",
	} {
		if got := evalJS[string](t, ctx, expr); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}

	// Confirm the possible commitment; fix the other's words; add one said in seg-1.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-commitment="c2"] button[data-action="confirm"]`)),
		waitJS(li("c2")+`.dataset.possible === undefined && `+li("c2")+`.querySelector('.status-badge').textContent === 'open'`),
		chromedp.Click(chromedp.CSS(`[data-commitment="c1"] button[data-action="edit"]`)),
		waitJS(`document.querySelector('#commitment-dialog').open`),
		chromedp.SetValue(chromedp.CSS(`#commitment-form input[name="what"]`), "share the security checklist"),
		chromedp.Click(chromedp.CSS(`#commitment-form button[type="submit"]`)),
		waitJS(li("c1")+`.querySelector('.what').textContent === 'share the security checklist'`),
		chromedp.Click(chromedp.CSS(`#captions [data-segment="seg-1"] button[data-add]`)),
		waitJS(`document.querySelector('#add-dialog').open && document.querySelector('#add-form input[name="owner"]').value === 'Speaker 1'`),
		chromedp.SetValue(chromedp.CSS(`#add-form input[name="what"]`), "get the pen test report to legal"),
		chromedp.Click(chromedp.CSS(`#add-form button[type="submit"]`)),
		waitJS(`document.querySelectorAll('#commitments [data-commitment]').length === 3 && !document.querySelector('#add-dialog').open`),
	)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := store.Commitments(context.Background(), testMeeting)
	if err != nil || len(recs) != 3 {
		t.Fatalf("stored %+v, %v", recs, err)
	}
	byID := map[string]ledger.CommitmentRecord{}
	var added ledger.CommitmentRecord
	for _, c := range recs {
		byID[c.ID] = c
		if c.ID != "c1" && c.ID != "c2" {
			added = c
		}
	}
	if c := byID["c2"]; c.Possible() || c.Status != ledger.StatusOpen || !c.EditedBy(ledger.EditStatus) {
		t.Errorf("confirmed commitment stored as %+v", c)
	}
	if c := byID["c1"]; c.What != "share the security checklist" || !c.EditedBy(ledger.EditWhat) {
		t.Errorf("fixed commitment stored as %+v", c)
	}
	if added.What != "get the pen test report to legal" || len(added.SegmentIDs) != 1 || added.SegmentIDs[0] != "seg-1" || added.Owner != "Speaker 1" {
		t.Errorf("added commitment stored as %+v", added)
	}

	// A speaker renamed is renamed in the captions and in every commitment that named them; the
	// rename changes nothing a person set, so each still names who did.
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#by`), "Rita Renamer"),
		chromedp.Click(chromedp.CSS(`#captions [data-segment="seg-1"] button.who`)),
		waitJS(`document.querySelector('#speaker-dialog').open`),
		chromedp.SetValue(chromedp.CSS(`#speaker-form input[name="name"]`), "Sam Ortiz"),
		chromedp.Click(chromedp.CSS(`#speaker-form button[type="submit"]`)),
		waitJS(`document.querySelector('#captions [data-segment="seg-1"] .who').textContent === 'Sam Ortiz' && `+
			li("c2")+`.querySelector('.owner').textContent === 'Sam Ortiz' && `+
			`[...document.querySelectorAll('#commitments .owner')].every((o) => !o.textContent.includes('Speaker 1'))`),
	)
	if err != nil {
		t.Fatal(err)
	}
	// c2's owner was renamed, but its status is what a person set: it is still theirs.
	if by := evalJS[string](t, ctx, li("c2")+`.querySelector('.by').textContent`); by != "changed by viewer" {
		t.Errorf("after the rename c2 says %q, want it still changed by who confirmed it", by)
	}

	// Stopped: the connection's "Live" goes, only Stopped stays.
	f.mustAppend(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingStopped, Reason: "user"})
	if err := chromedp.Do(ctx, waitJS(`document.querySelector('#rec').textContent === 'Stopped' && document.querySelector('#conn').hidden && `+
		`getComputedStyle(document.querySelector('#conn')).display === 'none'`)); err != nil {
		t.Fatal(err)
	}
}

// The join page offers the deal's organisations by name, each with its side.
func TestJoinPageOffersTheDealsOrganisations(t *testing.T) {
	f, _ := newDealFixture(t, func(c *Config) { c.Ingest = &whipCounter{} })
	ctx := newBrowser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(f.http.URL+joinPath(testMeeting, f.token)),
		waitJS(`document.querySelector('#org').options.length === 5`),
	)
	if err != nil {
		t.Fatal(err)
	}
	got := evalJS[string](t, ctx, `[...document.querySelector('#org').options].slice(1).map((o) => o.textContent + '=' + o.value).join('; ')`)
	if want := "Contoso (vendor)=vendor; Northwind (partner)=partner; Fabrikam (buyer)=buyer; another organisation=other"; got != want {
		t.Errorf("organisations offered: %q, want %q", got, want)
	}
	if title := evalJS[string](t, ctx, `document.querySelector('#meeting').textContent`); title != "Security review" {
		t.Errorf("meeting shown as %q", title)
	}
}

// cookieGate lets in a request that carries the member cookie: a signed-in team member, for a test.
type cookieGate struct{}

func (cookieGate) Meeting(r *http.Request, id string, edit bool) error {
	if c, err := r.Cookie("member"); err == nil && c.Value == "yes" {
		return nil
	}
	return ErrNoCredentials
}

func (g cookieGate) Deal(r *http.Request, id string) error { return g.Meeting(r, id, false) }

// Name is the member's: the one signed in.
func (cookieGate) Name(r *http.Request) string {
	if _, err := r.Cookie("member"); err == nil {
		return "Pat Member"
	}
	return ""
}

var (
	_ Gate  = cookieGate{}
	_ Namer = cookieGate{}
)

// A change made by someone the Gate lets in is theirs by the name the Gate knows them by, whatever
// name is typed; a link's holder is the name they typed, else "viewer".
func TestChangesOfASignedInMemberAreTheirs(t *testing.T) {
	f, _ := newDealFixture(t, func(c *Config) { c.Gate = cookieGate{} })
	f.mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c1", What: "share the checklist",
		Owner: "Ravi Menon", Status: ledger.StatusOpen, Confidence: 0.9, SegmentIDs: []string{"seg-1"}}})
	none := ""
	member := map[string]string{"Cookie": "member=yes", "X-Ledgerline": "1"}
	for _, tc := range []struct {
		req  request
		want string
	}{
		{request{path: "/m/" + testMeeting + "/commitments/c1", body: `{"due":"2026-03-13"}`, token: &none, header: member}, "Pat Member"},
		{request{path: "/m/" + testMeeting + "/commitments/c1", body: `{"due":"2026-03-14","by":"Acme CEO"}`, token: &none, header: member}, "Pat Member"},
		{request{path: "/m/" + testMeeting + "/commitments/c1", body: `{"due":"2026-03-15"}`}, "viewer"},
		{request{path: "/m/" + testMeeting + "/commitments/c1", body: `{"due":"2026-03-16","by":"Dana"}`}, "Dana"},
	} {
		code, resp := f.do(tc.req)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.req.body, code, resp)
		}
		if e := f.lastStored(); e.By != tc.want {
			t.Errorf("%s: stored by %q, want %q", tc.req.body, e.By, tc.want)
		}
	}
}

// A commitment recorded with only a side shows the deal's organisation, and a signed-in member
// who opens the overlay with no link token (as the team library links it) sees the meeting live,
// with the deal page linked.
func TestOverlayOfASignedInMemberNamesSidesByTheDeal(t *testing.T) {
	f, _ := newDealFixture(t, func(c *Config) { c.Gate = cookieGate{} })
	ctx := newBrowser(t)
	f.mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c9", What: "run the pilot",
		Owner: "partner", OwnerOrg: "partner", Contact: "Ravi Menon", Beneficiary: "Laura Chen", BeneficiaryOrg: "buyer",
		Status: ledger.StatusOpen, Confidence: 0.9, SegmentIDs: []string{"seg-1"}}})
	li := `document.querySelector('#commitments [data-commitment="c9"]')`
	err := chromedp.Do(ctx,
		// Sign in: the Gate's cookie, set on the server's origin (whose page refuses those not signed in).
		chromedp.Navigate(f.http.URL+"/m/"+testMeeting),
		chromedp.Evaluate[chromedp.Void](`document.cookie = 'member=yes; path=/'`),
		chromedp.Navigate(f.http.URL+"/m/"+testMeeting),
		waitJS(`document.querySelector('#conn') !== null && document.querySelector('#conn').dataset.conn === 'live' && `+li+` !== null && `+
			li+`.querySelector('.owner').textContent === 'Northwind — Ravi Menon' && !document.querySelector('#deal-link').hidden`),
	)
	if err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]string{
		li + `.querySelector('.beneficiary').textContent`:           "for Laura Chen (Fabrikam)",
		`document.querySelector('#deal-link').getAttribute('href')`: "/d/acme",
	} {
		if got := evalJS[string](t, ctx, expr); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
}

// Behind a reverse proxy that serves the overlay under a path of its own, the overlay's links to
// the recap and the deal page keep that path, and the recap's downloads hold too.
func TestOverlayLinksBehindAProxyPath(t *testing.T) {
	f, _ := newDealFixture(t, nil)
	target, err := url.Parse(f.http.URL)
	if err != nil {
		t.Fatal(err)
	}
	upstream := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.StripPrefix("/ledgerline", upstream))
	t.Cleanup(proxy.Close)
	ctx := newBrowser(t)
	err = chromedp.Do(ctx,
		chromedp.Navigate(proxy.URL+"/ledgerline"+PagePath(testMeeting, f.token)),
		waitJS(`!document.querySelector('#recap-link').hidden && !document.querySelector('#deal-link').hidden`),
	)
	if err != nil {
		t.Fatal(err)
	}
	recapLink := evalJS[string](t, ctx, `document.querySelector('#recap-link').href`)
	if want := proxy.URL + "/ledgerline/m/" + testMeeting + "/recap?t=" + f.token; recapLink != want {
		t.Errorf("recap link %q, want %q", recapLink, want)
	}
	if got, want := evalJS[string](t, ctx, `document.querySelector('#deal-link').href`), proxy.URL+"/ledgerline"+DealPath("acme", "deal-token-0123456789"); got != want {
		t.Errorf("deal link %q, want %q", got, want)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(recapLink),
		waitJS(`document.querySelector('a[download]') !== null`),
	)
	if err != nil {
		t.Fatal(err)
	}
	csv := evalJS[string](t, ctx, `[...document.querySelectorAll('a[download]')].find((a) => a.textContent === 'csv').href`)
	if !strings.HasPrefix(csv, proxy.URL+"/ledgerline/m/"+testMeeting+"/export/csv?t=") {
		t.Fatalf("csv download %q is not under the proxy's path", csv)
	}
	resp, err := http.Get(csv)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("csv download through the proxy: %d", resp.StatusCode)
	}
}
