package detect

import (
	"cmp"
	"regexp"
	"strings"
	"time"
	"unicode"
)

type subject int

const (
	subjI     subject = iota // the speaker
	subjWe                   // the speaker's organisation
	subjLetUs                // "let's": the speaker's organisation, jointly
	subjName                 // a named colleague, group "n"
	subjRole                 // a colleague named by role, group "n": "the industrial designer will…"
	subjYou                  // the person spoken to: "you're going to look at…", "I need you to…"
)

type mode int

const (
	modeFuture     mode = iota // will, going to, future tense
	modePresent                // present tense for the near future: needs an anchor (clitic, "you", a date)
	modeObligation             // need to, have to, tengo que
	modeLetMe                  // let me, déjame, lassen Sie mich
	modePromise                // I promise, me comprometo, "leave it with me": no verb to check
	modeDated                  // "I can send…", "we're sending…", a named colleague: only with a due date
)

// pattern is one trigger: a subject and a modality, anchored at a token.
type pattern struct {
	re        *regexp.Regexp // anchored, over lower-case tokens joined by spaces (see compile)
	subj      subject
	mode      mode
	verbFinal bool // the action verb is the infinitive at the clause end (German)
	initial   bool // only at the start of a sentence or after an acceptance: "will do"
}

// langRules holds one language's lexicon. Word-list regexps match against sentence.span strings.
type langRules struct {
	code     string
	patterns []pattern
	function map[string]bool // frequent words, for language identification

	beneficiary *regexp.Regexp // "you", "Ihnen", "vous": the action is directed at the other party
	negation    *regexp.Regexp
	hedge       *regexp.Regexp
	past        *regexp.Regexp
	habitual    *regexp.Regexp
	internal    *regexp.Regexp
	conditional *regexp.Regexp // before the trigger in its sentence
	report      *regexp.Regexp // reported speech before the trigger
	idioms      *regexp.Regexp // removed before the checks: "no problem", "pas de problème"
	polite      *regexp.Regexp // politeness conditionals removed before the checks: "if that works"
	trying      *regexp.Regexp // best-effort wording that lowers confidence

	questionStart *regexp.Regexp   // anchored: a question without a question mark
	acceptance    *regexp.Regexp   // anchored at the utterance start: "sure", "claro", "gerne"
	weakAccept    *regexp.Regexp   // "ok", "yeah": an acceptance only with a date or a promise of its own
	fillers       map[string]bool  // skipped before an acceptance: "um", "oh"
	requests      []*regexp.Regexp // group "a": the action asked for, in a question
	needs         []*regexp.Regexp // group "a": the action asked for, in any sentence ("we need…")
	offers        []*regexp.Regexp // group "a": the action offered
	clauseEnd     map[string]bool  // words that end a clause for verb-final search

	stative func(lemma string) bool // be, need, see: not an action
	plan    func(lemma string) bool // migrate, hire, evaluate: own plans unless directed at the other party
	// inMeeting verbs (tell, show, introduce) usually describe what happens in the meeting itself: they
	// are commitments only with a due date after the meeting's day.
	inMeeting func(lemma string) bool
	// deliverable verbs (send, share, follow up) make a promise without a date or a "you"; nil when the
	// language relies on its clitics and dates instead.
	deliverable func(lemma string) bool
	lemma       func(verb string) string
	named       map[string]bool // words that are never a colleague's name
	dropAt      map[string]bool // leading words dropped from an action phrase
	// determiners before a capitalised word show it is a noun, not a colleague's name.
	determiners map[string]bool
	dates       []dueRule
	// role finds, in group 1, a colleague named by role before a task given to "you": "as the
	// industrial designer, you're going to…"; nil where the language has no rule for it.
	role *regexp.Regexp
	// fronted finds, in group "o", an object said before the promise that a pronoun takes up ("la doc
	// sécurité je vous l'envoie"), over the words before the trigger; objectPronouns are those pronouns.
	fronted        *regexp.Regexp
	objectPronouns map[string]bool
}

// trigger is one match of a pattern in a sentence.
type trigger struct {
	p          *pattern
	start, end int // tokens [start,end) of the match
	verb       int // token index of the action verb, -1 when none
	anchored   bool
	name       string
}

func (r *langRules) isQuestion(s *sentence) bool {
	return r.questionStart != nil && r.questionStart.MatchString(s.joined+" ")
}

// findTriggers returns the non-overlapping trigger matches of s, in order.
func (r *langRules) findTriggers(s *sentence) []trigger {
	var out []trigger
	for i := 0; i < len(s.toks); i++ {
		if s.toks[i].punct {
			continue
		}
		rest := s.joined[s.offs[i]:]
		for pi := range r.patterns {
			p := &r.patterns[pi]
			if p.initial && !r.atStart(s, i) {
				continue
			}
			loc := p.re.FindStringSubmatchIndex(rest)
			if loc == nil {
				continue
			}
			t := trigger{p: p, start: i, verb: -1}
			endOff := s.offs[i] + loc[1]
			if loc[1] > 0 && rest[loc[1]-1] == ' ' {
				endOff--
			}
			t.end = s.tokenAt(endOff-1) + 1
			names := p.re.SubexpNames()
			for gi, gn := range names {
				if gn == "" || loc[2*gi] < 0 || loc[2*gi+1] == loc[2*gi] {
					continue
				}
				tok := s.tokenAt(s.offs[i] + loc[2*gi])
				switch gn {
				case "v", "v2":
					t.verb = tok
				case "c", "s":
					t.anchored = true
				case "n":
					t.name = s.toks[tok].text
					if p.subj == subjRole { // the whole role: "user interface designer"
						last := s.tokenAt(s.offs[i] + loc[2*gi+1] - 1)
						t.name = s.phrase(tok, last+1)
					}
				}
			}
			if p.subj == subjName && (!r.isName(t.name) && !s.known(t.name) || (i > 0 && r.determiners[s.toks[i-1].low])) {
				continue
			}
			if t.verb >= 0 && !r.isVerb(s.toks[t.verb]) {
				continue
			}
			out = append(out, t)
			i = t.end - 1
			break
		}
	}
	return out
}

// atStart reports whether token i opens the sentence, possibly after acceptance words and punctuation.
func (r *langRules) atStart(s *sentence, i int) bool {
	for j := 0; j < i; j++ {
		t := s.toks[j]
		if t.punct || r.fillers[t.low] {
			continue
		}
		if r.acceptance != nil && (r.acceptance.MatchString(t.low+" ") || (r.weakAccept != nil && r.weakAccept.MatchString(t.low+" "))) {
			continue
		}
		return false
	}
	return true
}

// isVerb rejects what cannot be an action verb: punctuation, a letter, a pronoun.
func (r *langRules) isVerb(t token) bool {
	if t.punct || len([]rune(t.low)) < 2 || r.named[t.low] {
		return false
	}
	for _, c := range t.low {
		if !unicode.IsLetter(c) && c != '-' && c != '\'' {
			return false
		}
	}
	return true
}

func (r *langRules) isName(w string) bool {
	l := strings.ToLower(w)
	return w != "" && capitalised(w) && !r.named[l] && !r.function[l] && !r.fillers[l]
}

// sentenceCommitments finds the commitments of one declarative sentence.
func (r *langRules) sentenceCommitments(s *sentence, u Utterance, meeting time.Time) []found {
	trigs := r.findTriggers(s)
	type kept struct {
		trigger
		a, b int // the clause span
	}
	var ok []kept
	for k, t := range trigs {
		a, b := t.start, len(s.toks)
		if k == 0 {
			a = 0
		}
		if k+1 < len(trigs) {
			b = trigs[k+1].start
		}
		// A date or a "you" later in the sentence serves every promise of the same owner before it:
		// "we'll prepare the architecture and send it to you on Friday".
		reqB := len(s.toks)
		for n := k + 1; n < len(trigs); n++ {
			if !sameOwner(t, trigs[n]) {
				reqB = trigs[n].start
				break
			}
		}
		if r.accept(s, t, a, b, reqB, meeting) {
			ok = append(ok, kept{t, a, b})
		}
	}
	var out []found
	for i := 0; i < len(ok); {
		j := i + 1
		for j < len(ok) && sameOwner(ok[i].trigger, ok[j].trigger) {
			j++
		}
		first := ok[i]
		a, b := first.a, ok[j-1].b
		c := found{letUs: first.p.subj == subjLetUs, addressee: first.p.subj == subjYou}
		c.Owner, c.OwnerOrg = r.owner(s, first.trigger, u.Speaker)
		c.Quote = s.raw
		var dueA, dueB int
		c.Due, c.DuePhrase, dueA, dueB = r.findDueSpan(s, a, b, meeting)
		// Promises of one owner in one sentence are one commitment whose action says each of them
		// ("revisamos vuestro esquema y os mandamos una propuesta" → "revisamos vuestro esquema y
		// mandamos una propuesta"). A first one that only points back ("on s'en occupe", "je le fais")
		// says nothing of its own: it leads, for an accepted request to name, and the others follow
		// (found.then).
		type action struct {
			what  string
			start int
		}
		var acts []action
		pointsBack := false
		for k := i; k < j; k++ {
			switch w := r.what(s, ok[k].trigger, ok[k].b, dueA, dueB); {
			case k == i && (w == "" || vagueAction(w)):
				c.What, pointsBack = w, true
			case w != "":
				acts = append(acts, action{w, ok[k].start})
			}
		}
		said := ""
		for k, a := range acts {
			if k > 0 {
				said += r.joiner(s, acts[k-1].start, a.start)
			}
			said += a.what
		}
		switch {
		case !pointsBack || said == "":
			c.What = cmp.Or(said, c.What)
		default:
			c.then, c.thenJoin = said, r.joiner(s, first.start, acts[0].start)
		}
		if c.What == "" && c.then == "" && first.p.mode != modePromise {
			i = j
			continue
		}
		span := s.span(a, b)
		if r.beneficiary != nil && r.beneficiary.MatchString(span) {
			c.Beneficiary = "you"
			c.spokenTo = r.vocative(s, first.start)
		}
		c.Confidence = confidence(first.trigger, c.HasDue(), c.Beneficiary != "", r.trying != nil && r.trying.MatchString(span))
		if c.addressee {
			// A task given to someone is theirs only once they take it: possible, until they do.
			c.Confidence = min(c.Confidence, 0.55)
		}
		out = append(out, c)
		i = j
	}
	return out
}

func sameOwner(a, b trigger) bool {
	if a.p.subj >= subjName || b.p.subj >= subjName {
		return a.p.subj == b.p.subj && strings.EqualFold(a.name, b.name)
	}
	ga := a.p.subj == subjI
	gb := b.p.subj == subjI
	return ga == gb
}

func (r *langRules) owner(s *sentence, t trigger, sp Speaker) (string, string) {
	switch t.p.subj {
	case subjI:
		return ownerName(sp), sp.Org
	case subjName:
		if who, ok := person(s.people, t.name); ok {
			return who.Name, who.Org
		}
		return t.name, ""
	case subjRole:
		return t.name, ""
	case subjYou:
		return r.addressee(s, t)
	default:
		return ownerOrg(sp), sp.Org
	}
}

func confidence(t trigger, due, ben, trying bool) float64 {
	c := map[mode]float64{modeFuture: 0.8, modePresent: 0.75, modeObligation: 0.7, modeLetMe: 0.75, modePromise: 0.85, modeDated: 0.6}[t.p.mode]
	if t.p.subj == subjLetUs {
		c -= 0.15
	}
	if due {
		c += 0.1
	}
	if ben {
		c += 0.05
	}
	if trying {
		c -= 0.15
	}
	if c > 0.95 {
		c = 0.95
	}
	return c
}

// accept applies the checks to one trigger whose clause is tokens [a,b); the requirements (a date, a
// "you") may be met up to token reqB.
func (r *langRules) accept(s *sentence, t trigger, a, b, reqB int, meeting time.Time) bool {
	span := s.span(a, b)
	if t.p.subj >= subjName && t.verb >= 0 {
		span = s.span(a, t.start) + s.span(t.verb, b) // "I'd like you to" is a request, not a hedge
	}
	if r.idioms != nil {
		span = r.idioms.ReplaceAllString(span, " ")
	}
	if r.polite != nil {
		span = r.polite.ReplaceAllString(span, " ")
	}
	// "on Monday no sorry Tuesday" corrects the date, and its "no" negates nothing.
	span = corrections.ReplaceAllString(span, " ")
	for _, re := range []*regexp.Regexp{r.negation, r.hedge, r.past, r.habitual, r.internal} {
		if re != nil && re.MatchString(span) {
			return false
		}
	}
	before := s.span(0, t.start)
	if r.polite != nil {
		before = r.polite.ReplaceAllString(before, " ")
	}
	if (r.conditional != nil && r.conditional.MatchString(before)) || (r.report != nil && r.report.MatchString(before)) {
		return false
	}
	due, _, hasDue := r.findDue(s, a, reqB, meeting)
	// "Today" is the meeting itself for what happens in it ("today we will walk through the plan").
	laterDue := hasDue && due.After(meeting)
	// Bringing someone to the next meeting is done for the other side as much as sending them something.
	benFrom := a
	if t.p.subj == subjYou {
		benFrom = t.end // the "you" who must act is not the one it is done for
	}
	ben := r.beneficiary != nil && r.beneficiary.MatchString(s.span(benFrom, reqB)) || meetingPlaces.MatchString(s.span(a, reqB))
	verb := t.verb
	if t.p.verbFinal {
		verb = r.finalVerb(s, t.end, b)
		if verb < 0 {
			return false
		}
	}
	lemma, said := "", ""
	if verb >= 0 && s.toks[verb].punct {
		return false
	}
	if verb >= 0 && t.p.mode != modePromise {
		v := s.toks[verb].low
		if r.code == "en" && v == "be" && verb+1 < len(s.toks) && strings.HasSuffix(s.toks[verb+1].low, "ing") {
			v = s.toks[verb+1].low
		}
		l := r.lemma(v)
		lemma, said = l, v
		if r.stative(l) && !(l == "do" && r.code == "en" && verb+1 < b && doObjects[s.toks[verb+1].low]) &&
			!(r.code == "en" && enTakeOn.MatchString(s.span(verb, b))) &&
			!(t.p.subj >= subjName && givenTasks[l]) && !(hasDue && readyWords.MatchString(s.span(verb, b))) {
			return false // "I'll do that" points back; "you'll do the product evaluation" acts
		}
		// A task given to someone is theirs to do after the meeting, plans and all.
		if r.inMeeting != nil && r.inMeeting(l) && !laterDue && t.p.subj != subjYou {
			return false
		}
		if r.plan(l) && !ben && t.p.subj != subjYou {
			return false
		}
		if t.p.subj == subjYou && receiving[l] {
			return false // "you'll have it tomorrow": the one spoken to receives; the speaker delivers
		}
		if r.code == "en" && (l == "have" || l == "get") && !ben && !hasDue && !(verb+1 < b && s.toks[verb+1].low == "back") &&
			!meetingPlaces.MatchString(s.span(verb, b)) {
			return false
		}
	}
	deliverable := lemma != "" && r.deliverable != nil && r.deliverable(lemma)
	if r.code == "en" && t.p.subj <= subjLetUs && !laterDue && rightNow.MatchString(s.span(t.start, b)) {
		return false // "let me just check that", "I'll put it up here": done in the meeting, as said
	}
	if t.p.subj == subjYou && r.code == "en" && lemma != "" && !hasDue && !deliverable && !ben && !givenWork[lemma] && !givenWork[said] &&
		!givenWork[strings.TrimSuffix(said, "ing")] {
		// "then you have to press the button", "you should taste it": the generic "you" of an
		// explanation or advice, not a task given to the person spoken to.
		return false
	}
	switch t.p.mode {
	case modePresent:
		return t.anchored || hasDue || ben
	case modeDated:
		return hasDue
	case modeObligation:
		// "we have to make the decisions" is a group's to-do, not a promise to someone.
		return hasDue || ben || t.anchored || (deliverable && t.p.subj == subjI) || t.p.subj >= subjRole
	}
	if t.p.subj == subjWe || t.p.subj == subjLetUs {
		// An inclusive "we" about the meeting's own work is not a promise to another party.
		return hasDue || ben || t.anchored || deliverable || t.p.mode == modePromise
	}
	return true
}

// finalVerb finds the infinitive that closes a German verb-final clause starting at token from.
func (r *langRules) finalVerb(s *sentence, from, to int) int {
	end := to
	for i := from; i < to; i++ {
		if s.toks[i].punct || r.clauseEnd[s.toks[i].low] {
			end = i
			break
		}
	}
	for i := end - 1; i >= from; i-- {
		w := s.toks[i]
		if w.punct || capitalised(w.text) {
			continue
		}
		if strings.HasSuffix(w.low, "en") || strings.HasSuffix(w.low, "ern") || strings.HasSuffix(w.low, "eln") {
			return i
		}
		return -1
	}
	return -1
}

// vocative is the person a sentence is said to by name before its promise ("Laura, I'll send you
// the invoice"): a speaker of the meeting, or a capitalised name followed by a comma; "" for none.
func (r *langRules) vocative(s *sentence, before int) Speaker {
	i := 0
	for i < before && (s.toks[i].punct || r.fillers[s.toks[i].low]) {
		i++
	}
	if i+1 >= before || s.toks[i+1].low != "," {
		return Speaker{}
	}
	if who, ok := person(s.people, s.toks[i].low); ok {
		return who
	}
	if r.isName(s.toks[i].text) {
		return Speaker{Name: s.toks[i].text}
	}
	return Speaker{}
}

// accepts reports whether a sentence opens with an acceptance and neither negates nor hedges it, and
// whether the acceptance is a weak one ("ok", "yeah") that needs a date or a promise of its own.
func (r *langRules) accepts(s *sentence) (ok, weak bool) {
	i := 0
	for i < len(s.toks) && (s.toks[i].punct || r.fillers[s.toks[i].low]) {
		i++
	}
	if i >= len(s.toks) || r.acceptance == nil {
		return false, false
	}
	rest := s.joined[s.offs[i]:] + " "
	switch {
	case r.acceptance.MatchString(rest):
	case r.weakAccept != nil && r.weakAccept.MatchString(rest):
		weak = true
	default:
		return false, false
	}
	span := s.span(0, len(s.toks))
	if r.idioms != nil {
		span = r.idioms.ReplaceAllString(span, " ")
	}
	for _, re := range []*regexp.Regexp{r.negation, r.hedge} {
		if re != nil && re.MatchString(span) {
			return false, false
		}
	}
	return true, weak
}

// ask finds a request or an offer in an utterance, to remember as context.
func (r *langRules) ask(sents []sentence, u Utterance, meeting time.Time) pastUtterance {
	p := pastUtterance{speaker: u.Speaker}
	for i := range sents {
		s := &sents[i]
		question := s.question || r.isQuestion(s)
		for _, set := range []struct {
			kind     askKind
			res      []*regexp.Regexp
			question bool
		}{{askOffer, r.offers, true}, {askRequest, r.requests, true}, {askRequest, r.needs, false}} {
			for _, re := range set.res {
				loc := re.FindStringSubmatchIndex(" " + s.joined + " ")
				if loc == nil {
					continue
				}
				ai := re.SubexpIndex("a")
				if ai < 0 || loc[2*ai] < 0 {
					continue
				}
				start := s.tokenAt(loc[2*ai] - 1)
				// Speech has no question marks: a request that opens the sentence ("kann jemand
				// prüfen…", "priya can you take…") asks as a question does.
				if set.question && !question && s.tokenAt(max(loc[0]-1, 0)) > 2 {
					continue
				}
				due, phrase, dueA, dueB := r.findDueSpan(s, 0, len(s.toks), meeting)
				t := trigger{p: &pattern{}, verb: start}
				p.kind, p.act, p.due, p.phrase, p.quote = set.kind, r.what(s, t, len(s.toks), dueA, dueB), due, phrase, s.raw
				return p
			}
		}
	}
	return p
}

// findDue finds the best due phrase in tokens [a,b).
func (r *langRules) findDue(s *sentence, a, b int, meeting time.Time) (time.Time, string, bool) {
	d, p, _, _ := r.findDueSpan(s, a, b, meeting)
	return d, p, !d.IsZero()
}

// rx compiles an unanchored pattern over a sentence's tokens padded with spaces.
func askRE(p string) *regexp.Regexp { return regexp.MustCompile(p) }

// inSet turns a set into a lemma predicate.
func lemmaIn(m map[string]bool) func(string) bool { return func(w string) bool { return m[w] } }
