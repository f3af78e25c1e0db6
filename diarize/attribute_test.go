package diarize

import (
	"os"
	"testing"
)

func tok(text string, start, end float64) Token {
	return Token{Text: text, Start: sec(start), End: sec(end)}
}

func TestSplitSegment(t *testing.T) {
	seg := Segment{Start: sec(0), End: sec(4), Text: "We can ship it. Great.",
		Tokens: []Token{tok(" We", 0, 0.4), tok(" can", 0.4, 0.8), tok(" ship", 0.8, 1.4), tok(" it.", 1.4, 2.0), tok(" Great.", 2.6, 3.4)}}
	before, after := SplitSegment(seg, sec(2.3))
	if before.Text != "We can ship it." || after.Text != "Great." {
		t.Fatalf("split into %q | %q", before.Text, after.Text)
	}
	if before.End != sec(2.3) || after.Start != sec(2.3) || len(before.Tokens) != 4 || len(after.Tokens) != 1 {
		t.Fatalf("split times or tokens wrong: %+v | %+v", before, after)
	}
	// A token goes to the side holding its midpoint: " it." (1.4–2.0) is
	// split at 1.6, its midpoint 1.7 lies after.
	before, after = SplitSegment(seg, sec(1.6))
	if before.Text != "We can ship" || after.Text != "it. Great." {
		t.Fatalf("midpoint rule: %q | %q", before.Text, after.Text)
	}
	// Outside the segment: everything on one side.
	before, after = SplitSegment(seg, sec(9))
	if before.Text != "We can ship it. Great." || after.Text != "" || after.End != after.Start {
		t.Fatalf("split past the end: %q | %q", before.Text, after.Text)
	}
	// Without tokens, words are shared in proportion to time.
	before, after = SplitSegment(Segment{Start: 0, End: sec(4), Text: "one two three four"}, sec(1))
	if before.Text != "one" || after.Text != "two three four" {
		t.Fatalf("no tokens: %q | %q", before.Text, after.Text)
	}
}

func TestAttributeSplitsAtChange(t *testing.T) {
	seg := Segment{Start: sec(0), End: sec(4), Text: "We can ship it. Great.",
		Tokens: []Token{tok(" We", 0, 0.4), tok(" can", 0.4, 0.8), tok(" ship", 0.8, 1.4), tok(" it.", 1.4, 2.0), tok(" Great.", 2.6, 3.4)}}
	turns := []Turn{tr(0, 2.1, "spk1"), tr(2.5, 3.5, "spk2")}
	got := attribute(seg, turns)
	if len(got) != 2 || got[0].Speaker != "spk1" || got[0].Text != "We can ship it." ||
		got[1].Speaker != "spk2" || got[1].Text != "Great." {
		t.Fatalf("attributed %+v", got)
	}
	// A change inside one token's span with no token on one side leaves one
	// part, not an empty one.
	got = attribute(Segment{Start: 0, End: sec(3), Text: "Right.", Tokens: []Token{tok(" Right.", 0.1, 0.6)}},
		[]Turn{tr(0, 1, "spk1"), tr(1.2, 3, "spk2")})
	if len(got) != 1 || got[0].Speaker != "spk1" {
		t.Fatalf("one-token segment: %+v", got)
	}
}

// TestTrackExact: on per-track channels each segment belongs to the
// track's speaker, so attribution reproduces the reference: DER 0.
func TestTrackExact(t *testing.T) {
	f, err := os.Open("testdata/handoff.rttm")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files, err := ReadRTTM(f)
	if err != nil {
		t.Fatal(err)
	}
	ref := files["handoff"]
	tracks := map[string]Attributor{"dana": NewTrack("dana"), "priya": NewTrack("priya")}
	var hyp []Turn
	for _, r := range ref {
		// The recogniser's segment on the speaker's own channel.
		a := tracks[r.Speaker]
		if err := a.Push(r.Start, make([]float32, 160)); err != nil {
			t.Fatal(err)
		}
		parts, err := a.Attribute(Segment{Start: r.Start, End: r.End, Text: "words"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			hyp = append(hyp, Turn{Start: p.Start, End: p.End, Speaker: p.Speaker})
		}
	}
	s := ScoreDER(ref, hyp, 0)
	if s.DER() != 0 || s.Total == 0 {
		t.Fatalf("per-track DER %g over %v, want 0", s.DER(), s.Total)
	}
}
