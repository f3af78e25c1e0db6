package eval

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestEvalThreshold(t *testing.T) {
	examples, err := LoadExamples("testdata/commitments")
	if err != nil {
		t.Fatal(err)
	}
	rep := Evaluate(examples)
	if testing.Verbose() || os.Getenv("LEDGER_EVAL_MISTAKES") != "" {
		for _, m := range rep.Mistakes {
			var got []string
			for _, c := range m.Got {
				due := "-"
				if c.HasDue() {
					due = c.Due.Format("2006-01-02")
				}
				got = append(got, fmt.Sprintf("{%s %s %q}", c.Owner, due, c.What))
			}
			t.Logf("%s %q\n   want %v\n   got  %v", m.ID, m.Text, m.Expected, got)
		}
	}
	for _, s := range append(rep.ByLanguage, rep.Overall) {
		t.Logf("%s: P %.3f R %.3f F1 %.3f countF1 %.3f owner %.3f due %.3f", s.Language, s.Precision(), s.Recall(), s.F1(), s.CountF1(), s.OwnerAccuracy(), s.DueAccuracy())
	}
	if f := rep.Overall.F1(); f < 0.85 {
		t.Errorf("overall detection F1 = %.3f, want >= 0.85", f)
	}
}

// TestSetMistakes lists the mistakes on one set (LEDGER_EVAL_SET, default holdout), for a person
// reading them; it asserts nothing.
func TestSetMistakes(t *testing.T) {
	if os.Getenv("LEDGER_EVAL_MISTAKES") == "" {
		t.Skip("set LEDGER_EVAL_MISTAKES=1 (and LEDGER_EVAL_SET=spoken-dev, say) to list a set's mistakes")
	}
	set := os.Getenv("LEDGER_EVAL_SET")
	if set == "" {
		set = "holdout"
	}
	examples, err := LoadExamples("testdata/" + set)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Evaluate(examples).Mistakes {
		var got []string
		for _, c := range m.Got {
			due := "-"
			if c.HasDue() {
				due = c.Due.Format("2006-01-02")
			}
			got = append(got, fmt.Sprintf("{%s %s ben=%q %q %.2f}", c.Owner, due, c.Beneficiary, c.What, c.Confidence))
		}
		var want []string
		for _, e := range m.Expected {
			ben := "-"
			if e.Beneficiary != nil {
				ben = *e.Beneficiary
			}
			want = append(want, fmt.Sprintf("{%s %s ben=%q %q}", e.Owner, e.Due, ben, e.What))
		}
		t.Logf("%s %q\n   want %v\n   got  %v", m.ID, m.Text, want, got)
	}
}

func TestRunEval(t *testing.T) {
	var out bytes.Buffer
	if err := Run(&out, "testdata"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Labelled sales-call set", "all", "Held-out set", "AMI meetings", "linked action-item utterances: recall"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := Run(&out, t.TempDir()); err == nil {
		t.Error("Run on an empty directory: want an error")
	}
}
