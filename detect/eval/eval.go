// Package eval scores the commitment detector: precision, recall, owner and due-date accuracy on
// the labelled sets in its testdata (a development set, a held-out set written after the rules, a
// blind set labelled before the detector ever ran on it), the same with beneficiary and action-phrase
// accuracy per language on spoken multi-turn dialogues in nine languages (a development set and a
// set never tuned on), and recall, precision and owner role on real meetings of the AMI corpus in
// meeting order — the train and validation meetings the rules may be developed on, and the test split
// on rows of its own, only measured. It backs `make eval`.
//
// Concurrency: each call works on its own data; nothing is shared and no goroutine is started.
package eval

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ledgerline/ledgerline/detect"
)

// Example is one labelled utterance of the evaluation set (testdata/commitments/*.jsonl).
type Example struct {
	ID          string         `json:"id"`
	Language    string         `json:"language"`
	MeetingDate string         `json:"meeting_date"`
	Timezone    string         `json:"timezone"`
	Speaker     ExampleSpeaker `json:"speaker"`
	Context     []ExampleTurn  `json:"context,omitempty"`
	// Attendees are people in the meeting, whether or not they speak in Context: those who joined.
	Attendees []ExampleSpeaker `json:"attendees,omitempty"`
	Text      string           `json:"text"`
	Expected  []ExpectedEntry  `json:"expected"`
}

// ExampleSpeaker is a speaker in an Example.
type ExampleSpeaker struct {
	Name string `json:"name"`
	Org  string `json:"org"`
}

// ExampleTurn is an earlier utterance of the same meeting, given as context.
type ExampleTurn struct {
	Speaker ExampleSpeaker `json:"speaker"`
	Text    string         `json:"text"`
}

// ExpectedEntry is one commitment an Example should yield; Due is YYYY-MM-DD or empty for none.
// Beneficiary and What are scored only where labelled: Beneficiary "" says nobody can be named, an
// absent one that it was not labelled; What is the action restated from the owner's side, with names
// for "me" and "you".
type ExpectedEntry struct {
	Owner       string  `json:"owner"`
	Due         string  `json:"due"`
	Beneficiary *string `json:"beneficiary,omitempty"`
	What        string  `json:"what,omitempty"`
}

// Scores are the evaluation figures of one language, or of all.
type Scores struct {
	Language string
	Examples int
	// Detection at utterance level: an utterance is positive when it has at least one commitment.
	TP, FP, FN, TN int
	// Detection at count level: min(predicted, expected) commitments of an utterance are true positives.
	CountTP, CountFP, CountFN int
	// Owner and due date of the commitments paired in order on true-positive utterances.
	OwnerRight, DueRight, Paired int
	// Beneficiary and action phrase of the paired commitments that label them.
	BeneficiaryRight, BeneficiaryPaired, WhatRight, WhatPaired int
}

func evalRatio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func harmonicMean(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// Precision of utterance-level detection.
func (s Scores) Precision() float64 { return evalRatio(s.TP, s.TP+s.FP) }

// Recall of utterance-level detection.
func (s Scores) Recall() float64 { return evalRatio(s.TP, s.TP+s.FN) }

// F1 of utterance-level detection.
func (s Scores) F1() float64 { return harmonicMean(s.Precision(), s.Recall()) }

// CountPrecision of count-level detection.
func (s Scores) CountPrecision() float64 { return evalRatio(s.CountTP, s.CountTP+s.CountFP) }

// CountRecall of count-level detection.
func (s Scores) CountRecall() float64 { return evalRatio(s.CountTP, s.CountTP+s.CountFN) }

// CountF1 of count-level detection.
func (s Scores) CountF1() float64 { return harmonicMean(s.CountPrecision(), s.CountRecall()) }

// OwnerAccuracy is the share of paired commitments whose owner is right.
func (s Scores) OwnerAccuracy() float64 { return evalRatio(s.OwnerRight, s.Paired) }

// DueAccuracy is the share of paired commitments whose due date (or its absence) is right.
func (s Scores) DueAccuracy() float64 { return evalRatio(s.DueRight, s.Paired) }

// BeneficiaryAccuracy is the share of labelled paired commitments whose beneficiary is right.
func (s Scores) BeneficiaryAccuracy() float64 {
	return evalRatio(s.BeneficiaryRight, s.BeneficiaryPaired)
}

// WhatAccuracy is the share of labelled paired commitments whose action phrase is the one said (see
// SameWhat).
func (s Scores) WhatAccuracy() float64 { return evalRatio(s.WhatRight, s.WhatPaired) }

func (s *Scores) add(o Scores) {
	s.Examples += o.Examples
	s.TP, s.FP, s.FN, s.TN = s.TP+o.TP, s.FP+o.FP, s.FN+o.FN, s.TN+o.TN
	s.CountTP, s.CountFP, s.CountFN = s.CountTP+o.CountTP, s.CountFP+o.CountFP, s.CountFN+o.CountFN
	s.OwnerRight, s.DueRight, s.Paired = s.OwnerRight+o.OwnerRight, s.DueRight+o.DueRight, s.Paired+o.Paired
	s.BeneficiaryRight, s.BeneficiaryPaired = s.BeneficiaryRight+o.BeneficiaryRight, s.BeneficiaryPaired+o.BeneficiaryPaired
	s.WhatRight, s.WhatPaired = s.WhatRight+o.WhatRight, s.WhatPaired+o.WhatPaired
}

// Mistake is an example the detector got wrong.
type Mistake struct {
	ID, Text string
	Expected []ExpectedEntry
	Got      []detect.Commitment
}

// Report is the result of Evaluate.
type Report struct {
	ByLanguage []Scores
	Overall    Scores
	// LanguageID is the share of examples whose language DetectLanguage finds from the text alone.
	LanguageID float64
	Mistakes   []Mistake
}

// LoadExamples reads every *.jsonl file of dir as Examples.
func LoadExamples(dir string) ([]Example, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("list examples: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.jsonl examples in %s: %w", dir, fs.ErrNotExist)
	}
	sort.Strings(files)
	var out []Example
	for _, f := range files {
		if err := readJSONLines(f, func(line int, raw []byte) error {
			var ex Example
			if err := json.Unmarshal(raw, &ex); err != nil {
				return fmt.Errorf("%s line %d: %w", filepath.Base(f), line, err)
			}
			out = append(out, ex)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readJSONLines(path string, fn func(line int, raw []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20) // AMI lines are a few hundred bytes; a longer one is a broken file
	n := 0
	for sc.Scan() {
		n++
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		if err := fn(n, sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// Evaluate runs a fresh Detector on each example (its context first) and scores the result.
func Evaluate(examples []Example) Report {
	by := map[string]*Scores{}
	var rep Report
	langOK := 0
	for _, ex := range examples {
		s := by[ex.Language]
		if s == nil {
			s = &Scores{Language: ex.Language}
			by[ex.Language] = s
		}
		if detect.DetectLanguage(ex.Text) == ex.Language {
			langOK++
		}
		got := runExample(ex)
		s.Examples++
		exp, n := len(ex.Expected), len(got)
		switch {
		case exp > 0 && n > 0:
			s.TP++
		case exp == 0 && n > 0:
			s.FP++
		case exp > 0 && n == 0:
			s.FN++
		default:
			s.TN++
		}
		s.CountTP += min(exp, n)
		s.CountFP += max(0, n-exp)
		s.CountFN += max(0, exp-n)
		wrong := (exp > 0) != (n > 0)
		for i := 0; i < min(exp, n); i++ {
			s.Paired++
			if strings.EqualFold(got[i].Owner, ex.Expected[i].Owner) {
				s.OwnerRight++
			} else {
				wrong = true
			}
			due := ""
			if got[i].HasDue() {
				due = got[i].Due.Format(time.DateOnly)
			}
			if due == ex.Expected[i].Due {
				s.DueRight++
			} else {
				wrong = true
			}
			if b := ex.Expected[i].Beneficiary; b != nil {
				s.BeneficiaryPaired++
				if strings.EqualFold(got[i].Beneficiary, *b) {
					s.BeneficiaryRight++
				} else {
					wrong = true
				}
			}
			if w := ex.Expected[i].What; w != "" {
				s.WhatPaired++
				if SameWhat(got[i].What, w) {
					s.WhatRight++
				} else {
					wrong = true
				}
			}
		}
		if wrong || exp != n {
			rep.Mistakes = append(rep.Mistakes, Mistake{ID: ex.ID, Text: ex.Text, Expected: ex.Expected, Got: got})
		}
	}
	langs := make([]string, 0, len(by))
	for l := range by {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	rep.Overall.Language = "all"
	for _, l := range langs {
		rep.ByLanguage = append(rep.ByLanguage, *by[l])
		rep.Overall.add(*by[l])
	}
	rep.LanguageID = evalRatio(langOK, len(examples))
	return rep
}

func runExample(ex Example) []detect.Commitment {
	day, loc := parseMeetingDate(ex.MeetingDate, ex.Timezone)
	d := detect.NewDetector()
	for _, sp := range ex.Attendees {
		d.Meet(detect.Speaker(sp))
	}
	for _, t := range ex.Context {
		d.Detect(detect.Utterance{Text: t.Text, Speaker: detect.Speaker(t.Speaker), Language: ex.Language, MeetingDate: day, Location: loc})
	}
	return d.Detect(detect.Utterance{Text: ex.Text, Speaker: detect.Speaker(ex.Speaker), Language: ex.Language, MeetingDate: day, Location: loc})
}

// parseMeetingDate reads YYYY-MM-DD in an IANA timezone, falling back to UTC.
func parseMeetingDate(date, tz string) (time.Time, *time.Location) {
	loc := time.UTC
	if tz != "" {
		if l, err := time.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	t, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return time.Time{}, loc
	}
	return t, loc
}

// labelled formats a share, or "-" where the set labels none.
func labelled(v float64, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", v)
}

// SameWhat reports whether a detected action phrase says the labelled one: their content words (for
// Japanese and Chinese, their character pairs) overlap by detect.DefaultSimilarity, the rule the Book
// merges a repeated promise by.
func SameWhat(got, want string) bool { return detect.SameAction("", got, "", want) }

// WriteTable prints the scores as a table.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "lang\tn\tP\tR\tF1\tcount P\tcount R\tcount F1\towner acc\tdue acc\tbeneficiary acc\twhat acc\t")
	rows := append(append([]Scores(nil), r.ByLanguage...), r.Overall)
	for _, s := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%s\t%s\t\n", s.Language, s.Examples,
			s.Precision(), s.Recall(), s.F1(), s.CountPrecision(), s.CountRecall(), s.CountF1(), s.OwnerAccuracy(), s.DueAccuracy(),
			labelled(s.BeneficiaryAccuracy(), s.BeneficiaryPaired), labelled(s.WhatAccuracy(), s.WhatPaired))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	_, err := fmt.Fprintf(w, "language identification from the text alone: %.3f\n", r.LanguageID)
	return err
}

// Run evaluates the labelled set in dir/commitments and, when present, the held-out, blind and
// spoken sets (dir/holdout, dir/blind, dir/spoken-dev, dir/spoken) and the AMI files in dir/ami, and
// prints the tables to w. dir is normally the package's testdata directory.
func Run(w io.Writer, dir string) error {
	examples, err := LoadExamples(filepath.Join(dir, "commitments"))
	if err != nil {
		return fmt.Errorf("load labelled set: %w", err)
	}
	rep := Evaluate(examples)
	if _, err := fmt.Fprintf(w, "Labelled sales-call set (%d utterances)\n", rep.Overall.Examples); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := rep.WriteTable(w); err != nil {
		return err
	}
	for _, set := range []struct{ dir, title string }{
		{"holdout", "Held-out set, written after the rules"},
		{"blind", "Blind set, labelled before the detector first ran on it, never used to change the rules"},
		{"spoken-dev", "Spoken development set, multi-turn ASR-style dialogues the spoken rules were tuned on"},
		{"spoken", "Spoken set, multi-turn ASR-style dialogues in nine languages, written before the spoken rules and never used to tune them"},
	} {
		examples, err := LoadExamples(filepath.Join(dir, set.dir))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return fmt.Errorf("load %s set: %w", set.dir, err)
		}
		rep := Evaluate(examples)
		if _, err := fmt.Fprintf(w, "\n%s (%d utterances; see testdata/%s/README.md)\n", set.title, rep.Overall.Examples, set.dir); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if err := rep.WriteTable(w); err != nil {
			return err
		}
	}
	ami, err := EvaluateAMI(filepath.Join(dir, "ami"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("evaluate AMI: %w", err)
	}
	return ami.Write(w)
}
