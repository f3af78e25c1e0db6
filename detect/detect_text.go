package detect

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one word or punctuation mark of a sentence, after contraction expansion.
type token struct {
	text  string // as written
	low   string // lower case
	punct bool
}

// sentence is one sentence of an utterance, tokenised.
type sentence struct {
	raw      string // the sentence as said, for the quote
	question bool
	toks     []token
	joined   string             // lower-case tokens joined by single spaces
	offs     []int              // byte offset of each token in joined
	people   map[string]Speaker // the meeting's speakers (see Detector.meet); nil outside a Detector
}

// splitSentences splits text at sentence ends: ? ! ; and newlines always, a full stop when it ends a
// word that is not a number (so "3. Juni" and "20.05." stay whole).
func splitSentences(text string) []string {
	var out []string
	start := 0
	rs := []rune(text)
	flush := func(end int) {
		s := strings.TrimSpace(string(rs[start:end]))
		if s != "" {
			out = append(out, s)
		}
		start = end
	}
	for i, r := range rs {
		switch r {
		case '?', '!', ';', '\n', '…':
			flush(i + 1)
		case '.':
			next := i+1 >= len(rs) || unicode.IsSpace(rs[i+1])
			if next && !(i > 0 && unicode.IsDigit(rs[i-1])) {
				flush(i + 1)
			}
		}
	}
	flush(len(rs))
	return out
}

var (
	reQuote    = strings.NewReplacer("’", "'", "‘", "'", "`", "'", "´", "'", "“", " ", "”", " ", "«", " ", "»", " ", "\"", " ", "–", " , ", "—", " , ")
	reEnLL     = regexp.MustCompile(`(?i)\b(\w+)'ll\b`)
	reEnWont   = regexp.MustCompile(`(?i)\bwon't\b`)
	reEnCant   = regexp.MustCompile(`(?i)\b(can't|cannot)\b`)
	reEnShant  = regexp.MustCompile(`(?i)\bshan't\b`)
	reEnNt     = regexp.MustCompile(`(?i)\b(\w+)n't\b`)
	reEnRe     = regexp.MustCompile(`(?i)\b(\w+)'re\b`)
	reEnM      = regexp.MustCompile(`(?i)\bI'm\b`)
	reEnVe     = regexp.MustCompile(`(?i)\b(\w+)'ve\b`)
	reEnD      = regexp.MustCompile(`(?i)\b(I|we|you|he|she|they|it)'d\b`)
	reEnGonna  = regexp.MustCompile(`(?i)\bgonna\b`)
	reEnGotta  = regexp.MustCompile(`(?i)\bgotta\b`)
	reEnWanna  = regexp.MustCompile(`(?i)\bwanna\b`)
	reEnLets   = regexp.MustCompile(`(?i)\blet's\b`)
	reFrSil    = regexp.MustCompile(`(?i)\bs'(ils?)\b`)
	reFrElide  = regexp.MustCompile(`(?i)\b(j|l|d|n|m|t|s|c|qu|jusqu|lorsqu|puisqu)'`)
	reHyphenLL = regexp.MustCompile(`(\pL)-(\pL)`)
)

var frElision = map[string]string{"j": "je", "l": "le", "d": "de", "n": "ne", "m": "me", "t": "te", "s": "se", "c": "ce", "qu": "que", "jusqu": "jusque", "lorsqu": "lorsque", "puisqu": "puisque"}

// normalise expands contractions and elisions so that rules see one word per token.
func normalise(s, lang string) string {
	s = reQuote.Replace(s)
	switch lang {
	case "en":
		s = reEnWont.ReplaceAllString(s, "will not")
		s = reEnShant.ReplaceAllString(s, "shall not")
		s = reEnCant.ReplaceAllString(s, "can not")
		s = reEnNt.ReplaceAllString(s, "$1 not")
		s = reEnLL.ReplaceAllString(s, "$1 will")
		s = reEnRe.ReplaceAllString(s, "$1 are")
		s = reEnM.ReplaceAllString(s, "I am")
		s = reEnVe.ReplaceAllString(s, "$1 have")
		s = reEnD.ReplaceAllString(s, "$1 would")
		s = reEnGonna.ReplaceAllString(s, "going to")
		s = reEnGotta.ReplaceAllString(s, "got to")
		s = reEnWanna.ReplaceAllString(s, "want to")
		s = reEnLets.ReplaceAllString(s, "let us")
	case "fr":
		s = reFrSil.ReplaceAllString(s, "si $1")
		s = reFrElide.ReplaceAllStringFunc(s, func(m string) string {
			k := strings.ToLower(strings.TrimSuffix(m, "'"))
			if v, ok := frElision[k]; ok {
				if unicode.IsUpper([]rune(m)[0]) {
					v = strings.ToUpper(v[:1]) + v[1:]
				}
				return v + " "
			}
			return m
		})
		s = reHyphenLL.ReplaceAllString(s, "$1 $2")
		s = reHyphenLL.ReplaceAllString(s, "$1 $2")
	case "pt":
		s = reHyphenLL.ReplaceAllString(s, "$1 $2")
		s = reHyphenLL.ReplaceAllString(s, "$1 $2")
	}
	return s
}

// tokenize splits normalised text into words and punctuation. Inner apostrophes, slashes, dots and
// hyphens between letters or digits stay inside a word ("3/24", "20.05", "SOC-2-Bericht").
func tokenize(s string) []token {
	var toks []token
	rs := []rune(s)
	isWord := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) }
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case isCJK(r):
			// Japanese and Chinese are written without spaces: each character is a token, and the
			// rules of those languages match character sequences.
			toks = append(toks, token{text: string(r), low: string(r)})
			i++
		case isWord(r):
			j := i + 1
			for j < len(rs) {
				if isWord(rs[j]) && !isCJK(rs[j]) {
					j++
					continue
				}
				if (rs[j] == '\'' || rs[j] == '/' || rs[j] == '.' || rs[j] == '-' || rs[j] == '&') && j+1 < len(rs) && isWord(rs[j+1]) && isWord(rs[j-1]) {
					j++
					continue
				}
				break
			}
			w := string(rs[i:j])
			toks = append(toks, token{text: w, low: strings.ToLower(w)})
			i = j
		case strings.ContainsRune(",.:?!¿¡", r):
			toks = append(toks, token{text: string(r), low: string(r), punct: true})
			i++
		default:
			i++
		}
	}
	return toks
}

// disfluencies are hesitation sounds that transcripts keep and rules ignore.
var disfluencies = wordSet("um", "uh", "er", "erm", "uhm", "umm", "hmm", "mm", "äh", "ähm", "öh", "euh", "ehm", "mmm",
	"eh", "hã", "ehh", "ehmm")

// keptWords are words of a language that sound like a hesitation elsewhere: German "um" and "er",
// Dutch "er", Portuguese "um".
var keptWords = map[string]map[string]bool{"de": wordSet("um", "er"), "nl": wordSet("er"), "pt": wordSet("um")}

// isCJK reports whether r is a Han, Hiragana or Katakana character (or the long-vowel mark).
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) || r == 'ー'
}

// hasCJK reports whether s holds a Han, Hiragana or Katakana character.
func hasCJK(s string) bool { return strings.ContainsFunc(s, isCJK) }

// clean drops hesitation sounds and collapses a repeated word or word pair ("I'll I'll", "we we").
func cleanTokens(toks []token, lang string) []token {
	out := toks[:0:0]
	for _, t := range toks {
		if !disfluencies[t.low] || keptWords[lang][t.low] {
			out = append(out, t)
		}
	}
	for k := 2; k >= 1; k-- {
		var res []token
		for i := 0; i < len(out); i++ {
			if i+2*k <= len(out) && !out[i].punct && sameWords(out[i:i+k], out[i+k:i+2*k]) {
				i += k - 1 // keep the later copy
				continue
			}
			res = append(res, out[i])
		}
		out = res
	}
	return out
}

func sameWords(a, b []token) bool {
	for i := range a {
		if a[i].low != b[i].low || a[i].punct || b[i].punct {
			return false
		}
	}
	return true
}

func newSentence(raw, lang string) sentence {
	toks := cleanTokens(tokenize(normalise(raw, lang)), lang)
	s := sentence{raw: raw, toks: toks}
	var b strings.Builder
	s.offs = make([]int, len(toks))
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		s.offs[i] = b.Len()
		b.WriteString(t.low)
	}
	s.joined = b.String()
	trimmed := strings.TrimSpace(raw)
	s.question = strings.HasSuffix(trimmed, "?") || strings.HasPrefix(trimmed, "¿")
	return s
}

// known reports whether name is one of the meeting's speakers, said in lower case as ASR writes it.
func (s *sentence) known(name string) bool {
	_, ok := person(s.people, name)
	return ok
}

// span renders tokens [a,b) as lower-case words padded with spaces, for unanchored word matching.
func (s *sentence) span(a, b int) string {
	if a < 0 {
		a = 0
	}
	if b > len(s.toks) {
		b = len(s.toks)
	}
	if a >= b {
		return " "
	}
	return " " + s.joined[s.offs[a]:s.end(b-1)] + " "
}

// end is the byte offset in joined just after token i.
func (s *sentence) end(i int) int { return s.offs[i] + len(s.toks[i].low) }

// tokenAt maps a byte offset in joined to the index of the token that starts at or contains it.
func (s *sentence) tokenAt(off int) int {
	idx := 0
	for i, o := range s.offs {
		if o <= off {
			idx = i
		} else {
			break
		}
	}
	return idx
}

// phrase renders tokens [a,b) as written, without a space before punctuation.
func (s *sentence) phrase(a, b int) string {
	var sb strings.Builder
	for i := a; i < b && i < len(s.toks); i++ {
		t := s.toks[i]
		if sb.Len() > 0 && !(t.punct && t.low != "¿" && t.low != "¡") {
			sb.WriteByte(' ')
		}
		sb.WriteString(t.text)
	}
	return sb.String()
}

// words builds a regexp alternation matching any of the given words or phrases as whole tokens in a
// span string (see sentence.span).
func wordRE(list ...string) *regexp.Regexp {
	alts := make([]string, 0, len(list))
	for _, w := range list {
		alts = append(alts, regexp.QuoteMeta(w))
	}
	return regexp.MustCompile(` (?:` + strings.Join(alts, "|") + `) `)
}

// set builds a lookup set from words.
func wordSet(list ...string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, w := range list {
		m[w] = true
	}
	return m
}

// alt joins words into a regexp alternation group body.
func altRE(list ...string) string {
	q := make([]string, len(list))
	for i, w := range list {
		q[i] = regexp.QuoteMeta(w)
	}
	return strings.Join(q, "|")
}

// capitalised reports whether a word starts with an upper-case letter.
func capitalised(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.IsUpper(r)
}
