package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/ledger"
)

// AMIReport is the outside check on real meetings of the AMI corpus (English). The rules may be
// developed on the train and validation meetings; the test split is only measured.
type AMIReport struct {
	// Linked: utterances annotators linked to an action item, each run alone, by split.
	DevLinked, DevLinkedDetected   int // train and validation meetings
	TestLinked, TestLinkedDetected int // test meetings
	// Every utterance of the meetings, run in order with one Detector per meeting: the train and
	// validation meetings (Dev) and the test meetings (Test).
	Dev, Test AMIOrder
}

// AMIOrder counts one split's utterances run in meeting order.
type AMIOrder struct {
	Utterances, Labelled, Predicted, TruePositives int
	// Sure: predicted utterances with a commitment at or above ledger.PossibleBelow, the rest being
	// shown as possible, for a person to confirm.
	Sure, SureTruePositives int
	// Owner role on the true positives whose action item names a role.
	OwnerRight, OwnerPaired int
}

// Recall is the share of labelled utterances with a commitment.
func (o AMIOrder) Recall() float64 { return evalRatio(o.TruePositives, o.Labelled) }

// Precision is the share of predicted utterances that are labelled; a floor, as the labels list
// only each meeting's main action items.
func (o AMIOrder) Precision() float64 { return evalRatio(o.TruePositives, o.Predicted) }

// SurePrecision is Precision over the utterances with a commitment not shown as possible.
func (o AMIOrder) SurePrecision() float64 { return evalRatio(o.SureTruePositives, o.Sure) }

// OwnerAccuracy is the share of true positives whose owner has the role the action item names.
func (o AMIOrder) OwnerAccuracy() float64 { return evalRatio(o.OwnerRight, o.OwnerPaired) }

// DevLinkedRecall is the share of train and validation action-item utterances with a commitment.
func (a AMIReport) DevLinkedRecall() float64 { return evalRatio(a.DevLinkedDetected, a.DevLinked) }

// TestLinkedRecall is the share of test action-item utterances, each run alone, with a commitment.
func (a AMIReport) TestLinkedRecall() float64 { return evalRatio(a.TestLinkedDetected, a.TestLinked) }

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

// EvaluateAMI scores the detector on the AMI files of dir (see testdata/ami/README.md). The file of
// the train and validation meetings in order is optional.
func EvaluateAMI(dir string) (AMIReport, error) {
	var rep AMIReport
	owners := map[string]map[string]bool{} // meeting, speaker and text → the roles the action item names
	err := readJSONLines(filepath.Join(dir, "action_dialogue_acts.jsonl"), func(line int, raw []byte) error {
		var row struct {
			Meeting, Split, Speaker, Role, Text string
			ActionText                          string `json:"action_text"`
		}
		if err := json.Unmarshal(raw, &row); err != nil {
			return fmt.Errorf("action_dialogue_acts.jsonl line %d: %w", line, err)
		}
		key := row.Meeting + "\x00" + row.Speaker + "\x00" + row.Text
		if owners[key] == nil {
			owners[key] = map[string]bool{}
		}
		for r := range rolesIn(row.ActionText) {
			owners[key][r] = true
		}
		got := len(detect.NewDetector().Detect(detect.Utterance{Text: row.Text, Speaker: detect.Speaker{Name: row.Role}, Language: "en", MeetingDate: amiDay})) > 0
		if row.Split == "test" {
			rep.TestLinked++
			if got {
				rep.TestLinkedDetected++
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
	if rep.Dev, err = amiInOrder(filepath.Join(dir, "dev_dialogue_acts.jsonl.gz"), owners); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return rep, err
	}
	rep.Test, err = amiInOrder(filepath.Join(dir, "test_dialogue_acts.jsonl.gz"), owners)
	return rep, err
}

// amiInOrder runs every utterance of a file of meetings in order, one Detector per meeting.
func amiInOrder(path string, owners map[string]map[string]bool) (AMIOrder, error) {
	var o AMIOrder
	var d *detect.Detector
	meeting := ""
	err := readJSONLines(path, func(line int, raw []byte) error {
		var row struct {
			Meeting, Speaker, Role, Text string
			Action                       int
		}
		if err := json.Unmarshal(raw, &row); err != nil {
			return fmt.Errorf("%s line %d: %w", filepath.Base(path), line, err)
		}
		if row.Meeting != meeting || d == nil {
			d, meeting = detect.NewDetector(), row.Meeting
		}
		o.Utterances++
		got := d.Detect(detect.Utterance{Text: row.Text, Speaker: detect.Speaker{Name: row.Role}, Language: "en", MeetingDate: amiDay})
		if row.Action == 1 {
			o.Labelled++
		}
		if len(got) == 0 {
			return nil
		}
		o.Predicted++
		sure := slices.ContainsFunc(got, func(c detect.Commitment) bool { return c.Confidence >= ledger.PossibleBelow })
		if sure {
			o.Sure++
		}
		if row.Action != 1 {
			return nil
		}
		o.TruePositives++
		if sure {
			o.SureTruePositives++
		}
		if want := owners[row.Meeting+"\x00"+row.Speaker+"\x00"+row.Text]; len(want) > 0 {
			o.OwnerPaired++
			if ownerRole(got[0].Owner, want) {
				o.OwnerRight++
			}
		}
		return nil
	})
	return o, err
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
		// "Everyone" is whose task it is only when the action item gives it to the group.
		return len(want) == len(amiRoles)
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
		"train+validation, linked action-item utterances: recall %.3f (%d/%d)\n", a.DevLinkedRecall(), a.DevLinkedDetected, a.DevLinked)
	if err == nil && a.Dev.Utterances > 0 {
		_, err = fmt.Fprintf(w, "train+validation, %s\n", a.Dev.line())
	}
	if err == nil {
		_, err = fmt.Fprintf(w, "TEST SPLIT (measured only, never tuned on):\n"+
			"  linked action-item utterances: recall %.3f (%d/%d)\n  %s\n",
			a.TestLinkedRecall(), a.TestLinkedDetected, a.TestLinked, a.Test.line())
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func (o AMIOrder) line() string {
	return fmt.Sprintf("%d utterances in meeting order: recall %.3f (%d/%d), precision %.3f (%d/%d; unlabelled commitments count as errors), "+
		"precision of those not shown as possible %.3f (%d/%d), owner role %.3f (%d/%d)",
		o.Utterances, o.Recall(), o.TruePositives, o.Labelled, o.Precision(), o.TruePositives, o.Predicted,
		o.SurePrecision(), o.SureTruePositives, o.Sure, o.OwnerAccuracy(), o.OwnerRight, o.OwnerPaired)
}
