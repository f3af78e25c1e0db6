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
)

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
