package detect

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The scorer's trainer. `go test ./detect -run TestScorerWeights -update` learns the weights from
// the AMI train and validation meetings (eval/testdata/ami/dev_dialogue_acts.jsonl.gz) and writes
// scorer_weights.tsv; without -update the test checks that the embedded weights are what training
// gives. The test split is never read here.

var updateScorer = flag.Bool("update", false, "write scorer_weights.tsv from the AMI training meetings")

// amiDevPath holds every utterance of the AMI train and validation meetings in meeting order.
var amiDevPath = filepath.Join("eval", "testdata", "ami", "dev_dialogue_acts.jsonl.gz")

// trainDay is a weekday meeting date for the corpus, whose recordings carry none.
var trainDay = time.Date(2005, 1, 10, 0, 0, 0, 0, time.UTC)

const (
	// scoreL2 is the weight of the L2 penalty per feature, against the summed log-loss.
	scoreL2 = 2.0
	// scoreSteps are the full-batch AdaGrad steps of training.
	scoreSteps = 1000
	// scoreMinPositive: a word or pair of words is a feature when it is in at least this many
	// task utterances of at least three meetings.
	scoreMinPositive = 4
	// scoreTargetPrecision is the precision in meeting order, by cross-validation, that the
	// threshold keeps; the labels list only the main tasks, so this is a floor. Meetings of a team
	// never learned from come out less precise than the cross-validation, hence the margin.
	scoreTargetPrecision = 0.30
	// scorePositiveWeight weighs a task utterance's log-loss against the others': tasks are about one
	// utterance in 290, and at equal weight the L2 penalty holds the rare words of handing out work
	// near zero. Training then moves the bias back by its logarithm, so that the probabilities stay
	// calibrated (scoreSure reads them).
	scorePositiveWeight = 6.0
	// scoreTargetRecall is the cross-validated recall the model reaches at that precision: a change
	// to the features or the training that loses it fails TestScorerWeights.
	scoreTargetRecall = 0.56
	// scoreKeep is the probability under which the scorer drops a finding of the rules. It is not
	// tuned: the rules' findings in a team meeting include instructions to everyone present ("you
	// will receive instructions from your coach") that the labels seldom list but a team wants
	// kept, so the scorer drops only the findings it is quite sure of.
	scoreKeep = 0.01
)

type amiUtterance struct {
	Meeting, Speaker, Role, Text string
	Action                       int
}

// amiMeetings reads a file of meetings in order, grouped by meeting.
func amiMeetings(t testing.TB, path string) [][]amiUtterance {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open the AMI meetings: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var out [][]amiUtterance
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var u amiUtterance
		if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		if n := len(out); n == 0 || out[n-1][0].Meeting != u.Meeting {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], u)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return out
}

// example is one utterance as the trainer sees it: its features and its label.
type example struct {
	fs     features
	action bool
}

// dropNames removes the word features of the names in text (words capitalised after its first,
// other than "I" and its contractions): a scorer for any team must not learn who the corpus's
// people were.
func dropNames(fs features, text string) {
	words := strings.Fields(text)
	for i, w := range words {
		w = strings.Trim(w, ".,;:!?\"'()")
		if i == 0 || w == "" || w[0] < 'A' || w[0] > 'Z' || w == "I" || strings.HasPrefix(w, "I'") {
			continue
		}
		low := strings.ToLower(w)
		name := strings.TrimSuffix(low, "'s")
		for f := range fs {
			if f == "w:"+low || f == "w:"+name ||
				strings.HasPrefix(f, "b:") && slices.ContainsFunc(strings.Split(f[2:], "_"), func(p string) bool { return p == low || p == name }) {
				delete(fs, f)
			}
		}
	}
}

// predicted reports whether the Detector with model m gives the example a commitment.
func (e example) predicted(m *scoreModel) bool { return m.keeps(m.prob(e.fs), e.fs) }

// meetingExamples runs a meeting through a Detector without a model and keeps each utterance's features.
func meetingExamples(meeting []amiUtterance) []example {
	d := NewDetector()
	d.model = nil
	var out []example
	for _, u := range meeting {
		var e *example
		d.observe = func(fs features) { e = &example{fs: fs, action: u.Action == 1} }
		d.Detect(amiInput(u))
		if e != nil {
			dropNames(e.fs, u.Text)
			out = append(out, *e)
		}
	}
	return out
}

func amiInput(u amiUtterance) Utterance {
	return Utterance{Text: u.Text, Speaker: Speaker{Name: u.Role}, Language: "en", MeetingDate: trainDay}
}

// vocabulary is the feature names a model may weigh: every feature that is not a word or a pair of
// words, and the words and pairs said in enough task utterances of enough meetings.
func vocabulary(meetings [][]example) []string {
	positive := map[string]int{}
	inMeetings := map[string]map[int]bool{}
	all := map[string]bool{}
	for mi, m := range meetings {
		for _, e := range m {
			for name := range e.fs {
				all[name] = true
				if !e.action {
					continue
				}
				positive[name]++
				if inMeetings[name] == nil {
					inMeetings[name] = map[int]bool{}
				}
				inMeetings[name][mi] = true
			}
		}
	}
	var out []string
	for name := range all {
		text := strings.HasPrefix(name, "w:") || strings.HasPrefix(name, "b:")
		if !text || positive[name] >= scoreMinPositive && len(inMeetings[name]) >= 3 {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// train fits a logistic regression with an L2 penalty, task utterances weighed scorePositiveWeight,
// by full-batch AdaGrad, in a fixed order so that training again gives the same weights.
func train(meetings [][]example) *scoreModel {
	vocab := vocabulary(meetings)
	index := make(map[string]int, len(vocab))
	for i, name := range vocab {
		index[name] = i
	}
	type row struct {
		idx []int
		val []float64
		y   float64
	}
	var rows []row
	for _, m := range meetings {
		for _, e := range m {
			r := row{}
			if e.action {
				r.y = 1
			}
			names := make([]string, 0, len(e.fs))
			for name := range e.fs {
				if _, ok := index[name]; ok {
					names = append(names, name)
				}
			}
			slices.Sort(names)
			for _, name := range names {
				r.idx = append(r.idx, index[name])
				r.val = append(r.val, e.fs[name])
			}
			rows = append(rows, r)
		}
	}
	w := make([]float64, len(vocab)+1) // the last is the bias
	hist := make([]float64, len(w))
	grad := make([]float64, len(w))
	const rate = 0.5
	for step := 0; step < scoreSteps; step++ {
		clear(grad)
		for _, r := range rows {
			z := w[len(vocab)]
			for k, i := range r.idx {
				z += w[i] * r.val[k]
			}
			g := 1/(1+math.Exp(-z)) - r.y
			if r.y == 1 {
				g *= scorePositiveWeight
			}
			for k, i := range r.idx {
				grad[i] += g * r.val[k]
			}
			grad[len(vocab)] += g
		}
		for i := range w {
			if i < len(vocab) {
				grad[i] += scoreL2 * w[i]
			}
			hist[i] += grad[i] * grad[i]
			if hist[i] > 0 {
				w[i] -= rate * grad[i] / math.Sqrt(hist[i])
			}
		}
	}
	m := &scoreModel{bias: round4(w[len(vocab)] - math.Log(scorePositiveWeight)), weights: map[string]float64{}}
	for i, name := range vocab {
		if v := round4(w[i]); v != 0 {
			m.weights[name] = v
		}
	}
	return m
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// orderCounts are the figures of meetings run in order, as make eval counts them.
type orderCounts struct{ labelled, predicted, truePositives int }

func (o orderCounts) recall() float64 {
	return float64(o.truePositives) / math.Max(1, float64(o.labelled))
}
func (o orderCounts) precision() float64 {
	return float64(o.truePositives) / math.Max(1, float64(o.predicted))
}

// series is the meeting series a meeting belongs to (ES, IS, TS): the folds of cross-validation, so
// that no team's meetings are both learned from and scored.
func series(meeting string) string { return meeting[:2] }

// crossValidate trains on all series but one and weighs the held-out series' utterances with that
// model: it returns every utterance with a model that did not learn from its meeting's series.
func crossValidate(meetings [][]amiUtterance, examples [][]example) []heldOut {
	var out []heldOut
	folds := map[string]bool{}
	for _, m := range meetings {
		folds[series(m[0].Meeting)] = true
	}
	for _, fold := range slices.Sorted(maps.Keys(folds)) {
		var learn, held [][]example
		for i, m := range meetings {
			if series(m[0].Meeting) == fold {
				held = append(held, examples[i])
			} else {
				learn = append(learn, examples[i])
			}
		}
		model := train(learn)
		for _, m := range held {
			for _, e := range m {
				out = append(out, heldOut{example: e, model: model})
			}
		}
	}
	return out
}

// heldOut is an utterance with the model of its cross-validation fold.
type heldOut struct {
	example
	model *scoreModel
}

// countAt counts held-out utterances in meeting order with the given thresholds.
func countAt(held []heldOut, keep, add float64) orderCounts {
	var o orderCounts
	for _, h := range held {
		m := *h.model
		m.keep, m.add = keep, add
		got := h.predicted(&m)
		if h.action {
			o.labelled++
		}
		if got {
			o.predicted++
			if h.action {
				o.truePositives++
			}
		}
	}
	return o
}

// pickThresholds returns the add threshold with the best cross-validated recall whose precision
// reaches the target, the more precise of equals, at the fixed keep threshold.
func pickThresholds(held []heldOut) (keep, add float64, best orderCounts) {
	for _, a := range cvThresholds {
		o := countAt(held, scoreKeep, a)
		if o.precision() < scoreTargetPrecision {
			continue
		}
		if o.truePositives > best.truePositives || o.truePositives == best.truePositives && o.precision() > best.precision() {
			add, best = a, o
		}
	}
	return scoreKeep, add, best
}

// formatModel writes a model as scorer_weights.tsv holds it.
func formatModel(m *scoreModel) string {
	var b strings.Builder
	b.WriteString("# The detector's scorer (see score.go). Generated: go test ./detect -run TestScorerWeights -update\n")
	for _, v := range []struct {
		name string
		w    float64
	}{{"bias", m.bias}, {"keep", m.keep}, {"add", m.add}} {
		fmt.Fprintf(&b, "%s\t%s\n", v.name, strconv.FormatFloat(v.w, 'f', -1, 64))
	}
	for _, name := range slices.Sorted(maps.Keys(m.weights)) {
		fmt.Fprintf(&b, "%s\t%s\n", name, strconv.FormatFloat(m.weights[name], 'f', -1, 64))
	}
	return b.String()
}

var cvThresholds = []float64{0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5}

func TestScorerWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on 95,000 utterances")
	}
	meetings := amiMeetings(t, amiDevPath)
	examples := make([][]example, len(meetings))
	for i, m := range meetings {
		examples[i] = meetingExamples(m)
	}
	model := train(examples)
	held := crossValidate(meetings, examples)
	var o orderCounts
	model.keep, model.add, o = pickThresholds(held)
	for _, th := range cvThresholds {
		o := countAt(held, th, th)
		t.Logf("cross-validation by meeting series, threshold %.3f: recall %.3f (%d/%d), precision %.3f (%d/%d)",
			th, o.recall(), o.truePositives, o.labelled, o.precision(), o.truePositives, o.predicted)
	}
	t.Logf("cross-validation by meeting series, keep %.3f, add %.3f: recall %.3f (%d/%d), precision %.3f (%d/%d)",
		model.keep, model.add, o.recall(), o.truePositives, o.labelled, o.precision(), o.truePositives, o.predicted)
	// The product's aim on meetings of teams never learned from: half their tasks at that precision.
	if o.recall() < scoreTargetRecall {
		t.Errorf("cross-validated recall %.3f at precision %.3f, want at least %.2f", o.recall(), o.precision(), scoreTargetRecall)
	}
	if *updateScorer {
		if err := os.WriteFile("scorer_weights.tsv", []byte(formatModel(model)), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !sameModel(model, scorer) {
		t.Errorf("the embedded weights are not what training gives; run go test ./detect -run TestScorerWeights -update")
	}
}

// sameModel reports whether two models have the same features and weights within what the
// rounding of a platform's floating point may change (some fuse a multiply and an add).
func sameModel(a, b *scoreModel) bool {
	const tolerance = 1e-3
	if len(a.weights) != len(b.weights) || math.Abs(a.bias-b.bias) > tolerance || a.keep != b.keep || a.add != b.add {
		return false
	}
	for name, w := range a.weights {
		v, ok := b.weights[name]
		if !ok || math.Abs(w-v) > tolerance {
			return false
		}
	}
	return true
}
