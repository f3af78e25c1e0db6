package main

// The flags that several commands take are defined here, once: a flag of one name means one
// thing, reads the same in every command's help, and accepts the same values with the same
// message for those it refuses. flags_test.go walks every command's flags to hold them to it.

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/models"
	"github.com/ledgerline/ledgerline/server"
)

// Usage of the flags shared by several commands.
const (
	modelUsage     = "a model name from 'ledgerline models list', or a path to a ggml .bin file"
	languageUsage  = "spoken language (ISO 639-1, such as en, es or de), or auto to detect it"
	languagesUsage = "with --language auto, detect only among these `codes` (ISO 639-1, comma-separated, such as en,de), for each stretch of speech"
	listenUsage    = "address to serve the overlay on (localhost); left at its default, a taken port is stepped past to the next free one"
	dbUsage        = "the meeting database: a SQLite file (default: " + defaultDBHint + ")"
	speedUsage     = "how fast the recording plays, `N|max`: N times real time (1 real time, 2 twice as fast, 0.5 half as fast), or max for as fast as possible"
	stayUsage      = "keep serving the overlay after the call has played, until interrupted"
	promptUsage    = "names to expect: people, companies, products"
	threadsUsage   = "CPU threads per decode (default: up to 4, from the CPU cores)"
)

// modelFlag adds --model: a catalogue name or a model file.
func modelFlag(fs *flag.FlagSet) *string { return fs.String("model", models.Default, modelUsage) }

// languageFlag adds --language.
func languageFlag(fs *flag.FlagSet) *string { return fs.String("language", "auto", languageUsage) }

// languagesValue is a --languages: ISO 639-1 codes the decoder knows, checked as they are parsed.
type languagesValue struct{ codes []string }

func (l *languagesValue) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.codes, ",")
}

func (l *languagesValue) Set(v string) error {
	codes := strings.Split(v, ",")
	for i, code := range codes {
		codes[i] = strings.TrimSpace(code)
		if !slices.Contains(asr.Languages(), codes[i]) {
			return fmt.Errorf("unknown language %q: use ISO 639-1 codes separated by commas, such as en,de", codes[i])
		}
	}
	l.codes = codes
	return nil
}

// languagesFlag adds --languages.
func languagesFlag(fs *flag.FlagSet) *languagesValue {
	l := &languagesValue{}
	fs.Var(l, "languages", languagesUsage)
	return l
}

// checkLanguages refuses a --language the decoder does not know, and one that names a language
// together with --languages, which detects among several: before anything is recorded.
func checkLanguages(language string, languages *languagesValue) error {
	if language != "auto" && language != "" && !slices.Contains(asr.Languages(), language) {
		return fmt.Errorf("%w: --language %q: give an ISO 639-1 code, such as en, es or de, or auto to detect it", errUsage, language)
	}
	if len(languages.codes) > 0 && language != "auto" && language != "" {
		return fmt.Errorf("%w: --language %s names the language and --languages detects among several: give one of them", errUsage, language)
	}
	return nil
}

// listenFlag adds --listen; listenAddr tells whether it was left at its default.
func listenFlag(fs *flag.FlagSet) { fs.String("listen", server.DefaultAddr, listenUsage) }

// dbFlag adds --db: the SQLite file meetings are recorded in.
func dbFlag(fs *flag.FlagSet) *string { return fs.String("db", "", dbUsage) }

// stayFlag adds --stay.
func stayFlag(fs *flag.FlagSet) *bool { return fs.Bool("stay", false, stayUsage) }

// promptFlag adds --prompt.
func promptFlag(fs *flag.FlagSet) *string { return fs.String("prompt", "", promptUsage) }

// threadsFlag adds --threads: 0 lets the decoder choose from the CPU cores.
func threadsFlag(fs *flag.FlagSet) *int { return fs.Int("threads", 0, threadsUsage) }

// errSpeed is what a --speed that is not a speed is told.
var errSpeed = errors.New("not a speed: use a positive number, such as 1, 2 or 0.5, or max")

// parseSpeed reads a speed: a positive number, times real time, or max (+Inf) for as fast as
// possible.
func parseSpeed(s string) (float64, error) {
	if s == "max" {
		return math.Inf(1), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errSpeed
	}
	return v, nil
}

// speedValue is a --speed, checked as it is parsed.
type speedValue struct {
	text string
	rate float64
}

func (s *speedValue) String() string {
	if s == nil {
		return ""
	}
	return s.text
}

func (s *speedValue) Set(v string) error {
	rate, err := parseSpeed(v)
	if err != nil {
		return err
	}
	s.text, s.rate = v, rate
	return nil
}

// speedFlag adds --speed, real time by default.
func speedFlag(fs *flag.FlagSet) *speedValue {
	s := &speedValue{text: "1", rate: 1}
	fs.Var(s, "speed", speedUsage)
	return s
}

// formatValue is a --format: one of the names a command prints in, checked as it is parsed.
// Commands name a format alike: table (columns for people to read), json, txt (plain text),
// vtt and srt (subtitles), md and html (a page), csv, ics, rttm.
type formatValue struct {
	name    string
	choices []string
}

func (f *formatValue) String() string {
	if f == nil {
		return ""
	}
	return f.name
}

func (f *formatValue) Set(v string) error {
	if !slices.Contains(f.choices, v) {
		return fmt.Errorf("unknown format: use %s", orList(f.choices))
	}
	f.name = v
	return nil
}

// formatFlag adds --format, taking one of choices, the first by default; detail, when not
// empty, says more of them in the help.
func formatFlag(fs *flag.FlagSet, choices []string, detail string) *formatValue {
	f := &formatValue{name: choices[0], choices: slices.Clone(choices)}
	usage := "output `format`: " + orList(choices)
	if detail != "" {
		usage += " (" + detail + ")"
	}
	fs.Var(f, "format", usage)
	return f
}

// orList writes items as "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
