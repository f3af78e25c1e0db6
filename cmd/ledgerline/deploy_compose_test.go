package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// composeService is one service of deploy/compose.yaml, as far as these tests read it: the file
// keeps to block mappings indented by two spaces, lists of "- item", and commands in flow form
// (a JSON array), which is what its checks rely on.
type composeService struct {
	name, image string
	command     []string
	commandAt   int               // line of command:
	build       map[string]string // context, dockerfile
	args        map[string]string // build args
	env         map[string]string
	ports       []string
	volumes     []string
	dependsOn   []string
}

var composeKey = regexp.MustCompile(`^( *)([A-Za-z0-9_.-]+):(?: +(.*))?$`)

func readCompose(t *testing.T, rel string) map[string]*composeService {
	t.Helper()
	services := map[string]*composeService{}
	var svc *composeService
	var top, key, sub string
	for n, line := range strings.Split(readRepoFile(t, rel), "\n") {
		where := fmt.Sprintf("%s:%d", rel, n+1)
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if m := composeKey.FindStringSubmatch(line); m != nil {
			value := strings.Trim(m[3], `"`)
			switch indent {
			case 0:
				top, svc = m[2], nil
			case 2:
				if top == "services" {
					svc = &composeService{name: m[2], build: map[string]string{}, args: map[string]string{}, env: map[string]string{}}
					services[m[2]] = svc
				}
			case 4:
				if svc == nil {
					continue
				}
				key = m[2]
				switch key {
				case "image":
					svc.image = value
				case "command":
					svc.commandAt = n + 1
					if err := json.Unmarshal([]byte(m[3]), &svc.command); err != nil {
						t.Errorf("%s: command is not a flow sequence of strings: %v", where, err)
					}
				}
			case 6:
				sub = m[2]
				switch {
				case svc == nil:
				case key == "build" && value != "":
					svc.build[m[2]] = value
				case key == "environment":
					svc.env[m[2]] = value
				case key == "depends_on":
					svc.dependsOn = append(svc.dependsOn, m[2])
				}
			case 8:
				if svc != nil && key == "build" && sub == "args" {
					svc.args[m[2]] = value
				}
			}
			continue
		}
		if item, ok := strings.CutPrefix(trimmed, "- "); ok && svc != nil && indent == 6 {
			item = strings.Trim(item, `"`)
			switch key {
			case "ports":
				svc.ports = append(svc.ports, item)
			case "volumes":
				svc.volumes = append(svc.volumes, item)
			}
		}
	}
	return services
}

// composeVar is an interpolation: ${NAME}, ${NAME:-default} or ${NAME:?message}.
var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}`)

// interpolate gives each variable its default, or else a sample value.
func interpolate(s string) string {
	return composeVar.ReplaceAllStringFunc(s, func(v string) string {
		m := composeVar.FindStringSubmatch(v)
		if m[2] == "-" {
			return m[3]
		}
		return "sample" + strings.ToLower(m[1])
	})
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == "--"+name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// The compose example builds the repository's Dockerfile, runs ledgerline command lines it
// accepts, reaches PostgreSQL at a service of its own with that service's user, database and
// password, publishes the port serve listens on, keeps the data directory in a volume, and serves
// the model that its models service pulls.
func TestDeployCompose(t *testing.T) {
	const rel = "deploy/compose.yaml"
	services := readCompose(t, rel)
	dockerfile := readRepoFile(t, "Dockerfile")
	k := newCommandChecker(t)
	var serve *composeService
	pulled := map[string]string{} // service → model it pulls
	for _, name := range slices.Sorted(maps.Keys(services)) {
		svc := services[name]
		if len(svc.build) == 0 {
			continue // not ledgerline's image
		}
		ctx := filepath.Join(filepath.Dir(rel), svc.build["context"])
		if filepath.Clean(ctx) != "." {
			t.Errorf("%s: service %s builds %s; the Dockerfile's context is the repository", rel, name, ctx)
		}
		if _, err := os.Stat(filepath.Join(repoRoot, ctx, svc.build["dockerfile"])); err != nil || svc.build["dockerfile"] == "" {
			t.Errorf("%s: service %s: dockerfile %q: %v", rel, name, svc.build["dockerfile"], err)
		}
		for arg := range svc.args {
			if !regexp.MustCompile(`(?m)^ARG ` + arg + `\b`).MatchString(dockerfile) {
				t.Errorf("%s: service %s passes build arg %s, which the Dockerfile does not take", rel, name, arg)
			}
		}
		if !slices.ContainsFunc(svc.volumes, func(v string) bool { return strings.HasSuffix(v, ":/var/lib/ledgerline") }) {
			t.Errorf("%s: service %s keeps no volume at /var/lib/ledgerline, the image's data directory", rel, name)
		}
		if svc.commandAt == 0 {
			t.Errorf("%s: service %s runs no command", rel, name)
			continue
		}
		args := make([]string, len(svc.command))
		for i, a := range svc.command {
			args[i] = interpolate(a)
		}
		for _, p := range k.check(exampleCommand{fmt.Sprintf("%s:%d", rel, svc.commandAt), args}) {
			t.Error(p)
		}
		switch {
		case len(args) > 2 && args[0] == "models" && args[1] == "pull":
			pulled[name] = args[2]
		case args[0] == "serve":
			serve = svc
		}
	}
	if serve == nil {
		t.Fatalf("%s: no service runs ledgerline serve", rel)
	}

	raw := serve.command[slices.Index(serve.command, "--db")+1]
	db, err := url.Parse(interpolate(raw))
	if err != nil || db.Scheme != "postgres" {
		t.Fatalf("%s: serve --db %q is not a PostgreSQL URL (%v)", rel, raw, err)
	}
	pg := services[db.Hostname()]
	switch {
	case pg == nil || !strings.HasPrefix(pg.image, "postgres:"):
		t.Errorf("%s: serve --db reaches %s, which is not a PostgreSQL service of the file", rel, db.Host)
	case db.User.Username() != pg.env["POSTGRES_USER"] || strings.TrimPrefix(db.Path, "/") != pg.env["POSTGRES_DB"]:
		t.Errorf("%s: serve --db names user %q, database %q; %s creates %q, %q", rel, db.User.Username(), db.Path, pg.name, pg.env["POSTGRES_USER"], pg.env["POSTGRES_DB"])
	case !strings.Contains(raw, ":${POSTGRES_PASSWORD}@") || !strings.HasPrefix(pg.env["POSTGRES_PASSWORD"], "${POSTGRES_PASSWORD"):
		t.Errorf("%s: serve --db and %s do not share the password ${POSTGRES_PASSWORD}", rel, pg.name)
	case !slices.Contains(serve.dependsOn, pg.name):
		t.Errorf("%s: serve starts without waiting for %s", rel, pg.name)
	}

	_, port, err := net.SplitHostPort(flagValue(serve.command, "listen"))
	if err != nil || !slices.ContainsFunc(serve.ports, func(p string) bool { return strings.HasSuffix(p, ":"+port) }) {
		t.Errorf("%s: serve listens on port %q; its ports %v do not publish it", rel, port, serve.ports)
	}
	model := flagValue(serve.command, "model")
	for name, m := range pulled {
		if m != model || !slices.Contains(serve.dependsOn, name) {
			t.Errorf("%s: service %s pulls %s; serve uses --model %s and must start after it", rel, name, m, model)
		}
	}
}

// Every ledgerline command line in docs/install.md's shell blocks (```sh) is one ledgerline
// accepts; --version stands for the version command, as ledgerline reads it.
func TestInstallDocs(t *testing.T) {
	const rel = "docs/install.md"
	k := newCommandChecker(t)
	found := 0
	var block strings.Builder
	inBlock, shell, start := false, false, 0
	for n, l := range strings.Split(readRepoFile(t, rel), "\n") {
		if fence, ok := strings.CutPrefix(strings.TrimSpace(l), "```"); ok {
			if inBlock && shell {
				lines, numbers := logicalLines(block.String())
				for i, line := range lines {
					for _, c := range shellCommands(fmt.Sprintf("%s:%d", rel, start+numbers[i]), line) {
						found++
						if len(c.args) > 0 && c.args[0] == "--version" {
							c.args[0] = "version"
						}
						for _, p := range k.check(c) {
							t.Error(p)
						}
					}
				}
			}
			block.Reset()
			inBlock, shell, start = !inBlock, fence == "sh", n+1
			continue
		}
		if inBlock {
			block.WriteString(l + "\n")
		}
	}
	if inBlock {
		t.Errorf("%s: a code block is never closed", rel)
	}
	if found < 3 {
		t.Errorf("%s: %d ledgerline command lines found; the parser is missing them", rel, found)
	}
}
