package summary

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ledgerline/ledgerline/internal/chat"
)

// Narrator writes a short account of a transcript, each sentence citing the segments it rests on.
type Narrator interface {
	Narrate(ctx context.Context, segments []Segment) ([]Line, error)
}

// ErrNarrator wraps every failure of a ChatNarrator.
var ErrNarrator = errors.New("summary: narrator")

// ChatNarrator asks an OpenAI-compatible chat-completions endpoint (a local llama.cpp server,
// Ollama) for the narrative: the same endpoint, model and key as the commitment refiner's.
type ChatNarrator struct {
	// URL is the API base, such as http://127.0.0.1:8080/v1; the request goes to
	// URL + "/chat/completions".
	URL string
	// Model names the model the endpoint should use.
	Model string
	// APIKey, when set, is sent as a Bearer token. It never appears in errors.
	APIKey string
	// Client makes the requests; nil means one with a 60 s timeout (Narrate's own is shorter).
	Client *http.Client
}

var _ Narrator = (*ChatNarrator)(nil)

// Limits of a narrative.
const (
	maxTranscript = 24000 // characters of transcript sent: a small local model's context
	maxSentences  = 6
	maxSentence   = 400 // characters of one sentence
)

const narratorPrompt = `You summarise a business call between a vendor, its partner and a buyer, from its transcript only.
Each transcript line starts with its segment ID in brackets. Write at most 5 short sentences: what the call was about, what was decided, what happens next.
Use only what the transcript says; invent nothing. Every sentence must cite the IDs of the segments it rests on.
Answer with JSON only: {"sentences":[{"text":"...","cites":["segment ID", ...]}]}`

// Narrate implements Narrator. The sentences come back as the model wrote them, unchecked: see Check.
func (n *ChatNarrator) Narrate(ctx context.Context, segments []Segment) ([]Line, error) {
	if len(segments) == 0 {
		return nil, nil
	}
	var transcript strings.Builder
	for _, g := range segments {
		line := "[" + g.ID + "] " + who(g) + ": " + strings.Join(strings.Fields(g.Text), " ") + "\n"
		if transcript.Len()+len(line) > maxTranscript {
			break
		}
		transcript.WriteString(line)
	}
	endpoint := chat.Endpoint{URL: n.URL, Model: n.Model, APIKey: n.APIKey, Client: n.Client, Timeout: 60 * time.Second}
	content, err := endpoint.Complete(ctx, narratorPrompt, transcript.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNarrator, err)
	}
	var out struct {
		Sentences []struct {
			Text  string   `json:"text"`
			Cites []string `json:"cites"`
		} `json:"sentences"`
	}
	if err := json.Unmarshal([]byte(chat.JSONObject(content)), &out); err != nil {
		return nil, fmt.Errorf("%w: the model's answer is not the JSON asked for: %w", ErrNarrator, err)
	}
	lines := make([]Line, 0, len(out.Sentences))
	for _, s := range out.Sentences {
		lines = append(lines, Line{Text: strings.TrimSpace(s.Text), SegmentIDs: s.Cites})
	}
	return lines, nil
}

// Narrate asks n for a narrative of segments within timeout and keeps what Check keeps. With no
// narrator, or one that fails or is late, there is no narrative: the error says why, for a log.
func Narrate(ctx context.Context, n Narrator, segments []Segment, timeout time.Duration) ([]Line, error) {
	if n == nil || len(segments) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	lines, err := n.Narrate(ctx, segments)
	if err != nil {
		return nil, err
	}
	return Check(lines, segments), nil
}

// Check keeps the narrative lines the transcript bears out: each must cite at least one segment,
// every segment it cites must exist, and most of its content words must be said in them. Kept
// lines cite their segments in transcript order, start where the first was said, and are at
// most maxSentences.
func Check(lines []Line, segments []Segment) []Line {
	index := make(map[string]int, len(segments))
	for i, g := range segments {
		index[g.ID] = i
	}
	var out []Line
	for _, l := range lines {
		if l.Text == "" || len([]rune(l.Text)) > maxSentence || len(l.SegmentIDs) == 0 || len(out) == maxSentences {
			continue
		}
		var cited []int
		for _, id := range l.SegmentIDs {
			i, ok := index[id]
			if !ok {
				cited = nil
				break
			}
			if !slices.Contains(cited, i) {
				cited = append(cited, i)
			}
		}
		if len(cited) == 0 {
			continue
		}
		slices.Sort(cited)
		var said strings.Builder
		for _, i := range cited {
			said.WriteString(segments[i].Text)
			said.WriteByte(' ')
		}
		if !supported(l.Text, said.String()) {
			continue
		}
		kept := Line{Text: l.Text, StartMS: segments[cited[0]].StartMS}
		for _, i := range cited {
			kept.SegmentIDs = append(kept.SegmentIDs, segments[i].ID)
		}
		out = append(out, kept)
	}
	return out
}

// supported reports whether most of claim's content words (four letters or more, or any word of
// a script without spaces) appear in evidence, matched on their first five letters so that
// "agreed" finds "agree" and "pilots" finds "pilot".
func supported(claim, evidence string) bool {
	have := map[string]bool{}
	for _, w := range words(evidence) {
		have[stem(w)] = true
	}
	var content, found int
	for _, w := range words(claim) {
		if len([]rune(w)) < 4 || stopWords[w] {
			continue
		}
		content++
		if have[stem(w)] {
			found++
		}
	}
	return content > 0 && found*2 >= content
}

func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func stem(w string) string {
	r := []rune(w)
	if len(r) > 5 {
		r = r[:5]
	}
	return string(r)
}

// stopWords are words of four letters or more that a summary uses without the transcript saying
// them: they neither support nor undermine a sentence.
var stopWords = map[string]bool{
	"that": true, "this": true, "with": true, "will": true, "they": true, "their": true, "them": true, "from": true,
	"have": true, "were": true, "been": true, "about": true, "call": true, "meeting": true, "team": true, "also": true,
	"which": true, "would": true, "should": true, "there": true, "into": true, "then": true, "than": true, "what": true,
	"when": true, "said": true, "says": true, "discussed": true, "mentioned": true, "asked": true, "noted": true,
}
