// Package broker runs the NATS server a team server embeds, with JetStream, so
// that speech recognition (and later other work) can move to processes on
// other machines without a message system to install and run beside it.
//
// A Broker is a single server unless its Config names a cluster: then it is
// one node of a NATS cluster whose JetStream replicates streams over the
// nodes (a stream of 3 replicas goes on serving when one node stops).
//
// Concurrency: a Broker is safe for concurrent use. Start starts the server's
// own goroutines; Close stops them and waits until they have ended. Clients
// connect with the token the Broker was given or generated.
package broker

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// DefaultAddr is where the broker listens unless told otherwise: loopback, so
// that nothing outside this machine reaches it until someone chooses so.
const DefaultAddr = "127.0.0.1:4222"

// readyTimeout bounds the wait for the server to accept connections; on a
// loaded machine JetStream's start takes tens of milliseconds, never seconds.
const readyTimeout = 10 * time.Second

// Config sets up a Broker.
type Config struct {
	// Addr is host:port to listen on; DefaultAddr when empty. Port 0 picks a
	// free port (tests); URL reports the one chosen.
	Addr string
	// Dir holds JetStream's store. Empty keeps it in a temporary directory
	// that Close removes (tests, or a broker that keeps nothing).
	Dir string
	// Token is the secret clients authenticate with; one is generated when
	// empty (Token reports it).
	Token string
	// Logger receives the server's warnings and errors; nil drops them.
	Logger *slog.Logger
	// TLS, when set, makes clients connect over TLS (URL then says tls://): required for an
	// address other machines reach, as jobs carry meetings' audio and the token. Connect from
	// this process goes in-process, past the network.
	TLS *tls.Config

	// The fields below make the broker one node of a cluster; all empty (the
	// default) is a single server, as before.

	// Name is the node's server name, which JetStream needs to tell the
	// nodes of a cluster apart: required, and unique in the cluster, when
	// ClusterName is set; "ledgerline" otherwise.
	Name string
	// ClusterName names the cluster the node belongs to: the same on every
	// node. Setting it requires ClusterAddr and Routes.
	ClusterName string
	// ClusterAddr is host:port the node listens on for the other nodes'
	// routes. Port 0 picks a free port; ClusterAddr reports the one chosen.
	// Routes are authenticated with Token, so every node needs the same
	// Token; still, keep the address on loopback or a private network.
	ClusterAddr string
	// Routes are the cluster addresses (host:port) of other nodes to connect
	// to; the nodes tell each other of the rest. JetStream requires at least
	// one on every node: the first node of a cluster may list its own address
	// (which it then ignores), so its ClusterAddr needs a port known in
	// advance, while nodes started later may take port 0 and list the first.
	Routes []string
}

// Broker is a running embedded NATS server with JetStream.
type Broker struct {
	srv     *server.Server
	token   string
	tls     bool
	tempDir string // removed by Close; "" when the store is the caller's
}

// Start starts the server and waits until it accepts connections.
func Start(cfg Config) (*Broker, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	host, portText, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("broker: listen address %q: %w (want HOST:PORT, such as %s)", cfg.Addr, err, DefaultAddr)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("broker: listen address %q: the port must be a number from 0 to 65535", cfg.Addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if cfg.Token == "" {
		if cfg.Token, err = NewToken(); err != nil {
			return nil, err
		}
	}
	opts := &server.Options{
		ServerName:    "ledgerline",
		Host:          host,
		Port:          port,
		Authorization: cfg.Token,
		JetStream:     true,
		// The process's signals belong to the command that embeds the server.
		NoSigs: true,
	}
	if cfg.TLS != nil {
		opts.TLS, opts.TLSConfig, opts.TLSTimeout = true, cfg.TLS, 5
	}
	if err := cluster(cfg, opts); err != nil {
		return nil, err
	}
	b := &Broker{token: cfg.Token, tls: cfg.TLS != nil}
	dir := cfg.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "ledgerline-broker-"); err != nil {
			return nil, fmt.Errorf("broker: store: %w", err)
		}
		b.tempDir = dir
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("broker: store: %w", err)
	}
	opts.StoreDir = dir
	srv, err := server.NewServer(opts)
	if err != nil {
		b.removeTemp()
		return nil, fmt.Errorf("broker: %w", err)
	}
	if cfg.Logger != nil {
		srv.SetLoggerV2(&logger{cfg.Logger}, false, false, false)
	}
	b.srv = srv
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		b.Close()
		what := cfg.Addr
		if cfg.ClusterAddr != "" {
			what += " (clients) or " + cfg.ClusterAddr + " (routes)"
		}
		return nil, fmt.Errorf("broker: the NATS server did not accept connections on %s within %s: is the address in use?", what, readyTimeout)
	}
	return b, nil
}

// routeUser is the user name routes authenticate with; the password is the token.
const routeUser = "ledgerline-route"

// cluster sets the cluster options of a node from cfg, or checks that cfg
// asks for none.
func cluster(cfg Config, opts *server.Options) error {
	if cfg.ClusterName == "" {
		if cfg.ClusterAddr != "" || len(cfg.Routes) > 0 {
			return errors.New("broker: a cluster address or routes need a cluster name (ClusterName)")
		}
		if cfg.Name != "" {
			opts.ServerName = cfg.Name
		}
		return nil
	}
	if cfg.Name == "" {
		return fmt.Errorf("broker: cluster %s: each node needs a name of its own (Name)", cfg.ClusterName)
	}
	if cfg.ClusterAddr == "" || len(cfg.Routes) == 0 {
		return fmt.Errorf("broker: cluster %s: a node needs a cluster address and at least one route (ClusterAddr, Routes)", cfg.ClusterName)
	}
	host, port, err := hostPort(cfg.ClusterAddr)
	if err != nil {
		return fmt.Errorf("broker: cluster address %q: %w", cfg.ClusterAddr, err)
	}
	opts.ServerName = cfg.Name
	opts.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: host, Port: port,
		Username: routeUser, Password: cfg.Token}
	for _, r := range cfg.Routes {
		if _, _, err := hostPort(r); err != nil {
			return fmt.Errorf("broker: route %q: %w", r, err)
		}
		opts.Routes = append(opts.Routes, &url.URL{Scheme: "nats-route", Host: r,
			User: url.UserPassword(routeUser, cfg.Token)})
	}
	return nil
}

// hostPort splits host:port; port 0 becomes the server's "pick one".
func hostPort(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%w (want HOST:PORT)", err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, errors.New("the port must be a number from 0 to 65535")
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// ClusterAddr is the host:port the node listens on for routes, with the port
// it chose if it was given 0; "" when the broker is not in a cluster.
func (b *Broker) ClusterAddr() string {
	if a := b.srv.ClusterAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Name is the server's name (Config.Name, or "ledgerline").
func (b *Broker) Name() string { return b.srv.Name() }

// URL is the address clients connect to, such as nats://127.0.0.1:4222 (tls://… with TLS).
func (b *Broker) URL() string { return b.srv.ClientURL() }

// Token is the secret clients authenticate with.
func (b *Broker) Token() string { return b.token }

// Connect opens a client connection to the broker, authenticated with its token.
func (b *Broker) Connect(opts ...nats.Option) (*nats.Conn, error) {
	url := b.URL()
	if b.tls { // in-process: the certificate names the host others reach, not this process
		url, opts = "", append(opts, nats.InProcessServer(b.srv))
	}
	nc, err := nats.Connect(url, append([]nats.Option{nats.Token(b.token)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("broker: connect: %w", err)
	}
	return nc, nil
}

// Close stops the server, waits until it has, and removes a temporary store.
func (b *Broker) Close() error {
	b.srv.Shutdown()
	b.srv.WaitForShutdown()
	return b.removeTemp()
}

func (b *Broker) removeTemp() error {
	if b.tempDir == "" {
		return nil
	}
	if err := os.RemoveAll(b.tempDir); err != nil {
		return fmt.Errorf("broker: remove temporary store: %w", err)
	}
	return nil
}

// NewToken returns a random secret for clients to authenticate with: 32
// random bytes, URL-safe, so it can stand in a URL or an environment variable.
func NewToken() (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("broker: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

// logger passes the server's log lines to slog. Notices are debug lines: the
// server announces much at start that a person running Ledgerline need not read.
type logger struct{ l *slog.Logger }

func (l *logger) Noticef(format string, v ...any) {
	l.l.Debug(fmt.Sprintf(format, v...), "source", "nats")
}
func (l *logger) Warnf(format string, v ...any) {
	l.l.Warn(fmt.Sprintf(format, v...), "source", "nats")
}
func (l *logger) Fatalf(format string, v ...any) {
	l.l.Error(fmt.Sprintf(format, v...), "source", "nats")
}
func (l *logger) Errorf(format string, v ...any) {
	l.l.Error(fmt.Sprintf(format, v...), "source", "nats")
}
func (l *logger) Debugf(format string, v ...any) {
	l.l.Debug(fmt.Sprintf(format, v...), "source", "nats")
}
func (l *logger) Tracef(format string, v ...any) {}

var _ server.Logger = (*logger)(nil)
