package detect

import (
	"testing"

	"github.com/ledgerline/ledgerline/ledger"
)

// The people of a team's own meeting, named by their roles as a meeting room's diarisation might.
var (
	chair    = Speaker{Name: "Ana"}
	designer = Speaker{Name: "Ben"}
	market   = Speaker{Name: "Cleo"}
)

// teamMeeting feeds turns to one English Detector and returns what each turn yields.
func teamMeeting(turns ...turn) [][]Commitment {
	d := NewDetector()
	out := make([][]Commitment, len(turns))
	for i, t := range turns {
		out[i] = d.Detect(Utterance{Text: t.text, Speaker: t.sp, Language: "en", MeetingDate: thursday})
	}
	return out
}

// A chair handing out the work as a run of turns gives each role named its task, the role names as
// an ASR writes them included; every such task is possible until someone confirms it.
func TestTeamRunOfAssignments(t *testing.T) {
	got := teamMeeting(
		turn{chair, "Okay, so before the next meeting here's what we're each going to do."},
		turn{chair, "We've got um the working design for I_D_."},
		turn{designer, "Okay."},
		turn{chair, "For U_I_D_ the technical functions design."},
		turn{chair, "Marketing, the user requirement specification."},
		turn{market, "Sounds good."},
	)
	want := map[int]string{1: "industrial designer", 3: "user interface designer", 4: "marketing expert"}
	for i, cs := range got {
		owner, ok := want[i]
		if !ok {
			if len(cs) != 0 {
				t.Errorf("turn %d: want nothing, got %+v", i, cs)
			}
			continue
		}
		if len(cs) != 1 || cs[0].Owner != owner {
			t.Errorf("turn %d: want one task for %s, got %+v", i, owner, cs)
			continue
		}
		if cs[0].Confidence >= ledger.PossibleBelow {
			t.Errorf("turn %d: confidence %.2f, want a possible task", i, cs[0].Confidence)
		}
	}
}

// The same bare words outside a run are about the product, not a person: whatever the scorer
// makes of the turn, no role owns it.
func TestTeamRoleWordsOutsideARun(t *testing.T) {
	got := teamMeeting(
		turn{designer, "Marketing, the user requirement specification."},
		turn{market, "The user interface needs to look simple."},
	)
	for i, cs := range got {
		for _, c := range cs {
			if c.Owner == "marketing expert" || c.Owner == "user interface designer" || c.Confidence >= ledger.PossibleBelow {
				t.Errorf("turn %d: want no task for a role named by its bare words, got %+v", i, c)
			}
		}
	}
}

// A task said for a role belongs to that role whatever the words around it: an ASR abbreviation
// ("the I_D_ is going to…") or a "you" said to the role named.
func TestTeamTaskGoesToTheRoleNamed(t *testing.T) {
	for _, tc := range []struct{ text, owner string }{
		{"The I_D_ is going to work on the components concept.", "industrial designer"},
		{"Um for our Industrial Designer, you're gonna be thinking about the components concept.", "industrial designer"},
		{"The User Interface Designer will work on the user interface design.", "user interface designer"},
	} {
		got := teamMeeting(turn{designer, "Right."}, turn{chair, tc.text})[1]
		if len(got) != 1 || got[0].Owner != tc.owner {
			t.Errorf("%q: want one task for %s, got %+v", tc.text, tc.owner, got)
		}
	}
}

// Talk about the meeting itself, the generic "you" of an explanation and what a role is are no tasks.
func TestTeamNotTasks(t *testing.T) {
	for _, text := range []string{
		"Then you have to press the button twice.",
		"I think you should taste it.",
		"Let me just check that.",
		"I'm just gonna pop this in here.",
		"I'll give it a two.",
		"I'll write that down.",
		"Then we'll have your three presentations.",
		"Um, I_D_, whatever that stands for.",
		"You're the Marketing Expert, okay.",
		"Next meeting starts in thirty minutes.",
		"See you at the next meeting.",
		"Don't forget about that.",
		"We need to finish up here.",
	} {
		if got := teamMeeting(turn{market, "Okay."}, turn{chair, text})[1]; len(got) != 0 {
			t.Errorf("%q: want nothing, got %+v", text, got)
		}
	}
}

// Instructions to everyone present are the team's tasks; a task given to the person spoken to stays
// one when it is a piece of work, a deliverable or dated. Neither is promised: both are possible.
func TestTeamTasksForOthers(t *testing.T) {
	for _, tc := range []struct{ text, owner string }{
		{"And um don't forget to complete final questionnaire and meeting summary.", "everyone"},
		{"You will receive specific instructions from your personal coach.", "everyone"},
		{"Um after the meeting we're gonna each complete a questionnaire and a summary.", "everyone"},
		{"So think about the things we've discussed and bring some new ideas to our next meeting.", "everyone"},
		{"You're going to look at the components concept.", designer.Name},
		{"And you'll be evaluating the product.", designer.Name},
		{"You'll need to send us the logo files.", designer.Name},
		{"You have to fill in the form by Friday.", designer.Name},
	} {
		got := teamMeeting(turn{designer, "Okay."}, turn{chair, tc.text})[1]
		if len(got) != 1 || got[0].Owner != tc.owner || got[0].Confidence >= ledger.PossibleBelow {
			t.Errorf("%q: want one possible task for %s, got %+v", tc.text, tc.owner, got)
		}
	}
}
