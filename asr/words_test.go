package asr

import "testing"

func TestDropAnnotations(t *testing.T) {
	s := newTestStream(t, StreamConfig{Engine: &scripted{}})
	for _, tc := range []struct{ in, want string }{
		{"[Music] okay let's start", "okay let's start"},
		{"so (upbeat music) the plan", "so the plan"},
		{"*laughs* fine", "fine"},
		{"♪ la la ♪", "la la"},
		{"we said (roughly) ten", "we said ten"},
		{"no annotations here", "no annotations here"},
		{"[BLANK_AUDIO]", ""},
	} {
		words := s.segmentWords(segment(0, 0.9, 0, tc.in), "en", SampleRate*10)
		if got := joinWords(s.dropAnnotations(words)); got != tc.want {
			t.Errorf("dropAnnotations(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSegmentWordsGroupsTokens(t *testing.T) {
	s := newTestStream(t, StreamConfig{Engine: &scripted{}})
	seg := Segment{Text: "Hello, Priya.", Tokens: []Token{
		{Text: "Hello", P: 0.9}, {Text: ",", P: 0.9}, {Text: " Pri", P: 0.9}, {Text: "ya", P: 0.9}, {Text: ".", P: 0.9},
	}}
	words := s.segmentWords(seg, "en", SampleRate)
	if len(words) != 2 || words[0].text != "Hello," || words[1].text != "Priya." || words[1].key != "priya" || len(words[1].tokens) != 3 {
		t.Errorf("words = %+v, want [Hello,] [Priya.] with their tokens", words)
	}
}
