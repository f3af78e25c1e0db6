package detect

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// chatServer answers like an OpenAI-compatible endpoint with a fixed reply.
func chatServer(t *testing.T, reply string, status int, seen *string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer k3y" {
			http.Error(w, "wrong path or key", http.StatusUnauthorized)
			return
		}
		b, _ := io.ReadAll(r.Body)
		*seen = string(b)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": reply}}}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestChatRefinerKeepsWhatTheModelConfirms(t *testing.T) {
	var seen string
	srv := chatServer(t, "Sure:\n```json\n{\"verdicts\":[{\"index\":0,\"keep\":true,\"what\":\"send the pricing sheet\"},{\"index\":1,\"keep\":false}]}\n```", http.StatusOK, &seen)
	r := &ChatRefiner{URL: srv.URL + "/v1", Model: "local", APIKey: "k3y"}
	found := []Commitment{{What: "send you the pricing", Owner: "Dana"}, {What: "look at it", Owner: "Dana"}}
	got, err := r.Refine(context.Background(), Utterance{Text: "I'll send you the pricing, and we might look at it.", Speaker: Speaker{Name: "Dana", Org: "vendor"}}, found)
	if err != nil {
		t.Fatal(err)
	}
	want := []Verdict{{Keep: true, What: "send the pricing sheet"}, {Keep: false}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("verdicts %+v, want %+v", got, want)
	}
	if !strings.Contains(seen, "I'll send you the pricing") || !strings.Contains(seen, `"model":"local"`) {
		t.Errorf("request did not carry the utterance and model: %s", seen)
	}
}

func TestChatRefinerFailuresSayWhyWithoutTheKey(t *testing.T) {
	var seen string
	for name, srv := range map[string]*httptest.Server{
		"status":   chatServer(t, "{}", http.StatusInternalServerError, &seen),
		"not json": chatServer(t, "I think both are fine.", http.StatusOK, &seen),
	} {
		r := &ChatRefiner{URL: srv.URL + "/v1", APIKey: "k3y"}
		_, err := r.Refine(context.Background(), Utterance{Text: "I will send it."}, []Commitment{{What: "send it"}})
		if !errors.Is(err, ErrRefiner) || strings.Contains(err.Error(), "k3y") {
			t.Errorf("%s: err = %v, want ErrRefiner without the key", name, err)
		}
	}
	r := &ChatRefiner{URL: "http://127.0.0.1:1/v1"}
	if _, err := r.Refine(context.Background(), Utterance{Text: "x"}, []Commitment{{What: "x"}}); !errors.Is(err, ErrRefiner) {
		t.Errorf("unreachable endpoint: err = %v", err)
	}
}
