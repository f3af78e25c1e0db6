package detect

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// dueClass ranks due phrases: when a clause holds several, the highest class wins.
type dueClass int

const (
	dueSameDay  dueClass = iota + 1 // today, EOD
	dueRelative                     // tomorrow, Friday, next week, in two weeks
	dueExplicit                     // March 3rd, 15/03, the 31st
)

// dueRule is one due-date phrase pattern of a language. Named groups feed resolve: d (day), mon
// (month name), y (year), x and y2 (numeric date parts), wd (weekday), mod and mod2 (next/this), n and
// u (count and unit).
type dueRule struct {
	re       *regexp.Regexp
	class    dueClass
	notAfter map[string]bool // the phrase does not count after these words ("por la mañana")
	resolve  func(g map[string]string, meeting time.Time, lang string) (time.Time, bool)
}

func dueRuleOf(class dueClass, p string, resolve func(map[string]string, time.Time, string) (time.Time, bool), notAfter ...string) dueRule {
	return dueRule{re: regexp.MustCompile(`(?:^| )(?P<all>` + p + `)(?: |$)`), class: class, notAfter: wordSet(notAfter...), resolve: resolve}
}

// groups returns the named groups of a match of the rule at loc in sub.
func (dr dueRule) groups(sub string, loc []int) map[string]string {
	return namedGroups(dr.re, sub, loc)
}

// namedGroups returns the named groups of re's match at loc in s.
func namedGroups(re *regexp.Regexp, s string, loc []int) map[string]string {
	g := map[string]string{}
	for gi, name := range re.SubexpNames() {
		if name != "" && loc[2*gi] >= 0 {
			g[name] = s[loc[2*gi]:loc[2*gi+1]]
		}
	}
	return g
}

// ResolveDue finds the due-date phrase in text and resolves it against the meeting date, as the
// Detector does (see the package documentation for the rules). lang is one of Languages(); empty
// means detect it. It returns the date at midnight in meeting's location, the words said, and
// whether a phrase was found.
func ResolveDue(text, lang string, meeting time.Time) (time.Time, string, bool) {
	if !Supports(lang) {
		lang = DetectLanguage(text)
	}
	y, m, d := meeting.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, meeting.Location())
	if c := cjkFor[lang]; c != nil {
		due, phrase, _, _ := c.findDue(c.clean(text), day)
		return due, phrase, !due.IsZero()
	}
	r := rulesFor[lang]
	s := newSentence(text, r.code)
	return r.findDue(&s, 0, len(s.toks), day)
}

// findDueSpan finds the best due phrase in tokens [a,b) and returns its date, its words and its tokens.
func (r *langRules) findDueSpan(s *sentence, a, b int, meeting time.Time) (time.Time, string, int, int) {
	if a < 0 {
		a = 0
	}
	if b > len(s.toks) {
		b = len(s.toks)
	}
	if a >= b {
		return time.Time{}, "", -1, -1
	}
	sub := s.joined[s.offs[a]:s.end(b-1)]
	// After a self-correction ("on tuesday no sorry wednesday") only a phrase said after it counts;
	// the phrase corrected goes with it, out of the action phrase.
	corrFrom, corrA := -1, -1
	if loc := corrections.FindStringIndex(" " + sub + " "); loc != nil {
		corrFrom = s.tokenAt(s.offs[a]+max(loc[1]-2, 0)) + 1
	}
	var (
		best       time.Time
		bestClass  dueClass
		bestA      = -1
		bestB      = -1
		bestPhrase string
	)
	for _, dr := range r.dates {
		for _, loc := range dr.re.FindAllStringSubmatchIndex(sub, -1) {
			ai := dr.re.SubexpIndex("all")
			ta := s.tokenAt(s.offs[a] + loc[2*ai])
			tb := s.tokenAt(s.offs[a]+loc[2*ai+1]-1) + 1
			if ta > 0 && dr.notAfter[s.toks[ta-1].low] {
				continue
			}
			g := dr.groups(sub, loc)
			t, ok := dr.resolve(g, meeting, r.code)
			if !ok {
				continue
			}
			if corrFrom >= 0 && ta < corrFrom {
				if corrA < 0 || ta < corrA {
					corrA = ta
				}
				if r.dueFrom(s, corrFrom, b, meeting) {
					continue
				}
			}
			better := dr.class > bestClass ||
				(dr.class == bestClass && (ta < bestA || (ta == bestA && tb > bestB)))
			if better {
				best, bestClass, bestA, bestB = t, dr.class, ta, tb
				bestPhrase = asSaid(s.raw, s.phrase(ta, tb))
			}
		}
	}
	if corrA >= 0 && bestA >= corrFrom {
		bestA = corrA
	}
	return best, bestPhrase, bestA, bestB
}

// dueFrom reports whether tokens [a,b) hold a due phrase.
func (r *langRules) dueFrom(s *sentence, a, b int, meeting time.Time) bool {
	if a >= b {
		return false
	}
	sub := s.joined[s.offs[a]:s.end(b-1)]
	for _, dr := range r.dates {
		for _, loc := range dr.re.FindAllStringSubmatchIndex(sub, -1) {
			if _, ok := dr.resolve(dr.groups(sub, loc), meeting, r.code); ok {
				return true
			}
		}
	}
	return false
}

// corrections are the words of a speaker correcting what they just said, in every language.
var corrections = wordRE("no sorry", "sorry", "i mean", "no wait", "nein sorry", "nein", "ich meine", "no perdón", "perdón", "mejor dicho",
	"non pardon", "pardon", "plutôt", "não desculpa", "desculpa", "quer dizer", "no scusa", "scusa", "anzi", "nee sorry", "nee", "ik bedoel")

// Resolvers.

func dueToday(_ map[string]string, m time.Time, _ string) (time.Time, bool) { return m, true }

func duePlusDays(n int) func(map[string]string, time.Time, string) (time.Time, bool) {
	return func(_ map[string]string, m time.Time, _ string) (time.Time, bool) { return m.AddDate(0, 0, n), true }
}

// mondayOf returns the Monday of t's week.
func mondayOf(t time.Time) time.Time { return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7)) }

func endOfWeek(_ map[string]string, m time.Time, _ string) (time.Time, bool) {
	switch m.Weekday() {
	case time.Saturday, time.Sunday:
		return mondayOf(m).AddDate(0, 0, 11), true
	}
	return mondayOf(m).AddDate(0, 0, 4), true
}

func nextWeekFriday(_ map[string]string, m time.Time, _ string) (time.Time, bool) {
	return mondayOf(m).AddDate(0, 0, 11), true
}

func nextWeekMonday(_ map[string]string, m time.Time, _ string) (time.Time, bool) {
	return mondayOf(m).AddDate(0, 0, 7), true
}

func endOfMonth(_ map[string]string, m time.Time, _ string) (time.Time, bool) {
	return time.Date(m.Year(), m.Month()+1, 0, 0, 0, 0, 0, m.Location()), true
}

func endOfNextMonth(_ map[string]string, m time.Time, _ string) (time.Time, bool) {
	return time.Date(m.Year(), m.Month()+2, 0, 0, 0, 0, 0, m.Location()), true
}

func endOfQuarter(_ map[string]string, m time.Time, _ string) (time.Time, bool) {
	q := (int(m.Month())-1)/3*3 + 3
	return time.Date(m.Year(), time.Month(q)+1, 0, 0, 0, 0, 0, m.Location()), true
}

func dueWeekday(g map[string]string, m time.Time, _ string) (time.Time, bool) {
	wd, ok := weekdayWords[strings.Fields(g["wd"])[0]]
	if !ok {
		return time.Time{}, false
	}
	mod := strings.TrimSpace(g["mod"] + " " + g["mod2"])
	switch {
	case nextWords[mod]:
		return mondayOf(m).AddDate(0, 0, 7+(int(wd)+6)%7), true
	case thisWords[mod]:
		t := mondayOf(m).AddDate(0, 0, (int(wd)+6)%7)
		if t.After(m) {
			return t, true
		}
	}
	days := (int(wd) - int(m.Weekday()) + 7) % 7
	if days == 0 {
		days = 7
	}
	return m.AddDate(0, 0, days), true
}

func inCount(g map[string]string, m time.Time, _ string) (time.Time, bool) {
	n, ok := numberWords[g["n"]]
	if !ok {
		v, err := strconv.Atoi(g["n"])
		if err != nil || v <= 0 || v > 366 {
			return time.Time{}, false
		}
		n = v
	}
	u := g["u"]
	switch {
	case strings.HasPrefix(u, "hour") || strings.HasPrefix(u, "stunde") || strings.HasPrefix(u, "hora") || strings.HasPrefix(u, "heure") || u == "ore" || u == "uur":
		return m.AddDate(0, 0, (n+23)/24), true
	case strings.HasPrefix(u, "week") || strings.HasPrefix(u, "semana") || strings.HasPrefix(u, "woche") || strings.HasPrefix(u, "semaine") || strings.HasPrefix(u, "settiman") || u == "weken":
		return m.AddDate(0, 0, 7*n), true
	}
	if n == 15 && (strings.HasPrefix(u, "jour") || strings.HasPrefix(u, "día") || strings.HasPrefix(u, "dia")) {
		n = 14 // "quinze jours", "quince días": two weeks
	}
	return m.AddDate(0, 0, n), true
}

// dateOf builds a date without a year as the next one on or after the meeting date.
func dateOf(m time.Time, month, day int, year string) (time.Time, bool) {
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	y := m.Year()
	if year != "" {
		v, err := strconv.Atoi(year)
		if err != nil {
			return time.Time{}, false
		}
		if v < 100 {
			v += 2000
		}
		y = v
	}
	t := time.Date(y, time.Month(month), day, 0, 0, 0, 0, m.Location())
	if t.Day() != day {
		return time.Time{}, false
	}
	if year == "" && t.Before(m) {
		t = t.AddDate(1, 0, 0)
	}
	return t, true
}

func monthDay(g map[string]string, m time.Time, _ string) (time.Time, bool) {
	mon, ok := monthWords[strings.TrimSuffix(g["mon"], ".")]
	if !ok {
		return time.Time{}, false
	}
	d := strings.TrimRight(g["d"], "stndrhe")
	if d == "1er" || d == "1" {
		d = "1"
	}
	day, err := strconv.Atoi(d)
	if err != nil {
		return time.Time{}, false
	}
	return dateOf(m, int(mon), day, g["y"])
}

// numericDate reads "15/03" day-first, or month-first in English; a first part over 12 is always a day
// and a second part over 12 always a day.
func numericDate(g map[string]string, m time.Time, lang string) (time.Time, bool) {
	a, err1 := strconv.Atoi(g["x"])
	b, err2 := strconv.Atoi(g["y2"])
	if err1 != nil || err2 != nil {
		return time.Time{}, false
	}
	day, month := a, b
	if lang == "en" {
		day, month = b, a
	}
	if month > 12 && day <= 12 {
		day, month = month, day
	}
	return dateOf(m, month, day, g["y"])
}

func dayOfMonth(g map[string]string, m time.Time, _ string) (time.Time, bool) {
	day, err := strconv.Atoi(strings.TrimRight(g["d"], "stndrh"))
	if err != nil || day < 1 || day > 31 {
		return time.Time{}, false
	}
	t := time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, m.Location())
	if day < m.Day() {
		t = t.AddDate(0, 1, 0)
	}
	last := time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, m.Location()).Day()
	if day > last {
		day = last
	}
	return time.Date(t.Year(), t.Month(), day, 0, 0, 0, 0, m.Location()), true
}

var weekdayWords = map[string]time.Weekday{}

var monthWords = map[string]time.Month{}

var numberWords = map[string]int{
	"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "ten": 10,
	"a couple of": 2, "couple of": 2, "a few": 3, "few": 3,
	"un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "diez": 10, "quince": 15,
	"einer": 1, "einem": 1, "eine": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8, "zehn": 10, "vierzehn": 14,
	"une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "dix": 10, "quinze": 15,
	"um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3, "sete": 7, "oito": 8, "dez": 10,
	"due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6, "sette": 7, "otto": 8, "dieci": 10, "quindici": 15,
	"een": 1, "één": 1, "twee": 2, "drie": 3, "vijf": 5, "zes": 6, "zeven": 7, "tien": 10, "veertien": 14,
}

var (
	nextWords = wordSet("next", "coming", "nächsten", "kommenden", "nächste", "kommende", "próximo", "próxima", "que viene", "prochain", "que vem",
		"prossimo", "prossima", "volgende", "komende", "下", "来週")
	thisWords = wordSet("this", "diesen", "diese", "este", "esta", "nesta", "nessa", "essa", "ce", "questo", "questa", "deze", "这", "本", "今週")
)

func addWeekdays(days [7]string, more ...string) {
	for i, d := range days {
		weekdayWords[d] = time.Weekday(i)
	}
	for i := 0; i+1 < len(more); i += 2 {
		weekdayWords[more[i]] = weekdayWords[more[i+1]]
	}
}

func addMonths(names [12]string, more ...string) {
	for i, n := range names {
		monthWords[n] = time.Month(i + 1)
	}
	for i := 0; i+1 < len(more); i += 2 {
		monthWords[more[i]] = monthWords[more[i+1]]
	}
}

var elidable = wordSet("je", "le", "la", "de", "ne", "me", "te", "se", "ce", "que", "jusque", "si")

// surface finds phrase, built from normalised tokens, in the sentence as said ("de ici vendredi" is
// "d'ici vendredi", "sexta feira" is "sexta-feira"); it returns phrase itself when it cannot.
func asSaid(raw, phrase string) string {
	if raw == "" || phrase == "" {
		return phrase
	}
	parts := strings.Fields(phrase)
	for i, w := range parts {
		q := regexp.QuoteMeta(w)
		if elidable[strings.ToLower(w)] {
			q = `(?:` + q + `|` + regexp.QuoteMeta(w[:len(w)-1]) + `['’])`
		}
		parts[i] = q
	}
	re, err := regexp.Compile(`(?i)` + strings.Join(parts, `[\s\-]*`))
	if err != nil {
		return phrase
	}
	if m := re.FindString(raw); m != "" {
		return m
	}
	return phrase
}
