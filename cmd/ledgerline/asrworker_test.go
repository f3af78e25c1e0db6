package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/broker"
)

func TestASRWorkerRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"asr-worker", "--model", "x.bin"},
		{"asr-worker", "--nats", "nats://127.0.0.1:1", "--slots", "64", "--threads", "64"},
		{"asr-worker", "--nats", "nats://127.0.0.1:1", "extra"},
		{"serve", "--asr", "elsewhere"},
		{"serve", "--nats", "embedded"},                                            // --nats without --asr remote
		{"serve", "--asr", "remote", "--nats", "embedded", "--nats-replicas", "3"}, // one node keeps one copy
	} {
		if code, _, errOut := ledgerline(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args, code, errOut)
		}
	}
}

// A worker given a wrong token, or none, says where to find the right one.
func TestASRWorkerNeedsTheToken(t *testing.T) {
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	model := testModel(t)
	for _, token := range []string{"", "wrong"} {
		t.Setenv(envNATSToken, "")
		code, _, errOut := ledgerline(t, "asr-worker", "--nats", b.URL(), "--token", token, "--model", model, "--slots", "1", "--threads", "1")
		if code != 1 || !strings.Contains(errOut, "token") || !strings.Contains(errOut, "serve printed") {
			t.Errorf("token %q: exit %d: %s", token, code, errOut)
		}
	}
}

// A team server that decodes on asr-worker processes: its meeting records through the one
// worker it has, and records on when that worker is killed (SIGKILL) while a second one runs.
func TestServeDecodesOnRemoteWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server, workers and publishers as processes")
	}
	model := testModel(t)
	db := filepath.Join(t.TempDir(), "server.db")
	serve := start(t, "serve", "--db", db, "--listen", "127.0.0.1:0", "--model", model, "--idle-stop", "3s",
		"--asr", "remote", "--nats", "embedded=127.0.0.1:0")
	token := serve.await(`^admin token: (\S+)$`)
	natsToken := printedNATSToken(t, serve)
	natsURL := serve.await(`ledgerline asr-worker --nats (\S+) `)
	base := serve.await(`serving the team server on (http://\S+),`)
	worker := func(name string) *process {
		w := start(t, "asr-worker", "--nats", natsURL, "--token", natsToken, "--model", model, "--slots", "1", "--threads", "1", "--name", name)
		w.await(`asr-worker ` + name + `: decoding for nats://`)
		return w
	}
	w1 := worker("w1")

	org := admin(t, base, token, "org", "create", "Acme")
	member := admin(t, base, token, "token", "create", "--org", org, "--name", "bot")
	lines := map[string]string{}
	for _, line := range strings.Split(admin(t, base, member, "meeting", "create", "--title", "Scale-out"), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			lines[k] = v
		}
	}
	id, whip, join := lines["id"], lines["whip"], lines["join"]
	guest := join[strings.Index(join, "?t=")+3:]
	publish := func(speed string) *process {
		return start(t, "publish", sample, "--url", whip, "--token", guest, "--name", "Dana", "--org", "vendor", "--speed", speed)
	}
	type meeting struct {
		State   string `json:"state"`
		LastSeq int64  `json:"last_seq"`
	}
	stopped := func() meeting {
		var m meeting
		waitFor(t, "the meeting to stop once its participant left", func() bool {
			api(t, http.MethodGet, base+"/api/v1/meetings/"+id, member, http.StatusOK, &m)
			return m.State == "stopped"
		})
		return m
	}

	// The first worker decodes; a second one joins and the first is killed mid-meeting.
	pub := publish("2")
	w1.await(`decoded its first window`)
	w2 := worker("w2")
	w1.kill()
	if code := pub.wait(); code != 0 {
		t.Fatalf("publish: exit %d:\n%s", code, pub.output())
	}
	first := stopped()

	// The meeting runs again, decoded by the worker left.
	pub = publish("4")
	if code := pub.wait(); code != 0 {
		t.Fatalf("publish: exit %d:\n%s", code, pub.output())
	}
	w2.await(`decoded its first window`)
	second := stopped()
	if second.LastSeq <= first.LastSeq {
		t.Fatalf("the second run recorded nothing: last seq %d, then %d", first.LastSeq, second.LastSeq)
	}
	checkRecordedParticipant(t, base, member, id, "Dana")
	if out := serve.output(); strings.Contains(out, "level=ERROR") {
		t.Fatalf("the server logged errors:\n%s", out)
	}
}

// printedNATSToken reads the token of serve's embedded NATS server from the file its line for
// workers names: the line names it by where it is, and never prints it.
func printedNATSToken(t *testing.T, serve *process) string {
	t.Helper()
	file := serve.await(`asr workers attach with: ` + envNATSToken + `=\$\(cat '([^']+)'\) `)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" || strings.Contains(serve.output(), token) {
		t.Fatalf("serve printed its NATS token, or its file %s holds none", file)
	}
	return token
}

// The address printed for workers on other machines is one they can dial.
func TestReachableURLNamesThisMachine(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no host name here")
	}
	for in, want := range map[string]string{
		"tls://0.0.0.0:4222":   "tls://" + host + ":4222",
		"nats://[::]:4222":     "nats://" + host + ":4222",
		"tls://10.0.0.5:4222":  "tls://10.0.0.5:4222",
		"nats://127.0.0.1:999": "nats://127.0.0.1:999",
	} {
		if got := reachableURL(in); got != want {
			t.Errorf("reachableURL(%q) = %q, want %q", in, got, want)
		}
	}
}
