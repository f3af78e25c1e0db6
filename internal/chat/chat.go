// Package chat sends one request to an OpenAI-compatible chat-completions endpoint (a local
// llama.cpp server, Ollama, a hosted API): a system and a user message in, the answer's text out,
// and the JSON object a model was asked for cut out of whatever prose or code fence wraps it.
//
// Concurrency: an Endpoint may be used by many goroutines at once. Nothing here starts one.
package chat

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Endpoint is where and how to ask.
type Endpoint struct {
	// URL is the API base, such as http://127.0.0.1:8080/v1; the request goes to
	// URL + "/chat/completions".
	URL string
	// Model names the model the endpoint should use.
	Model string
	// APIKey, when set, is sent as a Bearer token. It never appears in errors.
	APIKey string
	// Client makes the requests; nil means one with Timeout.
	Client *http.Client
	// Timeout bounds a request made with the default client; 0 means 10 s.
	Timeout time.Duration
}

// maxAnswer bounds the bytes of an answer read.
const maxAnswer = 1 << 20

// ErrAnswer reports an answer that is not a chat completion.
var ErrAnswer = errors.New("chat: not a chat-completions answer")

// Complete asks e, at temperature 0, and returns the first choice's text.
func (e Endpoint) Complete(ctx context.Context, system, user string) (string, error) {
	body, err := json.Marshal(map[string]any{
		"model":       e.Model,
		"temperature": 0,
		"messages": []map[string]string{
			{"role": "system", "content": system},
			{"role": "user", "content": user},
		},
	})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(e.URL, "/")+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if e.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.APIKey)
	}
	client := e.Client
	if client == nil {
		client = &http.Client{Timeout: cmp.Or(e.Timeout, 10*time.Second)}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return "", fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s answered %s", req.URL.Redacted(), resp.Status)
	}
	var chat struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(raw, &chat); err != nil || len(chat.Choices) == 0 {
		return "", ErrAnswer
	}
	return chat.Choices[0].Message.Content, nil
}

// JSONObject cuts the outermost {...} out of a model's answer, which may wrap it in prose or a
// code fence.
func JSONObject(s string) string {
	i, j := strings.Index(s, "{"), strings.LastIndex(s, "}")
	if i < 0 || j < i {
		return s
	}
	return s[i : j+1]
}
