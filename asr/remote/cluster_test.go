package remote

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/broker"
	"github.com/ledgerline/ledgerline/internal/leaktest"
)

// clusterDeadline bounds each wait of the cluster test: forming, electing,
// decoding again. Generous, for a loaded 2-core machine under -race; the
// waits end as soon as their condition holds.
const clusterDeadline = 60 * time.Second

// startCluster starts n embedded brokers on loopback as one NATS cluster
// with JetStream. JetStream wants a route on every node, so the first node
// lists its own cluster address, which therefore has to be known before it
// starts: a free port is looked up (and looked up again should another
// process take it first); the others take port 0 and route to the first.
func startCluster(t *testing.T, n int) []*broker.Broker {
	t.Helper()
	token, err := broker.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	node := func(i int, clusterAddr string, routes ...string) (*broker.Broker, error) {
		b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Dir: t.TempDir(), Token: token,
			Name: "n" + strconv.Itoa(i), ClusterName: "ledgerline-test", ClusterAddr: clusterAddr, Routes: routes})
		if err == nil {
			t.Cleanup(func() { b.Close() })
		}
		return b, err
	}
	var first *broker.Broker
	for try := 0; first == nil; try++ {
		seed := freeAddr(t)
		if first, err = node(0, seed, seed); err != nil && try == 4 {
			t.Fatal(err)
		}
	}
	nodes := []*broker.Broker{first}
	for i := 1; i < n; i++ {
		routes := []string{first.ClusterAddr()}
		if i > 1 {
			routes = append(routes, nodes[i-1].ClusterAddr())
		}
		b, err := node(i, "127.0.0.1:0", routes...)
		if err != nil {
			t.Fatal(err)
		}
		if a := b.ClusterAddr(); !strings.HasPrefix(a, "127.0.0.1:") || strings.HasSuffix(a, ":0") {
			t.Fatalf("node %d reports cluster address %q", i, a)
		}
		nodes = append(nodes, b)
	}
	return nodes
}

// freeAddr is a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// connectCluster connects to nodes[first], and to the others when that one
// goes away.
func connectCluster(t *testing.T, nodes []*broker.Broker, first int) *nats.Conn {
	t.Helper()
	urls := []string{nodes[first].URL()}
	for i, b := range nodes {
		if i != first {
			urls = append(urls, b.URL())
		}
	}
	nc, err := nats.Connect(strings.Join(urls, ","), nats.Token(nodes[first].Token()), nats.DontRandomize(),
		nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// eventually calls f until it returns nil, pausing between calls, and fails
// the test with f's last error once clusterDeadline has passed. Each call
// gets a context whose timeout starts short, as a request made before a
// leader is elected may go unanswered, and doubles, up to 10 s, in case the
// machine is slow rather than the cluster not ready.
func eventually(t *testing.T, what string, f func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(clusterDeadline)
	for wait := time.Second; ; wait = min(2*wait, 10*time.Second) {
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		err := f(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, clusterDeadline, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// streamHealthy is nil once the stream has a leader and every other replica
// is current.
func streamHealthy(ctx context.Context, js jetstream.JetStream, replicas int) (*jetstream.StreamInfo, error) {
	s, err := js.Stream(ctx, StreamName)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	c := info.Cluster
	if c == nil || c.Leader == "" {
		return nil, errors.New("no stream leader yet")
	}
	current := 1
	for _, p := range c.Replicas {
		if p.Current && !p.Offline {
			current++
		}
	}
	if current < replicas {
		return nil, errors.New("leader " + c.Leader + ": replicas not current yet")
	}
	return info, nil
}

func TestClusterDecodingGoesOnAfterTheStreamLeaderStops(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-node cluster takes seconds to form, and a new stream leader seconds to be elected")
	}
	leaktest.Check(t)
	began := time.Now()
	nodes := startCluster(t, 3)
	ncA := connectCluster(t, nodes, 0)
	jsA, err := jetstream.New(ncA)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a JetStream meta leader", func(ctx context.Context) error {
		_, err := jsA.AccountInfo(ctx)
		return err
	})

	// An R3 stream can be placed only once the meta leader knows all three nodes.
	var engine *Engine
	eventually(t, "the engine's R3 stream", func(ctx context.Context) error {
		e, err := New(ctx, ncA, testModel, WithReplicas(3), WithTimeout(5*time.Second), WithTries(3))
		engine = e
		return err
	})
	t.Cleanup(func() { engine.Close() })

	ncB := connectCluster(t, nodes, 1)
	jsB, err := jetstream.New(ncB)
	if err != nil {
		t.Fatal(err)
	}
	local := &fake{name: "w"}
	w, err := NewWorker(t.Context(), jsB, local, testModel, WorkerConfig{Slots: 2, Name: "w"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- w.Serve(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	var before *jetstream.StreamInfo
	eventually(t, "all three replicas of the stream current", func(ctx context.Context) (err error) {
		before, err = streamHealthy(ctx, jsA, 3)
		return err
	})
	if got := before.Config.Replicas; got != 3 {
		t.Fatalf("the stream has %d replicas after the worker started, want 3", got)
	}

	window := 0
	decode := func(ctx context.Context) error {
		pcm := speech(0.5, window)
		got, err := engine.Transcribe(ctx, pcm, asr.Options{Language: "en"})
		if err != nil {
			return err
		}
		want, _ := local.Transcribe(ctx, pcm, asr.Options{Language: "en"})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("window %d: got %+v, want %+v", window, got, want)
		}
		window++
		return nil
	}
	const n = 3
	for range n {
		dctx, cancel := context.WithTimeout(t.Context(), clusterDeadline)
		err := decode(dctx)
		cancel()
		if err != nil {
			t.Fatalf("window %d before the leader stopped: %v", window, err)
		}
	}

	leader := before.Cluster.Leader
	var gone *broker.Broker
	for _, b := range nodes {
		if b.Name() == leader {
			gone = b
		}
	}
	if gone == nil {
		t.Fatalf("the stream's leader %q is none of the nodes", leader)
	}
	formed := time.Since(began)
	stopped := time.Now()
	if err := gone.Close(); err != nil {
		t.Fatal(err)
	}

	// Decode n more windows; the engine's own tries and whole Transcribes
	// again ride out the election and the clients' reconnection.
	failures := 0
	eventually(t, "the first decode after the leader stopped", func(ctx context.Context) error {
		dctx, cancel := context.WithTimeout(t.Context(), 3*engine.timeout)
		defer cancel()
		err := decode(dctx)
		if err != nil {
			failures++
			t.Logf("after %s: %v", time.Since(stopped).Round(time.Millisecond), err)
		}
		return err
	})
	recovered := time.Since(stopped)
	for range n - 1 {
		dctx, cancel := context.WithTimeout(t.Context(), clusterDeadline)
		err := decode(dctx)
		cancel()
		if err != nil {
			t.Fatalf("window %d after the first decode on the new leader: %v", window, err)
		}
	}
	if window != 2*n {
		t.Fatalf("%d windows decoded, want %d", window, 2*n)
	}

	var after *jetstream.StreamInfo
	eventually(t, "a new stream leader with the two replicas left current", func(ctx context.Context) (err error) {
		after, err = streamHealthy(ctx, jsA, 2)
		return err
	})
	if after.Cluster.Leader == leader {
		t.Fatalf("the stopped node %s still leads the stream", leader)
	}
	st := engine.Stats()
	t.Logf("cluster formed in %s; stream leader %s stopped; first decode %s later (%d Transcribes failed, %d retries); new leader %s; worker %+v",
		formed.Round(time.Millisecond), leader, recovered.Round(time.Millisecond), failures, st.Retries,
		after.Cluster.Leader, w.Stats())
}
