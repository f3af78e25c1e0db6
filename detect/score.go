package detect

import (
	_ "embed"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The scorer: a logistic regression over what an English utterance says and where it falls in the
// meeting, learned from real team meetings (the train and validation meetings of the AMI corpus,
// see scorer_train_test.go). The promise rules are precise on a call between parties, but in a
// team's own meeting they find much talk that is no task and miss tasks handed out in words they
// have no rule for; the scorer judges both. It reads the rules' findings and confidence, the words
// (one and two at a time), the team's roles named, a piece of work named, the talk about the work to
// come said shortly before ("next meeting", "individual work") and by whom, findings and roles in the
// turns just before (work is handed out in runs), how far into the meeting the utterance comes, and
// whether its speaker has spoken most.
//
// What it decides, in a meeting that is not a call between organisations (there the rules decide):
// a finding with a due date stays; any other stays when the scorer puts the utterance at or above
// the model's keep threshold, shown as possible below scoreSure, and is dropped otherwise; an
// utterance the rules found nothing in that asks nothing becomes a possible task from the model's
// add threshold (see scoredTask).

//go:embed scorer_weights.tsv
var scorerWeights string

// scoreSure is the probability below which a finding the scorer keeps is shown as possible.
const scoreSure = 0.5

// scoreModel is a logistic regression: a weight per feature name and a bias, the probability from
// which a finding of the rules is kept (set low: the scorer drops only what it is sure of) and the
// one from which a possible task is added where the rules found none (chosen by the trainer by
// cross-validation over the meeting series of the training meetings).
type scoreModel struct {
	bias, keep, add float64
	weights         map[string]float64
}

// scorer is the model the Detector uses, read once from the embedded weights.
var scorer = parseScoreModel(scorerWeights)

// parseScoreModel reads "name<TAB>weight" lines; "bias" is the intercept, "keep" and "add" the thresholds. A line that
// does not parse is skipped, so a model file can carry comments (#).
func parseScoreModel(text string) *scoreModel {
	m := &scoreModel{weights: map[string]float64{}}
	for _, line := range strings.Split(text, "\n") {
		name, val, ok := strings.Cut(line, "\t")
		w, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if !ok || err != nil || strings.HasPrefix(name, "#") {
			continue
		}
		switch name {
		case "bias":
			m.bias = w
		case "keep":
			m.keep = w
		case "add":
			m.add = w
		default:
			m.weights[name] = w
		}
	}
	return m
}

// prob is the model's probability that an utterance with these features hands out a task.
func (m *scoreModel) prob(fs features) float64 {
	z := m.bias
	for name, v := range fs {
		z += m.weights[name] * v
	}
	return 1 / (1 + math.Exp(-z))
}

// features are an utterance's feature values by name.
type features map[string]float64

// scoreState is what a Detector keeps of the meeting for the scorer.
type scoreState struct {
	heard     int            // utterances so far
	turns     map[string]int // utterances by speaker
	sinceCue  int            // utterances since the last talk about the work to come; -1 for none yet
	prevFound bool           // the rules found something in the previous utterance
	prevAsk   bool           // the previous utterance was another speaker's question
	recent    []bool         // whether each of the last few utterances had a finding or named a role
	prev      Speaker
	before    Speaker // who spoke before the current speaker's run of turns began
	cuer      Speaker // who last talked about the work to come: the chair, mostly
}

// scoreRecent is how many earlier utterances the scorer counts findings and roles in: tasks are
// handed out in runs.
const scoreRecent = 6

// closingCue is talk about the work to come and the meeting's end, after which tasks are handed out:
// the time running out ("we do not have any more time"), the break and the meeting that follow ("a
// new meeting soon", "after lunch", "thirty minutes of individual work").
var closingCue = regexp.MustCompile(`\b(?:action items?|next time|to do list|wrap (?:it |this |things )?up|(?:close|end|finish|stop) (?:the|this|our) (?:meeting|session)|that is (?:it|all) for (?:today|now)|(?:before|until) (?:the |our )?next|(?:any|no) more time|out of time|time is up|(?:another|a new|the following) meeting|lunch(?: break)?|(?:half an hour|thirty minutes) (?:of|for))\b`)

// scoreWord keeps the letters of a word as the scorer counts it.
var scoreWord = regexp.MustCompile(`[a-z_']+`)

// scoreFeatures returns the features of an English utterance given what the rules found in it, and
// moves the meeting's state on.
func (d *Detector) scoreFeatures(u Utterance, text string, rules []found) features {
	st := &d.score
	if st.turns == nil {
		st.turns, st.sinceCue = map[string]int{}, -1
	}
	low := teamLow(text)
	fs := features{}
	words := scoreWord.FindAllString(low, -1)
	for i, w := range words {
		fs["w:"+w] = 1
		if i > 0 {
			fs["b:"+words[i-1]+"_"+w] = 1
		}
	}
	switch n := len(words); {
	case n <= 2:
		fs["len:1-2"] = 1
	case n <= 5:
		fs["len:3-5"] = 1
	case n >= 16:
		fs["len:16+"] = 1
	}
	if strings.HasSuffix(strings.TrimSpace(text), "?") {
		fs["question"] = 1
	}
	ruleFeatures(fs, rules)
	if role, sure := teamRole(low, true); role != "" {
		fs["role"] = 1
		if sure {
			fs["role:sure"] = 1
		}
	}
	if teamWork.MatchString(low) {
		fs["work"] = 1
	}
	if d.team.left > 0 {
		fs["run"] = 1
		if sameSpeaker(d.team.chair, u.Speaker) {
			fs["run:chair"] = 1
		}
	}
	if closingCue.MatchString(low) || teamCue.MatchString(low) {
		fs["cue:now"] = 1
		st.sinceCue, st.cuer = 0, u.Speaker
	}
	if st.sinceCue >= 0 && sameSpeaker(st.cuer, u.Speaker) {
		fs["cue:speaker"] = 1
	}
	switch c := st.sinceCue; {
	case c < 0:
	case c <= 3:
		fs["cue:3"] = 1
	case c <= 8:
		fs["cue:8"] = 1
	case c <= 15:
		fs["cue:15"] = 1
	case c <= 60:
		fs["cue:60"] = 1
	default:
		fs["cue:old"] = 1
	}
	if st.sinceCue >= 0 {
		st.sinceCue++
	}
	// How far into the meeting: tasks are handed out late, after the work has been talked through.
	for _, n := range []int{200, 400, 700} {
		if st.heard >= n {
			fs["heard:"+strconv.Itoa(n)] = 1
		}
	}
	n := 0
	for _, r := range st.recent {
		if r {
			n++
		}
	}
	if n > 0 {
		fs["recent:"+strconv.Itoa(min(n, 3))] = 1
	}
	st.recent = append(st.recent, len(rules) > 0 || fs["role"] == 1)
	if len(st.recent) > scoreRecent {
		st.recent = st.recent[1:]
	}
	key := u.Speaker.Org + "\x00" + u.Speaker.Name
	st.heard++
	st.turns[key]++
	most := true
	for k, n := range st.turns {
		if k != key && n >= st.turns[key] {
			most = false
		}
	}
	if most && st.heard > 1 {
		fs["speaker:most"] = 1
	}
	if st.prevFound {
		fs["prev:found"] = 1
	}
	if st.heard > 1 && sameSpeaker(st.prev, u.Speaker) {
		fs["prev:same"] = 1
	}
	if st.prevAsk {
		fs["prev:ask"] = 1
	}
	st.prevFound = len(rules) > 0
	st.prevAsk = fs["question"] == 1 && !sameSpeaker(st.prev, u.Speaker)
	if !sameSpeaker(st.prev, u.Speaker) {
		st.before = st.prev
	}
	st.prev = u.Speaker
	return fs
}

// ruleFeatures adds what the rules found: whether anything, how sure, and of which kind.
func ruleFeatures(fs features, rules []found) {
	if len(rules) == 0 {
		fs["rule:none"] = 1
		return
	}
	best := rules[0]
	for _, f := range rules[1:] {
		if f.Confidence > best.Confidence {
			best = f
		}
	}
	fs["rule:conf"] = best.Confidence
	if slices.ContainsFunc(rules, found.HasDue) {
		fs["rule:due"] = 1
	}
	switch {
	case best.addressee:
		fs["rule:addressee"] = 1
	case best.Owner == "everyone":
		fs["rule:everyone"] = 1
	case best.letUs:
		fs["rule:letus"] = 1
	}
	if best.Confidence >= 0.6 {
		fs["rule:sure"] = 1
	}
	if best.asker != nil {
		fs["rule:accepted"] = 1
	}
}

// betweenParties reports whether sp speaks in a call between organisations: sp speaks for one and
// either nobody else has spoken yet or someone of another organisation has. The rules are made for
// such calls and tested on them; the scorer learned from a team's own meetings, so it judges only
// those.
func (d *Detector) betweenParties(sp Speaker) bool {
	if sp.Org == "" {
		return false
	}
	alone := true
	for _, p := range d.people {
		if sameSpeaker(p, sp) {
			continue
		}
		alone = false
		if p.Org != "" && !strings.EqualFold(p.Org, sp.Org) {
			return true
		}
	}
	return alone
}

// rescore weighs an English utterance's findings with the scorer: see the comment at the top.
func (d *Detector) rescore(u Utterance, text string, rules []found) []found {
	fs := d.scoreFeatures(u, text, rules)
	if d.observe != nil {
		d.observe(fs)
	}
	if d.model == nil || d.betweenParties(u.Speaker) {
		return rules
	}
	p := d.model.prob(fs)
	if !d.model.keeps(p, fs) {
		return nil
	}
	if len(rules) == 0 {
		return []found{d.scoredTask(u, text, p)}
	}
	if p < scoreSure {
		for i := range rules {
			if !rules[i].HasDue() {
				rules[i].Confidence = min(rules[i].Confidence, 0.55)
			}
		}
	}
	return rules
}

// keeps reports whether the scorer keeps an utterance put at probability p: its findings, or, from
// the higher threshold, a possible task when the rules found none and it asks no question. A finding with a due date stands
// on the rules: a date said makes a task of it in any meeting.
func (m *scoreModel) keeps(p float64, fs features) bool {
	if fs["rule:none"] == 1 {
		return p >= m.add && fs["question"] == 0
	}
	return fs["rule:due"] == 1 || p >= m.keep
}

// scoredTask is the possible task the scorer finds where the rules found none. In a team meeting
// such a turn is mostly one handing work out, so it belongs to the role it names (its bare words
// too inside a run of assignments: "and marketing, the trend watching"), else to the speaker when said in the first person
// ("I'll look into the costs"), else to everyone for "we", else to the person spoken to.
func (d *Detector) scoredTask(u Utterance, text string, p float64) found {
	low := teamLow(text)
	f := found{}
	f.What, f.Quote = strings.TrimSpace(text), text
	f.Confidence = min(0.3+p/2, 0.55)
	words := " " + low + " "
	switch role, _ := teamRole(low, d.team.left > 0); {
	case role != "":
		f.Owner = role
	case teamSelf.MatchString(low):
		f.Owner, f.OwnerOrg = ownerName(u.Speaker), u.Speaker.Org
	case strings.Contains(words, " we ") || strings.Contains(words, " let us "):
		f.Owner = "everyone"
	default:
		f.addressee = true
	}
	return f
}
