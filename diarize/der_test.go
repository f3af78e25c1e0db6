package diarize

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func tr(start, end float64, spk string) Turn {
	return Turn{Start: sec(start), End: sec(end), Speaker: spk}
}

func TestScoreDER(t *testing.T) {
	ref := []Turn{tr(0, 10, "A"), tr(10, 20, "B")}
	cases := []struct {
		name                  string
		ref, hyp              []Turn
		collar                time.Duration
		total, miss, fa, conf float64 // seconds
		der                   float64
	}{
		// Same turns, other names: 20 s scored, nothing wrong.
		{"perfect", ref, []Turn{tr(0, 10, "x"), tr(10, 20, "y")}, 0, 20, 0, 0, 0, 0},
		// No hypothesis: all 20 s missed.
		{"all missed", ref, nil, 0, 20, 20, 0, 0, 1},
		// No reference: 5 s of false alarm over nothing; DER is 1 by convention.
		{"all false alarm", nil, []Turn{tr(0, 5, "x")}, 0, 0, 0, 5, 0, 1},
		// Labels swapped: the mapping B→A, A→B makes it perfect.
		{"swapped", ref, []Turn{tr(0, 10, "B"), tr(10, 20, "A")}, 0, 20, 0, 0, 0, 0},
		// One speaker for everything: the mapping keeps one 10 s turn right,
		// the other 10 s are confused: 10/20.
		{"half confused", ref, []Turn{tr(0, 20, "x")}, 0, 20, 0, 0, 10, 0.5},
		// Hypothesis change 0.2 s late, inside the 0.25 s collar. Excluded
		// zones: [-0.25,0.25], [9.75,10.25], [19.75,20.25]; scored
		// 20 − 0.25 − 0.5 − 0.25 = 19 s, no error.
		{"collar forgives", ref, []Turn{tr(0, 10.2, "x"), tr(10.2, 20, "y")}, DefaultCollar, 19, 0, 0, 0, 0},
		// Change 1 s late: 0.75 s of it (10.25–11) is confused out of 19.
		{"collar limits", ref, []Turn{tr(0, 11, "x"), tr(11, 20, "y")}, DefaultCollar, 19, 0, 0, 0.75, 0.75 / 19},
		// Overlap in the reference, 8–10 both A and B; the hypothesis gives
		// 8–10 to A only. Total = 10 + 12 = 22 (2 s counted twice);
		// missed = 2 s (one speaker short); DER 2/22.
		{"overlap", []Turn{tr(0, 10, "A"), tr(8, 20, "B")}, []Turn{tr(0, 10, "x"), tr(10, 20, "y")}, 0, 22, 2, 0, 0, 2.0 / 22},
		// Hypothesis marks the overlap with both: perfect.
		{"overlap found", []Turn{tr(0, 10, "A"), tr(8, 20, "B")}, []Turn{tr(0, 10, "x"), tr(8, 20, "y")}, 0, 22, 0, 0, 0, 0},
		// A third hypothesis speaker takes 15–20 from B: it cannot be
		// mapped (B is taken by y), so those 5 s are confusion: 5/20.
		{"extra speaker", ref, []Turn{tr(0, 10, "x"), tr(10, 15, "y"), tr(15, 20, "z")}, 0, 20, 0, 0, 5, 0.25},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := ScoreDER(c.ref, c.hyp, c.collar)
			near := func(got time.Duration, want float64) bool {
				return (got - sec(want)).Abs() < time.Millisecond
			}
			if !near(s.Total, c.total) || !near(s.Missed, c.miss) || !near(s.FalseAlarm, c.fa) || !near(s.Confusion, c.conf) {
				t.Fatalf("total %v missed %v false alarm %v confusion %v; want %gs %gs %gs %gs",
					s.Total, s.Missed, s.FalseAlarm, s.Confusion, c.total, c.miss, c.fa, c.conf)
			}
			if d := s.DER(); d < c.der-1e-9 || d > c.der+1e-9 {
				t.Fatalf("DER %g, want %g", d, c.der)
			}
		})
	}
	if m := ScoreDER(ref, []Turn{tr(0, 10, "B"), tr(10, 20, "A")}, 0).Mapping; m["B"] != "A" || m["A"] != "B" {
		t.Fatalf("mapping %v, want B→A and A→B", m)
	}
}

func TestMaxAssignment(t *testing.T) {
	// Greedy would take 9 (row 0 → col 0) and then 1; the best is 8+8=16.
	w := [][]float64{{9, 8}, {8, 1}, {0, 0}}
	got := maxAssignment(w)
	if got[0] != 1 || got[1] != 0 || got[2] != -1 {
		t.Fatalf("assignment %v, want [1 0 -1]", got)
	}
}

func TestRTTMRoundTrip(t *testing.T) {
	f, err := os.Open("testdata/handoff.rttm")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files, err := ReadRTTM(f)
	if err != nil {
		t.Fatal(err)
	}
	got := files["handoff"]
	want := []Turn{tr(0.5, 4.5, "dana"), tr(4, 7, "priya"), tr(8, 10, "dana")}
	if len(got) != len(want) || len(files["other"]) != 1 {
		t.Fatalf("read %v", files)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("turn %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	var buf bytes.Buffer
	if err := WriteRTTM(&buf, "handoff", got); err != nil {
		t.Fatal(err)
	}
	if line := strings.SplitN(buf.String(), "\n", 2)[0]; line != "SPEAKER handoff 1 0.500 4.000 <NA> <NA> dana <NA> <NA>" {
		t.Fatalf("first line %q", line)
	}
	again, err := ReadRTTM(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if s := ScoreDER(got, again["handoff"], 0); s.DER() != 0 {
		t.Fatalf("round trip changed the turns: DER %g", s.DER())
	}
	if _, err := ReadRTTM(strings.NewReader("SPEAKER f 1 zero 1 <NA> <NA> a <NA> <NA>\n")); !errors.Is(err, ErrRTTM) {
		t.Fatalf("bad time: err %v, want ErrRTTM", err)
	}
	if err := WriteRTTM(&buf, "f", []Turn{tr(0, 1, "two words")}); err == nil {
		t.Fatal("speaker with a space was written")
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, []Turn{{Start: sec(1.25), End: sec(2.5), Speaker: "spk1", Overlap: true}}); err != nil {
		t.Fatal(err)
	}
	want := `"start": 1.25`
	if !strings.Contains(buf.String(), want) || !strings.Contains(buf.String(), `"overlap": true`) {
		t.Fatalf("JSON %s lacks %s", buf.String(), want)
	}
}
