package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

type cliLine struct {
	Error       string `json:"error"`
	Commitments []struct {
		What       string  `json:"what"`
		Owner      string  `json:"owner"`
		OwnerOrg   string  `json:"owner_org"`
		Due        *string `json:"due"`
		DuePhrase  string  `json:"due_phrase"`
		Confidence float64 `json:"confidence"`
	} `json:"commitments"`
}

func runCLI(t *testing.T, in string) ([]cliLine, error) {
	t.Helper()
	var out bytes.Buffer
	err := runDetectLines(strings.NewReader(in), &out)
	var lines []cliLine
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if l == "" {
			continue
		}
		var c cliLine
		if jerr := json.Unmarshal([]byte(l), &c); jerr != nil {
			t.Fatalf("output line %q is not JSON: %v", l, jerr)
		}
		lines = append(lines, c)
	}
	return lines, err
}

func TestRunDetectLines(t *testing.T) {
	in, err := os.ReadFile("testdata/detectcli/meeting.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	lines, err := runCLI(t, string(in))
	after := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	// Lines 5, 6, 8, 9 and 10 cannot be used: the stream goes on, and the
	// error at its end counts them.
	if !errors.Is(err, errBadLines) || !strings.HasPrefix(err.Error(), "5 of 11 ") {
		t.Fatalf("runDetectLines: %v, want 5 of 11 lines unusable", err)
	}
	if len(lines) != 11 {
		t.Fatalf("got %d output lines, want one per input line (11)", len(lines))
	}
	due := func(l cliLine, i int) string {
		if l.Commitments[i].Due == nil {
			return "null"
		}
		return *l.Commitments[i].Due
	}
	// 1: a promise.
	if l := lines[0]; len(l.Commitments) != 1 || l.Commitments[0].Owner != "Dana" || l.Commitments[0].OwnerOrg != "Northwind" ||
		due(l, 0) != "2025-03-13" || l.Commitments[0].DuePhrase != "by Thursday" || l.Commitments[0].What == "" {
		t.Errorf("line 1: %+v", l)
	}
	// 2: a request, 3: accepted on the next line (shared context).
	if l := lines[1]; l.Error != "" || len(l.Commitments) != 0 {
		t.Errorf("line 2: %+v", l)
	}
	if l := lines[2]; len(l.Commitments) != 1 || l.Commitments[0].Owner != "Dana" || due(l, 0) != "2025-03-07" {
		t.Errorf("line 3: %+v", l)
	}
	// 4: a past report.
	if l := lines[3]; l.Error != "" || len(l.Commitments) != 0 || l.Commitments == nil {
		t.Errorf("line 4: %+v, want an empty list", l)
	}
	// 5, 6: errors that do not stop the stream.
	if !strings.HasPrefix(lines[4].Error, "line 5: ") || !strings.HasPrefix(lines[5].Error, "line 6: ") {
		t.Errorf("lines 5-6: %+v %+v", lines[4], lines[5])
	}
	// 7: language detected.
	if l := lines[6]; len(l.Commitments) != 1 || l.Commitments[0].Owner != "Jonas" || due(l, 0) != "2025-03-07" {
		t.Errorf("line 7: %+v", l)
	}
	// 8: blank, 9: bad date, 10: bad timezone.
	for i, n := range []int{8, 9, 10} {
		if !strings.HasPrefix(lines[7+i].Error, fmt.Sprintf("line %d: ", n)) {
			t.Errorf("line %d: %+v, want an error", n, lines[7+i])
		}
	}
	// 11: defaults: today in UTC, speaker "Speaker".
	if l := lines[10]; len(l.Commitments) != 1 || l.Commitments[0].Owner != "Speaker" || (due(l, 0) != before && due(l, 0) != after) {
		t.Errorf("line 11: %+v, want Speaker due %s", l, after)
	}
}

func TestRunDetectLinesTooLong(t *testing.T) {
	long := `{"text":"` + strings.Repeat("a", maxDetectLineBytes) + `"}`
	in := `{"text":"I'll send it tomorrow.","meeting_date":"2025-03-06"}` + "\n" + long + "\n" + `{"text":"later"}` + "\n"
	lines, err := runCLI(t, in)
	if !errors.Is(err, errLineTooLong) {
		t.Fatalf("err = %v, want a too-long error", err)
	}
	if len(lines) != 2 || len(lines[0].Commitments) != 1 || !strings.Contains(lines[1].Error, "line 2: longer than") {
		t.Fatalf("got %+v", lines)
	}
}

func TestRunDetectLinesNoTrailingNewline(t *testing.T) {
	lines, err := runCLI(t, `{"text":"We'll send you the quote by EOD.","meeting_date":"2025-03-06","speaker":{"name":"Dana","org":"Northwind"}}`)
	if err != nil || len(lines) != 1 || len(lines[0].Commitments) != 1 || lines[0].Commitments[0].Owner != "Northwind" {
		t.Fatalf("got %+v, %v", lines, err)
	}
}
