package summary

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var call = []Segment{
	{ID: "s1", Speaker: "Dana", Org: "Contoso", StartMS: 0, Text: "Thanks for joining. Should we start with the pilot?", Language: "en"},
	{ID: "s2", Speaker: "Laura", Org: "Fabrikam", StartMS: 4000, Text: "Yes. We agreed to start with the pilot in March.", Language: "en"},
	{ID: "s3", Speaker: "Ravi", Org: "Northwind", StartMS: 9000, Text: "We'll share the security checklist by Friday.", Language: "en"},
	{ID: "s4", Speaker: "Laura", Org: "Fabrikam", StartMS: 15000, Text: "Hemos acordado usar el entorno de pruebas.", Language: "es"},
	{ID: "s5", Speaker: "Laura", Org: "Fabrikam", StartMS: 20000, Text: "Have we agreed on the price?", Language: "en"},
}

func TestExtractFindsDecisionsAndKeepsEachLinesSegment(t *testing.T) {
	s := Extract(Input{Segments: call,
		NextSteps:  []Line{{Text: "Northwind — Ravi: share the security checklist", SegmentIDs: []string{"s3"}, StartMS: 9000}},
		Objections: []Line{{Text: "too expensive", SegmentIDs: []string{"s5"}, StartMS: 20000}},
	})
	if len(s.Decisions) != 2 || s.Decisions[0].Text != "We agreed to start with the pilot in March." || s.Decisions[0].SegmentIDs[0] != "s2" ||
		s.Decisions[0].Who != "Laura (Fabrikam)" || s.Decisions[1].SegmentIDs[0] != "s4" {
		t.Fatalf("decisions %+v", s.Decisions)
	}
	if len(s.NextSteps) != 1 || len(s.Risks) != 1 || s.Questions == nil || s.Empty() {
		t.Errorf("summary %+v", s)
	}
	if !(Summary{}).Empty() {
		t.Error("an empty summary is not Empty")
	}
}

func TestCheckDropsLinesTheTranscriptDoesNotBearOut(t *testing.T) {
	lines := []Line{
		{Text: "Fabrikam agreed to start with a pilot in March.", SegmentIDs: []string{"s2"}},
		{Text: "Northwind will share the security checklist by Friday.", SegmentIDs: []string{"s9"}},      // no such segment
		{Text: "Contoso offered a forty percent discount on licences.", SegmentIDs: []string{"s1", "s3"}}, // not said there
		{Text: "Nothing cited here about the pilot."},
		{Text: "Ravi will share the checklist; the pilot starts in March.", SegmentIDs: []string{"s3", "s2", "s3"}},
	}
	got := Check(lines, call)
	if len(got) != 2 || got[0].Text != lines[0].Text || got[0].StartMS != 4000 ||
		strings.Join(got[1].SegmentIDs, ",") != "s2,s3" || got[1].StartMS != 4000 {
		t.Fatalf("kept %+v", got)
	}
}

// chatServer answers chat-completions requests as a local llama.cpp server or Ollama would, with
// content, and records what it was asked.
func chatServer(t *testing.T, content string) (*httptest.Server, *[]string) {
	t.Helper()
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer local-key" {
			http.Error(w, "wrong request", http.StatusBadRequest)
			return
		}
		var req struct {
			Model    string `json:"model"`
			Messages []struct{ Role, Content string }
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) != 2 {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		asked = append(asked, req.Model, req.Messages[1].Content)
		_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": content}}}})
	}))
	t.Cleanup(srv.Close)
	return srv, &asked
}

func TestNarrateKeepsOnlyCitedSentences(t *testing.T) {
	answer := "Here is the summary:\n```json\n" + `{"sentences":[` +
		`{"text":"The buyer agreed to start with the pilot in March.","cites":["s2"]},` +
		`{"text":"Northwind will share the security checklist by Friday.","cites":["s3"]},` +
		`{"text":"The vendor promised free licences for a year.","cites":["s1"]},` +
		`{"text":"Legal signed the contract.","cites":["s42"]}]}` + "\n```"
	srv, asked := chatServer(t, answer)
	n := &ChatNarrator{URL: srv.URL + "/v1/", Model: "qwen2.5-3b", APIKey: "local-key"}
	lines, err := Narrate(context.Background(), n, call, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].SegmentIDs[0] != "s2" || lines[1].SegmentIDs[0] != "s3" || lines[1].StartMS != 9000 {
		t.Fatalf("narrative %+v", lines)
	}
	if len(*asked) != 2 || (*asked)[0] != "qwen2.5-3b" || !strings.Contains((*asked)[1], "[s3] Ravi (Northwind): We'll share the security checklist by Friday.") {
		t.Errorf("asked %q", *asked)
	}
}

func TestNarrateFallsBackWhenTheModelFailsOrIsLate(t *testing.T) {
	srv, _ := chatServer(t, "I cannot help with that.")
	if lines, err := Narrate(context.Background(), &ChatNarrator{URL: srv.URL + "/v1", APIKey: "local-key"}, call, time.Minute); !errors.Is(err, ErrNarrator) || lines != nil {
		t.Errorf("prose answer: %+v, %v", lines, err)
	}
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	lines, err := Narrate(context.Background(), &ChatNarrator{URL: slow.URL}, call, 100*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || lines != nil {
		t.Errorf("late model: %+v, %v", lines, err)
	}
	if lines, err := Narrate(context.Background(), nil, call, time.Second); lines != nil || err != nil {
		t.Errorf("no narrator: %+v, %v", lines, err)
	}
}
