package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ledgerline/ledgerline/internal/chat"
)

// Refiner double-checks the rule-based detector's findings with a language
// model. It is optional: without one, or when it fails, the rule-based
// commitments stand as found.
type Refiner interface {
	// Refine returns one verdict per commitment of found, in order.
	Refine(ctx context.Context, u Utterance, found []Commitment) ([]Verdict, error)
}

// Verdict is a refiner's judgement of one commitment.
type Verdict struct {
	Keep bool   // a real commitment
	What string // a better action phrase; "" keeps the detector's
}

// ErrRefiner wraps every failure of a ChatRefiner.
var ErrRefiner = errors.New("detect: refiner")

// ChatRefiner asks any OpenAI-compatible chat-completions endpoint (a local
// llama.cpp server, Ollama, a hosted API) to confirm commitments.
type ChatRefiner struct {
	// URL is the API base, such as http://127.0.0.1:8080/v1; the request goes
	// to URL + "/chat/completions".
	URL string
	// Model names the model the endpoint should use.
	Model string
	// APIKey, when set, is sent as a Bearer token. It never appears in errors.
	APIKey string
	// Client makes the requests; nil means one with a 10 s timeout.
	Client *http.Client
}

var _ Refiner = (*ChatRefiner)(nil)

const refinerPrompt = `You check commitments found by rules in one utterance of a business call between a vendor, its partner and a buyer.
A commitment is a promise by the speaker (I/we) to do something for another party, or an accepted request.
Not commitments: questions, hypotheticals, hedges ("we might"), refusals, reports of the past, plans internal to one company.
Answer with JSON only: {"verdicts":[{"index":N,"keep":true|false,"what":"short action phrase"}]}, one verdict per candidate.`

type refinerCandidate struct {
	Index int    `json:"index"`
	What  string `json:"what"`
	Owner string `json:"owner"`
	Due   string `json:"due_phrase,omitempty"`
}

type refinerVerdict struct {
	Index int    `json:"index"`
	Keep  bool   `json:"keep"`
	What  string `json:"what"`
}

// Refine implements Refiner.
func (r *ChatRefiner) Refine(ctx context.Context, u Utterance, found []Commitment) ([]Verdict, error) {
	if len(found) == 0 {
		return nil, nil
	}
	cands := make([]refinerCandidate, len(found))
	for i, c := range found {
		cands[i] = refinerCandidate{Index: i, What: c.What, Owner: c.Owner, Due: c.DuePhrase}
	}
	user, err := json.Marshal(struct {
		Speaker    Speaker            `json:"speaker"`
		Utterance  string             `json:"utterance"`
		Candidates []refinerCandidate `json:"candidates"`
	}{u.Speaker, u.Text, cands})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefiner, err)
	}
	answer, err := chat.Endpoint{URL: r.URL, Model: r.Model, APIKey: r.APIKey, Client: r.Client}.Complete(ctx, refinerPrompt, string(user))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefiner, err)
	}
	var out struct {
		Verdicts []refinerVerdict `json:"verdicts"`
	}
	if err := json.Unmarshal([]byte(chat.JSONObject(answer)), &out); err != nil {
		return nil, fmt.Errorf("%w: the model's answer is not the JSON asked for: %w", ErrRefiner, err)
	}
	// A candidate the model says nothing about is kept: the rules stand
	// unless contradicted.
	verdicts := make([]Verdict, len(found))
	for i := range verdicts {
		verdicts[i].Keep = true
	}
	for _, v := range out.Verdicts {
		if v.Index >= 0 && v.Index < len(found) {
			verdicts[v.Index].Keep = v.Keep
			if w := strings.TrimSpace(v.What); v.Keep && len(w) <= 200 {
				verdicts[v.Index].What = w
			}
		}
	}
	return verdicts, nil
}
