package detect

import (
	"regexp"
	"strings"
)

// Team assignments. In a team's own meeting the chair hands out the work as a run of turns rather
// than as promises: "so we've got the working design for I_D_", "for U_I_D_ the technical functions
// design", "marketing, the user requirement specification"; or tells everyone what comes next: "don't
// forget to complete the questionnaire", "you will receive specific instructions". The promise rules
// see no promise there; these rules read such turns as tasks for the role or the team named. A
// turn about the work to come ("next meeting", "individual work", "here's what we're each going to
// do") opens a run of assignments; inside it a turn of the same speaker that names a role and a piece
// of work is that role's task. Nothing here is promised by its owner, so every such task is possible
// (confidence below ledger.PossibleBelow) until a person confirms it.

// teamRun is how many utterances a run of assignments stays open after its last cue or assignment.
const teamRun = 8

// teamRoles are the roles a team's members are called by, the words an ASR writes for them included
// ("I_D_"), each with the owner name a task given to it takes. The bare words that also name a thing
// ("user interface", "industrial design", "marketing") are roles only inside a run of assignments.
var teamRoles = []struct {
	owner      string
	sure, bare *regexp.Regexp
}{
	{"project manager", teamWords(`project managers?|p_ ?m_|p m`), nil},
	{"industrial designer", teamWords(`industrial designers?|i_ ?d_`), teamWords(`industrial design`)},
	{"user interface designer", teamWords(`user interface designers?|interface designers?|u_ ?i_ ?d_|u_ ?i_ designer|u i d`), teamWords(`user interface|u_ ?i_`)},
	{"marketing expert", teamWords(`marketing (?:experts?|executives?|person|people|guy|girl)|market(?:ing)? researchers?|m_ ?e_`), teamWords(`marketing`)},
}

func teamWords(p string) *regexp.Regexp {
	return regexp.MustCompile(`(?:^|[^a-z_])(?:` + p + `)(?:[^a-z]|$)`)
}

var (
	// teamCue opens a run of assignments: the work to be done before the team meets again.
	teamCue = regexp.MustCompile(`\b(?:next meeting|individual (?:work|actions?|tasks?|things|jobs?|assignments?)|(?:we|you) each|each of (?:us|you)|what we are (?:each |all )?(?:going to|to) do|your (?:tasks?|jobs?|assignments?|roles?)|(?:tasks?|assignments?|jobs?) (?:are|is|for)|(?:go|head) (?:back|off) to (?:our|your|the)|(?:in|for) the meantime|(?:before|until) we meet)\b`)
	// teamWork is a piece of work given to a role: a verb of working on something or the thing itself.
	teamWork = regexp.MustCompile(`\b(?:work(?:ing)? on|look(?:ing)? (?:at|into)|think(?:ing)? about|concentrat(?:e|ing) on|focus(?:ing)? on|in charge of|responsible for|(?:do|doing|done) (?:the|some|a|an|your|their|his|her)|design(?:ing)?|research(?:ing)?|prepar(?:e|ing)|present(?:ing)?|concept|specification|requirements?|functions?|evaluation|trends?|prototype|components?)\b`)
	// teamTold are instructions to everyone present about what comes next.
	teamTold = regexp.MustCompile(`\b(?:(?:do not|never) forget to|(?:you|we) (?:will|are going to) (?:receive|get|be getting|be receiving) (?:\S+ ){0,3}?(?:instructions|information)|(?:we|everyone|everybody|you) (?:are |is )?(?:all |each )?(?:going to|will|have to|need to|got to|supposed to) (?:(?:all|each|now|just|then|go) )*(?:go off|go back to (?:our|your|their)|(?:complete|fill (?:in|out)|finish|write|do) (?:\S+ ){0,4}?(?:questionnaires?|summary|summaries|forms?|work|stuff|tasks?|reports?)|do (?:our|your|their) (?:individual|own))|(?:minutes|time|hour) (?:of|for) (?:individual|our own) work)\b`)
	// teamNot are turns that name a role without giving it work: what a role is ("I_D_ stands for…",
	// "you're the marketing expert"), who presented ("by the industrial designer") and what was done.
	teamNot = regexp.MustCompile(`\b(?:stands? for|is for|it is for|you are (?:going to be )?(?:the|our|a)|by (?:the |our |your )?(?:\S+ )?(?:industrial|user|interface|marketing|project|u_|i_|m_|p_)|was|were|had|did|has been|have been|supposed)\b`)
	// teamSelf marks a speaker's own turn ("I will work on…"): the first-person rules read those.
	teamSelf = regexp.MustCompile(`\b(?:i|i am|i will|i have|my|me)\b`)
	// teamYou gives the work to the person spoken to inside a run: "you are looking at the technical functions".
	teamYou = regexp.MustCompile(`\byou (?:are|will be|have got|have|will have|are going to be|get|can|could) (?:\S+ ){0,2}?(?:looking at|working on|doing|thinking about|in charge of|responsible for|the|come up with|concentrate on|focus on|work on|look at|look into|evaluate|check)\b`)
	// teamSupposed is a task the speaker says is theirs to do: "I'm supposed to do the components concept".
	teamSupposed = regexp.MustCompile(`\bi am (?:\S+ )?supposed to (?:\S+ ){0,2}?(?:do|work|write|prepare|finish|make|look|think|present)\b`)
	// teamItem is a piece of the team's work named without a verb: "and for you the trend watching".
	teamItem = regexp.MustCompile(`\b(?:design|evaluation|trend[- ]?watching|trends|concept|prototype|questionnaires?|summary|summarisation|report|research|specification|requirements|functions)\b`)
	// teamNoItem are turns about the meeting's plan, not a piece of work given: a copula ("the first
	// thing is the functional design"), the stages of a project, a subject other than "you".
	teamNoItem = regexp.MustCompile(`\b(?:is|are|was|were|will|would|has|had|we|it|this|that|there|they|(?:functional|conceptual|detailed|details?) design)\b`)
	// teamNextTask is a task for the team's next meeting, and who says they do it: "try to find that for
	// next meeting". The meeting's date is not said, so the task has no due date.
	teamNextTask = regexp.MustCompile(`\b(i|we|you|let us)\b (?:\S+ ){0,8}?(?:for|before|by|in|at|to) (?:the |our )?next (?:meeting|session)\b`)
)

// teamState is what a Detector keeps of a run of assignments.
type teamState struct {
	chair Speaker // who opened the run
	left  int     // utterances the run stays open
}

// teamTask returns the task an English utterance gives a role or the team, and keeps the run of
// assignments it opens or continues. It reads every utterance, for the run; Detect keeps its task
// only when the promise rules found nothing.
func (d *Detector) teamTask(u Utterance, text string) (found, bool) {
	low := teamLow(text)
	run := &d.team
	if run.left > 0 {
		run.left--
	}
	inRun := run.left > 0 && sameSpeaker(run.chair, u.Speaker)
	if teamCue.MatchString(low) {
		run.chair, run.left, inRun = u.Speaker, teamRun, true
	}
	if strings.HasSuffix(strings.TrimSpace(text), "?") {
		return found{}, false
	}
	f := found{}
	f.Quote = text
	m := teamNextTask.FindStringSubmatch(low)
	if strings.Contains(low, "see you") {
		m = nil // a goodbye
	}
	switch {
	case teamTold.MatchString(low):
		f.Owner, f.Confidence = "everyone", 0.5
	case teamSupposed.MatchString(low):
		f.Owner, f.OwnerOrg, f.Confidence = ownerName(u.Speaker), u.Speaker.Org, 0.5
	case m != nil:
		switch m[1] {
		case "i":
			f.Owner, f.OwnerOrg = ownerName(u.Speaker), u.Speaker.Org
		case "you":
			f.addressee = true
		default:
			f.Owner = "everyone"
		}
		f.Confidence = 0.45
	default:
		owner, sure := teamRole(low, inRun)
		switch {
		case owner == "" && inRun && (teamYou.MatchString(low) || teamGiven(low)):
			f.addressee, f.Confidence = true, 0.45
		case owner == "" || teamSelf.MatchString(low) || teamNot.MatchString(low):
			return found{}, false
		case teamWork.MatchString(low) && (sure || inRun):
			f.Owner, f.Confidence = owner, 0.5
			if inRun {
				f.Confidence = 0.55
			}
		case inRun && len(strings.Fields(low)) >= 4:
			f.Owner, f.Confidence = owner, 0.45
		default:
			return found{}, false
		}
		run.chair, run.left = u.Speaker, teamRun
	}
	f.What = strings.TrimSpace(text)
	return f, true
}

// teamLow is an utterance as the team rules read it: lower case, contractions expanded, no commas.
func teamLow(text string) string {
	low := strings.ToLower(normalise(text, "en"))
	return strings.Join(strings.FieldsFunc(low, func(r rune) bool { return r == ' ' || r == ',' }), " ")
}

// teamOwner gives the tasks an English utterance sets someone else to the one team role it names:
// "the I_D_ is going to work on…" is the industrial designer's, "and marketing, you're gonna…" (inside
// a run of assignments) the marketing expert's. The speaker's own promises, the team's and those of a
// person of the meeting keep their owner; so do all when the utterance names two roles.
func (d *Detector) teamOwner(fs []found, u Utterance, text string) {
	low := teamLow(text)
	inRun := d.team.left > 0 && sameSpeaker(d.team.chair, u.Speaker)
	role := ""
	for _, r := range teamRoles {
		if !r.sure.MatchString(low) && !(inRun && r.bare != nil && r.bare.MatchString(low)) {
			continue
		}
		if role != "" {
			return
		}
		role = r.owner
	}
	if role == "" {
		return
	}
	for i := range fs {
		f := &fs[i]
		if f.Owner == ownerName(u.Speaker) || f.Owner == ownerOrg(u.Speaker) || f.Owner == "everyone" {
			continue
		}
		if _, known := person(d.people, f.Owner); known && !f.addressee {
			continue
		}
		f.Owner, f.OwnerOrg = role, ""
	}
}

// teamGiven reports whether a turn inside a run gives a piece of work to the person spoken to, without
// a verb: "and for you the trend watching", "the technical functions design".
func teamGiven(low string) bool {
	if !teamItem.MatchString(low) || teamSelf.MatchString(low) {
		return false
	}
	return strings.Contains(" "+low+" ", " you ") || !teamNoItem.MatchString(low)
}

// teamRole returns the role an utterance names, and whether the words are a role's only.
func teamRole(low string, inRun bool) (string, bool) {
	for _, r := range teamRoles {
		if r.sure.MatchString(low) {
			return r.owner, true
		}
	}
	if !inRun {
		return "", false
	}
	for _, r := range teamRoles {
		if r.bare != nil && r.bare.MatchString(low) {
			return r.owner, false
		}
	}
	return "", false
}
