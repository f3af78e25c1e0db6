package server

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ledgerline/ledgerline/ledger"
)

const chromiumPath = "/usr/bin/chromium"

// newBrowser starts a headless Chromium with a fresh profile, stopped when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the Chromium test in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("skipping: no Chromium at %s (%v); install Debian's chromium package to run the overlay tests", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc() // waits for the browser process to exit
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// waitJS waits, in the page, until the JavaScript condition holds.
func waitJS(cond string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(20*time.Millisecond))
}

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
