package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/pgtest"
	"github.com/ledgerline/ledgerline/ledger"
)

// childEnv makes the test binary run the command line given after its own name, as the
// ledgerline binary would: the end-to-end tests start and kill real processes.
const childEnv = "LEDGERLINE_TEST_CHILD"

// process is a ledgerline command running in a child process.
type process struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout strings.Builder
	stderr strings.Builder
	done   chan struct{}
}

// start runs `ledgerline args…` in a child process, stopped (killed) when the test ends.
func start(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1", "LEDGERLINE_LOG=warn")
	p := &process{t: t, cmd: cmd, done: make(chan struct{})}
	outR, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, pipe := range []struct {
		r   io.Reader
		buf *strings.Builder
	}{{outR, &p.stdout}, {errR, &p.stderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(pipe.r)
			for sc.Scan() {
				p.mu.Lock()
				pipe.buf.WriteString(sc.Text() + "\n")
				p.mu.Unlock()
			}
		}()
	}
	go func() {
		wg.Wait()
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

// await returns the first submatch of re in a line of the output so far, waiting up to a minute
// for one.
func (p *process) await(re string) string {
	p.t.Helper()
	rx := regexp.MustCompile("(?m)" + re)
	deadline := time.Now().Add(time.Minute)
	for {
		p.mu.Lock()
		m := rx.FindStringSubmatch(p.stdout.String() + p.stderr.String())
		p.mu.Unlock()
		if m != nil {
			return m[len(m)-1]
		}
		select {
		case <-p.done:
			p.t.Fatalf("%v ended before printing %q:\n%s", p.cmd.Args[1:], re, p.output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%v did not print %q in a minute:\n%s", p.cmd.Args[1:], re, p.output())
		}
	}
}

// wait waits for the process to end by itself and returns its exit code.
func (p *process) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(3 * time.Minute):
		p.t.Fatalf("%v still running after 3 minutes:\n%s", p.cmd.Args[1:], p.output())
	}
	return p.cmd.ProcessState.ExitCode()
}

// kill ends the process at once (SIGKILL), as a crash or power loss would.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return "stdout:\n" + p.stdout.String() + "stderr:\n" + p.stderr.String()
}

// api makes a request to the team server with a bearer token and decodes its JSON answer.
func api(t *testing.T, method, u, token string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, u, resp.StatusCode, want, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, u, err, body)
		}
	}
}

// admin runs `ledgerline admin` in-process and returns its output's one line.
func admin(t *testing.T, server, token string, args ...string) string {
	t.Helper()
	code, out, errOut := ledgerline(t, append([]string{"admin", "--server", server, "--token", token}, args...)...)
	if code != 0 {
		t.Fatalf("admin %v: exit %d: %s%s", args, code, out, errOut)
	}
	return strings.TrimSpace(out)
}

// TestTeamServerEndToEnd is the team server as a vendor and its partner use it: serve on
// PostgreSQL, two organisations and a deal shared between them, a laptop that records a call and
// sends it, the partner finding it, a third organisation kept out, and both sides killed mid-way.
func TestTeamServerEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster, a server and laptops as processes")
	}
	dbURL := pgtest.Shared(t).NewDatabase(t)
	model := testModel(t)
	dir := t.TempDir()

	serve := start(t, "serve", "--db", dbURL, "--listen", "127.0.0.1:0")
	token := serve.await(`^admin token: (\S+)$`)
	base := serve.await(`serving the team server on (http://\S+),`)

	acme := admin(t, base, token, "org", "create", "Acme")
	admin(t, base, token, "org", "create", "Partner Co")
	admin(t, base, token, "org", "create", "Elsewhere Ltd")
	admin(t, base, token, "deal", "create", "--id", "globex", "--name", "Globex rollout", "--account", "Globex",
		"--vendor-org", acme, "--partner-org", "Partner Co")
	laptopToken := admin(t, base, token, "token", "create", "--org", "Acme", "--name", "dana-laptop")
	strangerToken := admin(t, base, token, "token", "create", "--org", "Elsewhere Ltd", "--name", "someone")
	invite := admin(t, base, token, "invite", "--org", "Partner Co")

	// The laptop records a call in real time and sends it as it goes.
	laptopDB := filepath.Join(dir, "laptop.db")
	laptop := start(t, "run", "--input", sample, "--model", model, "--db", laptopDB, "--listen", "127.0.0.1:0", "--speed", "1",
		"--title", "Globex architecture review", "--deal", "globex", "--server", base, "--token", laptopToken)
	meeting := laptop.await(`meeting (\S+) is recorded in`)
	waitFor(t, "the server to hold part of the meeting", func() bool { return lastSeqOn(t, base, laptopToken, meeting) >= 2 })

	// The server is killed; the laptop records on, and is killed in turn with events not yet sent.
	serve.kill()
	// Whatever the laptop records from now on cannot have reached the server.
	atKill := len(localEvents(t, laptopDB, meeting))
	waitFor(t, "the laptop to record after the server was killed", func() bool {
		return len(localEvents(t, laptopDB, meeting)) > atKill
	})
	laptop.kill()
	local := localEvents(t, laptopDB, meeting)
	acked := ackedIn(t, laptopDB, base, meeting)

	// Restarted, the server holds everything it acknowledged, in the laptop's order.
	serve = start(t, "serve", "--db", dbURL, "--listen", strings.TrimPrefix(base, "http://"))
	serve.await(`serving the team server on`)
	before := eventsOn(t, base, laptopToken, meeting)
	if int64(len(before)) < acked || len(before) >= len(local) {
		t.Fatalf("after the server's restart it holds %d events; the laptop recorded %d and had %d acknowledged", len(before), len(local), acked)
	}
	checkSame(t, "after the server's restart", before, local[:len(before)])

	// Restarted, the laptop sends what the server lacks, from what the server acknowledged.
	resume := start(t, "sync", "--server", base, "--token", laptopToken, "--db", laptopDB)
	if code := resume.wait(); code != 0 {
		t.Fatalf("sync after the laptop's restart exited %d:\n%s", code, resume.output())
	}
	checkSame(t, "after the laptop's restart", eventsOn(t, base, laptopToken, meeting), local)
	if code, out, errOut := ledgerline(t, "sync", "--server", base, "--token", laptopToken, "--db", laptopDB); code != 0 {
		t.Fatalf("sync with nothing to send: exit %d: %s%s", code, out, errOut)
	}
	checkSame(t, "after a sync with nothing to send", eventsOn(t, base, laptopToken, meeting), local)

	// The partner's member signs in with the invite and finds the meeting in the library and search.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := browser.PostForm(invite, url.Values{"name": {"Pat"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	page := func(path string) string {
		resp, err := browser.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("partner's GET %s: %d: %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	if lib := page("/"); !strings.Contains(lib, meeting) || !strings.Contains(lib, "Globex architecture review") {
		t.Fatalf("the partner's library lacks meeting %s:\n%s", meeting, lib)
	}
	if found := page("/search?q=speaker"); !strings.Contains(found, "/m/"+meeting+"/recap") {
		t.Fatalf("the partner's search for the speaker lacks meeting %s:\n%s", meeting, found)
	}
	page("/m/" + meeting + "/recap")

	// A third organisation's member cannot reach it, nor tell that it exists.
	api(t, http.MethodGet, base+"/api/v1/meetings/"+meeting, strangerToken, http.StatusNotFound, nil)
	api(t, http.MethodGet, base+"/api/v1/meetings/"+meeting+"/events", strangerToken, http.StatusNotFound, nil)
	var none []any
	api(t, http.MethodGet, base+"/api/v1/search?q=speaker", strangerToken, http.StatusOK, &none)
	if len(none) != 0 {
		t.Fatalf("a third organisation's search found %v", none)
	}
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
	}
}

// lastSeqOn returns the last seq the team server holds of a meeting; 0 before it knows it.
func lastSeqOn(t *testing.T, base, token, meeting string) int64 {
	t.Helper()
	var ms []struct {
		ID      string `json:"id"`
		LastSeq int64  `json:"last_seq"`
	}
	api(t, http.MethodGet, base+"/api/v1/meetings", token, http.StatusOK, &ms)
	for _, m := range ms {
		if m.ID == meeting {
			return m.LastSeq
		}
	}
	return 0
}

// ackedIn returns how far the laptop's outbox says the server acknowledged a meeting.
func ackedIn(t *testing.T, db, server, meeting string) int64 {
	t.Helper()
	s, err := ledger.OpenSQLite(db, ledger.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ups, err := s.Uploads(context.Background(), server)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups {
		if u.MeetingID == meeting {
			return u.Acked
		}
	}
	return 0
}

// eventsOn returns a meeting's events as the team server holds them.
func eventsOn(t *testing.T, base, token, meeting string) []ledger.Event {
	t.Helper()
	var events []ledger.Event
	api(t, http.MethodGet, base+"/api/v1/meetings/"+meeting+"/events?since=0", token, http.StatusOK, &events)
	return events
}

// localEvents returns a meeting's events as the laptop recorded them.
func localEvents(t *testing.T, db, meeting string) []ledger.Event {
	t.Helper()
	s, err := ledger.OpenSQLite(db, ledger.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	events, err := s.Since(context.Background(), meeting, 0)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// checkSame checks that the server holds each of the laptop's events once, in the laptop's order,
// under seqs 1, 2, 3… with no gap.
func checkSame(t *testing.T, when string, server, local []ledger.Event) {
	t.Helper()
	if len(server) != len(local) {
		t.Fatalf("%s: the server holds %d events, the laptop %d", when, len(server), len(local))
	}
	for i := range server {
		s, l := server[i], local[i]
		if s.Seq != int64(i+1) {
			t.Fatalf("%s: event %d has seq %d: a gap or duplicate", when, i, s.Seq)
		}
		s.Seq, l.Seq = 0, 0
		sj, _ := json.Marshal(s)
		lj, _ := json.Marshal(l)
		if string(sj) != string(lj) {
			t.Fatalf("%s: event %d differs:\nserver %s\nlaptop %s", when, i+1, sj, lj)
		}
	}
	if len(server) == 0 {
		t.Fatalf("%s: no events", when)
	}
}
