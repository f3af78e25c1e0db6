package main

import (
	"bytes"
	"context"
	"flag"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// commandFlags is one command (or subcommand) and the flags it takes.
type commandFlags struct {
	path []string // "models", "pull"
	fs   *flag.FlagSet
	help string
}

// usageForm reads the command words of a form in a help's usage lines: "ledgerline models pull
// NAME" gives "models pull".
var usageForm = regexp.MustCompile(`^(?:Usage: |       )ledgerline((?: [a-z][a-z-]*)+)`)

// walkCommands asks every command of the command table for its help, then every subcommand its
// usage lines name (and admin's), and returns the flag set each of them made.
func walkCommands(t *testing.T) []commandFlags {
	t.Helper()
	var queue [][]string
	for name := range commands {
		queue = append(queue, []string{name})
	}
	for _, c := range adminCommands {
		queue = append(queue, append([]string{"admin"}, strings.Fields(c.name)...))
	}
	seen, helps := map[string]bool{}, map[string]int{}
	var out []commandFlags
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		key := strings.Join(path, " ")
		if seen[key] {
			continue
		}
		seen[key] = true
		var made []*flag.FlagSet
		var stdout, stderr bytes.Buffer
		e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, log: newLogger(&stderr, ""),
			flagSets: func(fs *flag.FlagSet) { made = append(made, fs) }}
		err := commands[path[0]].run(context.Background(), e, append(slices.Clone(path[1:]), "-h"))
		var help *helpRequest
		if !asHelp(err, &help) || len(made) == 0 {
			t.Fatalf("%s -h: %v (stderr %q); want its help", key, err, stderr.String())
		}
		if i, ok := helps[help.text]; ok {
			// Another name for a command already walked ("deal" is "deal create"): the
			// longer one names it.
			if len(path) > len(out[i].path) {
				out[i].path = path
			}
			continue
		}
		helps[help.text] = len(out)
		// The last flag set made is the one that answered -h (admin makes its own first).
		out = append(out, commandFlags{path: path, fs: made[len(made)-1], help: help.text})
		for _, line := range strings.Split(help.text, "\n") {
			if m := usageForm.FindStringSubmatch(line); m != nil {
				if sub := strings.Fields(m[1]); len(sub) > len(path) && slices.Equal(sub[:len(path)], path) {
					queue = append(queue, sub)
				}
			}
		}
	}
	return out
}

func asHelp(err error, help **helpRequest) bool {
	h, ok := err.(*helpRequest)
	*help = h
	return ok
}

// flagMeaning is one meaning a flag's name has: the commands that give it that meaning (nil: all
// that are not named by another meaning of the name), and what each of them says in its help.
type flagMeaning struct {
	commands []string // command paths, "admin token create"
	says     string   // the usage contains this
	why      string   // for a second meaning of a name: why it is not the first
}

// flagRule is what a flag name means, in every command that takes it.
type flagRule struct {
	meanings    []flagMeaning
	sameDefault bool     // every command has the same default
	sameUsage   bool     // the usage is word for word the same
	accept      []string // values every command takes
	refuse      []string // values every command refuses, with one message per value
}

// flagRules covers every flag name that more than one command takes.
var flagRules = map[string]flagRule{
	"speed": {meanings: []flagMeaning{{says: "`N|max`: N times real time"}}, sameDefault: true, sameUsage: true,
		accept: []string{"max", "1", "2", "0.5", "16"}, refuse: []string{"0", "-1", "fast", "", "inf", "NaN", "1e400"}},
	"format":   {meanings: []flagMeaning{{says: "output `format`: "}}}, // checked by TestFormatFlags
	"model":    {meanings: []flagMeaning{{says: "from 'ledgerline models list', or a path to a ggml .bin file"}}, sameDefault: true},
	"language": {meanings: []flagMeaning{{says: "(ISO 639-1"}}, sameDefault: true},
	"languages": {meanings: []flagMeaning{{says: "detect only among these `codes`"}}, sameDefault: true, sameUsage: true,
		accept: []string{"en", "en,de", "de,fr,es"}, refuse: []string{"xx", "en,xx", "", "en,,de", "EN"}},
	"listen": {meanings: []flagMeaning{{says: "address to serve"}}, sameDefault: true},
	"db":     {meanings: []flagMeaning{{says: "a SQLite file (default: "}}, sameDefault: true},
	"stay":   {meanings: []flagMeaning{{says: "keep serving"}}, sameDefault: true, sameUsage: true},
	"prompt": {meanings: []flagMeaning{{says: "names to expect"}}, sameDefault: true, sameUsage: true},
	"threads": {meanings: []flagMeaning{{says: "CPU threads per decode"}}, sameDefault: true, sameUsage: true,
		accept: []string{"0", "2"}, refuse: []string{"two", "1.5"}},
	"workers":        {meanings: []flagMeaning{{says: "decodes that run at once"}}, sameDefault: true, accept: []string{"0", "2"}},
	"refiner-url":    {meanings: []flagMeaning{{says: "OpenAI-compatible endpoint"}}, sameDefault: true, sameUsage: true},
	"refiner-model":  {meanings: []flagMeaning{{says: "model name for --refiner-url"}}, sameDefault: true, sameUsage: true},
	"out":            {meanings: []flagMeaning{{says: "file to write"}}},
	"max-bots":       {meanings: []flagMeaning{{says: "bots this machine runs at once"}}, sameDefault: true, sameUsage: true},
	"max-conns":      {meanings: []flagMeaning{{says: "connections one client address may hold open at once"}}, sameDefault: true, sameUsage: true},
	"allowed-origin": {meanings: []flagMeaning{{says: "another browser origin (https://crm.example.com) whose pages may open"}}},
	"public-url":     {meanings: []flagMeaning{{says: "behind a reverse proxy"}}, sameDefault: true},
	"webhook": {meanings: []flagMeaning{{says: "recap summary to this URL (repeatable); prefix slack= for a Slack-compatible incoming webhook"}},
		accept: []string{"https://hooks.example.com/a", "slack=https://hooks.slack.com/services/T/B/x"}, refuse: []string{"hooks.example.com", "ftp://example.com"}},
	"me":      {meanings: []flagMeaning{{says: "your name"}}, sameDefault: true},
	"nats":    {meanings: []flagMeaning{{says: "the NATS server"}}},
	"server":  {meanings: []flagMeaning{{says: "team server"}}, sameDefault: true},
	"meeting": {meanings: []flagMeaning{{says: "(its ID is in its overlay link)"}}},
	"deal":    {meanings: []flagMeaning{{says: "the deal"}}},
	"id":      {meanings: []flagMeaning{{says: "a short ID for the deal, which its page's link carries (1-128 letters, digits, '.', '_', '~' or '-')"}}, sameUsage: true},
	"account": {meanings: []flagMeaning{{says: "the buyer's organisation"}}},
	"title":   {meanings: []flagMeaning{{says: "the meeting's title"}}},
	"role":    {meanings: []flagMeaning{{says: "member"}}, sameDefault: true},
	"token": {meanings: []flagMeaning{
		{says: "API `TOKEN`"},
		{commands: []string{"publish"}, says: "the meeting's access token",
			why: "a meeting's own token, from its overlay or join link, as WHIP takes it"},
		{commands: []string{"asr-worker"}, says: "the NATS server's token",
			why: "the NATS server's, which workers take jobs from; the team server's API is not reached"},
	}},
	"org": {meanings: []flagMeaning{
		{commands: []string{"run", "publish"}, says: "side in the deal: vendor, partner, buyer or other"},
		{says: "an organisation's id or name",
			why: "admin names an organisation on the team server; run and publish give a side of the deal, which in a deal's call names the deal's organisation on that side (as WHIP's org does)"},
	}},
	"name": {meanings: []flagMeaning{
		{commands: []string{"deal create", "admin deal create"}, says: "the deal's name"},
		{commands: []string{"publish"}, says: "the participant's display name", why: "the name of the person publishing"},
		{commands: []string{"admin token create"}, says: "what the token is for", why: "a token's label"},
		{commands: []string{"asr-worker"}, says: "this worker's name", why: "a worker's name in logs"},
	}},
}

// Every flag that more than one command takes means one thing (or, where a name has come to
// mean more than one, each meaning is named with its commands), says so in the same words, has
// one default, and takes and refuses the same values, with the same message.
func TestFlagsMeanTheSameInEveryCommand(t *testing.T) {
	walked := walkCommands(t)
	byName := map[string][]commandFlags{}
	for _, c := range walked {
		c.fs.VisitAll(func(f *flag.Flag) { byName[f.Name] = append(byName[f.Name], c) })
	}
	for name, want := range map[string][]string{
		"speed":  {"run", "demo", "publish"},
		"format": {"transcribe", "ledger", "recap", "diarize", "admin org list"},
		"model":  {"run", "demo", "transcribe", "serve", "asr-worker"},
		"db":     {"run", "demo", "ledger", "deal create", "recap", "sync", "serve"},
	} {
		var got []string
		for _, c := range byName[name] {
			got = append(got, strings.Join(c.path, " "))
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("--%s: the walk found it in %v, not in %s", name, got, w)
			}
		}
	}
	for name, cs := range byName {
		paths := map[string]bool{}
		for _, c := range cs {
			paths[strings.Join(c.path, " ")] = true
		}
		rule, ok := flagRules[name]
		if len(paths) < 2 {
			continue
		}
		if !ok {
			t.Errorf("--%s is taken by %v: add it to flagRules, saying what it means", name, keysOf(paths))
			continue
		}
		var first *flag.Flag
		refused := map[string]string{}
		for _, c := range cs {
			path := strings.Join(c.path, " ")
			f := c.fs.Lookup(name)
			m := meaningOf(rule, path)
			if !strings.Contains(f.Usage, m.says) {
				t.Errorf("%s --%s: usage %q does not say %q", path, name, f.Usage, m.says)
			}
			if m.why != "" {
				continue // another meaning: its values are its own
			}
			if first == nil {
				first = f
			}
			if rule.sameUsage && f.Usage != first.Usage {
				t.Errorf("%s --%s: usage %q, elsewhere %q", path, name, f.Usage, first.Usage)
			}
			if rule.sameDefault && f.DefValue != first.DefValue {
				t.Errorf("%s --%s: default %q, elsewhere %q", path, name, f.DefValue, first.DefValue)
			}
			for _, v := range rule.accept {
				if err := f.Value.Set(v); err != nil {
					t.Errorf("%s --%s %q: %v; want it taken", path, name, v, err)
				}
			}
			for _, v := range rule.refuse {
				err := f.Value.Set(v)
				if err == nil {
					t.Errorf("%s --%s %q is taken; want it refused", path, name, v)
					continue
				}
				if msg, ok := refused[v]; ok && msg != err.Error() {
					t.Errorf("%s --%s %q: %q, elsewhere %q", path, name, v, err, msg)
				}
				refused[v] = err.Error()
			}
		}
		// A meaning named for commands that no longer take the flag is stale.
		for _, m := range rule.meanings {
			for _, p := range m.commands {
				if !paths[p] {
					t.Errorf("flagRules[%q] names %q, which takes no --%s", name, p, name)
				}
			}
		}
	}
}

func meaningOf(rule flagRule, path string) flagMeaning {
	var def flagMeaning
	for _, m := range rule.meanings {
		if m.commands == nil {
			def = m
		} else if slices.Contains(m.commands, path) {
			return m
		}
	}
	return def
}

// formatMeanings is the one vocabulary of output formats: a name means the same in every command
// that prints in it.
var formatMeanings = map[string]string{
	"table": "columns for people to read",
	"json":  "JSON",
	"txt":   "plain text",
	"vtt":   "WebVTT subtitles",
	"srt":   "SubRip subtitles",
	"md":    "a Markdown page",
	"html":  "an HTML page",
	"csv":   "the commitments, comma-separated",
	"ics":   "the commitments, as calendar entries",
	"rttm":  "who spoke when, in RTTM",
}

// Every --format is parsed alike: the names come from one vocabulary, the help lists each one in
// the usage line and in the flag's own line, and a name that is not one is refused, naming those
// that are, before anything runs.
func TestFormatFlags(t *testing.T) {
	for _, c := range walkCommands(t) {
		f := c.fs.Lookup("format")
		if f == nil {
			continue
		}
		path := strings.Join(c.path, " ")
		fv, ok := f.Value.(*formatValue)
		if !ok {
			t.Errorf("%s --format is a %T, not parsed by formatFlag", path, f.Value)
			continue
		}
		for _, name := range fv.choices {
			if _, ok := formatMeanings[name]; !ok {
				t.Errorf("%s --format %s: not a name of the vocabulary (%v)", path, name, keysOf(formatMeanings))
			}
		}
		if want := "output `format`: " + orList(fv.choices); !strings.HasPrefix(f.Usage, want) {
			t.Errorf("%s --format: usage %q, want it to begin %q", path, f.Usage, want)
		}
		if want := "--format " + strings.Join(fv.choices, "|"); !strings.Contains(c.help, want) {
			t.Errorf("%s: its usage lines do not show %q:\n%s", path, want, c.help)
		}
		for _, name := range fv.choices {
			if err := f.Value.Set(name); err != nil {
				t.Errorf("%s --format %s: %v", path, name, err)
			}
		}
		args := append(slices.Clone(c.path), "--format", "docx")
		code, out, errOut := ledgerline(t, args...)
		want := `invalid value "docx" for flag -format: unknown format: use ` + orList(fv.choices)
		if code != 2 || out != "" || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 2 saying %q", strings.Join(args, " "), code, out, errOut, want)
		}
	}
}

// Every --speed takes 1, 2, 0.5 or max and refuses anything else with one message, before
// anything runs; the help writes it alike.
func TestSpeedFlags(t *testing.T) {
	n := 0
	for _, c := range walkCommands(t) {
		f := c.fs.Lookup("speed")
		if f == nil {
			continue
		}
		n++
		path := strings.Join(c.path, " ")
		if _, ok := f.Value.(*speedValue); !ok {
			t.Errorf("%s --speed is a %T, not parsed by speedFlag", path, f.Value)
		}
		if !strings.Contains(c.help, "--speed 1|2|max") {
			t.Errorf("%s: its usage lines do not show --speed 1|2|max:\n%s", path, c.help)
		}
		for _, v := range []string{"1", "2", "0.5", "max"} {
			// Help asked for after the whole line is given only once every flag before it parsed.
			args := append(slices.Clone(c.path), "--speed", v, "--help")
			if code, _, errOut := ledgerline(t, args...); code != 0 {
				t.Errorf("%s: exit %d, %q; want --speed %s taken", strings.Join(args, " "), code, errOut, v)
			}
		}
		for _, v := range []string{"0", "-1", "fast", "1x"} {
			args := append(slices.Clone(c.path), "--speed", v)
			code, out, errOut := ledgerline(t, args...)
			want := "invalid value \"" + v + "\" for flag -speed: not a speed: use a positive number, such as 1, 2 or 0.5, or max"
			if code != 2 || out != "" || !strings.Contains(errOut, want) {
				t.Errorf("%s: exit %d, stdout %q, stderr %q; want 2 saying %q", strings.Join(args, " "), code, out, errOut, want)
			}
		}
	}
	if n < 3 {
		t.Errorf("%d commands take --speed; want run, demo and publish at least", n)
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
