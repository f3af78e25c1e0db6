package broker

import (
	"bufio"
	"net"
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

func TestBrokerClusterNeedsNameAddressAndRoutes(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{ClusterAddr: "127.0.0.1:0"}, "need a cluster name"},
		{Config{Routes: []string{"127.0.0.1:6222"}}, "need a cluster name"},
		{Config{ClusterName: "c", ClusterAddr: "127.0.0.1:0", Routes: []string{"127.0.0.1:6222"}}, "name of its own"},
		{Config{ClusterName: "c", Name: "a", Routes: []string{"127.0.0.1:6222"}}, "cluster address and at least one route"},
		{Config{ClusterName: "c", Name: "a", ClusterAddr: "127.0.0.1:0"}, "cluster address and at least one route"},
		{Config{ClusterName: "c", Name: "a", ClusterAddr: "127.0.0.1", Routes: []string{"127.0.0.1:6222"}}, "cluster address"},
		{Config{ClusterName: "c", Name: "a", ClusterAddr: "127.0.0.1:0", Routes: []string{"127.0.0.1:x"}}, `route "127.0.0.1:x"`},
	} {
		c.cfg.Addr = "127.0.0.1:0"
		if b, err := Start(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			if err == nil {
				b.Close()
			}
			t.Errorf("%+v: %v, want an error saying %q", c.cfg, err, c.want)
		}
	}
}

func TestBrokerSingleNodeIsNoCluster(t *testing.T) {
	b, err := Start(Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.ClusterAddr() != "" || b.Name() != "ledgerline" {
		t.Fatalf("cluster address %q, name %q", b.ClusterAddr(), b.Name())
	}
}

// TestBrokerClusterNodesRoute starts a seed node that routes to itself (its
// port is known beforehand) and a second node on port 0 that routes to it.
func TestBrokerClusterNodesRoute(t *testing.T) {
	leaktest.Check(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seed := l.Addr().String()
	l.Close()
	token, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	a, err := Start(Config{Addr: "127.0.0.1:0", Token: token, Name: "a", ClusterName: "c", ClusterAddr: seed, Routes: []string{seed}})
	if err != nil {
		t.Skipf("the seed port was taken meanwhile: %v", err)
	}
	defer a.Close()
	b, err := Start(Config{Addr: "127.0.0.1:0", Token: token, Name: "b", ClusterName: "c", ClusterAddr: "127.0.0.1:0", Routes: []string{seed}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.ClusterAddr() != seed || !strings.HasPrefix(b.ClusterAddr(), "127.0.0.1:") || strings.HasSuffix(b.ClusterAddr(), ":0") {
		t.Fatalf("cluster addresses %q (want %s) and %q", a.ClusterAddr(), seed, b.ClusterAddr())
	}
	if a.Name() != "a" || b.Name() != "b" {
		t.Fatalf("names %q and %q", a.Name(), b.Name())
	}
	// A message published on one node reaches a subscriber on the other once
	// the route is up.
	na, err := a.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer na.Close()
	nb, err := b.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	sub, err := nb.SubscribeSync("x")
	if err != nil {
		t.Fatal(err)
	}
	if err := nb.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := na.Publish("x", []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, err := sub.NextMsg(200 * time.Millisecond); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no message crossed the route within 30 s")
		}
	}
	// Routes are authenticated with the token: a route that lacks it is
	// turned away.
	c, err := net.DialTimeout("tcp", seed, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	info, err := r.ReadString('\n')
	if err != nil || !strings.Contains(info, `"auth_required":true`) {
		t.Fatalf("route INFO %q: %v", info, err)
	}
	if _, err := c.Write([]byte(`CONNECT {"user":"` + routeUser + `","pass":"wrong","name":"intruder","cluster":"c"}` + "\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := r.ReadString('\n')
	if !strings.Contains(line, "Authorization Violation") {
		t.Fatalf("a route with a wrong password got %q (%v)", line, err)
	}
}
