package summary

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Segment is one final segment of a transcript, as the summary reads it.
type Segment struct {
	ID      string
	Speaker string // the speaker's name
	Org     string // their organisation, when known
	StartMS int64
	Text    string
	// Language is the ISO 639-1 code of the words; "" when unknown.
	Language string
}

// Line is one line of a summary and where it comes from.
type Line struct {
	Text       string   `json:"text"`
	Who        string   `json:"who,omitempty"`         // who said it, with their organisation
	SegmentIDs []string `json:"segment_ids,omitempty"` // the segments it comes from, first first
	StartMS    int64    `json:"start_ms"`              // meeting clock of the first of them
}

// Summary is what a meeting came to. Each list is in the order things were said.
type Summary struct {
	Narrative []Line `json:"narrative,omitempty"` // a model's account, checked against the transcript
	Decisions []Line `json:"decisions"`
	NextSteps []Line `json:"next_steps"`
	Risks     []Line `json:"risks"` // risks and objections
	Questions []Line `json:"open_questions"`
}

// Input is what Extract reads: the transcript, and what the meeting's record already found in it
// (commitments as next steps, objections, unanswered questions), each citing its segments.
type Input struct {
	Segments   []Segment
	NextSteps  []Line
	Objections []Line
	Questions  []Line
}

// Empty reports whether the summary has nothing to say.
func (s Summary) Empty() bool {
	return len(s.Narrative)+len(s.Decisions)+len(s.NextSteps)+len(s.Risks)+len(s.Questions) == 0
}

// decisionPatterns are how people say, in the languages commitments are detected in, that
// something was decided: "we agreed to start with the pilot", "let's go with", "decided".
var decisionPatterns = regexp.MustCompile(`(?i)\b(` +
	// English
	`we(?:'ve| have)? (?:all )?agreed|(?:it's|it is|that's) (?:agreed|decided)|agreed[,:] |we(?:'ve| have)? decided|` +
	`(?:we'll|we will|let's|let us) go (?:ahead )?with|let's (?:start|proceed|stick) with|` +
	`(?:the|our) decision is|we're going (?:ahead )?with|we are going (?:ahead )?with|decision:|` +
	// Spanish
	`(?:hemos |)acordado|quedamos en|(?:hemos |)decidido|vamos con|` +
	// German
	`wir haben (?:uns )?(?:geeinigt|entschieden|beschlossen)|wir einigen uns|abgemacht|` +
	// French
	`nous avons (?:convenu|décidé)|on a (?:convenu|décidé)|c'est décidé|on part sur|` +
	// Portuguese
	`(?:nós |)(?:combinamos|decidimos|concordamos)|vamos seguir com` +
	`)`)

// questionLike is a sentence that asks rather than settles.
func questionLike(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasSuffix(s, "?") || strings.HasPrefix(s, "¿")
}

// Extract writes the summary of a transcript without a model: the decisions it finds in the
// segments, and the next steps, objections and questions of in, in the order they were said.
func Extract(in Input) Summary {
	s := Summary{
		Decisions: []Line{},
		NextSteps: sorted(in.NextSteps),
		Risks:     sorted(in.Objections),
		Questions: sorted(in.Questions),
	}
	for _, g := range in.Segments {
		for _, sentence := range sentences(g.Text) {
			if questionLike(sentence) || !decisionPatterns.MatchString(sentence) {
				continue
			}
			s.Decisions = append(s.Decisions, Line{Text: sentence, Who: who(g), SegmentIDs: []string{g.ID}, StartMS: g.StartMS})
		}
	}
	return s
}

func who(g Segment) string {
	if g.Org != "" && g.Speaker != "" {
		return g.Speaker + " (" + g.Org + ")"
	}
	return g.Speaker
}

// sorted returns lines in the order they were said, never nil.
func sorted(lines []Line) []Line {
	out := slices.Clone(lines)
	if out == nil {
		out = []Line{}
	}
	slices.SortStableFunc(out, func(a, b Line) int {
		switch {
		case a.StartMS < b.StartMS:
			return -1
		case a.StartMS > b.StartMS:
			return 1
		}
		return 0
	})
	return out
}

// sentences splits text after its sentence ends (. ! ? and their CJK forms).
func sentences(text string) []string {
	var out []string
	start := 0
	runes := []rune(text)
	for i, r := range runes {
		if !strings.ContainsRune(".!?。！？", r) {
			continue
		}
		if r == '.' && i+1 < len(runes) && !unicode.IsSpace(runes[i+1]) {
			continue // "v2.1", "e.g."
		}
		if s := strings.TrimSpace(string(runes[start : i+1])); s != "" {
			out = append(out, s)
		}
		start = i + 1
	}
	if s := strings.TrimSpace(string(runes[start:])); s != "" {
		out = append(out, s)
	}
	return out
}
