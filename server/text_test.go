package server

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/ledger"
)

// Text that could show as other text, or reorder what is shown after it, is refused.
func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"  Dana Reyes ", "Dana Reyes", true},
		{"Zoë Ångström-Łukasiewicz", "Zoë Ångström-Łukasiewicz", true},
		{"محمد", "محمد", true},
		{"👩\u200d💻 Dana", "👩\u200d💻 Dana", true}, // a joiner inside an emoji
		{"می\u200cخواهم", "می\u200cخواهم", true}, // a non-joiner in Persian
		{"<b>Dana</b>", "<b>Dana</b>", true},     // text, never markup: pages show it as such
		{"", "", true},
		{strings.Repeat("é", 24), strings.Repeat("é", 24), true},
		{strings.Repeat("é", 25), "", false}, // characters counted, not bytes
		{"Dana\nReyes", "", false},
		{"Dana\rReyes", "", false},
		{"Dana\x00", "", false},
		{"Dana\u0085Reyes", "", false}, // next line
		{"Dana\u2028Reyes", "", false}, // line separator
		{"Dana\u2029Reyes", "", false}, // paragraph separator
		{"\u202eanaD", "", false},      // right-to-left override
		{"Dana\u202aX\u202c", "", false},
		{"Dana\u202b", "", false},
		{"Dana\u202d", "", false},
		{"Dana\u2066X\u2069", "", false}, // isolates
		{"Dana\u2067", "", false},
		{"Dana\u2068", "", false},
		{"Dana\u200eX", "", false}, // left-to-right mark
		{"Dana\u200fX", "", false},
		{"Dana\u061cX", "", false}, // Arabic letter mark
		{"Da\u200bna", "", false},  // zero-width space
		{"Da\u2060na", "", false},  // word joiner
		{"\ufeffDana", "", false},  // byte order mark
		{"Da\u00adna", "", false},  // soft hyphen
		{"Dana\xff", "", false},    // not UTF-8
	} {
		got, err := CheckText("name", tc.in, 24, true)
		var te *TextError
		switch {
		case tc.ok && (err != nil || got != tc.want):
			t.Errorf("CheckText(%+q) = %+q, %v; want %+q", tc.in, got, err, tc.want)
		case !tc.ok && !errors.As(err, &te):
			t.Errorf("CheckText(%+q) = %+q, %v; want a TextError", tc.in, got, err)
		case !tc.ok && (te.Field != "name" || !strings.HasPrefix(te.Message(), "name ")):
			t.Errorf("CheckText(%+q): %v, message %q; want it to name the field", tc.in, err, te.Message())
		}
	}
	if _, err := CheckText("owner", " ", 10, false); err == nil || !strings.Contains(err.Error(), "owner must not be empty") {
		t.Errorf("an empty owner: %v", err)
	}
}

// Every field of the control API and the join page that takes text refuses what CheckText
// refuses, and stores nothing.
func TestTextCheckedWhereItEnters(t *testing.T) {
	f, _ := newControlFixture(t)
	f.mustAppend(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-1", Channel: "mic", Name: "Dana"}})
	seedCommitment(f)
	const speaker, commitment = "/m/" + testMeeting + "/speakers/spk-1", "/m/" + testMeeting + "/commitments/c1"
	const decline = "/m/" + testMeeting + "/join/decline"
	const rlo, isolate = `\u202e`, `\u2066`
	for _, tc := range []struct{ path, body string }{
		{speaker, `{"name":"Dana` + rlo + `nosmaS"}`},
		{speaker, `{"org":"Acme` + isolate + `"}`},
		{speaker, `{"name":"Dana","by":"Ana` + rlo + `"}`},
		{commitment, `{"owner":"Dana\u200bSmith"}`},
		{commitment, `{"owner_org":"Acme\u2067"}`},
		{commitment, `{"what":"send the quote` + rlo + `"}`},
		{commitment, `{"what":"send the quote\u2028today"}`},
		{decline, `{"name":"Eve` + rlo + `"}`},
		{decline, `{"name":"Eve\nNg"}`},
		{decline, `{"name":"` + strings.Repeat("e", 81) + `"}`},
		{decline, `{"name":"Eve","org":"part\nner"}`},
		{decline, `{"name":"Eve","org":"` + strings.Repeat("p", 5000/2) + `"}`},
	} {
		before := f.lastStored().Seq
		code, body := f.do(request{path: tc.path, body: tc.body})
		if code != http.StatusBadRequest || !strings.Contains(body, "characters") {
			t.Errorf("POST %s %s: %d %q, want 400 saying what to change", tc.path, tc.body, code, body)
		}
		if after := f.lastStored().Seq; after != before {
			t.Errorf("POST %s %s stored events %d..%d", tc.path, tc.body, before+1, after)
		}
	}
	// A joiner where a script or an emoji needs it is text.
	if e := f.post(speaker, `{"name":"👩\u200d💻 Dana"}`); e.Speaker.Name != "👩\u200d💻 Dana" {
		t.Errorf("renamed to %+q", e.Speaker.Name)
	}
	if code, body := f.do(request{path: decline, body: `{"name":"Eve Ng","org":"partner"}`}); code != http.StatusOK {
		t.Errorf("decline: %d %q", code, body)
	}
}
