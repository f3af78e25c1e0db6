package detect

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// cjkRules are the rules of a language written without spaces between words (Japanese, Chinese).
// They match the cleaned text of a sentence directly; the other languages' rules match words.
type cjkRules struct {
	fillers    *regexp.Regexp // hesitations removed before matching: "えーと", "嗯"
	correction *regexp.Regexp // a self-correction: "いや失礼", "不对"
	question   *regexp.Regexp // a question without a question mark
	// reject: negations, refusals, past reports, conditionals and hedges of the promise itself.
	reject []*regexp.Regexp
	// unsure: hedges on the date, not the promise ("たぶん", "应该"): a commitment, less sure.
	unsure  *regexp.Regexp
	accept  *regexp.Regexp // an acceptance at the sentence start
	promise *regexp.Regexp // the verb form of a promise: "会", "来", "します"
	self    *regexp.Regexp // the speaker as the subject: "我", "私が"
	we      *regexp.Regexp // the speaker's organisation as the subject: "我们", "弊社"
	named   *regexp.Regexp // after a colleague's name, marks the colleague as the subject: "会", "が"
	object  string         // characters next to a name that make it an object: "给", "に"
	you     *regexp.Regexp // the action is directed at the listener: "你", a humble "お送りします"
	// subjectless: a promise may leave out its subject (Japanese), which is then the speaker.
	subjectless bool
	request     []*regexp.Regexp
	trim        *regexp.Regexp // politeness and particles cut from the ends of an action phrase
	dates       []cjkDate
}

// cjkDate is a due-date phrase; resolve gets the phrase's named groups.
type cjkDate struct {
	re      *regexp.Regexp
	class   dueClass
	resolve func(g map[string]string, meeting time.Time) (time.Time, bool)
}

// cjkWeekdays maps the weekday characters of both languages ("一" Monday, "金" Friday).
var cjkWeekdays = map[string]time.Weekday{
	"一": time.Monday, "二": time.Tuesday, "三": time.Wednesday, "四": time.Thursday, "五": time.Friday, "六": time.Saturday,
	"日": time.Sunday, "天": time.Sunday,
	"月": time.Monday, "火": time.Tuesday, "水": time.Wednesday, "木": time.Thursday, "金": time.Friday, "土": time.Saturday,
}

// cjkNumber reads a day or month written in digits or Chinese numerals up to 31.
func cjkNumber(s string) (int, bool) {
	if v, err := strconv.Atoi(s); err == nil {
		return v, true
	}
	digits := map[rune]int{'一': 1, '二': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}
	n := 0
	for _, r := range s {
		switch {
		case r == '十':
			if n == 0 {
				n = 1
			}
			n *= 10
		case digits[r] > 0:
			n += digits[r]
		default:
			return 0, false
		}
	}
	return n, n > 0
}

func cjkWeekday(g map[string]string, m time.Time) (time.Time, bool) {
	wd, ok := cjkWeekdays[g["wd"]]
	if !ok {
		return time.Time{}, false
	}
	return dueWeekday(map[string]string{"wd": weekdayName(wd), "mod": g["mod"]}, m, "")
}

// weekdayName is the English weekday word dueWeekday reads.
func weekdayName(wd time.Weekday) string { return strings.ToLower(wd.String()) }

func cjkMonthDay(g map[string]string, m time.Time) (time.Time, bool) {
	mon, ok1 := cjkNumber(g["mon"])
	day, ok2 := cjkNumber(g["d"])
	if !ok1 || !ok2 {
		return time.Time{}, false
	}
	return dateOf(m, mon, day, "")
}

func cjkDayOfMonth(g map[string]string, m time.Time) (time.Time, bool) {
	day, ok := cjkNumber(g["d"])
	if !ok {
		return time.Time{}, false
	}
	return dayOfMonth(map[string]string{"d": strconv.Itoa(day)}, m, "")
}

// fixed adapts a resolver that reads no groups.
func fixed(f func(map[string]string, time.Time, string) (time.Time, bool)) func(map[string]string, time.Time) (time.Time, bool) {
	return func(g map[string]string, m time.Time) (time.Time, bool) { return f(g, m, "") }
}

func cjkDateOf(class dueClass, p string, resolve func(map[string]string, time.Time) (time.Time, bool)) cjkDate {
	return cjkDate{re: regexp.MustCompile(`(?P<all>` + p + `)`), class: class, resolve: resolve}
}

// findDue finds the best due phrase of text and its byte span. After a self-correction ("火曜日に
// いや失礼水曜日に"), only a phrase after it counts, and the span covers the phrase corrected too.
func (c *cjkRules) findDue(text string, meeting time.Time) (time.Time, string, int, int) {
	from := 0
	corrAt := -1
	if loc := c.correction.FindStringIndex(text); loc != nil {
		from, corrAt = loc[1], loc[0]
	}
	var (
		best      time.Time
		bestClass dueClass
		bestA     = -1
		bestB     = -1
	)
	for _, dr := range c.dates {
		for _, loc := range dr.re.FindAllStringSubmatchIndex(text, -1) {
			if loc[0] < from && corrAt >= 0 && c.hasDue(text[from:]) {
				continue
			}
			t, ok := dr.resolve(namedGroups(dr.re, text, loc), meeting)
			if !ok {
				continue
			}
			if dr.class > bestClass || (dr.class == bestClass && (loc[0] < bestA || (loc[0] == bestA && loc[1] > bestB))) {
				best, bestClass, bestA, bestB = t, dr.class, loc[0], loc[1]
			}
		}
	}
	if bestA < 0 {
		return time.Time{}, "", -1, -1
	}
	phrase := text[bestA:bestB]
	if corrAt >= 0 && bestA >= from {
		// The corrected phrase and the correction leave the action phrase with the date.
		for _, dr := range c.dates {
			if loc := dr.re.FindStringIndex(text[:corrAt]); loc != nil && loc[0] < bestA {
				bestA = loc[0]
			}
		}
	}
	return best, phrase, bestA, bestB
}

// hasDue reports whether text holds a due phrase.
func (c *cjkRules) hasDue(text string) bool {
	for _, dr := range c.dates {
		if dr.re.MatchString(text) {
			return true
		}
	}
	return false
}

// clean removes hesitations and collapses a stutter ("我我", "私が私が") in text.
func (c *cjkRules) clean(text string) string {
	text = c.fillers.ReplaceAllString(text, "")
	text = strings.ToLower(strings.Join(strings.Fields(text), " "))
	rs := []rune(text)
	for k := 4; k >= 1; k-- {
		var out []rune
		for i := 0; i < len(rs); i++ {
			if i+2*k <= len(rs) && string(rs[i:i+k]) == string(rs[i+k:i+2*k]) && cjkRun(rs[i:i+k]) && !allSame(rs[i:i+2*k]) {
				continue // keep the later copy
			}
			out = append(out, rs[i])
		}
		rs = out
	}
	return string(rs)
}

func cjkRun(rs []rune) bool {
	for _, r := range rs {
		if !isCJK(r) {
			return false
		}
	}
	return true
}

// allSame keeps reduplications such as "看看" (take a look) apart from stutters of two-character words.
func allSame(rs []rune) bool {
	for _, r := range rs {
		if r != rs[0] {
			return false
		}
	}
	return len(rs) == 2
}

// cjkSentences splits text at sentence ends and at the spaces ASR leaves at pauses.
func cjkSentences(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return strings.ContainsRune("。！？!?；;\n", r)
	})
}

// detectCJK finds the commitments of an utterance in Japanese or Chinese.
func (d *Detector) detectCJK(c *cjkRules, u Utterance, text string, meeting time.Time) ([]found, pastUtterance) {
	ask := pastUtterance{speaker: u.Speaker}
	var out []found
	accepted := false
	for i, raw := range cjkSentences(text) {
		s := strings.ReplaceAll(c.clean(raw), " ", "")
		if s == "" {
			continue
		}
		question := strings.HasSuffix(strings.TrimSpace(raw), "?") || strings.HasSuffix(strings.TrimSpace(raw), "？") || c.question.MatchString(s)
		if question {
			if act := c.requested(s); act != "" && ask.kind == askNone {
				due, phrase, _, _ := c.findDue(s, meeting)
				ask.kind, ask.act, ask.due, ask.phrase, ask.quote = askRequest, act, due, phrase, raw
			}
			continue
		}
		rest := s
		if i == 0 {
			if loc := c.accept.FindStringIndex(s); loc != nil {
				accepted = true
				rest = s[loc[1]:]
			}
		}
		if c.rejected(rest) {
			accepted = false
			continue
		}
		if f, ok := c.commitment(rest, raw, u.Speaker, d.people, meeting); ok {
			out = append(out, f)
		}
	}
	return d.answerCJK(c, u, text, meeting, accepted, out), ask
}

// answerCJK makes an acceptance of another speaker's recent request a commitment of the speaker, and
// gives a promise that only points back ("我来查一下", "やっておきます") the action asked for.
func (d *Detector) answerCJK(c *cjkRules, u Utterance, text string, meeting time.Time, accepted bool, out []found) []found {
	if !accepted && len(out) == 0 {
		return out
	}
	prev := d.answered(u.Speaker, func(k askKind) bool { return k == askRequest })
	if prev == nil {
		return out
	}
	prev.kind = askNone
	asker := prev.speaker
	if len(out) == 0 {
		due, phrase, _, _ := c.findDue(c.clean(text), meeting)
		if due.IsZero() {
			due, phrase = prev.due, prev.phrase
		}
		cm := Commitment{What: prev.act, Owner: ownerName(u.Speaker), OwnerOrg: u.Speaker.Org, Due: due, DuePhrase: phrase,
			Confidence: 0.7, Quote: strings.TrimSpace(text)}
		if !due.IsZero() {
			cm.Confidence += 0.1
		}
		return []found{{Commitment: cm, asker: &asker}}
	}
	for i := range out {
		out[i].asker = &asker
		if len([]rune(out[i].What)) <= 4 || c.vague(out[i].What) {
			out[i].What = prev.act
		}
		if out[i].Due.IsZero() && !prev.due.IsZero() {
			out[i].Due, out[i].DuePhrase = prev.due, prev.phrase
		}
	}
	return out
}

// vague reports whether an action phrase only points back at what was asked ("这个我能做", "それは私ができます").
func (c *cjkRules) vague(what string) bool {
	return strings.Trim(what, "这个那它件事それこはがをやりしおき") == ""
}

func (c *cjkRules) rejected(s string) bool {
	for _, re := range c.reject {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// requested returns the action a question asks someone to do, or "".
func (c *cjkRules) requested(s string) string {
	for _, re := range c.request {
		if m := re.FindStringSubmatch(s); m != nil {
			return c.trim.ReplaceAllString(m[re.SubexpIndex("a")], "")
		}
	}
	return ""
}

// commitment reads one declarative sentence s (cleaned; raw as said) as a promise.
func (c *cjkRules) commitment(s, raw string, sp Speaker, people map[string]Speaker, meeting time.Time) (found, bool) {
	if !c.promise.MatchString(s) {
		return found{}, false
	}
	cm := Commitment{Owner: ownerName(sp), OwnerOrg: sp.Org, Quote: strings.TrimSpace(raw), Confidence: 0.8}
	what := s
	if who, ok := c.colleague(s, people, sp); ok {
		cm.Owner, cm.OwnerOrg = who.Name, who.Org
		what = strings.Replace(what, c.nameIn(s, people, who), "", 1)
	} else {
		switch {
		case c.we.MatchString(s):
			cm.Owner = ownerOrg(sp)
		case c.self.MatchString(s) || c.subjectless:
		default:
			return found{}, false
		}
	}
	due, phrase, dueA, dueB := c.findDue(what, meeting)
	cm.Due, cm.DuePhrase = due, phrase
	if dueA >= 0 {
		what = what[:dueA] + what[dueB:]
	}
	for range 2 { // a cut can bare another: "私が" after "じゃあ"
		what = c.trim.ReplaceAllString(what, "")
	}
	what = humble.ReplaceAllString(what, "$1") // "ご用意" is "用意" said politely
	cm.What = strings.TrimFunc(what, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
	if c.you.MatchString(s) {
		cm.Beneficiary = "you" // identify names them
	}
	if !due.IsZero() {
		cm.Confidence += 0.1
	}
	if c.unsure.MatchString(s) {
		cm.Confidence -= 0.15
	}
	return found{Commitment: cm}, true
}

// colleague finds a meeting's speaker other than sp named as the subject of s ("高橋が", "刘洋会").
// The name must not be an object ("给刘洋", "高橋に"), and the marker must follow within a few characters
// ("刘洋明天会发").
func (c *cjkRules) colleague(s string, people map[string]Speaker, sp Speaker) (Speaker, bool) {
	var (
		best    Speaker
		bestAt  = -1
		bestLen int
	)
	for name, who := range people {
		if sameSpeaker(who, sp) || !hasCJK(name) {
			continue
		}
		at := strings.Index(s, name)
		if at < 0 || (bestAt >= 0 && (at > bestAt || at == bestAt && len(name) <= bestLen)) {
			continue
		}
		if before := []rune(s[:at]); len(before) > 0 && strings.ContainsRune(c.object, before[len(before)-1]) {
			continue
		}
		after := []rune(s[at+len(name):])
		if len(after) > 0 && strings.ContainsRune(c.object, after[0]) {
			continue
		}
		if loc := c.named.FindStringIndex(string(after[:min(len(after), 8)])); loc == nil {
			continue
		}
		best, bestAt, bestLen = who, at, len(name)
	}
	return best, bestAt >= 0
}

// nameIn returns the words of s that name who (a full name, or a surname).
func (c *cjkRules) nameIn(s string, people map[string]Speaker, who Speaker) string {
	best := ""
	for name, p := range people {
		if sameSpeaker(p, who) && strings.Contains(s, name) && len(name) > len(best) {
			best = name
		}
	}
	return best
}

// humble is the polite prefix of a Japanese verbal noun: "お送り", "ご用意".
var humble = regexp.MustCompile(`[おご](\p{Han})`)

// cjkLanguage tells Japanese (any kana) from Chinese (Han only) when text is mostly in those scripts;
// it returns "" otherwise.
func cjkLanguage(text string) string {
	han, kana, other := 0, 0, 0
	for _, r := range text {
		switch {
		case unicode.In(r, unicode.Hiragana, unicode.Katakana):
			kana++
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.IsLetter(r):
			other++
		}
	}
	switch {
	case kana+han == 0 || other > 2*(kana+han):
		return ""
	case kana > 0:
		return "ja"
	}
	return "zh"
}

// cjkFor holds the rules of the languages written without spaces, by code.
var cjkFor = map[string]*cjkRules{"ja": japanese(), "zh": chinese()}
