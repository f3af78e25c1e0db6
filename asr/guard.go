package asr

import (
	"bytes"
	"compress/zlib"
	"math"
	"slices"
	"strings"
	"unicode"
)

// Hallucination guards. Whisper, trained on subtitles, answers silence and
// noise with the credit lines and sign-offs that close videos, and a confused
// decoder loops on one phrase. These checks follow whisper's own decoding
// rules (no-speech probability with average log-probability, compression
// ratio) and add a phrase list that applies only where the audio gives a
// reason to doubt it.
const (
	// A segment is silence when its no-speech probability is above
	// silenceNoSpeech and its tokens' mean log-probability below silenceLogProb.
	silenceNoSpeech = 0.6
	silenceLogProb  = -1.0
	// Text that compresses better than this (zlib, as whisper measures it) is
	// a loop, not speech.
	maxCompressionRatio = 2.4
	// Known phrases are dropped only when the no-speech probability reaches
	// phraseNoSpeech or the audio under the segment is quieter than quietRMS
	// (about -50 dBFS); credit lines also on short utterances.
	phraseNoSpeech = 0.3
	quietRMS       = 0.003
	// An n-gram of up to maxLoopN words repeated loopRepeats times in a row
	// is a loop; a single word needs loopRepeatsWord ("no, no, no" is speech).
	maxLoopN        = 8
	loopRepeats     = 3
	loopRepeatsWord = 4
)

// commonPhrases are things people do say, which Whisper also invents on
// silence: dropped only when the whole segment is one of them and the audio is
// doubtful.
var commonPhrases = normalizedSet(
	"you", "thank you", "thank you very much", "thank you so much", "thanks", "thanks a lot", "bye", "bye bye",
	"gracias", "muchas gracias", "obrigado", "obrigada", "muito obrigado", "muito obrigada",
	"merci", "merci beaucoup", "danke", "danke schön", "vielen dank", "grazie", "grazie mille",
	"dank je", "dank je wel", "dziękuję", "спасибо", "большое спасибо", "ありがとうございました", "谢谢", "감사합니다",
)

// creditPhrases close subtitled videos and are never meeting speech: dropped
// when a segment contains one and the audio is doubtful or short.
var creditPhrases = normalizedList(
	"subtitles by", "subtitled by", "captions by", "captioning by", "transcribed by", "transcription by",
	"thanks for watching", "thank you for watching", "please subscribe", "like and subscribe", "amara.org",
	"sous-titres réalisés par", "sous-titrage", "merci d'avoir regardé",
	"untertitel im auftrag", "untertitelung", "untertitel von", "danke fürs zuschauen", "vielen dank fürs zuschauen",
	"subtítulos realizados por", "subtítulos por", "gracias por ver", "legendas pela", "obrigado por assistir",
	"sottotitoli creati dalla", "sottotitoli a cura di", "grazie per la visione", "ondertiteld door", "bedankt voor het kijken",
	"napisy stworzone przez", "субтитры сделал", "редактор субтитров", "продолжение следует",
	"ご視聴ありがとうございました", "谢谢观看", "字幕由", "시청해주셔서 감사합니다",
)

// normalize lowercases text and turns punctuation and symbols into single
// spaces, so that "¡Gracias!" and "gracias" compare equal.
func normalize(text string) string {
	text = strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) || unicode.IsSymbol(r) {
			return ' '
		}
		return unicode.ToLower(r)
	}, text)
	return strings.Join(strings.Fields(text), " ")
}

func normalizedList(phrases ...string) []string {
	out := make([]string, len(phrases))
	for i, p := range phrases {
		out[i] = normalize(p)
	}
	return out
}

func normalizedSet(phrases ...string) map[string]bool {
	out := make(map[string]bool, len(phrases))
	for _, p := range normalizedList(phrases...) {
		out[p] = true
	}
	return out
}

// silentSegment applies whisper's own silence rule: a high no-speech
// probability counts only when the text was decoded with little confidence.
func silentSegment(seg Segment) bool {
	return seg.NoSpeechProb > silenceNoSpeech && meanLogProb(seg.Tokens) < silenceLogProb
}

// meanLogProb is the tokens' mean log-probability; without tokens there is
// no confidence to speak of.
func meanLogProb(tokens []Token) float64 {
	if len(tokens) == 0 {
		return math.Inf(-1)
	}
	var sum float64
	for _, t := range tokens {
		sum += math.Log(math.Max(float64(t.P), 1e-10))
	}
	return sum / float64(len(tokens))
}

// knownPhrase reports whether text is a known hallucination given how much
// the audio under it is in doubt: doubtful (high no-speech probability or
// quiet audio) admits both lists, short admits credit lines only.
func knownPhrase(text string, doubtful, short bool) bool {
	n := normalize(text)
	if n == "" {
		return false
	}
	if doubtful && commonPhrases[n] {
		return true
	}
	if !doubtful && !short {
		return false
	}
	for _, c := range creditPhrases {
		if strings.Contains(n, c) {
			return true
		}
	}
	return false
}

// loopStart finds the first n-gram of keys repeated in a row often enough to
// be a decoding loop. It returns the index just past the first copy, where
// the text should be cut, and whether a loop was found.
func loopStart(keys []string) (int, bool) {
	for i := range keys {
		for n := 1; n <= maxLoopN && i+n*2 <= len(keys); n++ {
			need := loopRepeats
			if n == 1 {
				need = loopRepeatsWord
			}
			if i+n*need > len(keys) {
				continue
			}
			reps := 1
			for j := i + n; j+n <= len(keys) && slices.Equal(keys[i:i+n], keys[j:j+n]); j += n {
				reps++
			}
			if reps >= need {
				return i + n, true
			}
		}
	}
	return 0, false
}

// compressionRatio is len(text) over its zlib-compressed length, whisper's
// measure of repetitive output.
func compressionRatio(text string) float64 {
	if text == "" {
		return 0
	}
	var b bytes.Buffer
	z := zlib.NewWriter(&b)
	// Writes to a bytes.Buffer cannot fail.
	_, _ = z.Write([]byte(text))
	_ = z.Close()
	return float64(len(text)) / float64(b.Len())
}

// rms is the root-mean-square level of pcm.
func rms(pcm []float32) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

// annotation reports whether a word opens a non-speech annotation such as
// "[Music]", "(applause)", "*laughs*" or "♪", and which rune closes it.
func annotation(text string) (closer rune, ok bool) {
	t := strings.TrimSpace(text)
	if t == "" {
		return 0, false
	}
	switch []rune(t)[0] {
	case '[':
		return ']', true
	case '(':
		return ')', true
	case '*':
		return '*', true
	case '♪', '♫', '🎵', '🎶':
		return 0, true
	}
	return 0, false
}
