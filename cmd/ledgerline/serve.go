package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/broker"
	"github.com/ledgerline/ledgerline/crm"
	"github.com/ledgerline/ledgerline/followup"
	"github.com/ledgerline/ledgerline/jobs"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/models"
	"github.com/ledgerline/ledgerline/natsbus"
	"github.com/ledgerline/ledgerline/server"
	"github.com/ledgerline/ledgerline/team"
	"github.com/nats-io/nats.go/jetstream"
)

// runServe runs a team server until interrupted.
func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "serve [--db FILE|postgres://…] [--listen ADDR] [--public-url URL]\n\n"+
		"Runs a team server: one record of many meetings that people of several organisations reach, with\n"+
		"accounts, sharing per deal, a library, search and a REST API (docs/api.md). Laptops send their\n"+
		"meetings with 'ledgerline run --server URL --token T'. The first start on an empty store prints\n"+
		"an administrator token once; manage the server with 'ledgerline admin'.\n\n"+
		"Environment: LEDGERLINE_CRM_KEY, a 32-byte key in base64 (openssl rand -base64 32) that seals\n"+
		"organisations' CRM tokens at rest (docs/crm.md); LEDGERLINE_NATS_TOKEN, _NKEY and _CA\n"+
		"for an external NATS (docs/deploy.md).")
	db := fs.String("db", "", "the record: a SQLite file (default: ledgerline-server.db in the user's data directory) or a postgres://… URL for a shared deployment")
	listen := fs.String("listen", server.DefaultAddr, "address to serve on; 0.0.0.0:8080 (or a LAN address) lets other machines reach it")
	publicURL := fs.String("public-url", "", "URL people reach the server at, such as https://ledgerline.example.com behind a reverse proxy, or https://example.com/ledgerline for one that serves it under a path: invite links, API links and the pages' links are built on it (default: the address each request was sent to)")
	tlsCert := fs.String("tls-cert", "", "PEM certificate to serve HTTPS with (with --tls-key); or leave TLS to a reverse proxy")
	tlsKey := fs.String("tls-key", "", "PEM private key of --tls-cert")
	model := fs.String("model", models.Default, "model the server's own meetings are transcribed with: a name from 'ledgerline models list', or a path to a ggml .bin file")
	language := fs.String("language", "auto", "spoken language of the server's own meetings (ISO 639-1), or auto to detect it")
	languages := languagesFlag(fs)
	refinerURL, refinerModel := refinerFlags(fs)
	workers := fs.Int("workers", 0, "decodes that run at once, shared by every meeting (default: from the CPU cores; workers × threads must fit them)")
	threads := fs.Int("threads", 0, "CPU threads per decode (default: up to 4, from the CPU cores)")
	idleStop := fs.Duration("idle-stop", agent.DefaultIdleStop, "how long a meeting the server records runs on once nobody sends it audio")
	asrMode := fs.String("asr", "local", "where the server's own meetings are decoded: local (in this process) or remote (by 'ledgerline asr-worker' processes reached over NATS; see --nats)")
	natsSpec := fs.String("nats", "embedded", "the NATS server that --asr remote workers take jobs from and that replicas on one PostgreSQL --db share meetings' events over: embedded (started in this process, on "+broker.DefaultAddr+"), embedded=HOST:PORT, or nats://HOST:PORT of a running one, such as another replica's (token in $"+envNATSToken+")")
	natsReplicas := fs.Int("nats-replicas", 1, "copies of the decode and background-work queues that JetStream keeps: 3 on a NATS cluster of three or more, so that work goes on when one node stops")
	maxConns := fs.Int("max-conns", server.DefaultMaxConnsPerAddr, "connections one client address may hold open at once; behind a reverse proxy, whose connections all come from one address, raise it (-1: no limit)")
	var hooks webhookFlags
	fs.Var(&hooks, "webhook", "when a meeting stops (recorded here or sent by a laptop), post its recap summary to this URL (repeatable); prefix slack= for a Slack-compatible incoming webhook. Every organisation's meetings are sent: give it only endpoints the server's operator may read")
	var origins originFlags
	maxBots := maxBotsFlag(fs)
	botPlatforms := botHosts{}
	fs.Var(botPlatforms, "bot-platform", "meeting links on HOST are of PLATFORM, as HOST=PLATFORM: jitsi.example.com=jitsi for a self-hosted Jitsi Meet, or generic for another web meeting (repeatable)")
	fs.Var(&origins, "allowed-origin", "another browser origin (https://crm.example.com) whose pages may open sockets and make changes, as this server's own may (repeatable); the --public-url's is allowed already")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if err := checkLanguages(*language, languages); err != nil {
		return err
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fmt.Errorf("%w: give both --tls-cert and --tls-key, or neither", errUsage)
	}
	if *asrMode != "local" && *asrMode != "remote" {
		return fmt.Errorf("%w: --asr %q: use local or remote", errUsage, *asrMode)
	}
	if *natsReplicas < 1 || *natsReplicas > 5 {
		return fmt.Errorf("%w: --nats-replicas %d: JetStream keeps 1 to 5 copies", errUsage, *natsReplicas)
	}
	if *natsReplicas > 1 && strings.HasPrefix(*natsSpec, "embedded") {
		return fmt.Errorf("%w: --nats-replicas %d: the embedded NATS server is one node, which keeps one copy: "+
			"give --nats the nats:// or tls:// URL of a cluster of %d nodes or more, or leave out --nats-replicas", errUsage, *natsReplicas, *natsReplicas)
	}
	var certificate *tls.Config // served by the embedded NATS server too
	if *tlsCert != "" {
		pair, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("%w: --tls-cert/--tls-key: %w", errUsage, err)
		}
		certificate = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	natsAt := func(dataDir string) natsSettings {
		return natsSettings{spec: *natsSpec, dataDir: dataDir, tls: certificate, replicas: *natsReplicas}
	}
	postgres := postgresURL(*db)
	if *asrMode == "local" && flagSet(fs, "nats") && !postgres {
		return fmt.Errorf("%w: --nats is for --asr remote, or for replicas of a server on a PostgreSQL --db: "+
			"a server on a SQLite file is one process, and decodes in it with --asr local", errUsage)
	}
	size, err := asr.SizeFor(runtime.NumCPU(), *workers, *threads)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	modelPath, modelErr := resolveModel(*model)
	// On PostgreSQL, a server that reaches NATS shares its meetings' events over it with the other
	// replicas on the database (closed after the store, which stops following first).
	var link *remoteASR
	var storeOpts []ledger.PostgresOption
	if postgres && (*asrMode == "remote" || flagSet(fs, "nats")) {
		dataDir, err := serveDataDir(*db, "")
		if err != nil {
			return err
		}
		if *asrMode == "remote" {
			link, err = startRemoteASR(e, natsAt(dataDir), *model)
		} else {
			link, err = startNATS(e, natsAt(dataDir), "")
		}
		if err != nil {
			return err
		}
		defer link.Close()
		bus, err := natsbus.New(link.nc)
		if err != nil {
			return err
		}
		storeOpts = append(storeOpts, ledger.WithBus(bus))
		if link.broker != nil {
			fmt.Fprintf(e.stdout, "replicas join with: %s=%s ledgerline serve --db <the same> --nats %s --public-url <their own>\n",
				envNATSToken, link.tokenRef, reachableURL(link.broker.URL()))
		}
	}
	store, where, err := openTeamStore(ctx, *db, storeOpts...)
	if err != nil {
		return err
	}
	defer store.Close()

	// The server's own meetings decode on one engine, loaded when the first participant arrives:
	// whisper.cpp in this process, or workers reached over NATS.
	load := func(ctx context.Context) (asr.Engine, error) {
		if modelErr != nil {
			return nil, modelErr
		}
		return whisperLoader(e, modelPath, size)(ctx)
	}
	if *asrMode == "remote" {
		if link == nil {
			dataDir, err := serveDataDir(*db, where)
			if err != nil {
				return err
			}
			if link, err = startRemoteASR(e, natsAt(dataDir), *model); err != nil {
				return err
			}
			defer link.Close()
			fmt.Fprintln(e.stderr, "note: NATS carries decoding only: a server on a SQLite file is one process, so it shares "+
				"no events with replicas (run replicas on a PostgreSQL --db)")
		}
		load, modelErr = link.load, nil
	}
	host, err := agent.NewHost(agent.HostConfig{Store: store, Load: load, Options: asr.Options{Language: *language, Languages: languages.codes},
		Detector: speechDetectors(e), Refiner: refiner(*refinerURL, *refinerModel), IdleStop: *idleStop, Loopback: loopbackOnly(*listen, *publicURL), Logger: e.log})
	if err != nil {
		return err
	}
	defer host.Close()
	bots := newServeBots(e, store, host, *maxBots, botPlatforms)
	defer bots.close()
	crmKeys, err := crm.KeyringFromEnv() // organisations' CRM tokens are sealed under $LEDGERLINE_CRM_KEY
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	srv, err := team.New(team.Config{
		Store:     store,
		CRM:       crmKeys,
		PublicURL: *publicURL,
		Logger:    e.log,
		Control:   host,
		Recorder:  host,
		Bots:      bots, PrivateFeeds: loopbackOnly(*listen, *publicURL),
		Server: server.Config{Addr: *listen, MaxConnsPerAddr: *maxConns, AllowedOrigins: origins, Logger: e.log, Ingest: host.Ingest(),
			Narrator:    narrator(*refinerURL, *refinerModel),
			TLSCertFile: *tlsCert, TLSKeyFile: *tlsKey},
	})
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	defer srv.Close()
	addr, err := srv.Overlay().Start()
	if err != nil {
		return fmt.Errorf("%w\nis another server using %s? pick another address with --listen", err, *listen)
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	base := *publicURL
	if base == "" {
		base = scheme + "://" + agent.LinkAddr(addr)
	}
	if err := host.Attach(srv.Overlay(), base); err != nil {
		return err
	}
	// Stopped meetings' recap summaries go to the webhooks once per stop, whatever crashes: from a
	// durable queue on NATS that every replica sweeps into and takes jobs from, or in this process.
	recapURL := func(m ledger.Meeting) string {
		return base + "/m/" + url.PathEscape(m.ID) + "/recap" // people sign in to open it
	}
	// Each stop also pushes its meeting to its deal's CRM record, where one is set (docs/crm.md).
	push, err := crm.New(crm.Config{Store: store, Keys: crmKeys, RecapURL: recapURL, Logger: e.log})
	if err != nil {
		return err
	}
	follow, err := followUps(e, store, hooks.endpoints, recapURL, push)
	if err != nil {
		return err
	}
	background, stopBackground := context.WithCancel(ctx)
	var bg sync.WaitGroup
	defer bg.Wait()
	defer stopBackground()
	if err := runFollowUps(background, &bg, e, follow, link); err != nil {
		return err
	}
	bots.attach(background, base)
	bg.Go(func() { srv.RunBots(background) })
	if modelErr != nil {
		fmt.Fprintf(e.stderr, "note: meetings the server records itself need a model: %v\n", modelErr)
	}
	fmt.Fprintf(e.stderr, "serving the team server on %s, recording to %s\n", base, where)
	noteMicrophone(e.stderr, base)
	secret, err := srv.EnsureAdmin(ctx)
	if err != nil {
		return err
	}
	if secret != "" {
		fmt.Fprintf(e.stdout, "admin token: %s\n", secret)
		fmt.Fprintf(e.stderr, "This administrator token is shown once and stored only hashed: keep it safe. Next:\n"+
			"  ledgerline admin --server %s --token TOKEN org create \"Your company\"\n", base)
	}
	<-ctx.Done()
	fmt.Fprintln(e.stderr, "stopping: ending the meetings being recorded, then closing viewers' connections")
	hostErr := host.Close()
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(hostErr, srv.Overlay().Shutdown(stop))
}

// runFollowUps sweeps stopped meetings' follow-ups and carries them out, until ctx ends: through
// the durable queue on link's NATS when there is one, so that replicas share them, else here.
func runFollowUps(ctx context.Context, wg *sync.WaitGroup, e *env, follow *followup.Service, link *remoteASR) error {
	if link == nil {
		wg.Go(func() { follow.Run(ctx, follow.Deliver) })
		return nil
	}
	js, err := jetstream.New(link.nc)
	if err != nil {
		return fmt.Errorf("follow-ups: %w", err)
	}
	q, err := jobs.Open(ctx, js, jobs.Config{Kind: "followup", Replicas: link.replicas, Logger: e.log})
	if err != nil {
		return err
	}
	wg.Go(func() { follow.Run(ctx, q.Submit) })
	wg.Go(func() {
		if err := q.Run(ctx, follow.Deliver); err != nil {
			e.log.Warn("follow-ups stopped", "err", err)
		}
	})
	return nil
}

// serveStore is what the team server keeps its record in.
type serveStore interface {
	team.Store
	agent.HostStore
	followup.Store
}

var (
	_ serveStore = (*ledger.SQLiteStore)(nil)
	_ serveStore = (*ledger.PostgresStore)(nil)
)

// loopbackHost reports whether a listen address is on the loopback interface only.
func loopbackHost(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// loopbackOnly reports whether participants' media stays on this machine: a server that listens
// on loopback and is not reached at another address (a reverse proxy on the same host passes its
// requests on, not its participants' WebRTC media, which must reach a real interface).
func loopbackOnly(listen, publicURL string) bool {
	if publicURL != "" {
		if u, err := url.Parse(publicURL); err != nil || !loopbackHost(net.JoinHostPort(u.Hostname(), "0")) {
			return false
		}
	}
	return loopbackHost(listen)
}

// openTeamStore opens the team server's record: PostgreSQL for a postgres:// URL, else a SQLite
// file. It returns the store and where it is, for people to read (never the URL's password).
func openTeamStore(ctx context.Context, db string, opts ...ledger.PostgresOption) (serveStore, string, error) {
	if postgresURL(db) {
		s, err := ledger.OpenPostgres(ctx, db, opts...)
		if err != nil {
			return nil, "", fmt.Errorf("%w\ncheck that PostgreSQL is running and the URL's user, password and database are right", err)
		}
		return s, redactURL(db), nil
	}
	if db == "" {
		p, err := ledger.DefaultPath()
		if err != nil {
			return nil, "", err
		}
		db = filepath.Join(filepath.Dir(p), "ledgerline-server.db")
	}
	s, err := ledger.OpenSQLite(db)
	if err != nil {
		return nil, "", err
	}
	return s, db, nil
}

// postgresURL reports whether --db names a PostgreSQL database.
func postgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// redactURL hides a database URL's password.
func redactURL(raw string) string {
	i := strings.Index(raw, "://")
	at := strings.LastIndex(raw, "@")
	if i < 0 || at < i {
		return raw
	}
	userinfo := raw[i+3 : at]
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return raw[:i+3] + user + ":xxxxx" + raw[at:]
	}
	return raw
}

// noteMicrophone tells, where a link people join with is printed, that browsers will not let them
// send their microphone from it: plain http on another host than this machine.
func noteMicrophone(w io.Writer, link string) {
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "http" || loopbackHost(net.JoinHostPort(u.Hostname(), "0")) {
		return
	}
	fmt.Fprintln(w, "note: browsers allow the microphone only on https or localhost, so people opening this link from "+
		"other machines cannot send their voice: serve with --tls-cert/--tls-key, or behind an HTTPS reverse proxy "+
		"with --public-url (see docs/deploy.md)")
}

// originFlags collects --allowed-origin values.
type originFlags []string

func (o *originFlags) String() string { return strings.Join(*o, ",") }

func (o *originFlags) Set(v string) error {
	*o = append(*o, v)
	return nil
}
