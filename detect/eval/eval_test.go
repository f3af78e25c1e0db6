package eval

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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

// The labelled sets of testdata with a small AMI set in place of the corpus files, whose hundred
// thousand utterances make `make eval`'s figures, not a unit test's.
func TestRunEval(t *testing.T) {
	dir := t.TempDir()
	for _, set := range []string{"commitments", "holdout", "blind", "spoken-dev", "spoken"} {
		abs, err := filepath.Abs(filepath.Join("testdata", set))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(dir, set)); err != nil {
			t.Fatal(err)
		}
	}
	writeAMI(t, filepath.Join(dir, "ami"), true)
	var out bytes.Buffer
	if err := Run(&out, dir); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Labelled sales-call set", "all", "Held-out set", "AMI meetings", "linked action-item utterances: recall",
		"Spoken set", "Spoken development set", "beneficiary acc", "what acc", "TEST SPLIT", "owner role", "train+validation",
		"train+validation, 2 utterances in meeting order: recall 1.000 (1/1), precision 1.000 (1/1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// The spoken table has a row per language, figures and all.
	spoken := out.String()[strings.Index(out.String(), "Spoken set"):]
	for _, lang := range []string{"en", "es", "de", "fr", "pt", "it", "nl", "ja", "zh"} {
		if !regexp.MustCompile(`(?m)^\s+` + lang + `\s+\d+\s+\d\.\d{3}`).MatchString(spoken) {
			t.Errorf("spoken table has no row for %s:\n%s", lang, spoken)
		}
	}
	if err := Run(&out, t.TempDir()); err == nil {
		t.Error("Run on an empty directory: want an error")
	}
}

// The scores come from what the detector says: a label it matches counts right, a label it misses
// counts wrong, and the table shows both.
func TestSpokenScoresAreComputed(t *testing.T) {
	ravi := ExampleSpeaker{Name: "Ravi Menon", Org: "Northwind"}
	laura := ExampleSpeaker{Name: "Laura Chen", Org: "Castellan"}
	str := func(s string) *string { return &s }
	base := Example{Language: "en", MeetingDate: "2025-03-06", Timezone: "UTC", Speaker: ravi,
		Context: []ExampleTurn{{Speaker: laura, Text: "can you send me the soc 2 report"}}, Text: "sure i'll do that by friday"}
	right, wrong, negative := base, base, base
	right.ID, wrong.ID, negative.ID = "right", "wrong", "negative"
	right.Expected = []ExpectedEntry{{Owner: "Ravi Menon", Due: "2025-03-07", Beneficiary: str("Laura Chen"), What: "send the SOC 2 report to Laura Chen"}}
	wrong.Expected = []ExpectedEntry{{Owner: "Ravi Menon", Due: "2025-03-07", Beneficiary: str("Tom Baker"), What: "book the venue for the offsite"}}
	negative.Text, negative.Expected = "i already sent it last week", nil
	rep := Evaluate([]Example{right, wrong, negative})
	s := rep.Overall
	if s.TP != 2 || s.TN != 1 || s.FP != 0 || s.FN != 0 {
		t.Errorf("detection %+v, want 2 true positives and 1 true negative", s)
	}
	if s.BeneficiaryPaired != 2 || s.BeneficiaryRight != 1 || s.WhatPaired != 2 || s.WhatRight != 1 {
		t.Errorf("beneficiary %d/%d, what %d/%d: want 1/2 each", s.BeneficiaryRight, s.BeneficiaryPaired, s.WhatRight, s.WhatPaired)
	}
	if s.OwnerAccuracy() != 1 || s.DueAccuracy() != 1 || s.BeneficiaryAccuracy() != 0.5 || s.WhatAccuracy() != 0.5 {
		t.Errorf("accuracies owner %.3f due %.3f beneficiary %.3f what %.3f", s.OwnerAccuracy(), s.DueAccuracy(), s.BeneficiaryAccuracy(), s.WhatAccuracy())
	}
	if len(rep.Mistakes) != 1 || rep.Mistakes[0].ID != "wrong" {
		t.Errorf("mistakes %+v, want the wrong label only", rep.Mistakes)
	}
	var out bytes.Buffer
	if err := rep.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\s+all\s+3\s+1\.000\s+1\.000\s+1\.000.*1\.000\s+1\.000\s+0\.500\s+0\.500\s*$`).MatchString(out.String()) {
		t.Errorf("table:\n%s", out.String())
	}
	// A set that labels neither shows a dash, not a score.
	old := Evaluate([]Example{{ID: "old", Language: "en", Speaker: ravi, Text: "I'll send you the deck tomorrow.", Expected: []ExpectedEntry{{Owner: "Ravi Menon", Due: ""}}}})
	out.Reset()
	if err := old.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), " -  ") {
		t.Errorf("unlabelled columns:\n%s", out.String())
	}
}

func TestSameWhat(t *testing.T) {
	for _, tc := range []struct {
		got, want string
		same      bool
	}{
		{"send the SOC 2 report to Laura Chen", "send the SOC 2 report to Laura Chen", true},
		{"send Laura Chen the soc 2 report", "send the SOC 2 report to Laura Chen", true},
		{"book the venue", "send the SOC 2 report to Laura Chen", false},
		{"SOC2レポートを佐藤美咲にお送り", "SOC2レポートを佐藤美咲に送る", true},
		{"把价格方案整理成文档发给李娜", "把价格方案整理成文档发给李娜", true},
		{"订会议室", "把价格方案整理成文档发给李娜", false},
	} {
		if got := SameWhat(tc.got, tc.want); got != tc.same {
			t.Errorf("SameWhat(%q, %q) = %v, want %v", tc.got, tc.want, got, tc.same)
		}
	}
}

// The AMI figures are counted from the files: the test split apart from the rest, owner roles from
// the action items.
func TestEvaluateAMICounts(t *testing.T) {
	dir := t.TempDir()
	writeAMI(t, dir, false) // the file of the train and validation meetings in order is optional
	rep, err := EvaluateAMI(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := AMIReport{DevLinked: 2, DevLinkedDetected: 1, TestLinked: 1, TestLinkedDetected: 1,
		Test: AMIOrder{Utterances: 4, Labelled: 2, Predicted: 2, TruePositives: 1, Sure: 2, SureTruePositives: 1, OwnerRight: 1, OwnerPaired: 1}}
	if rep != want {
		t.Errorf("EvaluateAMI = %+v, want %+v", rep, want)
	}
	if rep.Test.Recall() != 0.5 || rep.Test.Precision() != 0.5 || rep.Test.OwnerAccuracy() != 1 || rep.DevLinkedRecall() != 0.5 {
		t.Errorf("ratios: %+v", rep)
	}
	var out bytes.Buffer
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "recall 0.500 (1/2), precision 0.500 (1/2") || !strings.Contains(out.String(), "owner role 1.000 (1/1)") {
		t.Errorf("AMI rows:\n%s", out.String())
	}
}

// writeAMI writes a small AMI set into dir: linked utterances of every split, four utterances of a
// test meeting in order and, with dev, two of a train meeting.
func writeAMI(t *testing.T, dir string, dev bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	linked := `{"meeting": "ES2002a", "split": "train", "speaker": "B", "role": "PM", "text": "I'll send the minutes to everyone tomorrow.", "action_text": "The project manager will send the minutes."}
{"meeting": "ES2002a", "split": "validation", "speaker": "B", "role": "PM", "text": "User Interface Designer.", "action_text": "The user interface designer will work on the interface."}
{"meeting": "ES2004a", "split": "test", "speaker": "A", "role": "ID", "text": "I'll draw the first design by tomorrow.", "action_text": "The industrial designer will draw the design."}
`
	if err := os.WriteFile(filepath.Join(dir, "action_dialogue_acts.jsonl"), []byte(linked), 0o600); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	for _, row := range []string{
		`{"meeting": "ES2004a", "speaker": "B", "role": "PM", "text": "Okay, let's start.", "action": 0}`,
		`{"meeting": "ES2004a", "speaker": "A", "role": "ID", "text": "I'll draw the first design by tomorrow.", "action": 1}`,
		`{"meeting": "ES2004a", "speaker": "C", "role": "UI", "text": "I'll bring coffee tomorrow for everyone.", "action": 0}`,
		`{"meeting": "ES2004a", "speaker": "D", "role": "ME", "text": "The market wants fancy looks.", "action": 1}`,
	} {
		fmt.Fprintln(w, row)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "test_dialogue_acts.jsonl.gz"), gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if !dev {
		return
	}
	gz.Reset()
	w = gzip.NewWriter(&gz)
	fmt.Fprintln(w, `{"meeting": "ES2002a", "speaker": "B", "role": "PM", "text": "I'll send the minutes to everyone tomorrow.", "action": 1}`)
	fmt.Fprintln(w, `{"meeting": "ES2002a", "speaker": "A", "role": "ID", "text": "Okay.", "action": 0}`)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dev_dialogue_acts.jsonl.gz"), gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
