package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/asr/remote"
	"github.com/ledgerline/ledgerline/broker"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/models"
)

// The NATS credentials serve and its asr-workers present, from the environment so that they stay
// out of process listings: the server's token, or a file holding a user's nkey seed (a NATS
// server of your own); and a PEM file of the CA that signed the server's certificate, when it
// is not one the system trusts.
const (
	envNATSToken = "LEDGERLINE_NATS_TOKEN"
	envNATSNkey  = "LEDGERLINE_NATS_NKEY"
	envNATSCA    = "LEDGERLINE_NATS_CA"
)

// runASRWorker decodes speech for a team server until interrupted.
func runASRWorker(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "asr-worker", "asr-worker --nats URL --model NAME|PATH [--slots N] [--threads N] [--token T] [--gpu]\n\n"+
		"Decodes speech for a team server started with 'serve --asr remote': it takes one window at a time per\n"+
		"slot from the server's NATS queue, so capacity grows with every worker started, on this machine or\n"+
		"others. It keeps nothing; Ctrl-C hands unfinished windows back to the other workers. Every worker\n"+
		"must load the server's model: a job for another model is refused. A NATS server of your own may\n"+
		"take a user's nkey instead of a token ($"+envNATSNkey+", a seed file), and one served with TLS (tls://)\n"+
		"a certificate from a private CA ($"+envNATSCA+", its PEM file).")
	natsURL := fs.String("nats", "", "the NATS server serve printed, such as nats://10.0.0.5:4222")
	token := fs.String("token", "", "the NATS server's token (default $"+envNATSToken+")")
	model := fs.String("model", models.Default, "the team server's model: a name from 'ledgerline models list', or a path to a ggml .bin file")
	slots := fs.Int("slots", 0, "windows decoded at once (default: from the CPU cores; slots × threads must fit them)")
	threads := fs.Int("threads", 0, "CPU threads per decode (default: up to 4, from the CPU cores)")
	name := fs.String("name", "", "this worker's name in its replies and logs (default: the host name and process id)")
	gpu := fs.Bool("gpu", false, "decode on the GPU: needs a build of whisper.cpp with a GPU backend (make build WHISPER_CUDA=1); without one, whisper.cpp decodes on the CPU")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if *natsURL == "" {
		return fmt.Errorf("%w: give --nats URL: the address 'ledgerline serve --asr remote' printed", errUsage)
	}
	size, err := asr.SizeFor(runtime.NumCPU(), *slots, *threads)
	if err != nil {
		return fmt.Errorf("%w: %s", errUsage, strings.ReplaceAll(err.Error(), "--workers", "--slots"))
	}
	if *name == "" {
		host, _ := os.Hostname()
		*name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	path, err := resolveModel(*model)
	if err != nil {
		return err
	}
	sum, err := remote.Checksum(path)
	if err != nil {
		return err
	}
	engine, err := asr.NewWhisper(asr.WhisperConfig{ModelPath: path, Workers: size.Workers, Threads: size.Threads, UseGPU: *gpu, Logger: e.log})
	if err != nil {
		return err
	}
	defer engine.Close()
	nc, err := connectNATS(*natsURL, firstNonEmpty(*token, os.Getenv(envNATSToken)), "ledgerline asr-worker "+*name, e.log)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	var decoded atomic.Int64
	w, err := remote.NewWorker(ctx, js, engine, sum, remote.WorkerConfig{
		Slots: size.Workers, Name: *name, Logger: e.log,
		Decoded: func(took time.Duration, err error) {
			if decoded.Add(1) == 1 {
				fmt.Fprintf(e.stderr, "decoded its first window in %s\n", took.Round(time.Millisecond))
			}
			if err != nil {
				e.log.Warn("decode failed", "err", err)
			}
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "asr-worker %s: decoding for %s with model %s (sha1 %s), %d slots × %d threads; Ctrl-C stops\n",
		*name, nc.ConnectedUrlRedacted(), filepath.Base(path), sum, size.Workers, size.Threads)
	err = w.Serve(ctx)
	s := w.Stats()
	fmt.Fprintf(e.stderr, "stopped: decoded %d windows, handed back %d, refused %d, dropped %d expired\n",
		s.Decoded, s.Abandoned, s.Refused, s.Expired)
	return err
}

// connectNATS connects to the team's NATS server, and keeps reconnecting for as
// long as the process runs: a restarted server is reached again.
func connectNATS(url, token, name string, log *slog.Logger) (*nats.Conn, error) {
	shown := url // as logged: without a password it may carry
	if u, err := neturl.Parse(url); err == nil {
		shown = u.Redacted()
	}
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second), nats.Timeout(10 * time.Second),
		// An operator sees the link go and come back: decoding waits meanwhile.
		nats.NoCallbacksAfterClientClose(), // closing is no loss
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("lost the NATS server; reconnecting (jobs wait meanwhile)", "url", shown, "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("reconnected to the NATS server", "url", nc.ConnectedUrlRedacted()) }),
	}
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	if seed := os.Getenv(envNATSNkey); seed != "" {
		o, err := nats.NkeyOptionFromSeed(seed)
		if err != nil {
			return nil, fmt.Errorf("nats: $%s: %w: name a file holding the user's nkey seed (SU…)", envNATSNkey, err)
		}
		opts = append(opts, o)
	}
	if ca := os.Getenv(envNATSCA); ca != "" {
		opts = append(opts, nats.RootCAs(ca))
	}
	nc, err := nats.Connect(url, opts...)
	var unknownAuthority x509.UnknownAuthorityError
	switch {
	case errors.As(err, &unknownAuthority) || err != nil && strings.Contains(err.Error(), "certificate"):
		return nil, fmt.Errorf("nats %s: %w: name the server's certificate (or its CA's) in $%s", url, err, envNATSCA)
	case errors.Is(err, nats.ErrAuthorization) && token == "":
		return nil, fmt.Errorf("nats %s: %w: give the token serve printed with --token or $%s", url, err, envNATSToken)
	case errors.Is(err, nats.ErrAuthorization):
		return nil, fmt.Errorf("nats %s: %w: the token is not the server's; use the one serve printed", url, err)
	case err != nil:
		return nil, fmt.Errorf("nats %s: %w: is the team server running with --asr remote, and is the address reachable from here?", url, err)
	}
	return nc, nil
}

// flagSet reports whether the command line gave the flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// remoteASR is the team server's NATS: the server it starts or reaches, for
// remote decoding (the engine its meetings decode on) and for the events its
// replicas share. spec is --nats: "embedded", "embedded=ADDR" or a nats:// URL.
// Close ends what it started.
type remoteASR struct {
	nc       *nats.Conn
	broker   *broker.Broker // nil when the NATS server is another's
	model    string         // the checksum workers must have; "" without remote decoding
	replicas int            // copies of the queues JetStream keeps
	log      *slog.Logger   // where the remote engine says that no worker answers
	// tokenRef says where an embedded server's token is, for the lines that tell workers and
	// replicas how to attach: the token itself is a secret, and stays out of logs and journals.
	tokenRef string
}

// natsSettings say how serve reaches its NATS server.
type natsSettings struct {
	spec     string      // --nats: embedded, embedded=ADDR or a nats:// or tls:// URL
	dataDir  string      // holds an embedded server's store and token, so that workers keep theirs across restarts
	tls      *tls.Config // serve's certificate, which an embedded server serves too; nil without one
	replicas int         // --nats-replicas
}

// startRemoteASR starts (or connects to) the NATS server for remote decoding.
func startRemoteASR(e *env, n natsSettings, model string) (*remoteASR, error) {
	sum, err := modelChecksum(model)
	if err != nil {
		return nil, err
	}
	r, err := startNATS(e, n, model)
	if err != nil {
		return nil, err
	}
	r.model = sum
	return r, nil
}

// startNATS starts (or connects to) the NATS server; model, when not "", is
// the one the line telling workers how to attach names. An embedded server
// that other machines reach serves TLS: its jobs carry meetings' audio.
func startNATS(e *env, n natsSettings, model string) (*remoteASR, error) {
	r := &remoteASR{replicas: n.replicas, log: e.log}
	var err error
	token := os.Getenv(envNATSToken)
	switch spec := n.spec; {
	case spec == "embedded" || strings.HasPrefix(spec, "embedded="):
		addr := strings.TrimPrefix(strings.TrimPrefix(spec, "embedded"), "=")
		if addr != "" && !loopbackHost(addr) && n.tls == nil {
			return nil, fmt.Errorf("%w: --nats %s reaches other machines, and NATS carries meetings' audio and its token: "+
				"give --tls-cert and --tls-key (NATS is served with them too), or run a NATS server with TLS "+
				"and give its tls:// URL", errUsage, spec)
		}
		dir := filepath.Join(n.dataDir, "ledgerline-nats")
		r.tokenRef = "<the token in serve's $" + envNATSToken + ">"
		if token == "" {
			file := filepath.Join(dir, "token")
			if token, err = storedToken(file); err != nil {
				return nil, err
			}
			r.tokenRef = "$(cat '" + strings.ReplaceAll(file, "'", `'\''`) + "')"
		}
		if r.broker, err = broker.Start(broker.Config{Addr: addr, Dir: dir, Token: token, TLS: n.tls, Logger: e.log}); err != nil {
			return nil, err
		}
		if r.nc, err = r.broker.Connect(nats.Name("ledgerline serve")); err != nil {
			r.broker.Close()
			return nil, err
		}
		if model != "" {
			fmt.Fprintf(e.stdout, "asr workers attach with: %s=%s ledgerline asr-worker --nats %s --model %s\n",
				envNATSToken, r.tokenRef, reachableURL(r.broker.URL()), model)
		}
		if loopbackHost(addr) || addr == "" {
			fmt.Fprintln(e.stderr, "note: NATS listens on loopback: workers on other machines need --nats embedded=0.0.0.0:4222 "+
				"(or a LAN address) with --tls-cert/--tls-key")
		}
	case strings.HasPrefix(spec, "nats://") || strings.HasPrefix(spec, "tls://"):
		if r.nc, err = connectNATS(spec, token, "ledgerline serve", e.log); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: --nats %q: use embedded, embedded=HOST:PORT, nats://HOST:PORT or tls://HOST:PORT", errUsage, spec)
	}
	return r, nil
}

// load is HostConfig.Load for remote decoding: the Host closes the engine.
func (r *remoteASR) load(ctx context.Context) (asr.Engine, error) {
	return remote.New(ctx, r.nc, r.model, remote.WithReplicas(r.replicas), remote.WithLogger(r.log))
}

// Close closes the connection, then stops an embedded server.
func (r *remoteASR) Close() error {
	r.nc.Close()
	if r.broker != nil {
		return r.broker.Close()
	}
	return nil
}

// modelChecksum is the identity of the model a server's workers must load:
// a file's SHA-1, or the catalogue's for a model named and not downloaded here
// (the server itself decodes nothing).
func modelChecksum(nameOrPath string) (string, error) {
	if fi, err := os.Stat(nameOrPath); err == nil && fi.Mode().IsRegular() {
		return remote.Checksum(nameOrPath)
	}
	if m, err := models.Lookup(nameOrPath); err == nil && m.SHA1 != "" {
		return strings.ToLower(m.SHA1), nil
	}
	path, err := resolveModel(nameOrPath)
	if err != nil {
		return "", fmt.Errorf("%w\n(with --asr remote the server needs the model only to tell its workers which one to load)", err)
	}
	return remote.Checksum(path)
}

// storedToken reads the embedded NATS server's token, making one the first time.
func storedToken(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	token, err := broker.NewToken()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("nats token: %w", err)
	}
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("nats token: %w", err)
	}
	return token, nil
}

// serveDataDir is where serve keeps what lives beside its record: next to a
// SQLite file, or in the user's data directory for PostgreSQL.
func serveDataDir(db, where string) (string, error) {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		p, err := ledger.DefaultPath()
		if err != nil {
			return "", err
		}
		return filepath.Dir(p), nil
	}
	return filepath.Dir(where), nil
}

// reachableURL is a URL of this machine's server as another machine dials it: an address every
// interface listens on (0.0.0.0, ::) reaches nothing from elsewhere, so this machine's name
// stands for it (and is the name a certificate is made out to).
func reachableURL(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return raw
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsUnspecified() {
		return raw
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return raw
	}
	u.Host = net.JoinHostPort(host, u.Port())
	return u.String()
}
