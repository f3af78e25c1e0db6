package chat

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCompleteAsksAndReadsTheFirstChoice(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model       string  `json:"model"`
			Temperature float64 `json:"temperature"`
			Messages    []struct{ Role, Content string }
		}
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer secret-key" ||
			json.NewDecoder(r.Body).Decode(&req) != nil || req.Model != "llama" || len(req.Messages) != 2 ||
			req.Messages[0].Role != "system" || req.Messages[1].Content != "the transcript" {
			http.Error(w, "wrong request", http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"content": "hello"}}}})
	}))
	defer srv.Close()
	e := Endpoint{URL: srv.URL + "/v1/", Model: "llama", APIKey: "secret-key"}
	if got, err := e.Complete(context.Background(), "be brief", "the transcript"); err != nil || got != "hello" {
		t.Fatalf("Complete = %q, %v", got, err)
	}
	e.Model = "other"
	if _, err := e.Complete(context.Background(), "be brief", "the transcript"); err == nil || !strings.Contains(err.Error(), "400") ||
		strings.Contains(err.Error(), "secret-key") {
		t.Errorf("refused request: %v", err)
	}
}

func TestCompleteRefusesWhatIsNotAChatCompletion(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"choices":[]}`)) }))
	defer srv.Close()
	if _, err := (Endpoint{URL: srv.URL}).Complete(context.Background(), "s", "u"); !errors.Is(err, ErrAnswer) {
		t.Errorf("empty choices: %v, want ErrAnswer", err)
	}
}

func TestJSONObject(t *testing.T) {
	for in, want := range map[string]string{
		"Sure:\n```json\n{\"a\":{\"b\":1}}\n```": `{"a":{"b":1}}`,
		`{"a":1}`:                                `{"a":1}`,
		"no object":                              "no object",
	} {
		if got := JSONObject(in); got != want {
			t.Errorf("JSONObject(%q) = %q, want %q", in, got, want)
		}
	}
}
