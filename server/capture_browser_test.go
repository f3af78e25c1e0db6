package server

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ledgerline/ledgerline/ledger"
)

// TestOverlayShowsCaptureLevelsAndWarnings sends levels and a capture warning as the agent does,
// and reads the overlay's meters and warning in Chromium: live while recording, cleared when the
// channel is well again, and gone once the meeting stops.
func TestOverlayShowsCaptureLevelsAndWarnings(t *testing.T) {
	f := newFixture(t, nil)
	ctx := newBrowser(t)
	publish := func(c ledger.CaptureInfo) {
		t.Helper()
		if err := f.log.Publish(ledger.Event{Type: ledger.TypeCaptureLevel, Meeting: testMeeting, Capture: &c}); err != nil {
			t.Fatal(err)
		}
	}
	f.mustAppend(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording})
	if err := chromedp.Do(ctx,
		chromedp.Navigate(f.http.URL+PagePath(testMeeting, f.token)),
		waitJS(`document.querySelector('#conn').dataset.conn === 'live'`),
	); err != nil {
		t.Fatal(err)
	}
	if !evalJS[bool](t, ctx, `document.querySelector('#meters').hidden`) {
		t.Error("meters shown before any level arrived")
	}

	publish(ledger.CaptureInfo{Channel: "mic", LevelDB: -20, PeakDB: -12, AtMS: 250})
	publish(ledger.CaptureInfo{Channel: "system", LevelDB: -90, PeakDB: -90, AtMS: 250})
	if err := chromedp.Do(ctx, waitJS(`document.querySelectorAll('#meters meter').length === 2`)); err != nil {
		t.Fatal(err)
	}
	if v := evalJS[float64](t, ctx, `document.querySelector('#meters li[data-channel="mic"] meter').value`); v != -20 {
		t.Errorf("mic meter at %v, want -20", v)
	}
	if v := evalJS[float64](t, ctx, `document.querySelector('#meters li[data-channel="system"] meter').value`); v != -60 {
		t.Errorf("silent system meter at %v, want its floor, -60", v)
	}
	publish(ledger.CaptureInfo{Channel: "mic", LevelDB: -6, PeakDB: -1, AtMS: 500})
	if err := chromedp.Do(ctx, waitJS(`document.querySelector('#meters li[data-channel="mic"] meter').value === -6`)); err != nil {
		t.Fatalf("the mic meter did not follow its level: %v", err)
	}
	// A participant's channel is shown by their name, before and after its first level.
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "priya-nair", Channel: "priya-nair", Name: "Priya Nair"}})
	publish(ledger.CaptureInfo{Channel: "priya-nair", LevelDB: -30, PeakDB: -20, AtMS: 750})
	if err := chromedp.Do(ctx, waitJS(`(document.querySelector('#meters li[data-channel="priya-nair"] .meter-name') || {}).textContent === 'Priya Nair'`)); err != nil {
		t.Fatalf("a participant's meter is not shown by their name: %v", err)
	}

	const warning = "No call audio for 60 s — is the meeting playing through another device?"
	f.mustAppend(ledger.Event{Type: ledger.TypeCaptureHealth, Capture: &ledger.CaptureInfo{Channel: "system", LevelDB: -90,
		PeakDB: -90, Problem: ledger.CaptureSilent, Message: warning, AtMS: 60250}})
	if err := chromedp.Do(ctx, waitJS(`document.querySelector('#meters li[data-channel="system"]').dataset.problem === 'silent'`)); err != nil {
		t.Fatal(err)
	}
	if got := evalJS[string](t, ctx, `document.querySelector('#meters li[data-channel="system"] .meter-warning').textContent`); got != warning {
		t.Errorf("warning %q, want %q", got, warning)
	}
	if !evalJS[bool](t, ctx, `getComputedStyle(document.querySelector('#meters li[data-channel="system"] .meter-warning')).display !== 'none'`) {
		t.Error("the warning is not displayed")
	}

	// A new viewer sees the warning from the stored log; the level meters need the live stream.
	if err := chromedp.Do(ctx,
		chromedp.Reload(),
		waitJS(`(document.querySelector('#meters li[data-channel="system"] .meter-warning') || {}).textContent === `+strconv.Quote(warning)),
	); err != nil {
		t.Fatalf("a new viewer does not see the stored warning: %v", err)
	}

	f.mustAppend(ledger.Event{Type: ledger.TypeCaptureHealth, Capture: &ledger.CaptureInfo{Channel: "system", LevelDB: -18,
		PeakDB: -9, Message: "The call audio device is working again.", AtMS: 70000}})
	if err := chromedp.Do(ctx, waitJS(`document.querySelector('#meters li[data-channel="system"] .meter-warning').textContent === ''`)); err != nil {
		t.Fatalf("the warning stayed after the channel was well again: %v", err)
	}

	f.mustAppend(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingStopped})
	if err := chromedp.Do(ctx, waitJS(`document.querySelector('#meters').hidden`)); err != nil {
		t.Fatalf("meters still shown after the meeting stopped: %v", err)
	}
}
