package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/detect"
)

// AMIReport is the outside check on real meetings of the AMI corpus (English). The rules may be
// developed on the train and validation meetings; the test split is only measured.
type AMIReport struct {
	// Linked: utterances annotators linked to an action item, each run alone, by split.
	DevLinked, DevLinkedDetected   int // train and validation meetings
	TestLinked, TestLinkedDetected int // test meetings
	// Test split: every utterance of the test meetings, run in order with one Detector per meeting.
	TestUtterances, TestLabelled, TestPredicted, TestTruePositives int
	// Owner role on the test split's true positives whose action item names a role.
	TestOwnerRight, TestOwnerPaired int
}

// DevLinkedRecall is the share of train and validation action-item utterances with a commitment.
func (a AMIReport) DevLinkedRecall() float64 { return evalRatio(a.DevLinkedDetected, a.DevLinked) }

// TestLinkedRecall is the share of test action-item utterances, each run alone, with a commitment.
func (a AMIReport) TestLinkedRecall() float64 { return evalRatio(a.TestLinkedDetected, a.TestLinked) }

// TestRecall is the recall on the test split's labelled utterances, run in meeting order.
func (a AMIReport) TestRecall() float64 { return evalRatio(a.TestTruePositives, a.TestLabelled) }

// TestPrecision is the share of predicted utterances that are labelled; a floor, as the labels list
// only each meeting's main action items.
func (a AMIReport) TestPrecision() float64 { return evalRatio(a.TestTruePositives, a.TestPredicted) }

// TestOwnerAccuracy is the share of the test split's true positives whose owner has the role the
// action item names.
func (a AMIReport) TestOwnerAccuracy() float64 { return evalRatio(a.TestOwnerRight, a.TestOwnerPaired) }

// amiDay is a weekday meeting date for the corpus, whose recordings carry none.
var amiDay = time.Date(2005, 1, 10, 0, 0, 0, 0, time.UTC)

// amiRoles maps words of an action item or an owner to the four scenario roles.
var amiRoles = []struct{ role, words string }{
	{"ID", "industrial designer|industrial design"},
	{"UI", "user interface|interface designer|interface"},
	{"ME", "marketing expert|marketing|market"},
	{"PM", "project manager|manager"},
}

// rolesIn returns the roles a text names ("The industrial designer and the marketing expert will…"),
// every role for the group, or none.
func rolesIn(text string) map[string]bool {
	low := " " + strings.ToLower(text) + " "
	out := map[string]bool{}
	for _, w := range []string{" group ", " team ", " everyone ", " everybody ", " all ", " members "} {
		if strings.Contains(low, w) {
			for _, r := range amiRoles {
				out[r.role] = true
			}
			return out
		}
	}
	for _, r := range amiRoles {
		if strings.Contains(low, " "+strings.ToLower(r.role)+" ") {
			out[r.role] = true
			continue
		}
		for _, w := range strings.Split(r.words, "|") {
			if strings.Contains(low, " "+w) {
				out[r.role] = true
				break
			}
		}
	}
	return out
}

// EvaluateAMI scores the detector on the AMI files of dir (see testdata/ami/README.md).
func EvaluateAMI(dir string) (AMIReport, error) {
	var rep AMIReport
	owners := map[string]map[string]bool{} // test meeting, speaker and text → the roles the action item names
	err := readJSONLines(filepath.Join(dir, "action_dialogue_acts.jsonl"), func(line int, raw []byte) error {
		var row struct {
			Meeting, Split, Speaker, Role, Text string
			ActionText                          string `json:"action_text"`
		}
		if err := json.Unmarshal(raw, &row); err != nil {
			return fmt.Errorf("action_dialogue_acts.jsonl line %d: %w", line, err)
		}
		got := len(detect.NewDetector().Detect(detect.Utterance{Text: row.Text, Speaker: detect.Speaker{Name: row.Role}, Language: "en", MeetingDate: amiDay})) > 0
		if row.Split == "test" {
			rep.TestLinked++
			if got {
				rep.TestLinkedDetected++
			}
			key := row.Meeting + "\x00" + row.Speaker + "\x00" + row.Text
			if owners[key] == nil {
				owners[key] = map[string]bool{}
			}
			for r := range rolesIn(row.ActionText) {
				owners[key][r] = true
			}
			return nil
		}
		rep.DevLinked++
		if got {
			rep.DevLinkedDetected++
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	var d *detect.Detector
	meeting := ""
	err = readJSONLines(filepath.Join(dir, "test_dialogue_acts.jsonl.gz"), func(line int, raw []byte) error {
		var row struct {
			Meeting, Speaker, Role, Text string
			Action                       int
		}
		if err := json.Unmarshal(raw, &row); err != nil {
			return fmt.Errorf("test_dialogue_acts.jsonl.gz line %d: %w", line, err)
		}
		if row.Meeting != meeting || d == nil {
			d, meeting = detect.NewDetector(), row.Meeting
		}
		rep.TestUtterances++
		got := d.Detect(detect.Utterance{Text: row.Text, Speaker: detect.Speaker{Name: row.Role}, Language: "en", MeetingDate: amiDay})
		if row.Action == 1 {
			rep.TestLabelled++
		}
		if len(got) == 0 {
			return nil
		}
		rep.TestPredicted++
		if row.Action != 1 {
			return nil
		}
		rep.TestTruePositives++
		if want := owners[row.Meeting+"\x00"+row.Speaker+"\x00"+row.Text]; len(want) > 0 {
			rep.TestOwnerPaired++
			if ownerRole(got[0].Owner, want) {
				rep.TestOwnerRight++
			}
		}
		return nil
	})
	return rep, err
}

// ownerRole reports whether a detected owner (a role code, or words naming a role) has one of the
// wanted roles.
func ownerRole(owner string, want map[string]bool) bool {
	for r := range want {
		if strings.EqualFold(owner, r) {
			return true
		}
	}
	got := rolesIn(owner)
	if len(got) == len(amiRoles) {
		return false // "the group" does not name whose task it is
	}
	for r := range got {
		if want[r] {
			return true
		}
	}
	return false
}

// Write prints the AMI figures, the test split on rows of its own.
func (a AMIReport) Write(w io.Writer) error {
	_, err := fmt.Fprintf(w, "\nAMI meetings (English, real; CC BY 4.0)\n"+
		"train+validation, linked action-item utterances: recall %.3f (%d/%d)\n"+
		"TEST SPLIT (measured only, never tuned on):\n"+
		"  linked action-item utterances: recall %.3f (%d/%d)\n"+
		"  %d utterances in meeting order: recall %.3f (%d/%d), precision %.3f (%d/%d; unlabelled commitments count as errors), owner role %.3f (%d/%d)\n",
		a.DevLinkedRecall(), a.DevLinkedDetected, a.DevLinked,
		a.TestLinkedRecall(), a.TestLinkedDetected, a.TestLinked,
		a.TestUtterances, a.TestRecall(), a.TestTruePositives, a.TestLabelled,
		a.TestPrecision(), a.TestTruePositives, a.TestPredicted,
		a.TestOwnerAccuracy(), a.TestOwnerRight, a.TestOwnerPaired)
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
