package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	natsserver "github.com/nats-io/nats-server/v2/server"

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

// envExample is deploy/ledgerline.env.example: the values it sets, and the alternatives its
// commented-out assignments offer (#NAME=value, for the other deployment shapes).
type envExample struct {
	values       map[string]string
	alternatives map[string][]string
}

var envLine = regexp.MustCompile(`^(#?)([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

// readEnvFile reads an environment file as systemd's EnvironmentFile= does: NAME=value per line,
// quotes around a value removed, # comments.
func readEnvFile(t *testing.T, rel string) envExample {
	t.Helper()
	env := envExample{values: map[string]string{}, alternatives: map[string][]string{}}
	sc := bufio.NewScanner(strings.NewReader(readRepoFile(t, rel)))
	for n := 1; sc.Scan(); n++ {
		m := envLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		value := strings.TrimSpace(m[3])
		if strings.HasPrefix(value, `"`) || strings.HasPrefix(value, `'`) {
			segs := shellSegments(value)
			if len(segs) != 1 || len(segs[0]) != 1 {
				t.Errorf("%s:%d: %s: one quoted value, please", rel, n, m[2])
				continue
			}
			value = segs[0][0]
		}
		if m[1] == "#" {
			env.alternatives[m[2]] = append(env.alternatives[m[2]], value)
		} else {
			env.values[m[2]] = value
		}
	}
	return env
}

// unitEntry is one setting of a unit file.
type unitEntry struct {
	line       int
	key, value string
}

func readUnit(t *testing.T, rel string) []unitEntry {
	t.Helper()
	var entries []unitEntry
	lines, numbers := logicalLines(readRepoFile(t, rel))
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || l[0] == ';' || l[0] == '[' {
			continue
		}
		key, value, ok := strings.Cut(l, "=")
		if !ok {
			t.Errorf("%s:%d: not a setting: %q", rel, numbers[i], l)
			continue
		}
		entries = append(entries, unitEntry{numbers[i], strings.TrimSpace(key), strings.TrimSpace(value)})
	}
	return entries
}

var (
	unitSpecifier = regexp.MustCompile(`%[A-Za-z%]`)
	bracedVar     = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	bareVar       = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)$`)
)

// execArgs expands an Exec line as systemd does: specifiers (%i, %H) become sample values, ${NAME}
// its value as one word, and $NAME on its own its value split at blanks. It returns the program
// and its arguments, and the variables used as $NAME.
func execArgs(value string, env map[string]string) (args, split []string, err error) {
	value = strings.TrimLeft(value, "-@:+!|")
	value = unitSpecifier.ReplaceAllStringFunc(value, func(s string) string {
		if s == "%%" {
			return "%"
		}
		return "spec" + s[1:]
	})
	segs := shellSegments(value)
	if len(segs) != 1 {
		return nil, nil, fmt.Errorf("not one command: %q", value)
	}
	for _, w := range segs[0] {
		if m := bareVar.FindStringSubmatch(w); m != nil {
			v, ok := env[m[1]]
			if !ok {
				return nil, nil, fmt.Errorf("$%s is set neither in the unit nor in the environment file", m[1])
			}
			args = append(args, strings.Fields(v)...)
			split = append(split, m[1])
			continue
		}
		var missing []string
		w = bracedVar.ReplaceAllStringFunc(w, func(s string) string {
			name := bracedVar.FindStringSubmatch(s)[1]
			v, ok := env[name]
			if !ok {
				missing = append(missing, name)
			}
			return v
		})
		if len(missing) > 0 {
			return nil, nil, fmt.Errorf("${%s} is set neither in the unit nor in the environment file", missing[0])
		}
		args = append(args, w)
	}
	return args, split, nil
}

func deployUnits(t *testing.T) []string {
	t.Helper()
	units, err := filepath.Glob(filepath.Join(repoRoot, "deploy", "*.service"))
	if err != nil || len(units) < 2 {
		t.Fatalf("deploy/*.service: %v, %d units", err, len(units))
	}
	for i, u := range units {
		units[i] = filepath.ToSlash(strings.TrimPrefix(u, repoRoot+string(filepath.Separator)))
	}
	return units
}

// varRef is a variable an Exec line uses: $NAME or ${NAME}.
var varRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// Every unit runs ledgerline commands and flags that exist, with the settings of the environment
// file it reads, and with those of the environment file's other shapes; every variable set is read.
func TestDeploySystemdUnits(t *testing.T) {
	const envRel = "deploy/ledgerline.env.example"
	example := readEnvFile(t, envRel)
	k := newCommandChecker(t)
	used := map[string]bool{}
	for _, name := range programEnv {
		used[name] = true
	}
	for _, rel := range deployUnits(t) {
		env := map[string]string{}
		var envFile, started bool
		var execs, set []unitEntry
		for _, e := range readUnit(t, rel) {
			switch {
			case e.key == "Environment":
				for _, segs := range shellSegments(e.value) {
					for _, w := range segs {
						name, v, _ := strings.Cut(w, "=")
						env[name] = v
						set = append(set, unitEntry{e.line, name, v})
					}
				}
			case e.key == "EnvironmentFile":
				if f := strings.TrimPrefix(e.value, "-"); f != deployEnvFile {
					t.Errorf("%s:%d: reads %s; the example environment file is installed as %s", rel, e.line, f, deployEnvFile)
				}
				envFile = true
			case strings.HasPrefix(e.key, "Exec"):
				execs = append(execs, e)
			}
		}
		if !envFile {
			t.Errorf("%s: reads no EnvironmentFile=%s", rel, deployEnvFile)
		}
		maps.Copy(env, example.values) // the file's settings override the unit's
		here := map[string]bool{}
		for _, e := range execs {
			for _, m := range varRef.FindAllStringSubmatch(e.value, -1) {
				used[m[1]], here[m[1]] = true, true
			}
			if prog, _, _ := strings.Cut(strings.TrimLeft(e.value, "-@:+!|"), " "); prog != "/usr/local/bin/ledgerline" {
				continue
			}
			started = started || e.key == "ExecStart"
			where := fmt.Sprintf("%s:%d", rel, e.line)
			args, split, err := execArgs(e.value, env)
			if err != nil {
				t.Errorf("%s: %s: %v", where, e.key, err)
				continue
			}
			for _, p := range k.check(exampleCommand{where, args[1:]}) {
				t.Error(p)
			}
			// The other shapes' values of a variable that holds flags.
			for _, name := range split {
				for _, alt := range example.alternatives[name] {
					shape := maps.Clone(env)
					shape[name] = alt
					args, _, err := execArgs(e.value, shape)
					if err != nil {
						t.Errorf("%s with %s=%q: %v", where, name, alt, err)
						continue
					}
					for _, p := range k.check(exampleCommand{fmt.Sprintf("%s with %s=%q", where, name, alt), args[1:]}) {
						t.Error(p)
					}
				}
			}
		}
		if !started {
			t.Errorf("%s: no ExecStart=/usr/local/bin/ledgerline", rel)
		}
		for _, e := range set {
			if !here[e.key] && !slices.Contains(programEnv, e.key) {
				t.Errorf("%s:%d: sets %s, which neither its command lines nor ledgerline read", rel, e.line, e.key)
			}
		}
	}
	for _, name := range slices.Concat(slices.Collect(maps.Keys(example.values)), slices.Collect(maps.Keys(example.alternatives))) {
		if !used[name] {
			t.Errorf("%s sets %s, which no unit passes on and ledgerline does not read", envRel, name)
		}
	}
}

// systemd's own checks, where systemd-analyze is installed: the units verify without a warning,
// and their hardening keeps the exposure systemd-analyze security reports at 2.0 or below.
func TestDeploySystemdVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not installed: the units' syntax is not verified here")
		return
	}
	help, _ := exec.Command(analyze, "--help").CombinedOutput()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, rel := range deployUnits(t) {
		// The binary the unit runs is not installed here: the test binary stands in for it.
		unit := strings.ReplaceAll(readRepoFile(t, rel), "/usr/local/bin/ledgerline", self)
		path := filepath.Join(dir, filepath.Base(rel))
		if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"verify", "--man=no"}
		if strings.Contains(string(help), "--recursive-errors") {
			args = append(args, "--recursive-errors=no")
		}
		out, err := exec.Command(analyze, append(args, path)...).CombinedOutput()
		var complaints []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, filepath.Base(rel)) || strings.Contains(l, strings.TrimSuffix(filepath.Base(rel), ".service")) {
				complaints = append(complaints, l)
			}
		}
		if err != nil || len(complaints) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", rel, err, out)
		}
		if strings.Contains(string(help), "--offline") && strings.Contains(string(help), "--threshold") {
			out, err := exec.Command(analyze, "security", "--offline=yes", "--threshold=20", path).CombinedOutput()
			if err != nil {
				t.Errorf("systemd-analyze security %s: %v (exposure above 2.0?)\n%s", rel, err, out)
			}
		}
	}
}

// The NATS cluster's three nodes make one cluster: one name, distinct server names, routes to
// every node with the password the cluster requires, JetStream on, and clients authenticated with
// the token the environment file gives serve and the workers. The NATS URLs of the environment file
// reach the nodes on their client port.
func TestDeployNATSCluster(t *testing.T) {
	confs, err := filepath.Glob(filepath.Join(repoRoot, "deploy", "nats", "*.conf"))
	if err != nil || len(confs) != 3 {
		t.Fatalf("deploy/nats/*.conf: %v, %d files; want the 3 nodes", err, len(confs))
	}
	const token = "deploy-test-token"
	t.Setenv(envNATSToken, token)
	names := map[string]bool{}
	var cluster, routes string
	var port int
	nodes := map[string]bool{} // route hosts
	for _, path := range confs {
		opts, err := natsserver.ProcessConfigFile(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		base := filepath.Base(path)
		if !opts.JetStream || opts.StoreDir == "" {
			t.Errorf("%s: JetStream %v, store %q; want JetStream with a store directory", base, opts.JetStream, opts.StoreDir)
		}
		if opts.Authorization != token {
			t.Errorf("%s: clients authenticate with %q, want $%s", base, opts.Authorization, envNATSToken)
		}
		if opts.ServerName == "" || names[opts.ServerName] {
			t.Errorf("%s: server_name %q is empty or another node's", base, opts.ServerName)
		}
		names[opts.ServerName] = true
		if cluster == "" {
			cluster, port = opts.Cluster.Name, opts.Port
		}
		if opts.Cluster.Name != cluster || cluster == "" || opts.Port != port {
			t.Errorf("%s: cluster %q, client port %d; want the others' (%q, %d)", base, opts.Cluster.Name, opts.Port, cluster, port)
		}
		if opts.Cluster.Username == "" || opts.Cluster.Password == "" {
			t.Errorf("%s: routes need no password", base)
		}
		var hosts []string
		for _, r := range opts.Routes {
			pass, _ := r.User.Password()
			if r.User.Username() != opts.Cluster.Username || pass != opts.Cluster.Password {
				t.Errorf("%s: route %s does not carry the cluster's user and password", base, r.Redacted())
			}
			hosts = append(hosts, r.Host)
			nodes[r.Hostname()] = true
		}
		slices.Sort(hosts)
		if h := strings.Join(hosts, " "); len(hosts) != len(confs) || routes != "" && h != routes {
			t.Errorf("%s: routes %s; want one to each of the %d nodes, as the others' (%s)", base, h, len(confs), routes)
		} else {
			routes = h
		}
	}
	// The environment file's NATS URLs that name the cluster's nodes name all of them, on their
	// client port.
	example := readEnvFile(t, "deploy/ledgerline.env.example")
	natsURL := regexp.MustCompile(`(?:nats|tls)://[^\s,]+`)
	cover := false
	for name, v := range example.values {
		example.alternatives[name] = append(example.alternatives[name], v)
	}
	for name, values := range example.alternatives {
		for _, v := range values {
			reached := map[string]bool{}
			for _, raw := range natsURL.FindAllString(v, -1) {
				u, err := url.Parse(raw)
				if err != nil || !nodes[u.Hostname()] {
					continue
				}
				reached[u.Hostname()] = true
				if u.Port() != strconv.Itoa(port) {
					t.Errorf("%s=%q: %s is not the nodes' client port %d", name, v, raw, port)
				}
			}
			if len(reached) > 0 && len(reached) != len(nodes) {
				t.Errorf("%s=%q names %d of the %d nodes", name, v, len(reached), len(nodes))
			}
			cover = cover || len(reached) == len(nodes)
		}
	}
	if !cover {
		t.Errorf("deploy/ledgerline.env.example names the NATS cluster's nodes nowhere")
	}
}

// dockerInstruction is one instruction of the Dockerfile, continuation lines joined.
type dockerInstruction struct {
	line        int
	name, value string
	stage       int // counts FROM lines
}

// The image runs ledgerline with a command line it accepts, as a user other than root, exposes the
// port it listens on and keeps the data directory in its volume; it is built with make targets
// and variables that exist.
func TestDeployDockerfile(t *testing.T) {
	lines, numbers := logicalLines(readRepoFile(t, "Dockerfile"))
	var all []dockerInstruction
	stage := 0
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		name, value, _ := strings.Cut(l, " ")
		name = strings.ToUpper(name)
		if name == "FROM" {
			stage++
		}
		all = append(all, dockerInstruction{numbers[i], name, strings.TrimSpace(value), stage})
	}
	var entrypoint, cmd []string
	var cmdLine int
	var user string
	exposed := map[string]bool{}
	volumes := map[string]bool{}
	for _, in := range all {
		if in.stage != stage {
			continue // an earlier stage
		}
		switch in.name {
		case "ENTRYPOINT", "CMD":
			var argv []string
			if err := json.Unmarshal([]byte(in.value), &argv); err != nil {
				t.Errorf("Dockerfile:%d: %s is not in exec form (a JSON array): %v", in.line, in.name, err)
				continue
			}
			if in.name == "CMD" {
				cmd, cmdLine = argv, in.line
			} else {
				entrypoint = argv
			}
		case "USER":
			user = in.value
		case "EXPOSE":
			for _, p := range strings.Fields(in.value) {
				exposed[strings.TrimSuffix(p, "/tcp")] = true
			}
		case "VOLUME":
			var vs []string
			if json.Unmarshal([]byte(in.value), &vs) != nil {
				vs = strings.Fields(in.value)
			}
			for _, v := range vs {
				volumes[filepath.Clean(v)] = true
			}
		}
	}
	if len(entrypoint) != 1 || filepath.Base(entrypoint[0]) != "ledgerline" {
		t.Fatalf("ENTRYPOINT %q; want [\"ledgerline\"]", entrypoint)
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("the image runs as %q; want an unprivileged user", user)
	}
	k := newCommandChecker(t)
	for _, p := range k.check(exampleCommand{fmt.Sprintf("Dockerfile:%d", cmdLine), cmd}) {
		t.Error(p)
	}
	for i := 0; i+1 < len(cmd); i++ {
		switch cmd[i] {
		case "--listen":
			if _, port, err := net.SplitHostPort(cmd[i+1]); err != nil || !exposed[port] {
				t.Errorf("CMD listens on %s; EXPOSE says %v", cmd[i+1], exposed)
			}
		case "--db":
			if dir := filepath.Dir(cmd[i+1]); !volumes[dir] {
				t.Errorf("CMD keeps its record in %s, outside the volumes %v", dir, volumes)
			}
		}
	}

	// The build runs make targets of the Makefile, with variables the Makefile or its scripts read.
	build := readRepoFile(t, "Makefile")
	scripts, _ := filepath.Glob(filepath.Join(repoRoot, "scripts", "*"))
	for _, s := range scripts {
		b, _ := os.ReadFile(s)
		build += string(b)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([A-Za-z0-9_.-]+):`).FindAllStringSubmatch(readRepoFile(t, "Makefile"), -1) {
		targets[m[1]] = true
	}
	made := false
	for _, in := range all {
		if in.name != "RUN" {
			continue
		}
		for _, words := range shellSegments(in.value) {
			i := 0
			var vars []string
			for i < len(words) && assignment.MatchString(words[i]) {
				name, _, _ := strings.Cut(words[i], "=")
				vars = append(vars, name)
				i++
			}
			if i == len(words) || words[i] != "make" {
				continue
			}
			made = true
			for _, v := range vars {
				if !strings.Contains(build, v) {
					t.Errorf("Dockerfile:%d: %s=… is read by neither the Makefile nor scripts/", in.line, v)
				}
			}
			for j := i + 1; j < len(words); j++ {
				w := words[j]
				if w == "-o" && j+1 < len(words) { // -o TARGET: take TARGET as made
					j++
					w = words[j]
				} else if strings.HasPrefix(w, "-") || strings.Contains(w, "=") {
					continue
				}
				if !targets[w] {
					t.Errorf("Dockerfile:%d: make %s: no such target in the Makefile", in.line, w)
				}
			}
		}
	}
	if !made {
		t.Error("the Dockerfile builds without make")
	}
}

// Every ledgerline command line in docs/deploy.md's code blocks is one ledgerline accepts, and the
// files of deploy/ it names exist.
func TestDeployDocs(t *testing.T) {
	const rel = "docs/deploy.md"
	text := readRepoFile(t, rel)
	k := newCommandChecker(t)
	var block strings.Builder
	inBlock, start, found := false, 0, 0
	for n, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			if inBlock {
				lines, numbers := logicalLines(block.String())
				for i, line := range lines {
					for _, c := range shellCommands(fmt.Sprintf("%s:%d", rel, start+numbers[i]), line) {
						found++
						for _, p := range k.check(c) {
							t.Error(p)
						}
					}
				}
				block.Reset()
			}
			inBlock, start = !inBlock, n+1
			continue
		}
		if inBlock {
			block.WriteString(l + "\n")
		}
	}
	if inBlock {
		t.Errorf("%s: a code block is never closed", rel)
	}
	if found < 5 {
		t.Errorf("%s: %d ledgerline command lines found; the parser is missing them", rel, found)
	}
	for _, m := range regexp.MustCompile("deploy/[A-Za-z0-9_.@/-]+").FindAllString(text, -1) {
		if _, err := os.Stat(filepath.Join(repoRoot, strings.TrimSuffix(m, "."))); err != nil {
			t.Errorf("%s names %s: %v", rel, m, err)
		}
	}
}
