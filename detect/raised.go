package detect

import (
	"strings"
	"unicode"
)

// Raised splits text said in language lang into sentences and returns those that ask a question
// and those that raise an objection.
func Raised(text, lang string) (questions, objections []string) {
	for _, s := range splitSentences(text) {
		if IsQuestion(s, lang) {
			questions = append(questions, s)
		}
		if IsObjection(s) {
			objections = append(objections, s)
		}
	}
	return questions, objections
}

// IsQuestion reports whether a sentence in language lang (ISO 639-1, one of Languages()) asks a
// question: it ends with "?" or "？", opens with "¿", opens with an interrogative word and does not end
// with a full stop or an exclamation mark, or (Japanese, Chinese) ends with a question particle.
func IsQuestion(sentence, lang string) bool {
	s := strings.TrimSpace(sentence)
	if s == "" {
		return false
	}
	if strings.HasSuffix(s, "?") || strings.HasSuffix(s, "？") || strings.HasPrefix(s, "¿") {
		return true
	}
	if c := cjkFor[baseLanguage(lang)]; c != nil {
		return c.question.MatchString(strings.TrimRight(c.clean(s), "。！!"))
	}
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "…") {
		return false
	}
	low := " " + strings.Join(normWords(s), " ") + " "
	for _, o := range questionOpeners[lang] {
		if strings.HasPrefix(low, " "+o+" ") {
			return true
		}
	}
	return false
}

// questionOpeners are the words that open a question, by language.
var questionOpeners = map[string][]string{
	"en": {"what", "when", "where", "who", "whom", "whose", "why", "which", "how", "can", "could", "would", "will",
		"shall", "should", "do", "does", "did", "is", "are", "was", "were", "have", "has", "may", "any"},
	"es": {"qué", "que", "cuándo", "cuando", "dónde", "quién", "quiénes", "por qué", "cuál", "cuáles", "cómo",
		"cuánto", "cuántos", "cuánta", "puede", "pueden", "podemos", "podrían", "podría", "hay", "tienen", "es"},
	"de": {"was", "wann", "wo", "wer", "wen", "wem", "warum", "wieso", "weshalb", "welche", "welcher", "welches",
		"wie", "können", "könnt", "kann", "könnten", "haben", "habt", "hat", "ist", "sind", "gibt", "sollen", "wollen"},
	"fr": {"qu", "que", "quoi", "quand", "où", "qui", "pourquoi", "quel", "quelle", "quels", "quelles", "comment",
		"combien", "est-ce", "est ce", "pouvez", "pourriez", "peut", "avez", "y a-t-il"},
	"pt": {"o que", "que", "quando", "onde", "quem", "por que", "porque", "qual", "quais", "como", "quanto",
		"quantos", "pode", "podem", "poderia", "poderiam", "tem", "têm", "há", "é"},
	"it": {"che", "cosa", "che cosa", "quando", "dove", "chi", "perché", "quale", "quali", "come", "quanto",
		"quanti", "puoi", "potete", "può", "possono", "potresti", "c'è", "ci sono", "avete", "hai"},
	"nl": {"wat", "wanneer", "waar", "wie", "waarom", "welke", "welk", "hoe", "hoeveel", "kun", "kunt", "kunnen",
		"kan", "zou", "zouden", "heb", "hebben", "heeft", "is", "zijn", "gaan", "wil", "wilt"},
}

// objectionCues are phrases that raise an objection or a risk, in every language; each matches at
// the start of a word ("concern" matches "concerns"), or as a whole word when it ends with a space.
var objectionCues = []string{
	// en
	"too expensive", "expensive", "too high", "too much", "over budget", "out of budget", "no budget",
	"concern", "worried", "worry", "not sure", "unsure", "not convinced", "blocker", "blocking",
	"deal breaker", "dealbreaker", "showstopper", "risk",
	// es
	"demasiado caro", "muy caro", "me preocupa", "nos preocupa", "preocupación", "no estoy seguro",
	"no estoy segura", "no estamos seguros", "bloqueo", "bloqueante", "fuera de presupuesto", "riesgo",
	// de
	"zu teuer", "teuer", "bedenken", "sorgen mach", "nicht sicher", "nicht überzeugt", "blocker", "hindernis", "risiko",
	// fr
	"trop cher", "cher ", "inquiet", "inquiète", "préoccup", "pas sûr", "pas certain", "bloquant", "blocage",
	"souci", "risque",
	// pt
	"muito caro", "caro demais", "preocupa", "preocupação", "não tenho certeza", "não sei se", "bloqueio",
	"impeditivo", "risco",
	// it
	"troppo caro", "troppo costoso", "costoso", "mi preoccupa", "ci preoccupa", "preoccupazion",
	"non sono sicur", "non siamo sicuri", "non convint", "bloccante", "fuori budget", "fuori dal budget", "rischio",
	// nl
	"te duur", "duur ", "zorgen over", "bezorgd", "niet zeker", "niet overtuigd", "blokkade", "blokkerend",
	"buiten het budget", "buiten budget", "geen budget", "risico",
}

// cjkObjectionCues are the objection cues of Japanese and Chinese, written without spaces between
// words: they match anywhere in a sentence.
var cjkObjectionCues = []string{
	// ja
	"高すぎ", "心配", "懸念", "不安", "確信が持てない", "自信がない", "リスク", "予算オーバー", "予算外", "障害",
	// zh
	"太贵", "太高", "很贵", "担心", "顾虑", "不确定", "没把握", "风险", "超出预算", "没有预算", "障碍",
}

// IsObjection reports whether a sentence raises an objection, by its cue phrases ("too expensive",
// "concern", "not sure", "blocker", "demasiado caro", "zu teuer", "trop cher", "muito caro", "troppo
// caro", "te duur", "高すぎ", "太贵"…).
func IsObjection(sentence string) bool {
	low := " " + strings.Join(normWords(sentence), " ") + " "
	for _, c := range objectionCues {
		if strings.Contains(low, " "+c) {
			return true
		}
	}
	for _, c := range cjkObjectionCues {
		if strings.Contains(sentence, c) {
			return true
		}
	}
	return false
}

// normWords lower-cases s and splits it into words, keeping letters, digits, apostrophes inside
// words and hyphens.
func normWords(s string) []string {
	s = strings.ToLower(strings.ReplaceAll(s, "’", "'"))
	return strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-'
	})
}
