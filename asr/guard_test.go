package asr

import (
	"strings"
	"testing"
)

func TestKnownPhraseNeedsDoubt(t *testing.T) {
	for _, tc := range []struct {
		text            string
		doubtful, short bool
		want            bool
	}{
		{"Thank you.", true, false, true},
		{"Thank you.", false, true, false}, // people say it in short utterances
		{"¡Gracias!", true, false, true},
		{"Obrigado.", true, false, true},
		{"Спасибо.", true, false, true},
		{"Thank you for the update.", true, false, false},
		{"Thanks for watching!", false, true, true},
		{"Thanks for watching!", false, false, false},
		{"Subtitles by the Amara.org community", false, true, true},
		{"Sous-titres réalisés par la communauté d'Amara.org", true, false, true},
		{"Untertitel im Auftrag des ZDF für funk, 2017", false, true, true},
		{"Subtítulos realizados por la comunidad de Amara.org", false, true, true},
		{"ご視聴ありがとうございました", false, true, true},
		{"", true, true, false},
	} {
		if got := knownPhrase(tc.text, tc.doubtful, tc.short); got != tc.want {
			t.Errorf("knownPhrase(%q, doubtful=%v, short=%v) = %v, want %v", tc.text, tc.doubtful, tc.short, got, tc.want)
		}
	}
}

func TestLoopStart(t *testing.T) {
	for _, tc := range []struct {
		text string
		cut  int
		ok   bool
	}{
		{"so we will we will we will we will", 3, true},
		{"no no no", 0, false}, // a word needs four repeats
		{"la la la la la", 1, true},
		{"go ahead and go ahead", 0, false},
		{"a b c d a b c d a b c d", 4, true},
		{"the plan is simple", 0, false},
		{"", 0, false},
	} {
		cut, ok := loopStart(strings.Fields(tc.text))
		if cut != tc.cut || ok != tc.ok {
			t.Errorf("loopStart(%q) = %d, %v, want %d, %v", tc.text, cut, ok, tc.cut, tc.ok)
		}
	}
}

func TestCompressionRatio(t *testing.T) {
	speech := "We agreed that Priya sends the revised budget to finance by Thursday, and Tom books the venue."
	if r := compressionRatio(speech); r > maxCompressionRatio {
		t.Errorf("ratio of ordinary speech = %.2f, above %.1f", r, maxCompressionRatio)
	}
	loop := strings.Repeat("I'm going to go to the store and buy some milk. ", 5)
	if r := compressionRatio(loop); r <= maxCompressionRatio {
		t.Errorf("ratio of a loop = %.2f, not above %.1f", r, maxCompressionRatio)
	}
}

func TestSilentSegment(t *testing.T) {
	unsure := []Token{{P: 0.2}, {P: 0.3}}
	sure := []Token{{P: 0.9}, {P: 0.95}}
	for _, tc := range []struct {
		seg  Segment
		want bool
	}{
		{Segment{NoSpeechProb: 0.8, Tokens: unsure}, true},
		{Segment{NoSpeechProb: 0.8, Tokens: sure}, false},
		{Segment{NoSpeechProb: 0.3, Tokens: unsure}, false},
		{Segment{NoSpeechProb: 0.7}, true},
	} {
		if got := silentSegment(tc.seg); got != tc.want {
			t.Errorf("silentSegment(%+v) = %v, want %v", tc.seg, got, tc.want)
		}
	}
}
