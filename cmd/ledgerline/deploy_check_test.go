package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/models"
)

// The deployment examples (deploy/, the Dockerfile, docs/deploy.md) are worth having only while
// the commands they run exist and take the flags they pass. These tests read each example the way
// what runs it does (systemd, Docker, a shell), and ask ledgerline itself whether it accepts the
// command line: its help names the flags each command takes, and its own parser has the last word.

const repoRoot = "../.."

// deployEnvFile is where the units read their environment from; deploy/ledgerline.env.example is
// the file installed there.
const deployEnvFile = "/etc/ledgerline/ledgerline.env"

// programEnv are the environment variables ledgerline reads itself, which an environment file may
// set without a unit passing them on.
var programEnv = []string{envNATSToken, envNATSNkey, envNATSCA, models.EnvModelsDir, models.EnvModelURL, "LEDGERLINE_LOG", "XDG_DATA_HOME"}

// exampleCommand is a ledgerline command line found in an example.
type exampleCommand struct {
	where string   // file:line
	args  []string // what follows the program: the command, its subcommands, arguments and flags
}

func (c exampleCommand) String() string {
	return c.where + ": ledgerline " + strings.Join(c.args, " ")
}

// commandChecker checks command lines against the commands' help, which it asks once per command.
type commandChecker struct {
	t     *testing.T
	flags map[string]map[string]bool // by command path: flag name → whether it takes a value
}

func newCommandChecker(t *testing.T) *commandChecker {
	return &commandChecker{t: t, flags: map[string]map[string]bool{}}
}

// helpFlag is a flag's line in a command's help ("  -model string", "  -stay"): its name, and its
// value's name when it takes one.
var helpFlag = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9-]*)(?: (\S+))?$`)

// flagsOf returns the flags the command path (the words before the first flag: a command, its
// subcommands, perhaps its arguments) takes, read from its help.
func (k *commandChecker) flagsOf(path []string) (map[string]bool, error) {
	key := strings.Join(path, " ")
	if f, ok := k.flags[key]; ok {
		return f, nil
	}
	code, out, errOut := ledgerline(k.t, append(slices.Clone(path), "--help")...)
	if code != 0 || !strings.HasPrefix(out, "Usage: ") {
		return nil, fmt.Errorf("'ledgerline %s --help' exits %d: %s", key, code, strings.TrimSpace(errOut))
	}
	flags := map[string]bool{}
	_, section, _ := strings.Cut(out, "\nFlags:\n")
	for _, line := range strings.Split(section, "\n") {
		line, _, _ = strings.Cut(line, "\t") // a one-letter flag's usage follows on its line
		if m := helpFlag.FindStringSubmatch(line); m != nil {
			flags[m[1]] = m[2] != ""
		}
	}
	k.flags[key] = flags
	return flags, nil
}

// isFlag reports whether a word is a flag rather than a value or an argument ("-1" is a value).
func isFlag(w string) bool {
	return len(w) > 1 && w[0] == '-' && (w[1] < '0' || w[1] > '9')
}

// check returns what is wrong with a command line: a command that does not exist, a flag its
// command does not take, a flag without its value, or a line the command's own parser refuses.
// A lone "…" stands for more of the same and is left out; "…" inside a value is a placeholder.
func (k *commandChecker) check(c exampleCommand) []string {
	args := slices.DeleteFunc(slices.Clone(c.args), func(w string) bool { return w == "…" })
	if len(args) == 0 {
		return []string{c.where + ": ledgerline without a command"}
	}
	if _, ok := commands[args[0]]; !ok {
		return []string{fmt.Sprintf("%s: ledgerline has no command %q", c, args[0])}
	}
	n := 0
	for n < len(args) && !isFlag(args[n]) {
		n++
	}
	flags, err := k.flagsOf(args[:n])
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", c, err)}
	}
	var problems []string
	for i := n; i < len(args); i++ {
		if !isFlag(args[i]) {
			continue // an argument after the flags
		}
		name, _, inline := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		value, known := flags[name]
		switch {
		case !known:
			problems = append(problems, fmt.Sprintf("%s: 'ledgerline %s' takes no flag --%s (its flags: %s)",
				c, strings.Join(args[:n], " "), name, flagNames(flags)))
		case value && !inline && i+1 == len(args):
			problems = append(problems, fmt.Sprintf("%s: --%s needs a value", c, name))
		case value && !inline:
			i++
		}
	}
	if len(problems) > 0 {
		return problems
	}
	// The command's own parser, asked for help after the whole line, gives it only when it has
	// accepted every flag and value before it (a number where one is expected, say).
	code, out, errOut := ledgerline(k.t, append(args, "--help")...)
	if code != 0 || !strings.HasPrefix(out, "Usage: ") {
		return []string{fmt.Sprintf("%s: the command refuses the line: exit %d: %s", c, code, strings.TrimSpace(errOut))}
	}
	return nil
}

func flagNames(flags map[string]bool) string {
	var names []string
	for n := range flags {
		names = append(names, "--"+n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, " ")
}

// The checker itself fails on what the examples must not do; otherwise it would pass them all.
func TestDeployCheckerCatchesMistakes(t *testing.T) {
	k := newCommandChecker(t)
	for _, args := range [][]string{
		{"serve", "--listen-addr", "0.0.0.0:8080"},               // a flag serve does not take
		{"asr-worker", "--nats", "nats://x:4222", "--slot", "2"}, // a near miss
		{"asr-worker", "--nats", "nats://x:4222", "--slots", "two"},
		{"asr-worker", "--nats"}, // no value
		{"serv", "--db", "x.db"}, // no such command
		{"models", "pul", "small"},
	} {
		if problems := k.check(exampleCommand{where: "test", args: args}); len(problems) == 0 {
			t.Errorf("ledgerline %s: no problem found", strings.Join(args, " "))
		}
	}
	for _, args := range [][]string{
		{"serve", "--db", "postgres://…", "--listen", "0.0.0.0:8080", "…", "--max-conns", "-1"},
		{"asr-worker", "--nats=nats://x:4222", "--model", "small", "--slots", "2"},
		{"models", "pull", "small"},
		{"admin", "org", "create", "Dataflow"},
	} {
		if problems := k.check(exampleCommand{where: "test", args: args}); len(problems) > 0 {
			t.Errorf("ledgerline %s: %v", strings.Join(args, " "), problems)
		}
	}
}

// shellSegments splits a line of shell into the simple commands it holds, as far as the examples
// go: blank-separated words, '…' and "…" quoting, backslash escapes; |, ;, &, redirections and the
// box-drawing characters of a diagram end a command; an unquoted # starting a word ends the line.
func shellSegments(line string) [][]string {
	var segs [][]string
	var words []string
	var word strings.Builder
	inWord, quote := false, rune(0)
	skip := false // the next word is a redirection's target
	endWord := func() {
		if inWord && !skip {
			words = append(words, word.String())
		}
		if inWord {
			skip = false
		}
		word.Reset()
		inWord = false
	}
	endSeg := func() {
		endWord()
		if len(words) > 0 {
			segs = append(segs, words)
		}
		words = nil
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				word.WriteRune(r)
			}
		case quote == '"':
			switch {
			case r == '"':
				quote = 0
			case r == '\\' && i+1 < len(rs) && strings.ContainsRune(`"\$`, rs[i+1]):
				i++
				word.WriteRune(rs[i])
			default:
				word.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '\\' && i+1 < len(rs):
			i++
			word.WriteRune(rs[i])
			inWord = true
		case r == ' ' || r == '\t':
			endWord()
		case r == '#' && !inWord:
			endSeg()
			return segs
		case r == '>' || r == '<':
			// A redirection ends the command; the descriptor before it and its target are not
			// arguments.
			word.Reset()
			inWord = false
			endSeg()
			skip = true
		case strings.ContainsRune("|;&", r) || r >= 0x2500 && r <= 0x257f:
			endSeg()
			skip = false
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	endSeg()
	return segs
}

// programWord matches a word that runs ledgerline: the program, its path, or its image.
var programWord = regexp.MustCompile(`^(?:\S*/)?ledgerline(?::[\w.-]+)?$`)

// assignment matches an environment assignment before a command (NAME=value).
var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// shellCommands returns the ledgerline command lines in a line of shell: the line's own command
// when it is ledgerline (whatever follows must then be a command), and, anywhere else, ledgerline
// followed by one of its commands (sudo -u ledgerline env … ledgerline models pull, docker run …
// ledgerline serve …).
func shellCommands(where, line string) []exampleCommand {
	var out []exampleCommand
	for s, words := range shellSegments(line) {
		first := 0
		for first < len(words) && assignment.MatchString(words[first]) {
			first++
		}
		if s == 0 && first < len(words) && filepath.Base(words[first]) == "ledgerline" {
			out = append(out, exampleCommand{where, words[first+1:]})
			continue
		}
		for i := first; i+1 < len(words); i++ {
			if _, ok := commands[words[i+1]]; ok && programWord.MatchString(words[i]) {
				out = append(out, exampleCommand{where, words[i+1:]})
				break
			}
		}
	}
	return out
}

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// logicalLines joins lines continued with a trailing backslash; each comes with its first line's number.
func logicalLines(text string) (lines []string, numbers []int) {
	var cur strings.Builder
	start := 0
	for i, l := range strings.Split(text, "\n") {
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(l, `\`) {
			cur.WriteString(strings.TrimSuffix(l, `\`) + " ")
			continue
		}
		cur.WriteString(l)
		lines, numbers = append(lines, cur.String()), append(numbers, start)
		cur.Reset()
	}
	return lines, numbers
}
