package detect

import (
	"regexp"
	"strings"
	"time"
)

// Speaker is who said an utterance.
type Speaker struct {
	Name string // a display name: "Dana", "Speaker 2"
	Org  string // the speaker's organisation; empty when unknown
}

// Utterance is one final transcript segment of a meeting, attributed to a speaker.
type Utterance struct {
	Text    string
	Speaker Speaker
	// Language is an ISO 639-1 code (one of Languages()); empty or unknown means detect it.
	Language string
	// MeetingDate is the meeting's date; only its year, month and day in Location count. Zero means
	// today in UTC.
	MeetingDate time.Time
	// Location is the meeting's timezone; nil means MeetingDate's own location.
	Location *time.Location
}

// Commitment is one promise found in an utterance.
type Commitment struct {
	What     string // a short action phrase from the owner's side: "send the SOC 2 report to Laura Chen"
	Owner    string // who must act: a person's name, or an organisation for "we"; empty when nobody can be named
	OwnerOrg string // the owner's organisation when known
	// Contact is the person who spoke for the owner when the owner is an organisation.
	Contact string
	// Beneficiary is for whom: the person whose request this answers, else the person of the other
	// side the speaker last heard; never "you"; empty when nobody can be named.
	Beneficiary    string
	BeneficiaryOrg string    // the beneficiary's organisation when known
	Due            time.Time // midnight of the due date in the meeting's timezone; zero when none was said
	DuePhrase      string    // the words said: "by Thursday", "mañana", "bis Freitag"
	Confidence     float64   // 0..1
	Quote          string    // the evidence, as said
	Language       string    // the language the rules ran in
}

// HasDue reports whether a due date was said and resolved.
func (c Commitment) HasDue() bool { return !c.Due.IsZero() }

// DefaultContext is how many earlier utterances a Detector remembers.
const DefaultContext = 4

// Detector finds commitments in one meeting's final utterances. It remembers the last few utterances so
// that an accepted request ("can you share the pricing?" … "sure, by Friday") or an accepted offer
// ("shall I send the deck?" … "yes please") is recognised and the person a promise is for can be
// named, and it remembers every speaker of the meeting, so that a colleague named in passing ("tom
// will draft it") is known. It is not safe for concurrent use.
type Detector struct {
	size    int
	history []pastUtterance
	people  map[string]Speaker // the meeting's speakers by lower-case full name and first name
	heard   []Speaker          // the meeting's speakers, each once, the one heard last at the end
	team    teamState          // the run of assignments the chair is handing out, if any
	score   scoreState         // what the scorer keeps of the meeting
	// model weighs English utterances (see score.go); nil leaves the rules' findings as they are.
	model *scoreModel
	// observe, when set, is given each English utterance's features before the model weighs them:
	// the scorer's trainer reads them.
	observe func(features)
}

// pastUtterance is what the Detector keeps of an earlier utterance.
type pastUtterance struct {
	speaker Speaker
	kind    askKind
	act     string
	due     time.Time
	phrase  string
	quote   string
}

type askKind int

const (
	askNone askKind = iota
	askRequest
	askOffer
)

// DetectorOption configures a Detector.
type DetectorOption func(*Detector)

// WithContext sets how many earlier utterances the Detector remembers (at least 1).
func WithContext(n int) DetectorOption {
	return func(d *Detector) {
		if n >= 1 {
			d.size = n
		}
	}
}

// NewDetector returns a Detector for one meeting.
func NewDetector(opts ...DetectorOption) *Detector {
	d := &Detector{size: DefaultContext, people: map[string]Speaker{}, model: scorer}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Reset forgets the remembered utterances, for the start of another meeting.
func (d *Detector) Reset() {
	d.history = d.history[:0]
	clear(d.people)
	d.heard = d.heard[:0]
	d.team = teamState{}
	d.score = scoreState{}
}

// Languages lists the languages the Detector has rules for.
func Languages() []string { return []string{"en", "es", "de", "fr", "pt", "it", "nl", "ja", "zh"} }

// Supports reports whether the Detector has rules for a language (an ISO 639-1 code, optionally with
// a region: "pt-BR", "zh_CN").
func Supports(lang string) bool {
	l := baseLanguage(lang)
	return rulesFor[l] != nil || cjkFor[l] != nil
}

func baseLanguage(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if i := strings.IndexAny(lang, "-_"); i > 0 {
		lang = lang[:i]
	}
	return lang
}

// Detect returns the commitments made in u, in the order said, and remembers u as context for the
// next utterance. It returns nil when there are none.
func (d *Detector) Detect(u Utterance) []Commitment {
	text := strings.TrimSpace(u.Text)
	lang := baseLanguage(u.Language)
	if !Supports(lang) {
		lang = DetectLanguage(text)
	}
	meeting := meetingMidnight(u)
	if text == "" {
		d.remember(pastUtterance{speaker: u.Speaker})
		return nil
	}
	d.Meet(u.Speaker)
	d.hear(u.Speaker)
	var (
		found []found
		ask   pastUtterance
	)
	if c := cjkFor[lang]; c != nil {
		found, ask = d.detectCJK(c, u, text, meeting)
	} else {
		found, ask = d.detectSpaced(rulesFor[lang], u, text, meeting)
	}
	if lang == "en" {
		d.teamOwner(found, u, text)
		if f, ok := d.teamTask(u, text); ok && len(found) == 0 {
			found = append(found, f)
		}
		found = d.rescore(u, text, found)
	}
	var out []Commitment
	for _, f := range found {
		c := d.identify(f, u.Speaker, lang)
		c.Language = lang
		out = append(out, c)
	}
	d.remember(ask)
	return out
}

// detectSpaced finds the commitments of an utterance in a language written with spaces between words.
func (d *Detector) detectSpaced(r *langRules, u Utterance, text string, meeting time.Time) ([]found, pastUtterance) {
	var sents []sentence
	for _, raw := range splitSentences(text) {
		s := newSentence(raw, r.code)
		s.people = d.people
		sents = append(sents, s)
	}
	var out []found
	for i := range sents {
		if sents[i].question || r.isQuestion(&sents[i]) {
			continue
		}
		out = append(out, r.sentenceCommitments(&sents[i], u, meeting)...)
	}
	out = d.applyAcceptance(r, sents, u, meeting, out)
	followThrough(out)
	return out, r.ask(sents, u, meeting)
}

// found is a commitment while the Detector still works on it.
type found struct {
	Commitment
	letUs bool // said as "let's": joint, owned by whoever accepted when it answers a request
	// asker is who asked for what this answers (an accepted request or offer); nil otherwise.
	asker *Speaker
	// addressee: a task given to the person spoken to; Owner is empty unless the sentence names them.
	addressee bool
	// spokenTo is who the promise was said to by name ("Laura, I'll send you…"): the "you" it is for.
	spokenTo Speaker
	// then are the actions said after a first promise that only points back ("je le fais et je vous
	// envoie l'estimation"), joined to it by thenJoin once an accepted request has named it
	// (followThrough).
	then, thenJoin string
}

// followThrough completes the action of a promise that pointed back with what was promised after
// it: the request it accepted and the rest ("faire une estimation du coût et envoie l'estimation"),
// or, when it accepted nothing, its own words and the rest ("fais et envoie l'estimation"). A
// promise that still says no action ("Will do." after nothing asked) is only possible: a person
// says what it was.
func followThrough(out []found) {
	for i := range out {
		f := &out[i]
		switch {
		case f.then == "":
		case f.What == "":
			f.What = f.then
		default:
			f.What += f.thenJoin + f.then
		}
		f.then, f.thenJoin = "", ""
		if strings.TrimSpace(f.What) == "" {
			f.Confidence = min(f.Confidence, scoreSure)
		}
	}
}

func (d *Detector) remember(p pastUtterance) {
	d.history = append(d.history, p)
	if len(d.history) > d.size {
		d.history = append(d.history[:0], d.history[len(d.history)-d.size:]...)
	}
}

// applyAcceptance turns an acceptance of another speaker's recent request or offer into a commitment.
func (d *Detector) applyAcceptance(r *langRules, sents []sentence, u Utterance, meeting time.Time, out []found) []found {
	if len(sents) == 0 {
		return out
	}
	accepted, weak := r.accepts(&sents[0])
	if !accepted {
		// A promise that only points back ("I'll look into it", "deixa comigo") takes up a request too.
		for _, f := range out {
			if f.What == "" || vagueAction(f.What) {
				accepted = true
			}
		}
	}
	if !accepted {
		return out
	}
	// The request or offer must be one of the last two utterances, from someone else.
	prev := d.answered(u.Speaker, func(k askKind) bool { return k != askNone })
	if prev == nil {
		return out
	}
	due, phrase, hasDue := time.Time{}, "", false
	for i := range sents {
		if due, phrase, hasDue = r.findDue(&sents[i], 0, len(sents[i].toks), meeting); hasDue {
			break
		}
	}
	if weak && !hasDue && len(out) == 0 {
		return out
	}
	if !hasDue && !prev.due.IsZero() {
		due, phrase = prev.due, prev.phrase
	}
	kind := prev.kind
	prev.kind = askNone // an ask is accepted once
	switch kind {
	case askOffer:
		c := Commitment{What: prev.act, Owner: ownerName(prev.speaker), OwnerOrg: prev.speaker.Org,
			Due: due, DuePhrase: phrase, Confidence: 0.7, Quote: prev.quote + " — " + sents[0].raw}
		if !due.IsZero() {
			c.Confidence += 0.1
		}
		acceptor := u.Speaker
		return append([]found{{Commitment: c, asker: &acceptor}}, out...)
	case askRequest:
		asker := prev.speaker
		if len(out) == 0 {
			c := Commitment{What: prev.act, Owner: ownerName(u.Speaker), OwnerOrg: u.Speaker.Org,
				Due: due, DuePhrase: phrase, Confidence: 0.7, Quote: sents[0].raw}
			if !due.IsZero() {
				c.Confidence += 0.1
			}
			return []found{{Commitment: c, asker: &asker}}
		}
		for i := range out {
			out[i].asker = &asker
			if out[i].letUs {
				out[i].Owner, out[i].OwnerOrg = ownerName(u.Speaker), u.Speaker.Org
			}
			if (len(strings.Fields(out[i].What)) <= 3 || vagueAction(out[i].What)) && prev.act != "" {
				out[i].What = prev.act
			}
		}
	}
	return out
}

// anaphoric holds the pronouns and particles of an action phrase that only points back at something
// said before ("get that to you", "te lo mando", "schicke es Ihnen").
var anaphoric = wordSet("that", "it", "this", "them", "those", "to", "you", "over", "across", "back", "for", "your", "way", "into", "care", "of",
	"eso", "esto", "lo", "la", "los", "las", "te", "le", "les", "se", "a", "usted", "ustedes",
	"das", "es", "ihnen", "dir", "euch", "zu", "rüber",
	"ça", "cela", "vous", "lui", "leur",
	"isso", "isto", "o", "os", "as", "lhe", "você", "vocês", "para")

// answered is what an utterance of speaker may answer: the latest of the last two utterances not
// the speaker's own, when it is an ask of a kind want takes; nil otherwise.
func (d *Detector) answered(speaker Speaker, want func(askKind) bool) *pastUtterance {
	for i := len(d.history) - 1; i >= 0 && i >= len(d.history)-2; i-- {
		h := &d.history[i]
		if sameSpeaker(h.speaker, speaker) {
			continue
		}
		if want(h.kind) {
			return h
		}
		return nil
	}
	return nil
}

// vagueAction reports whether an action phrase is a verb and words pointing back: when it answers a
// request, the request says what the action is.
func vagueAction(what string) bool {
	words := strings.Fields(strings.ToLower(what))
	if len(words) < 2 {
		return true
	}
	for _, w := range words[1:] {
		if !anaphoric[strings.Trim(w, ".,;:!?")] {
			return false
		}
	}
	return true
}

func sameSpeaker(a, b Speaker) bool { return a.Name == b.Name && a.Org == b.Org }

func ownerName(s Speaker) string {
	if s.Name != "" {
		return s.Name
	}
	if s.Org != "" {
		return s.Org
	}
	return "Speaker"
}

func ownerOrg(s Speaker) string {
	if s.Org != "" {
		return s.Org
	}
	return ownerName(s)
}

func meetingMidnight(u Utterance) time.Time {
	loc := u.Location
	t := u.MeetingDate
	if t.IsZero() {
		t = time.Now()
		if loc == nil {
			loc = time.UTC
		}
	}
	if loc == nil {
		loc = t.Location()
	}
	y, m, dd := t.Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

// DetectLanguage guesses which of Languages() text is in: Japanese or Chinese by their scripts (kana is
// Japanese), the others from function words and letters proper to each language. It returns "en"
// when nothing points elsewhere.
func DetectLanguage(text string) string {
	if l := cjkLanguage(text); l != "" {
		return l
	}
	score := map[string]float64{}
	low := strings.ToLower(text)
	for _, w := range tokenize(normalise(low, "")) {
		if w.punct {
			continue
		}
		for lang, r := range rulesFor {
			if r.function[w.low] {
				score[lang]++
			}
		}
	}
	for _, h := range langHints {
		if strings.ContainsAny(low, h.chars) {
			score[h.lang] += h.weight
		}
	}
	best, bestScore := "en", score["en"]
	for _, l := range Languages() {
		if score[l] > bestScore {
			best, bestScore = l, score[l]
		}
	}
	return best
}

var langHints = []struct {
	lang, chars string
	weight      float64
}{
	{"es", "ñ¿¡", 2}, {"de", "ßäöü", 2}, {"pt", "ãõ", 2}, {"fr", "èùûœë", 1.5}, {"fr", "à", 0.5}, {"pt", "ç", 0.5}, {"fr", "ç", 0.5},
	{"it", "ìò", 1.5}, {"nl", "ĳ", 2},
}

// rulesFor holds every language's rules by code; a new language is one more entry here.
var rulesFor = rulesByCode(english(), spanish(), german(), french(), portuguese(), italian(), dutch())

func rulesByCode(rules ...*langRules) map[string]*langRules {
	out := make(map[string]*langRules, len(rules))
	for _, r := range rules {
		out[r.code] = r
	}
	return out
}

// compile anchors a trigger pattern at a token start and makes it end at a token end.
func compileTrigger(p string) *regexp.Regexp { return regexp.MustCompile(`^(?:` + p + `)(?: |$)`) }
