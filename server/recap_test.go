package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/recap"
)

const (
	recDeal      = "initech-erp"
	recDealToken = "deal-token-0123456789"
	recMeeting   = "kickoff"
	recToken     = "kickoff-token-0123456789"
)

// recordsFixture is a real server on loopback reading a real SQLite store that holds one deal and
// one recorded meeting.
type recordsFixture struct {
	store *ledger.SQLiteStore
	srv   *Server
	http  *httptest.Server
}

func newRecordsFixture(t *testing.T) *recordsFixture {
	t.Helper()
	leaktest.Check(t) // first, so that it checks after the cleanups below
	ctx := context.Background()
	st, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledgerline.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDeal(ctx, ledger.Deal{ID: recDeal, Name: "Initech ERP rollout", Account: "Initech", Vendor: "Acme",
		Partner: "Globex", Token: recDealToken}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateMeeting(ctx, ledger.Meeting{ID: recMeeting, DealID: recDeal, Title: "Kickoff",
		StartedAt: time.Date(2026, 3, 5, 14, 0, 0, 0, time.UTC), Timezone: "Europe/Madrid", Language: "en", Token: recToken}); err != nil {
		t.Fatal(err)
	}
	add := func(e ledger.Event) {
		t.Helper()
		e.Meeting = recMeeting
		if _, err := st.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	people := map[string][2]string{"dana": {"Dana", "Acme"}, "omar": {"Omar", "Globex"}, "priya": {"Priya", "Initech"}}
	for id, p := range people {
		add(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: id, Channel: "mic-" + id, Name: p[0], Org: p[1]}})
	}
	lines := []struct{ who, text string }{
		{"dana", `Welcome <img src=x onerror="document.title='pwned'"> everyone.`},
		{"omar", "We'll send you the integration architecture by Friday."},
		{"priya", "Honestly the licence looks too expensive for our team."},
		{"dana", "I'll share the pricing options with you tomorrow."},
		{"priya", "Is there an on-prem option?"},
	}
	for i, l := range lines {
		add(ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: fmt.Sprintf("seg-%d", i+1),
			Channel: "mic-" + l.who, Speaker: l.who, Org: people[l.who][1], StartMS: int64(i) * 5000, EndMS: int64(i)*5000 + 4000,
			Text: l.text, Language: "en"}})
	}
	add(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c-1",
		What: "send you the integration architecture", Owner: "Globex", OwnerOrg: "Globex", Due: "2026-03-06", DuePhrase: "by Friday",
		Status: ledger.StatusOpen, Confidence: 0.9, Quote: lines[1].text, SegmentIDs: []string{"seg-2"}, StartMS: 5000}})
	add(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c-2",
		What: "share the pricing options, incl. <b>discounts</b>", Owner: "Dana", OwnerOrg: "Acme", Due: "2026-03-06",
		DuePhrase: "tomorrow", Status: ledger.StatusOpen, Confidence: 0.9, Quote: lines[3].text, SegmentIDs: []string{"seg-4"}, StartMS: 15000}})

	srv, err := New(Config{Log: st, Records: st})
	if err != nil {
		t.Fatal(err)
	}
	f := &recordsFixture{store: st, srv: srv, http: httptest.NewServer(srv.Handler())}
	t.Cleanup(func() {
		f.http.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		_ = st.Close()
	})
	return f
}

func (f *recordsFixture) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(f.http.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestRecordPagesNeedTheirToken(t *testing.T) {
	f := newRecordsFixture(t)
	for path, want := range map[string]int{
		"/m/" + recMeeting + "/recap":                         http.StatusUnauthorized,
		RecapPath(recMeeting, "not-the-token-at-all"):         http.StatusForbidden,
		RecapPath(recMeeting, recDealToken):                   http.StatusForbidden,
		RecapPath("no-such-meeting", recToken):                http.StatusNotFound,
		ExportPath(recMeeting, "csv", "not-the-token-at-all"): http.StatusForbidden,
		ExportPath(recMeeting, "docx", recToken):              http.StatusNotFound,
		RecapPath(recMeeting, recToken) + "&format=pdf":       http.StatusBadRequest,
		"/d/" + recDeal:                                            http.StatusUnauthorized,
		DealPath(recDeal, recToken):                                http.StatusForbidden,
		DealPath("no-such-deal", recDealToken):                     http.StatusNotFound,
		"/api/deals/" + recDeal + "?t=" + recToken:                 http.StatusForbidden,
		"/api/deals/" + recDeal + "?t=" + recDealToken + "&open=x": http.StatusBadRequest,
	} {
		resp, body := f.get(t, path)
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d %q, want %d", path, resp.StatusCode, body, want)
		}
		if strings.Contains(body, "Globex") {
			t.Errorf("GET %s leaked the meeting: %q", path, body)
		}
	}
	// A meeting registered live with the server also opens with the token it was given there.
	live := "live-token-0123456789abcdef"
	if err := f.srv.AddMeetingToken(recMeeting, live); err != nil {
		t.Fatal(err)
	}
	if resp, _ := f.get(t, RecapPath(recMeeting, live)); resp.StatusCode != http.StatusOK {
		t.Errorf("recap with the live token: %d", resp.StatusCode)
	}
}

func TestRecapServed(t *testing.T) {
	f := newRecordsFixture(t)
	resp, page := f.get(t, RecapPath(recMeeting, recToken))
	h := resp.Header
	if resp.StatusCode != 200 || h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("Referrer-Policy") != "no-referrer" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "style-src 'sha256-") || strings.Contains(h.Get("Content-Security-Policy"), "script-src") {
		t.Fatalf("recap: %d %v", resp.StatusCode, h)
	}
	for _, want := range []string{`<table id="commitments">`, "share the pricing options, incl. &lt;b&gt;discounts&lt;/b&gt;",
		"&lt;img src=x", "Is there an on-prem option?", "too expensive"} {
		if !strings.Contains(page, want) {
			t.Errorf("recap page lacks %q", want)
		}
	}
	// Every export is offered, with the page's own access (the recap link's scope), and each
	// link downloads. The links are relative to the page, so that they hold under a proxy's path.
	for _, e := range recap.ExportFormats() {
		href := "export/" + e.Kind + "?t=" + ScopedToken(recToken, ScopeRecap)
		if !strings.Contains(page, `href="`+href+`" download`) {
			t.Errorf("recap page lacks the %s download %s", e.Kind, href)
			continue
		}
		if resp, _ := f.get(t, fromPage(t, RecapPath(recMeeting, recToken), href)); resp.StatusCode != http.StatusOK {
			t.Errorf("the %s download answers %d", e.Kind, resp.StatusCode)
		}
	}
	resp, md := f.get(t, RecapPath(recMeeting, recToken)+"&format=md")
	if resp.Header.Get("Content-Type") != "text/markdown; charset=utf-8" ||
		!strings.Contains(md, "| Globex | send you the integration architecture | 2026-03-06 (“by Friday”) | open |") {
		t.Errorf("Markdown recap %v:\n%s", resp.Header, md)
	}
}

func TestExportsServed(t *testing.T) {
	f := newRecordsFixture(t)
	for kind, want := range map[string]struct{ ctype, file, has string }{
		"json": {"application/json; charset=utf-8", "kickoff.json", `"name": "Omar"`},
		"vtt":  {"text/vtt; charset=utf-8", "kickoff.vtt", "WEBVTT\n\nseg-1\n00:00:00.000 --> 00:00:04.000\n<v Dana (Acme)>Welcome &lt;img"},
		"srt":  {"application/x-subrip; charset=utf-8", "kickoff.srt", "2\n00:00:05,000 --> 00:00:09,000\nOmar: We'll send"},
		"txt":  {"text/plain; charset=utf-8", "kickoff.txt", "[00:00:20] Priya (Initech): Is there an on-prem option?"},
		"csv":  {"text/csv; charset=utf-8; header=present", "kickoff-commitments.csv", "c-2,Dana,Acme,\"share the pricing options, incl. <b>discounts</b>\""},
		"ics":  {"text/calendar; charset=utf-8", "kickoff-commitments.ics", "BEGIN:VTODO\r\nUID:c-1.kickoff@ledgerline\r\n"},
		"rttm": {"text/plain; charset=utf-8", "kickoff-speakers.rttm", "SPEAKER kickoff 1 5.000 4.000 <NA> <NA> omar <NA> <NA>\n"},
	} {
		resp, body := f.get(t, ExportPath(recMeeting, kind, recToken))
		_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != want.ctype || err != nil || params["filename"] != want.file {
			t.Errorf("%s: %d, type %q, disposition %q (%v)", kind, resp.StatusCode, resp.Header.Get("Content-Type"),
				resp.Header.Get("Content-Disposition"), err)
		}
		if !strings.Contains(body, want.has) {
			t.Errorf("%s export lacks %q:\n%s", kind, want.has, body)
		}
		if strings.Contains(body, recToken) {
			t.Errorf("%s export holds the meeting's token", kind)
		}
	}
}

func TestDealServed(t *testing.T) {
	f := newRecordsFixture(t)
	resp, page := f.get(t, DealPath(recDeal, recDealToken))
	if resp.StatusCode != 200 || !strings.Contains(page, `id="open-commitments"`) || !strings.Contains(page, `<th>Kickoff</th>`) ||
		!strings.Contains(page, "too expensive") {
		t.Fatalf("deal page %d:\n%s", resp.StatusCode, page)
	}
	resp, body := f.get(t, "/api/deals/"+recDeal+"?t="+recDealToken+"&open=true")
	var sum recap.DealSummary
	if err := json.Unmarshal([]byte(body), &sum); err != nil || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("deal API %v: %v", resp.Header, err)
	}
	if !sum.OpenOnly || len(sum.Meetings) != 1 || len(sum.Commitments) != 2 || sum.Commitments[0].FirstRaisedBy != "Omar" {
		t.Fatalf("deal API %+v", sum)
	}
	if strings.Contains(body, recDealToken) || strings.Contains(body, recToken) {
		t.Fatal("the deal report holds a token")
	}
}

// TestRecapPageInChromium renders the recap in a real browser under the page's own CSP, checks the
// commitments table and the styles, and keeps a screenshot.
func TestRecapPageInChromium(t *testing.T) {
	f := newRecordsFixture(t)
	ctx := newBrowser(t)
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(f.http.URL+RecapPath(recMeeting, recToken)),
		waitJS(`document.querySelectorAll('#commitments tbody tr').length === 2`),
	)
	if err != nil {
		t.Fatal(err)
	}
	cells := evalJS[[]string](t, ctx, `[...document.querySelectorAll('#commitments tbody tr td:nth-child(2)')].map(td => td.textContent.trim())`)
	if len(cells) != 2 || !strings.HasPrefix(cells[0], "send you the integration architecture") ||
		!strings.HasPrefix(cells[1], "share the pricing options, incl. <b>discounts</b>") {
		t.Errorf("commitments shown %q", cells)
	}
	// The inline style sheet ran under the CSP (the page would be unstyled otherwise); no markup
	// came out of the meeting's words.
	if w := evalJS[string](t, ctx, `getComputedStyle(document.querySelector('main')).maxWidth`); w != "1100px" {
		t.Errorf("main max-width %q: the style sheet was blocked", w)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll('img, b, script').length`); n != 0 {
		t.Errorf("the page made %d elements out of meeting text", n)
	}
	if title := evalJS[string](t, ctx, `document.title`); title != "Recap: Kickoff" {
		t.Errorf("title %q", title)
	}
	// The quote's time links to its segment in the transcript.
	href := evalJS[string](t, ctx, `document.querySelector('#commitments tbody tr a').getAttribute('href')`)
	if target := evalJS[string](t, ctx, `document.querySelector('`+href+`').textContent`); !strings.Contains(target, "We'll send you the integration") {
		t.Errorf("quote link %q leads to %q", href, target)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 makes a PNG
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatal("the screenshot is not a PNG")
	}
	dir := os.Getenv("LEDGERLINE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "recap-page.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
}

// fromPage resolves a link of a page, as a browser does, to the path it opens.
func fromPage(t *testing.T, page, href string) string {
	t.Helper()
	base, err := url.Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := url.Parse(href)
	if err != nil {
		t.Fatal(err)
	}
	return base.ResolveReference(ref).RequestURI()
}
