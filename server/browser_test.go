package server

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ledgerline/ledgerline/internal/browsertest"
	"github.com/ledgerline/ledgerline/ledger"
)

// newBrowser starts a headless Chromium with a fresh profile, stopped when the test ends.
func newBrowser(t *testing.T) context.Context { return browsertest.New(t) }

// waitJS waits, in the page, until the JavaScript condition holds.
func waitJS(cond string) chromedp.Action[chromedp.Void] { return browsertest.WaitJS(cond) }

// evalJS evaluates a JavaScript expression in the page and returns its value.
func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

const finalsJS = `[...document.querySelectorAll('#captions [data-final-seq]')]`

func TestOverlayRefusesWithoutToken(t *testing.T) {
	f := newFixture(t, nil)
	ctx := newBrowser(t)
	for path, want := range map[string]int64{
		"/m/" + testMeeting:                    401,
		PagePath(testMeeting, "not-the-token"): 403,
	} {
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(f.http.URL+path))
		if err != nil {
			t.Fatal(err)
		}
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != want || !strings.Contains(body, "access token") {
			t.Errorf("%s: HTTP %d, body %q; want %d and a hint about the access token", path, resp.Status, body, want)
		}
	}
}

func TestOverlayShowsReplayAndResumes(t *testing.T) {
	f := newFixture(t, nil)
	ctx := newBrowser(t)
	bg := context.Background()
	mustAppend := func(e ledger.Event) {
		t.Helper()
		e.Meeting = testMeeting
		if _, err := f.log.Append(bg, e); err != nil {
			t.Fatal(err)
		}
	}
	mustAppend(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording})
	mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-1", Channel: "mic", Name: "Dana", Org: "Acme"}})
	const evil = `<img src=x onerror="document.title='pwned'">`
	texts := []string{"Welcome, everyone.", evil}
	for i := 3; i <= 5; i++ {
		texts = append(texts, fmt.Sprintf("Final number %d.", i))
	}
	for i, text := range texts {
		f.appendFinal(i+1, text)
	}
	mustAppend(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{
		ID: "c1", What: "send the integration architecture", Owner: "Dana", OwnerOrg: "Acme", Due: "2026-03-06",
		DuePhrase: "by Friday", Status: ledger.StatusOpen, Confidence: 0.9, Quote: "I'll send it by Friday.", SegmentIDs: []string{"seg-3"}}})

	// The replayed history, in order, escaped.
	err := chromedp.Do(ctx,
		chromedp.Navigate(f.http.URL+PagePath(testMeeting, f.token)),
		waitJS(finalsJS+`.length === 5 && document.querySelector('#conn').dataset.conn === 'live'`),
	)
	if err != nil {
		t.Fatal(err)
	}
	got := evalJS[[]string](t, ctx, finalsJS+`.map(e => e.querySelector('.text').textContent)`)
	title := evalJS[string](t, ctx, `document.title`)
	who := evalJS[string](t, ctx, `document.querySelector('#captions .who').textContent`)
	ledgerText := evalJS[string](t, ctx, `document.querySelector('#commitments').textContent`)
	rec := evalJS[string](t, ctx, `document.querySelector('#rec').textContent`)
	if strings.Join(got, "|") != strings.Join(texts, "|") {
		t.Fatalf("finals shown %q, want %q", got, texts)
	}
	if title == "pwned" || who != "Dana" || !strings.Contains(ledgerText, "send the integration architecture") ||
		!strings.Contains(ledgerText, "2026-03-06") || rec != "Recording" {
		t.Fatalf("title %q, speaker %q, ledger %q, state %q", title, who, ledgerText, rec)
	}
	if imgs := evalJS[int](t, ctx, `document.querySelectorAll('img').length`); imgs != 0 {
		t.Fatalf("the page made %d elements out of caption text", imgs)
	}

	// Partials show greyed in place, then give way to their final.
	f.publishPartial("seg-6", "Next we")
	if err := chromedp.Do(ctx, waitJS(`(document.querySelector('#partials [data-partial] .text') || {}).textContent === 'Next we'`)); err != nil {
		t.Fatalf("partial not shown: %v", err)
	}
	f.publishPartial("seg-6", "Next we will")
	f.appendFinal(6, "Next we will talk pricing.")
	if err := chromedp.Do(ctx, waitJS(finalsJS+`.length === 6 && document.querySelectorAll('[data-partial]').length === 0`)); err != nil {
		t.Fatalf("final did not replace its partial: %v", err)
	}

	// Cut every connection; events keep coming while the page reconnects.
	if n := f.srv.DisconnectAll(testMeeting); n != 1 {
		t.Fatalf("DisconnectAll = %d, want 1", n)
	}
	for i := 7; i <= 12; i++ {
		f.appendFinal(i, fmt.Sprintf("Final number %d.", i))
	}
	if err := chromedp.Do(ctx, waitJS(`document.querySelector('#conn').dataset.connects === '2' && `+finalsJS+`.length >= 12`)); err != nil {
		t.Fatalf("page did not reconnect and catch up: %v", err)
	}
	f.appendFinal(13, "Final number 13.")
	if err := chromedp.Do(ctx, waitJS(finalsJS+`.length >= 13`)); err != nil {
		t.Fatal(err)
	}
	ids := evalJS[[]string](t, ctx, finalsJS+`.map(e => e.dataset.segment)`)
	var want []string
	for i := 1; i <= 13; i++ {
		want = append(want, fmt.Sprintf("seg-%d", i))
	}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("finals after reconnect %v, want each of %v exactly once, in order", ids, want)
	}
}

// On a phone-sized screen the ledger sits below the captions; on a laptop, beside them.
func TestOverlayResponsive(t *testing.T) {
	f := newFixture(t, nil)
	ctx := newBrowser(t)
	for _, tc := range []struct {
		w, h    int64
		stacked bool
	}{{390, 844, true}, {1280, 800, false}} {
		err := chromedp.Do(ctx,
			chromedp.EmulateViewport(tc.w, tc.h),
			chromedp.Navigate(f.http.URL+PagePath(testMeeting, f.token)),
			waitJS(`document.querySelector('#conn').dataset.conn === 'live'`),
		)
		if err != nil {
			t.Fatal(err)
		}
		stacked := evalJS[bool](t, ctx, `(() => {
			const c = document.querySelector('.captions').getBoundingClientRect();
			const l = document.querySelector('.ledger').getBoundingClientRect();
			return l.top >= c.bottom - 1;
		})()`)
		if stacked != tc.stacked {
			t.Errorf("%dx%d: ledger below captions = %v, want %v", tc.w, tc.h, stacked, tc.stacked)
		}
	}
}

// clearInput empties a text field, as selecting its text and deleting it would.
func clearInput(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ''`, sel))
}

// Two viewers of one meeting, each in its own tab: what one changes, both see, through the stream.
func TestOverlayControlsLiveAcrossPages(t *testing.T) {
	f, _ := newControlFixture(t)
	browser := newBrowser(t)
	f.mustAppend(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording})
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-1", Channel: "mic", Name: "Dana", Org: "Acme"}})
	f.appendFinal(1, "Welcome.")
	f.appendFinal(2, "We'll send the architecture by Friday.")
	seedCommitment(f)

	a := browser
	b, closeB := chromedp.NewContext(browser) // a second tab
	defer closeB()
	page := f.http.URL + PagePath(testMeeting, f.token)
	ready := waitJS(finalsJS + `.length === 2 && document.querySelector('#conn').dataset.conn === 'live' &&
		document.querySelector('[data-commitment="c1"] button[data-action="done"]') !== null`)
	for _, tab := range []context.Context{a, b} {
		if err := chromedp.Do(tab, chromedp.Navigate(page), ready); err != nil {
			t.Fatal(err)
		}
	}
	both := func(what, cond string) {
		t.Helper()
		for i, tab := range []context.Context{a, b} {
			if err := chromedp.Do(tab, waitJS(cond)); err != nil {
				t.Fatalf("%s, in tab %d: %v", what, i+1, err)
			}
		}
	}

	// A types a name and renames the speaker from a caption.
	err := chromedp.Do(a,
		chromedp.SendKeys(chromedp.CSS("#by"), "Ana"),
		chromedp.Click(chromedp.CSS(`#captions button.who[data-speaker="spk-1"]`)),
		chromedp.WaitVisible(chromedp.CSS("#speaker-dialog")),
		clearInput(`#speaker-form input[name="name"]`),
		chromedp.SendKeys(chromedp.CSS(`#speaker-form input[name="name"]`), "Dana <b>Smith</b>"),
		chromedp.SetValue(chromedp.CSS(`#speaker-form select[name="role"]`), "partner"),
		chromedp.Click(chromedp.CSS(`#speaker-form button[type="submit"]`)),
		waitJS(`!document.querySelector('#speaker-dialog').open`),
	)
	if err != nil {
		t.Fatal(err)
	}
	both("rename", `[...document.querySelectorAll('#captions .who')].every(w => w.textContent === 'Dana <b>Smith</b>') &&
		[...document.querySelectorAll('#captions .org')].every(o => o.textContent === 'partner') &&
		document.querySelector('#talk-speakers [data-speaker="spk-1"] .talk-name').textContent === 'Dana <b>Smith</b>' &&
		document.querySelectorAll('b').length === 0`)
	if e := f.lastStored(); e.Type != ledger.TypeSpeakerUpdate || e.By != "Ana" || e.Speaker.Name != "Dana <b>Smith</b>" || e.Speaker.Role != ledger.RolePartner || e.Speaker.Channel != "mic" {
		t.Fatalf("stored %+v (speaker %+v), want the rename by Ana", e, e.Speaker)
	}

	// B, under another name, marks the commitment done.
	err = chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS("#by"), "Raj"),
		chromedp.Click(chromedp.CSS(`[data-commitment="c1"] button[data-action="done"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	both("done", `(() => { const c = document.querySelector('[data-commitment="c1"]');
		return c.dataset.status === 'done' && c.querySelector('.by').textContent === 'changed by Raj' &&
			c.querySelector('button[data-action="reopen"]') !== null; })()`)

	// A reassigns it and moves its due date.
	err = chromedp.Do(a,
		chromedp.Click(chromedp.CSS(`[data-commitment="c1"] button[data-action="edit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#commitment-dialog")),
		clearInput(`#commitment-form input[name="owner"]`),
		chromedp.SendKeys(chromedp.CSS(`#commitment-form input[name="owner"]`), "Sam"),
		chromedp.SetValue(chromedp.CSS(`#commitment-form input[name="due"]`), "2026-03-10"),
		chromedp.Click(chromedp.CSS(`#commitment-form button[type="submit"]`)),
		waitJS(`!document.querySelector('#commitment-dialog').open`),
	)
	if err != nil {
		t.Fatal(err)
	}
	both("reassign", `(() => { const c = document.querySelector('[data-commitment="c1"]');
		return c.querySelector('.owner').textContent === 'Sam (Acme)' && c.querySelector('.due').textContent === 'due 2026-03-10' &&
			c.dataset.status === 'done' && c.querySelector('.by').textContent === 'changed by Ana'; })()`)

	// B reopens it, then dismisses it.
	for _, step := range []struct{ action, status string }{{"reopen", "open"}, {"dismiss", "dropped"}} {
		if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`[data-commitment="c1"] button[data-action="`+step.action+`"]`))); err != nil {
			t.Fatal(err)
		}
		both(step.action, `document.querySelector('[data-commitment="c1"]').dataset.status === '`+step.status+`'`)
	}
	if c := f.lastStored().Commitment; c == nil || c.Status != ledger.StatusDropped || c.Owner != "Sam" || c.Due != "2026-03-10" || c.Quote == "" {
		t.Fatalf("stored commitment %+v, want dropped, owned by Sam, due 2026-03-10, quote kept", c)
	}

	// A pauses, B resumes.
	if err := chromedp.Do(a, chromedp.Click(chromedp.CSS("#pause"))); err != nil {
		t.Fatal(err)
	}
	both("pause", `document.querySelector('#rec').dataset.state === 'paused' && document.querySelector('#pause').textContent === 'Resume'`)
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS("#pause"))); err != nil {
		t.Fatal(err)
	}
	both("resume", `document.querySelector('#rec').dataset.state === 'recording' && document.querySelector('#pause').textContent === 'Pause'`)

	// The name typed is kept for the next visit; tabs of one browser share it, so the last one typed stands.
	if err := chromedp.Do(a, chromedp.Navigate(page), waitJS(`document.querySelector('#conn').dataset.conn === 'live'`)); err != nil {
		t.Fatal(err)
	}
	if by := evalJS[string](t, a, `document.querySelector('#by').value`); by != "Raj" {
		t.Fatalf("name after reload %q, want Raj", by)
	}
}

// Talk time adds up the finals' lengths per speaker and per organisation, for the replayed history
// and live, and follows a final that replaces another and a speaker who changes organisation.
func TestOverlayTalkTime(t *testing.T) {
	f := newFixture(t, nil)
	ctx := newBrowser(t)
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-1", Channel: "mic", Name: "Dana", Org: "vendor"}})
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-2", Channel: "system", Name: "Lee", Org: "buyer"}})
	final := func(id, channel, speaker string, start, end int64) {
		f.mustAppend(ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{
			ID: id, Channel: channel, Speaker: speaker, StartMS: start, EndMS: end, Text: "words " + id}})
	}
	final("s1", "mic", "spk-1", 0, 4000)
	final("s2", "system", "spk-2", 4000, 6500)
	final("s3", "mic", "spk-1", 7000, 9000)
	final("s4", "room", "", 10000, 11000)
	final("s5", "system", "spk-2", 12000, 80000)

	const rows = `Object.fromEntries([...document.querySelectorAll('#talk-SIDE .talk-row')].map(r =>
		[r.dataset.KEY, r.dataset.ms + ' ' + r.querySelector('.talk-dur').textContent]))`
	speakersJS := strings.NewReplacer("SIDE", "speakers", "KEY", "speaker").Replace(rows)
	orgsJS := strings.NewReplacer("SIDE", "orgs", "KEY", "org").Replace(rows)
	check := func(what string, speakers, orgs map[string]string) {
		t.Helper()
		want := func(m map[string]string) string {
			var parts []string
			for k, v := range m {
				parts = append(parts, fmt.Sprintf("%q: %q", k, v))
			}
			return "{" + strings.Join(parts, ", ") + "}"
		}
		cond := fmt.Sprintf(`(() => { const same = (a, b) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
			return same(%s, %s) && same(%s, %s); })()`, speakersJS, want(speakers), orgsJS, want(orgs))
		if err := chromedp.Do(ctx, waitJS(cond)); err != nil {
			t.Fatalf("%s: talk time per speaker %v, per organisation %v; want %v and %v: %v", what,
				evalJS[map[string]string](t, ctx, speakersJS), evalJS[map[string]string](t, ctx, orgsJS), speakers, orgs, err)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(f.http.URL+PagePath(testMeeting, f.token)), waitJS(finalsJS+`.length === 5`)); err != nil {
		t.Fatal(err)
	}
	check("replayed",
		map[string]string{"spk-1": "6000 6s", "spk-2": "70500 1:10", "channel:room": "1000 1s"},
		map[string]string{"vendor": "6000 6s", "buyer": "70500 1:10", "unassigned": "1000 1s"})
	if first := evalJS[string](t, ctx, `document.querySelector('#talk-speakers .talk-name').textContent`); first != "Lee" {
		t.Fatalf("first speaker in the panel %q, want Lee, who spoke longest", first)
	}

	final("s3", "mic", "spk-1", 7000, 10000) // the final of s3 again, longer
	final("s6", "mic", "spk-1", 81000, 82500)
	// A side of the deal stands for an organisation not known; a known one is shown instead.
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-2", Channel: "system", Name: "Lee", Role: ledger.RolePartner}})
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-3", Channel: "omar", Name: "Omar", Org: "Globex", Role: ledger.RolePartner}})
	final("s7", "omar", "spk-3", 83000, 85000)
	check("live",
		map[string]string{"spk-1": "8500 8s", "spk-2": "70500 1:10", "spk-3": "2000 2s", "channel:room": "1000 1s"},
		map[string]string{"vendor": "8500 8s", "partner": "70500 1:10", "Globex": "2000 2s", "unassigned": "1000 1s"})
}

// A participant who declined recording is listed for everyone, and never as a speaker.
func TestOverlayListsWhoDeclined(t *testing.T) {
	f := newFixture(t, nil)
	ctx := newBrowser(t)
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "declined-eve", Name: "Eve <b>Ng</b>", Org: "partner", Consent: ConsentDeclined}})
	const text = `document.querySelector('#declined li') ? document.querySelector('#declined li').textContent : ''`
	if err := chromedp.Do(ctx, chromedp.Navigate(f.http.URL+PagePath(testMeeting, f.token)), waitJS(text+` !== ''`)); err != nil {
		t.Fatal(err)
	}
	if got := evalJS[string](t, ctx, text); got != "Eve <b>Ng</b> (partner) declined recording: nothing they say is recorded." {
		t.Errorf("declined notice %q", got)
	}
	if n := evalJS[float64](t, ctx, `document.querySelectorAll('#declined b').length + document.querySelectorAll('#talk-speakers .talk-row').length`); n != 0 {
		t.Errorf("a declined participant shows as markup or as a speaker (%v elements)", n)
	}
}

// Audio missing from the record is shown per channel, the latest totals replacing the earlier ones.
func TestOverlayShowsAudioLost(t *testing.T) {
	f := newFixture(t, nil)
	ctx := newBrowser(t)
	f.mustAppend(ledger.Event{Type: ledger.TypeChannelLoss, Loss: &ledger.LossInfo{Channel: "mic", CaptureMS: 300, AtMS: 5000}})
	f.mustAppend(ledger.Event{Type: ledger.TypeChannelLoss, Loss: &ledger.LossInfo{Channel: "mic", CaptureMS: 300, UndecodedMS: 2100, AtMS: 65000}})
	const text = `[...document.querySelectorAll('#losses li')].map((li) => li.textContent).join('|')`
	if err := chromedp.Do(ctx, chromedp.Navigate(f.http.URL+PagePath(testMeeting, f.token)), waitJS(text+`.includes('2.1 s')`)); err != nil {
		t.Fatal(err)
	}
	want := "mic: 0.3 s of audio lost by the capture device; 2.1 s of speech not transcribed (transcription fell behind), last at 1:05."
	if got := evalJS[string](t, ctx, text); got != want {
		t.Errorf("losses %q, want %q", got, want)
	}
}

// A meeting that is a replay says so for as long as the page is open.
func TestOverlaySaysWhenItIsAReplay(t *testing.T) {
	f := newFixture(t, nil)
	ctx := newBrowser(t)
	f.mustAppend(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording, Reason: "replay of the sample call's reference transcript (no speech model)"})
	f.mustAppend(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingStopped, Reason: "replay ended"})
	const about = `document.querySelector('#about').hidden ? '' : document.querySelector('#about').textContent`
	if err := chromedp.Do(ctx, chromedp.Navigate(f.http.URL+PagePath(testMeeting, f.token)),
		waitJS(`document.querySelector('#rec').dataset.state === 'stopped'`)); err != nil {
		t.Fatal(err)
	}
	if got := evalJS[string](t, ctx, about); got != "Replay of the sample call's reference transcript (no speech model)" {
		t.Errorf("banner %q, want the replay named", got)
	}
}
