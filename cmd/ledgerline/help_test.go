package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/models"
)

// Every command and subcommand answers -h and --help on stdout with exit 0,
// and its help names the command, so "ledgerline X -h | less" shows X's help.
func TestHelpFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the usage line(s)
	}{
		{[]string{"transcribe"}, "ledgerline transcribe FILE"},
		{[]string{"models"}, "ledgerline models pull NAME"},
		{[]string{"models", "list"}, "ledgerline models list"},
		{[]string{"models", "pull"}, "ledgerline models pull NAME"},
		{[]string{"models", "rm"}, "ledgerline models rm NAME"},
		{[]string{"models", "make-random"}, "ledgerline models make-random --shape"},
		{[]string{"run"}, "ledgerline run ["},
		{[]string{"devices"}, "ledgerline devices"},
		{[]string{"demo"}, "ledgerline demo ["},
		{[]string{"publish"}, "ledgerline publish FILE"},
		{[]string{"diarize"}, "ledgerline diarize FILE"},
		{[]string{"ledger"}, "ledgerline ledger --deal ID"},
		{[]string{"ledger", "detect"}, "ledgerline ledger detect < utterances.jsonl"},
		{[]string{"ledger", "eval"}, "ledgerline ledger eval [--data DIR]"},
		{[]string{"deal"}, "ledgerline deal create --id ID"},
		{[]string{"deal", "create"}, "ledgerline deal create --id ID"},
		{[]string{"recap"}, "ledgerline recap MEETING"},
		{[]string{"version"}, "ledgerline version"},
	} {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string{}, tc.args...), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, out, errOut := ledgerline(t, args...)
				if code != 0 || errOut != "" || !strings.HasPrefix(out, "Usage: ") || !strings.Contains(out, tc.want) {
					t.Errorf("exit %d, stdout %q, stderr %q; want 0 and help naming %q on stdout only", code, out, errOut, tc.want)
				}
			})
		}
	}
	// The table covers every command.
	for name := range commands {
		if code, out, _ := ledgerline(t, name, "-h"); code != 0 || !strings.Contains(out, "ledgerline "+name) {
			t.Errorf("%s -h: exit %d, %q", name, code, out)
		}
	}
}

// ledger -h describes all of ledger's forms, not only the deal report.
func TestLedgerHelpNamesSubcommands(t *testing.T) {
	_, out, _ := ledgerline(t, "ledger", "-h")
	for _, want := range []string{"ledger detect", "ledger eval", "--deal"} {
		if !strings.Contains(out, want) {
			t.Errorf("ledger -h does not mention %q:\n%s", want, out)
		}
	}
}

func TestHelpCommand(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"help", "-h"}} {
		code, out, errOut := ledgerline(t, args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "Usage: ledgerline COMMAND") || !strings.Contains(out, "transcribe") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want the command list on stdout", args, code, out, errOut)
		}
	}
	for _, tc := range []struct {
		args []string
		same []string
	}{
		{[]string{"help", "recap"}, []string{"recap", "-h"}},
		{[]string{"help", "models"}, []string{"models", "--help"}},
		{[]string{"help", "models", "pull"}, []string{"models", "pull", "-h"}},
		{[]string{"help", "ledger", "detect"}, []string{"ledger", "detect", "-h"}},
	} {
		code, out, errOut := ledgerline(t, tc.args...)
		_, want, _ := ledgerline(t, tc.same...)
		if code != 0 || errOut != "" || out != want || out == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 0 and the output of %v", tc.args, code, out, errOut, tc.same)
		}
	}
	// Asked for nothing, or for a command that does not exist, the list of
	// commands is a usage error on stderr.
	for _, args := range [][]string{{}, {"help", "frobnicate"}} {
		code, out, errOut := ledgerline(t, args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "Usage: ledgerline COMMAND") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", args, code, out, errOut)
		}
	}
}

func TestVersionTakesNoArguments(t *testing.T) {
	// What it prints: TestVersionNamesWhisperAndBackend.
	if code, _, errOut := ledgerline(t, "version", "extra"); code != 2 || !strings.Contains(errOut, "no arguments") {
		t.Errorf("version extra: exit %d, %q; want a usage error", code, errOut)
	}
}

// Mistakes on the command line stay usage errors: stderr, exit 2, nothing on stdout.
func TestUsageErrorsGoToStderr(t *testing.T) {
	for _, args := range [][]string{
		{"models"},
		{"models", "pull"},
		{"models", "pull", "--bogus", "base"},
		{"models", "rm"},
		{"models", "list", "extra"},
		{"models", "frobnicate"},
		{"devices", "extra"},
		{"devices", "--bogus"},
		{"deal"},
		{"deal", "delete"},
		{"deal", "create", "--bogus"},
		{"ledger"},
		{"ledger", "detect", "extra"},
		{"ledger", "eval", "--bogus"},
		{"recap", "--bogus"},
		{"transcribe", "--bogus"},
	} {
		code, out, errOut := ledgerline(t, args...)
		if code != 2 || out != "" || errOut == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and the error on stderr", args, code, out, errOut)
		}
	}
}

func TestModelsRmAbsent(t *testing.T) {
	t.Setenv(models.EnvModelsDir, t.TempDir())
	code, out, errOut := ledgerline(t, "models", "rm", "base")
	if code != 1 || out != "" || !strings.Contains(errOut, "base is not installed") || !strings.Contains(errOut, "ledgerline models list") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1, saying base is not installed and how to list models", code, out, errOut)
	}
}

func TestLedgerDetectExitStatus(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code int
	}{
		{`{"text":"I'll send the quote tomorrow.","meeting_date":"2025-03-06"}` + "\n", 0},
		{`{"text":"I'll send the quote tomorrow.","meeting_date":"2025-03-06"}` + "\n" + `{"meeting_date":"2025-03-06"}` + "\n", 1},
		{"not json\n", 1},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"ledger", "detect"}, strings.NewReader(tc.in), &stdout, &stderr)
		lines := strings.Count(stdout.String(), "\n")
		if code != tc.code || lines != strings.Count(tc.in, "\n") {
			t.Errorf("%q: exit %d with %d output lines, stderr %q; want %d and one line per input line", tc.in, code, lines, stderr.String(), tc.code)
		}
		if tc.code != 0 && !strings.Contains(stdout.String(), `"error"`) {
			t.Errorf("%q: no error object in %q", tc.in, stdout.String())
		}
	}
}
