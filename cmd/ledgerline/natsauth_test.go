package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/ledgerline/ledgerline/internal/testcert"
)

// An embedded NATS server that other machines could reach is refused without a certificate: its
// jobs carry meetings' audio.
func TestEmbeddedNATSOnTheNetworkNeedsTLS(t *testing.T) {
	code, _, errOut := ledgerline(t, "serve", "--asr", "remote", "--nats", "embedded=0.0.0.0:0", "--model", testModel(t),
		"--db", filepath.Join(t.TempDir(), "server.db"), "--listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errOut, "--tls-cert") {
		t.Fatalf("exit %d: %s; want a usage error asking for --tls-cert", code, errOut)
	}
}

// With a certificate, serve's embedded NATS server speaks TLS: a worker that trusts the
// certificate ($LEDGERLINE_NATS_CA) attaches, one that does not is told what to set.
func TestWorkerAttachesOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a team server and workers as processes")
	}
	cert, key, _ := testcert.Write(t)
	serve := start(t, "serve", "--tls-cert", cert, "--tls-key", key, "--asr", "remote", "--nats", "embedded=127.0.0.1:0",
		"--model", testModel(t), "--db", filepath.Join(t.TempDir(), "server.db"), "--listen", "127.0.0.1:0")
	url := serve.await(`asr workers attach with: .* ledgerline asr-worker --nats (tls://\S+)`)
	t.Setenv(envNATSToken, printedNATSToken(t, serve))

	code, _, errOut := ledgerline(t, "asr-worker", "--nats", url, "--model", testModel(t), "--slots", "1", "--threads", "1")
	if code == 0 || !strings.Contains(errOut, envNATSCA) {
		t.Fatalf("a worker that does not trust the certificate: exit %d: %s; want it told of $%s", code, errOut, envNATSCA)
	}
	t.Setenv(envNATSCA, cert)
	worker := start(t, "asr-worker", "--nats", url, "--model", testModel(t), "--slots", "1", "--threads", "1")
	worker.await(`decoding for tls://127\.0\.0\.1:\d+`)
}

// A NATS server of the team's own may authenticate users by nkey: a worker presents the seed
// file named by $LEDGERLINE_NATS_NKEY; another user's is refused.
func TestWorkerAttachesWithAnNkey(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server and workers")
	}
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	public, _ := user.PublicKey()
	seedFile := func(kp nkeys.KeyPair) string {
		seed, _ := kp.Seed()
		f := filepath.Join(t.TempDir(), "user.nk")
		if err := os.WriteFile(f, seed, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: t.TempDir(), NoSigs: true, Nkeys: []*server.NkeyUser{{Nkey: public}}})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10e9) {
		t.Fatal("NATS did not start")
	}

	stranger, _ := nkeys.CreateUser()
	t.Setenv(envNATSNkey, seedFile(stranger))
	code, _, errOut := ledgerline(t, "asr-worker", "--nats", ns.ClientURL(), "--model", testModel(t), "--slots", "1", "--threads", "1")
	if code == 0 || !strings.Contains(strings.ToLower(errOut), "authorization") {
		t.Fatalf("another user's nkey: exit %d: %s; want an authorization failure", code, errOut)
	}
	t.Setenv(envNATSNkey, seedFile(user))
	worker := start(t, "asr-worker", "--nats", ns.ClientURL(), "--model", testModel(t), "--slots", "1", "--threads", "1")
	worker.await(`decoding for nats://127\.0\.0\.1:\d+`)
}
