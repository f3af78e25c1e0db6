package detect

import (
	"regexp"
	"slices"
	"strings"
)

// Meet tells the Detector of a person in the meeting, so that a colleague named in lower-case
// speech ("tom will draft it") is known by full name. The Detector meets every speaker it hears; call
// Meet for the people who joined before they speak.
func (d *Detector) Meet(sp Speaker) {
	if sp.Name == "" {
		return
	}
	full := strings.ToLower(sp.Name)
	d.people[full] = sp
	if f := strings.Fields(full); len(f) > 1 {
		if _, taken := d.people[f[0]]; !taken {
			d.people[f[0]] = sp
		}
		return
	}
	// Japanese and Chinese names are written without a space, surname first: 高橋翔 is 高橋.
	if rs := []rune(sp.Name); len(rs) >= 3 && hasCJK(sp.Name) {
		if _, taken := d.people[string(rs[:2])]; !taken {
			d.people[string(rs[:2])] = sp
		}
	}
}

// person returns the meeting's speaker a name said stands for.
func person(people map[string]Speaker, name string) (Speaker, bool) {
	sp, ok := people[strings.ToLower(strings.TrimSpace(name))]
	return sp, ok
}

// maxHeard bounds the speakers a Detector keeps in the order heard; a meeting seldom has more.
const maxHeard = 64

// hear moves sp to the end of the speakers in the order heard.
func (d *Detector) hear(sp Speaker) {
	if sp.Name == "" {
		return
	}
	d.heard = slices.DeleteFunc(d.heard, func(h Speaker) bool { return sameSpeaker(h, sp) })
	if len(d.heard) >= maxHeard {
		d.heard = d.heard[1:]
	}
	d.heard = append(d.heard, sp)
}

// otherSide returns the speaker of another organisation than sp heard most recently, however long
// sp's side has talked since: the party a promise is made to when nobody asked for it. It finds
// nobody when sp's organisation is unknown.
func (d *Detector) otherSide(sp Speaker) (Speaker, bool) {
	if sp.Org == "" {
		return Speaker{}, false
	}
	for i := len(d.heard) - 1; i >= 0; i-- {
		h := d.heard[i]
		if h.Org != "" && !strings.EqualFold(h.Org, sp.Org) {
			return h, true
		}
	}
	return Speaker{}, false
}

// identify names the people of a found commitment: who speaks for an organisation that owns it, and
// for whom it is — the asker of what it answers, else the other side the speaker last heard; the
// action is then said from the owner's side, with names for "you" and "me".
func (d *Detector) identify(f found, sp Speaker, lang string) Commitment {
	c := f.Commitment
	if f.addressee && c.Owner == "" {
		// Nobody named: the one spoken to is the last other person heard.
		for i := len(d.history) - 1; i >= 0 && c.Owner == ""; i-- {
			if h := d.history[i].speaker; h.Name != "" && !sameSpeaker(h, sp) {
				c.Owner, c.OwnerOrg = h.Name, h.Org
			}
		}
		// A chair's run of turns can be longer than the history: the one spoken to is then who spoke
		// before the run.
		if b := d.score.before; c.Owner == "" && b.Name != "" && !sameSpeaker(b, sp) {
			c.Owner, c.OwnerOrg = b.Name, b.Org
		}
	}
	if f.addressee {
		f.asker = &sp // the task is done for whoever gave it
		if c.Owner == "" {
			c.Confidence = min(c.Confidence, 0.45) // for a person to say whose it is
		}
	}
	if c.OwnerOrg != "" && strings.EqualFold(c.Owner, c.OwnerOrg) && sp.Name != "" {
		c.Contact = sp.Name
	}
	var ben Speaker
	switch {
	case f.spokenTo.Name != "" && !sameSpeaker(f.spokenTo, sp):
		ben = f.spokenTo
	case f.asker != nil && !sameSpeaker(*f.asker, sp):
		ben = *f.asker
	case f.asker != nil: // an accepted offer: for the one who accepted
		ben = sp
	default:
		ben, _ = d.otherSide(sp)
	}
	if owner, ok := person(d.people, c.Owner); ok && sameSpeaker(owner, ben) {
		ben = Speaker{} // nobody promises something to themselves
	}
	c.Beneficiary, c.BeneficiaryOrg = ben.Name, ben.Org
	if ben.Name == "" {
		c.BeneficiaryOrg = ""
	}
	asker := ""
	if f.asker != nil {
		asker = f.asker.Name
	}
	said := c.What
	c.What = restate(c.What, lang, c.Beneficiary, asker)
	if f.Beneficiary == "you" && c.Beneficiary != "" && c.What == said && c.What != "" {
		// "te lo mando", "je vous envoie": the pronoun went before the verb, out of the phrase.
		switch p := pronounsFor[lang]; {
		case p == nil || p.to == "":
		case p.toFirst:
			c.What = c.Beneficiary + p.to + c.What
		default:
			c.What += " " + p.to + " " + c.Beneficiary
		}
	}
	return c
}

// restate puts an action phrase from the owner's side: "you" becomes the beneficiary's name and, in
// an accepted request, "me" and "us" the asker's ("send me the report" → "send Laura Chen the
// report"). Words without a name to stand for stay as said.
func restate(what, lang, ben, asker string) string {
	p := pronounsFor[lang]
	if p == nil || what == "" {
		return what
	}
	if lang == "en" {
		// "send me the report" → "send the report to Laura Chen": the name goes after the thing.
		if m := enIndirect.FindStringSubmatch(what); m != nil {
			name := ben
			if strings.EqualFold(m[2], "me") || strings.EqualFold(m[2], "us") {
				name = asker
			}
			if name != "" {
				what = m[1] + " " + m[3] + " " + p.to + " " + name
			}
		}
	}
	if ben != "" && p.your != nil {
		what = p.your.ReplaceAllString(what, "${1}"+ben+"'s${2}")
	}
	if ben != "" && p.you != nil {
		what = p.you.ReplaceAllString(what, "${1}"+ben+"${2}")
		what = p.you.ReplaceAllString(what, "${1}"+ben+"${2}") // adjacent matches share a space
	}
	if asker != "" && p.me != nil {
		what = p.me.ReplaceAllString(what, "${1}"+asker+"${2}")
	}
	return what
}

// enIndirect is an English action whose first object is a pronoun: "send me the report", "get you the logs".
var enIndirect = regexp.MustCompile(`(?i)^(send|give|show|forward|email|mail|get|bring|pass|hand|share|book) (me|us|you) (.+)$`)

type pronounSet struct {
	you, your, me *regexp.Regexp
	to            string // the word that puts a name after an action: "to", "a", "à"
	toFirst       bool   // the name and to go before the action: "佐藤美咲に"
}

// pronounRE matches any of words as a whole word, keeping the characters around it in groups 1 and 2.
// Japanese and Chinese have no spaces between words, so their pronouns match anywhere.
func pronounRE(cjk bool, words ...string) *regexp.Regexp {
	if cjk {
		return regexp.MustCompile(`()(?:` + altRE(words...) + `)()`)
	}
	return regexp.MustCompile(`(?i)(^|[\s,])(?:` + altRE(words...) + `)($|[\s,.])`)
}

// pronounsFor holds, per language, the words for the other party and for the asker in an action phrase.
var pronounsFor = map[string]*pronounSet{
	"en": {you: pronounRE(false, "you", "y'all", "you guys"), your: pronounRE(false, "your"), me: pronounRE(false, "me", "us"), to: "to"},
	"es": {you: pronounRE(false, "usted", "ustedes", "vosotros", "ti"), me: pronounRE(false, "mí"), to: "a"},
	"de": {you: pronounRE(false, "Ihnen", "dir", "euch"), me: pronounRE(false, "mir", "uns"), to: "an"},
	"fr": {you: pronounRE(false, "vous", "toi"), me: pronounRE(false, "moi"), to: "à"},
	"pt": {you: pronounRE(false, "você", "vocês", "voce"), me: pronounRE(false, "mim"), to: "para"},
	"it": {you: pronounRE(false, "voi", "te", "lei"), me: pronounRE(false, "me", "noi"), to: "a"},
	"nl": {you: pronounRE(false, "je", "jou", "jullie", "u"), me: pronounRE(false, "mij", "me", "ons"), to: "naar"},
	"ja": {you: pronounRE(true, "あなた", "御社", "そちら"), me: pronounRE(true, "私"), to: "に", toFirst: true},
	"zh": {you: pronounRE(true, "你们", "您", "你"), me: pronounRE(true, "我们", "我"), to: "给", toFirst: true},
}

// addressee names the person a task is given to ("as the industrial designer, you'll…", "tom, you'll…"):
// a role said before it, else a speaker of the meeting named in the first words; empty when neither.
func (r *langRules) addressee(s *sentence, t trigger) (string, string) {
	if r.role != nil {
		if m := r.role.FindStringSubmatch(s.span(0, t.start)); m != nil {
			return m[1], ""
		}
	}
	for i := 0; i < t.start && i < 3; i++ {
		if who, ok := person(s.people, s.toks[i].low); ok {
			return who.Name, who.Org
		}
		if i+1 < len(s.toks) && (s.toks[i+1].punct || i+1 == t.start) && r.isName(s.toks[i].text) {
			return s.toks[i].text, "" // "Manuel, you'll be working on…"
		}
	}
	return "", ""
}

// readyWords make "have" an action when a date is said: "I'll have the SOW ready Monday", "lo tendré
// listo el viernes", "ich habe den Bericht Freitag fertig".
var readyWords = wordRE("ready", "listo", "lista", "listos", "listas", "prêt", "prête", "prêts", "prêtes", "fertig",
	"pronto", "pronta", "prontos", "prontas", "klaar", "terminado", "terminada")

// dateHedges hedge a date, not the promise; they stay out of the action phrase.
var dateHedges = wordSet("probably", "likely", "probablemente", "seguramente", "wahrscheinlich", "voraussichtlich",
	"probablement", "normalement", "sûrement", "provavelmente", "probabilmente", "waarschijnlijk")

// givenTasks are English verbs that describe the meeting's own talk when said of oneself, and a task
// when given to someone: "you're going to think about the working design".
var givenTasks = wordSet("think", "look", "find", "keep")

// givenWork are the English verbs of a piece of work handed to the person spoken to ("you're going to
// work on the components concept", "you'll do some trend watching"); another verb after a "you" needs
// a date, a deliverable or a beneficiary to be a task.
var givenWork = wordSet("work", "look", "think", "focus", "concentrate", "come", "do", "evaluate", "research", "develop",
	"prepare", "investigate", "explore", "study", "produce", "build", "model", "begin", "continue", "analyse", "analyze",
	"collect", "gather", "read", "watch", "figure", "play")

// rightNow are English words of an action done in the meeting as it is said: "I'll just pop this in
// here", "let me quickly check", "I'll write it on the board".
var rightNow = wordRE("just", "here", "over there", "right now", "quickly", "real quick", "on the board", "on the whiteboard",
	"on the screen", "this slide", "next slide", "for now", "in a second", "in a minute", "for a second",
	"give it a", "give that a", "give this a", "give it an", "give that an", "give this an", "this meeting", "write down",
	"write that down", "write it down", "write this down", "write them down", "presentations", "your presentation", "an opening",
	"the agenda", "make it a", "next meeting in", "ask you to", "ask you all to", "ask you guys to", "ask each of you")

// doObjects open the object of an English "do" that is an action: "do the minutes", "do some research".
var doObjects = wordSet("the", "some", "a", "an", "your", "our", "my", "all", "more")

// receiving are English verbs of the one who gets something: "you'll have it", "you'll get an invite".
var receiving = wordSet("have", "get", "receive", "see", "hear", "find", "notice", "love", "like", "enjoy", "recall", "remember")

// meetingPlaces are the next meetings someone is brought to: "I'll get our CFO on the next call".
var meetingPlaces = wordRE("next call", "next meeting", "in the room", "nächsten termin", "nächsten call", "nächste meeting",
	"próxima llamada", "próxima reunión", "prochain appel", "prochaine réunion", "próxima ligação", "próxima reunião",
	"prossima call", "prossima riunione", "volgende gesprek", "volgende vergadering", "volgende call")
