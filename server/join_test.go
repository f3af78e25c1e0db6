package server

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ledgerline/ledgerline/ledger"
)

// whipCounter stands in for the WHIP endpoint and counts what reaches it.
type whipCounter struct{ requests atomic.Int64 }

func (c *whipCounter) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c.requests.Add(1)
	http.Error(w, "this test takes no audio", http.StatusServiceUnavailable)
}

func newJoinFixture(t *testing.T) (*fixture, *whipCounter) {
	t.Helper()
	whip := &whipCounter{}
	return newFixture(t, func(c *Config) { c.Ingest = whip }), whip
}

func joinPath(meeting, token string) string {
	if token == "" {
		return "/m/" + url.PathEscape(meeting) + "/join"
	}
	return JoinPath(meeting, token)
}

// lastJoinEvent returns the meeting's last stored event.
func lastJoinEvent(t *testing.T, f *fixture) ledger.Event {
	t.Helper()
	events, err := f.log.Since(context.Background(), testMeeting, 0)
	if err != nil || len(events) == 0 {
		t.Fatalf("log: %d events, %v", len(events), err)
	}
	return events[len(events)-1]
}

// joinRequest sends one request to the fixture and returns its status, body and headers.
func joinRequest(t *testing.T, method, u, body string, header map[string]string) (int, string, http.Header) {
	t.Helper()
	r, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestJoinPageAnswers(t *testing.T) {
	f, whip := newJoinFixture(t)
	for _, tc := range []struct {
		name, path string
		want       int
	}{
		{"with the token", joinPath(testMeeting, f.token), http.StatusOK},
		{"without a token", joinPath(testMeeting, ""), http.StatusUnauthorized},
		{"with a wrong token", joinPath(testMeeting, "not-the-token-at-all"), http.StatusForbidden},
		{"of an unknown meeting", joinPath("no-such-meeting", f.token), http.StatusNotFound},
	} {
		code, body, h := joinRequest(t, http.MethodGet, f.http.URL+tc.path, "", nil)
		if code != tc.want {
			t.Errorf("%s: %d %q, want %d", tc.name, code, body, tc.want)
			continue
		}
		if code != http.StatusOK {
			if strings.Contains(body, f.token) {
				t.Errorf("%s: the answer shows the token", tc.name)
			}
			continue
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(body, `id="consent"`) || !strings.Contains(csp, "frame-src 'self'") ||
			!strings.Contains(csp, "script-src 'self'") || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: CSP %q, Referrer-Policy %q, body without the consent box: %v", tc.name, csp, h.Get("Referrer-Policy"), !strings.Contains(body, `id="consent"`))
		}
	}
	if n := whip.requests.Load(); n != 0 {
		t.Errorf("serving the page reached the WHIP endpoint %d times", n)
	}
}

// A server that takes no audio has nothing to join.
func TestJoinPageNeedsIngest(t *testing.T) {
	plain := newFixture(t, nil)
	if code, body, _ := joinRequest(t, http.MethodGet, plain.http.URL+joinPath(testMeeting, plain.token), "", nil); code != http.StatusNotFound || !strings.Contains(body, "overlay") {
		t.Errorf("join page without ingest: %d %q, want 404 pointing to the overlay", code, body)
	}
}

func TestJoinDeclineRecordsRefusal(t *testing.T) {
	f, whip := newJoinFixture(t)
	u := f.http.URL + "/m/" + testMeeting + "/join/decline?t=" + url.QueryEscape(f.token)
	page := map[string]string{"Content-Type": "application/json", "Origin": f.http.URL}

	for _, tc := range []struct {
		name, url, body string
		header          map[string]string
		want            int
	}{
		{"an unknown org", u, `{"name":"Eve","org":"competitor"}`, page, http.StatusBadRequest},
		{"a name with a control character", u, `{"name":"Eve\u0007"}`, page, http.StatusBadRequest},
		{"another site's page", u, `{"name":"Eve"}`, map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, http.StatusForbidden},
		{"no token", f.http.URL + "/m/" + testMeeting + "/join/decline", `{"name":"Eve"}`, page, http.StatusUnauthorized},
		{"not JSON", u, `name=Eve`, map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": f.http.URL}, http.StatusUnsupportedMediaType},
	} {
		if code, body, _ := joinRequest(t, http.MethodPost, tc.url, tc.body, tc.header); code != tc.want {
			t.Errorf("%s: %d %q, want %d", tc.name, code, body, tc.want)
		}
	}
	if events, _ := f.log.Since(context.Background(), testMeeting, 0); len(events) != 0 {
		t.Fatalf("refused requests stored %d events", len(events))
	}

	if _, body, _ := joinRequest(t, http.MethodPost, u, `{"name":"Eve","org":"competitor"}`, page); !strings.Contains(body, "vendor, partner, buyer or other") {
		t.Errorf("an unknown org answered %q, want the roles named", body)
	}

	// The org the page sends is the participant's side of the deal; the meeting has no deal, so
	// their organisation is not known.
	code, body, _ := joinRequest(t, http.MethodPost, u, `{"name":"  Eve Ng ","org":"Partner"}`, page)
	if code != http.StatusOK {
		t.Fatalf("decline: %d %q", code, body)
	}
	e := lastJoinEvent(t, f)
	if e.Type != ledger.TypeSpeakerUpdate || e.Speaker == nil || *e.Speaker != (ledger.SpeakerInfo{ID: "declined-eve-ng", Name: "Eve Ng", Role: ledger.RolePartner, Consent: ConsentDeclined}) {
		t.Fatalf("stored %+v, want a declined speaker.update for Eve Ng (partner)", e)
	}
	if code, _, _ := joinRequest(t, http.MethodPost, u, `{}`, page); code != http.StatusOK {
		t.Fatalf("anonymous decline: %d", code)
	}
	if e := lastJoinEvent(t, f); e.Speaker == nil || e.Speaker.Name != defaultDecliner || e.Speaker.Consent != ConsentDeclined {
		t.Fatalf("anonymous decline stored %+v", e.Speaker)
	}
	if n := whip.requests.Load(); n != 0 {
		t.Errorf("declining reached the WHIP endpoint %d times", n)
	}
}

// In a real browser: nothing can be sent before consent, and declining sends nothing at all.
func TestJoinPageConsentGatesSending(t *testing.T) {
	f, whip := newJoinFixture(t)
	ctx := newBrowser(t)
	disabled := `document.querySelector('#join').disabled`
	err := chromedp.Do(ctx,
		chromedp.Navigate(f.http.URL+joinPath(testMeeting, f.token)),
		// The live overlay runs beside the controls.
		waitJS(`(document.querySelector('#overlay').contentDocument.querySelector('#conn') || {dataset: {}}).dataset.conn === 'live' && document.querySelector('#meeting').textContent === '`+testMeeting+`'`),
		// The page asks for no device until the participant joins; count if it ever does.
		chromedp.Evaluate[chromedp.Void](`(() => {
			window.captures = 0;
			const md = navigator.mediaDevices || {};
			for (const fn of ['getUserMedia', 'getDisplayMedia']) md[fn] = () => { window.captures++; return Promise.reject(new Error('counted')); };
			window.peers = 0;
			const PC = window.RTCPeerConnection;
			window.RTCPeerConnection = function (...a) { window.peers++; return new PC(...a); };
		})()`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !evalJS[bool](t, ctx, disabled) {
		t.Fatal("the join button is enabled before anything is filled in")
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#name`), "Eve <b>Ng</b>"),
		chromedp.SetValue(chromedp.CSS(`#org`), "partner"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#org').dispatchEvent(new Event('change'))`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !evalJS[bool](t, ctx, disabled) {
		t.Fatal("the join button is enabled without consent")
	}
	// Submitting the form some other way (Enter in the name field) sends nothing either.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('#join-form').requestSubmit()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#consent`)), waitJS(`!`+disabled)); err != nil {
		t.Fatalf("consent did not enable the join button: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#consent`)), waitJS(disabled)); err != nil {
		t.Fatalf("withdrawing consent did not disable the join button: %v", err)
	}
	notice := evalJS[string](t, ctx, `document.querySelector('#notice').textContent`)
	if !strings.Contains(notice, "recorded") || !strings.Contains(notice, "transcribed") {
		t.Errorf("recording notice %q", notice)
	}

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#decline`)),
		waitJS(`document.body.dataset.state === 'declined'`),
	)
	if err != nil {
		t.Fatalf("decline: %v", err)
	}
	msg := evalJS[string](t, ctx, `document.querySelector('#message').textContent`)
	if !strings.Contains(msg, "nothing of yours is recorded") || !strings.Contains(msg, "the others are told") {
		t.Errorf("after declining the page says %q", msg)
	}
	if n := evalJS[int](t, ctx, `window.captures + window.peers`); n != 0 {
		t.Errorf("the page captured or connected %d times without consent", n)
	}
	if n := whip.requests.Load(); n != 0 {
		t.Errorf("%d requests reached the WHIP endpoint without consent", n)
	}
	e := lastJoinEvent(t, f)
	if e.Speaker == nil || e.Speaker.Name != "Eve <b>Ng</b>" || e.Speaker.Role != ledger.RolePartner || e.Speaker.Consent != ConsentDeclined {
		t.Fatalf("stored %+v, want Eve's refusal", e)
	}
}

// On a phone the controls sit above the overlay; on a laptop, beside it.
func TestJoinPageResponsive(t *testing.T) {
	f, _ := newJoinFixture(t)
	ctx := newBrowser(t)
	for _, tc := range []struct {
		w, h    int64
		stacked bool
	}{{390, 844, true}, {1280, 800, false}} {
		err := chromedp.Do(ctx,
			chromedp.EmulateViewport(tc.w, tc.h),
			chromedp.Navigate(f.http.URL+joinPath(testMeeting, f.token)),
			waitJS(`document.querySelector('#overlay').getBoundingClientRect().height > 200`),
		)
		if err != nil {
			t.Fatal(err)
		}
		stacked := evalJS[bool](t, ctx, `(() => {
			const p = document.querySelector('.panel').getBoundingClientRect();
			const o = document.querySelector('#overlay').getBoundingClientRect();
			return o.top >= p.bottom - 1;
		})()`)
		if stacked != tc.stacked {
			t.Errorf("%dx%d: overlay below the controls = %v, want %v", tc.w, tc.h, stacked, tc.stacked)
		}
	}
}

// In a real browser: when the meeting takes no audio, joining says why instead of sending.
func TestJoinPageSaysMeetingTakesNoAudio(t *testing.T) {
	const why = "this meeting is not being transcribed"
	var posts atomic.Int64
	f := newFixture(t, func(c *Config) {
		c.Ingest = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				posts.Add(1)
			}
			http.Error(w, why, http.StatusForbidden)
		})
	})
	ctx := newBrowser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(f.http.URL+joinPath(testMeeting, f.token)),
		waitJS(`document.querySelector('#meeting').textContent === '`+testMeeting+`'`),
		// A microphone that plays a tone, so that the page gets as far as publishing.
		chromedp.Evaluate[chromedp.Void](`navigator.mediaDevices.getUserMedia = async () => {
			const ctx = new AudioContext(), dst = ctx.createMediaStreamDestination(), osc = ctx.createOscillator();
			osc.connect(dst);
			osc.start();
			return dst.stream;
		}`),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Eve Ng"),
		chromedp.SetValue(chromedp.CSS(`#org`), "partner"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#org').dispatchEvent(new Event('change'))`),
		chromedp.Click(chromedp.CSS(`#consent`)),
		waitJS(`!document.querySelector('#join').disabled`),
		chromedp.Click(chromedp.CSS(`#join`)),
		waitJS(`document.body.dataset.state === 'failed'`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if msg := evalJS[string](t, ctx, `document.querySelector('#message').textContent`); msg != "This meeting is not being transcribed." {
		t.Errorf("the page says %q, want that the meeting is not being transcribed", msg)
	}
	if sending := evalJS[bool](t, ctx, `!document.querySelector('#controls').hidden`); sending {
		t.Error("the page still shows the sending controls")
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("%d WHIP posts, want one: a refusal is no reason to try other channel names", n)
	}
}
