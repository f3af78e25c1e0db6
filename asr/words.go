package asr

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Word placement. A decode's segments become words on the stream's sample
// clock: tokens grouped into words and placed by their times, with what the
// hallucination guards reject and the repeat of the committed tail left out.
// The words' keys are what LocalAgreement compares.

// word is one word of a hypothesis, placed on the stream's sample clock.
type word struct {
	text       string // as decoded, trimmed
	key        string // normalized, for comparison
	start, end int64
	tokens     []placedToken
	lang       string
	noSpeech   float32
}

type placedToken struct {
	Token
	start, end int64
}

// hypothesis turns a decode into words on the stream clock, leaving out what
// the guards judge hallucinated.
func (s *Stream) hypothesis(res Result, window []float32) []word {
	short := durationOf(int64(s.utterance)) < shortUtterance
	var words []word
	for _, seg := range res.Segments {
		if silentSegment(seg) {
			s.drop("silence", seg.Text)
			continue
		}
		from := min(samplesOf(max(seg.Start, 0)), int64(len(window)))
		to := min(samplesOf(max(seg.End, 0)), int64(len(window)))
		audio := window[from:max(from, to)]
		if len(audio) == 0 {
			audio = window
		}
		doubtful := seg.NoSpeechProb >= phraseNoSpeech || rms(audio) < quietRMS
		if knownPhrase(seg.Text, doubtful, short) {
			s.drop("known phrase", seg.Text)
			continue
		}
		lang := seg.Language
		if lang == "" {
			lang = res.Language
		}
		words = append(words, s.dropAnnotations(s.segmentWords(seg, lang, int64(len(window))))...)
	}
	if len(words) == 0 {
		return nil
	}
	keys := make([]string, len(words))
	for i, w := range words {
		keys[i] = w.key
	}
	if cut, ok := loopStart(keys); ok {
		s.drop("repetition", joinWords(words[cut:]))
		words = words[:cut]
	}
	if text := joinWords(words); compressionRatio(text) > maxCompressionRatio {
		s.drop("compression ratio", text)
		return nil
	}
	return words
}

func (s *Stream) drop(reason, text string) {
	s.stats.Dropped++
	s.log.Debug("asr stream: dropped hallucination", "reason", reason, "text", text)
}

// segmentWords groups a segment's tokens into words: a token that begins
// with a space starts a word, others continue it, and a word of punctuation
// alone joins the word before. Without tokens, the text's words share the
// segment's time evenly.
func (s *Stream) segmentWords(seg Segment, lang string, n int64) []word {
	place := func(d time.Duration) int64 { return s.bufStart + min(max(samplesOf(d), 0), n) }
	var words []word
	add := func(text string, start, end int64, tokens []placedToken) {
		text = strings.TrimSpace(text)
		key := normalize(text)
		if key == "" {
			if len(words) > 0 && text != "" && isPunct(text) {
				last := &words[len(words)-1]
				last.text += text
				last.end = max(last.end, end)
				last.tokens = append(last.tokens, tokens...)
			}
			return
		}
		if len(words) > 0 {
			start = max(start, words[len(words)-1].start)
		}
		words = append(words, word{text: text, key: key, start: start, end: max(start, end), tokens: tokens, lang: lang, noSpeech: seg.NoSpeechProb})
	}
	if len(seg.Tokens) == 0 {
		fields := strings.Fields(seg.Text)
		a, b := place(seg.Start), place(seg.End)
		for i, f := range fields {
			k := int64(len(fields))
			add(f, a+(b-a)*int64(i)/k, a+(b-a)*int64(i+1)/k, nil)
		}
		return words
	}
	var text strings.Builder
	var toks []placedToken
	flush := func() {
		if len(toks) > 0 {
			add(text.String(), toks[0].start, toks[len(toks)-1].end, toks)
		}
		text.Reset()
		toks = nil
	}
	for _, t := range seg.Tokens {
		if strings.HasPrefix(t.Text, " ") && len(toks) > 0 {
			flush()
		}
		pt := placedToken{Token: t, start: place(t.Start), end: place(t.End)}
		pt.end = max(pt.end, pt.start)
		text.WriteString(t.Text)
		toks = append(toks, pt)
	}
	flush()
	return words
}

func isPunct(text string) bool {
	for _, r := range text {
		if !unicode.IsPunct(r) {
			return false
		}
	}
	return true
}

// dropAnnotations removes non-speech annotations such as "[Music]" or
// "(upbeat music)" that Whisper writes for sounds.
func (s *Stream) dropAnnotations(words []word) []word {
	out := words[:0]
	for i := 0; i < len(words); i++ {
		closer, ok := annotation(words[i].text)
		if !ok {
			out = append(out, words[i])
			continue
		}
		j := i
		if closer != 0 {
			for j < len(words) && !closesWith(words[j].text, closer, j == i) {
				j++
			}
			if j == len(words) {
				j = len(words) - 1
			}
		}
		s.drop("annotation", joinWords(words[i:j+1]))
		i = j
	}
	return out
}

// closesWith reports whether text ends an annotation closed by closer; the
// opening word of a '*' annotation needs a second star.
func closesWith(text string, closer rune, opening bool) bool {
	text = strings.TrimRightFunc(text, func(r rune) bool { return r != closer && unicode.IsPunct(r) })
	last, _ := utf8.DecodeLastRuneInString(text)
	if last != closer {
		return false
	}
	return !opening || closer != '*' || strings.Count(text, "*") >= 2
}

// dropRepeatedTail removes a hypothesis prefix that repeats the committed
// tail: the audio of committed words is cut, but word times are approximate
// and a word's end can stay in the buffer.
func (s *Stream) dropRepeatedTail(words []word) []word {
	if len(s.tail) == 0 || len(words) == 0 || durationOf(words[0].start-s.lastCommit) > dedupWindow {
		return words
	}
	for n := min(dedupWords, len(s.tail), len(words)); n > 0; n-- {
		if sameWords(s.tail[len(s.tail)-n:], words[:n]) {
			s.drop("repeated committed words", joinWords(words[:n]))
			return words[n:]
		}
	}
	return words
}

func sameWords(a, b []word) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].key != b[i].key {
			return false
		}
	}
	return true
}

// dropBefore keeps the words that start at or after pos.
func dropBefore(words []word, pos int64) []word {
	for len(words) > 0 && words[0].start < pos {
		words = words[1:]
	}
	return words
}

func joinWords(words []word) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = w.text
	}
	return strings.Join(parts, " ")
}
