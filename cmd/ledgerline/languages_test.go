package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// --languages is checked as it is parsed, in every command that decodes: an unknown code is
// refused by name, and a named --language beside it is refused, before anything runs.
func TestLanguagesFlagUsageErrors(t *testing.T) {
	for _, cmd := range [][]string{
		{"transcribe", "call.wav"},
		{"run"},
		{"serve"},
		{"bot", "join", "https://meet.google.com/abc-defg-hij"},
	} {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--languages", "en,xx"}, `invalid value "en,xx" for flag -languages: unknown language "xx"`},
			{[]string{"--languages", "en,de", "--language", "de"}, "--language de names the language and --languages detects among several"},
			{[]string{"--language", "en", "--languages", "de"}, "--language en names the language"},
			{[]string{"--language", "xx"}, `--language "xx": give an ISO 639-1 code`},
		} {
			args := append(slices.Clone(cmd), c.args...)
			code, out, errOut := ledgerline(t, args...)
			if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
				t.Errorf("%s: exit %d, stdout %q, stderr %q; want 2 saying %q", strings.Join(args, " "), code, out, errOut, c.want)
			}
		}
	}
}

// With --languages, every segment is in one of them.
func TestTranscribeLanguages(t *testing.T) {
	code, out, errOut := ledgerline(t, "transcribe", sample, "--model", testModel(t), "--format", "json",
		"--languages", "de,fr", "--max-tokens", "4", "--fallbacks", "-1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Language string `json:"language"`
		Segments []struct {
			Language string `json:"language"`
		} `json:"segments"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Language != "de" && res.Language != "fr" {
		t.Errorf("language %q, want de or fr", res.Language)
	}
	for i, s := range res.Segments {
		if s.Language != "de" && s.Language != "fr" {
			t.Errorf("segment %d: language %q, want de or fr", i, s.Language)
		}
	}
}
