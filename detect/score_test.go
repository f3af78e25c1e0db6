package detect

import (
	"testing"

	"github.com/ledgerline/ledgerline/ledger"
)

// A model trained without one meeting series ranks that series' task utterances above the rest:
// the area under the ROC curve, over every utterance of the held-out meetings.
func TestScorerRanksHeldOutMeetings(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on 60,000 utterances")
	}
	var learn, held [][]example
	for _, m := range amiMeetings(t, amiDevPath) {
		if series(m[0].Meeting) == "TS" {
			held = append(held, meetingExamples(m))
		} else {
			learn = append(learn, meetingExamples(m))
		}
	}
	model := train(learn)
	var pos, neg []float64
	for _, m := range held {
		for _, e := range m {
			if p := model.prob(e.fs); e.action {
				pos = append(pos, p)
			} else {
				neg = append(neg, p)
			}
		}
	}
	above := 0.0
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				above++
			case p == n:
				above += 0.5
			}
		}
	}
	auc := above / float64(len(pos)*len(neg))
	t.Logf("held-out TS meetings: %d task utterances, %d others, AUC %.3f", len(pos), len(neg), auc)
	if auc < 0.85 {
		t.Errorf("AUC %.3f on held-out meetings, want at least 0.85", auc)
	}
}

// In a team meeting a finding the scorer keeps below scoreSure is shown as possible; one it puts
// under its threshold is dropped; an utterance the rules found nothing in becomes a possible task
// for the person spoken to when the scorer puts it high enough.
func TestScorerJudgesTeamMeetings(t *testing.T) {
	say := func(m *scoreModel, turns ...turn) []Commitment {
		d := NewDetector()
		d.model = m
		var got []Commitment
		for _, tr := range turns {
			got = d.Detect(Utterance{Text: tr.text, Speaker: tr.sp, Language: "en", MeetingDate: thursday})
		}
		return got
	}
	promise := []turn{{designer, "What about the casing?"}, {chair, "I'll send the casing drawings to the factory."}}
	rules := say(nil, promise...)
	if len(rules) != 1 || rules[0].Confidence < ledger.PossibleBelow {
		t.Fatalf("the rules: want one sure promise, got %+v", rules)
	}
	low := parseScoreModel("bias\t-1\nkeep\t0.1\nadd\t0.5\n") // every utterance at 0.27
	if got := say(low, promise...); len(got) != 1 || got[0].Confidence >= ledger.PossibleBelow || got[0].Owner != chair.Name {
		t.Errorf("scored 0.27: want the promise shown as possible, got %+v", got)
	}
	if got := say(parseScoreModel("bias\t-1\nkeep\t0.3\nadd\t0.5\n"), promise...); len(got) != 0 {
		t.Errorf("scored under the threshold: want nothing, got %+v", got)
	}
	high := parseScoreModel("bias\t2\nkeep\t0.1\nadd\t0.5\n") // every utterance at 0.88
	task := []turn{{designer, "Okay."}, {chair, "And the battery costs for the cheaper model."}}
	if got := say(nil, task...); len(got) != 0 {
		t.Fatalf("the rules: want nothing, got %+v", got)
	}
	got := say(high, task...)
	if len(got) != 1 || got[0].Owner != designer.Name || got[0].Confidence >= ledger.PossibleBelow {
		t.Errorf("scored 0.88: want a possible task for %s, got %+v", designer.Name, got)
	}
	if got := say(high, turn{designer, "Okay."}, turn{chair, "And who takes the battery costs?"}); len(got) != 0 {
		t.Errorf("a question: want nothing, got %+v", got)
	}
}

// In a call between organisations the rules decide: the scorer changes nothing there.
func TestScorerLeavesCallsBetweenParties(t *testing.T) {
	buyer := Speaker{Name: "Laura Chen", Org: "Castellan"}
	seller := Speaker{Name: "Ravi Menon", Org: "Northwind"}
	for _, m := range []*scoreModel{parseScoreModel("bias\t-9\nkeep\t0.5\nadd\t0.5\n"), parseScoreModel("bias\t9\nkeep\t0.5\nadd\t0.5\n")} {
		d := NewDetector()
		d.model = m
		d.Detect(Utterance{Text: "we need the pricing before the board meets", Speaker: buyer, Language: "en", MeetingDate: thursday})
		got := d.Detect(Utterance{Text: "okay i'll put the pricing options in a doc", Speaker: seller, Language: "en", MeetingDate: thursday})
		if len(got) != 1 || got[0].Owner != seller.Name || got[0].Confidence < ledger.PossibleBelow {
			t.Errorf("bias %.0f: want the rules' sure promise, got %+v", m.bias, got)
		}
		if got := d.Detect(Utterance{Text: "the weather is nice today", Speaker: buyer, Language: "en", MeetingDate: thursday}); len(got) != 0 {
			t.Errorf("bias %.0f: want nothing added, got %+v", m.bias, got)
		}
	}
}
