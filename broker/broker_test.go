package broker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ledgerline/ledgerline/internal/leaktest"
)

func TestBrokerServesJetStreamWithToken(t *testing.T) {
	leaktest.Check(t)
	dir := t.TempDir()
	b, err := Start(Config{Addr: "127.0.0.1:0", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.HasPrefix(b.URL(), "nats://127.0.0.1:") || strings.HasSuffix(b.URL(), ":4222") || len(b.Token()) < 40 {
		t.Fatalf("URL %q token %q", b.URL(), b.Token())
	}
	if _, err := nats.Connect(b.URL(), nats.Token("wrong"), nats.Timeout(5*time.Second)); err == nil {
		t.Fatal("a wrong token was let in")
	}
	nc, err := b.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t.x", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); err != nil {
		t.Fatalf("the store is not under the directory given: %v", err)
	}
}

func TestBrokerTemporaryStoreIsRemoved(t *testing.T) {
	b, err := Start(Config{Addr: "127.0.0.1:0", Token: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	dir := b.tempDir
	if b.Token() != "secret" || dir == "" {
		t.Fatalf("token %q, temp dir %q", b.Token(), dir)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("temporary store %s left behind: %v", dir, err)
	}
}

func TestBrokerRefusesBadAddress(t *testing.T) {
	for _, addr := range []string{"localhost", "127.0.0.1:http", "127.0.0.1:70000"} {
		if _, err := Start(Config{Addr: addr}); err == nil || !strings.Contains(err.Error(), "broker: listen address") {
			t.Errorf("%s: %v", addr, err)
		}
	}
}
