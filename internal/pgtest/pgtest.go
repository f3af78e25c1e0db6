// Package pgtest starts a throwaway PostgreSQL server for a test binary and
// hands each test its own database on it. It needs the server binaries of a
// local install (Debian's postgresql package) and nothing else: no Docker,
// no downloads.
//
// One cluster serves one test binary; each test takes a fresh database,
// copied from a template that is prepared once:
//
//	func TestMain(m *testing.M) {
//		os.Exit(pgtest.Main(m, func(ctx context.Context, c *pgtest.Cluster) error {
//			return c.Template(ctx, "migrated", migrate)
//		}))
//	}
//
//	func TestStore(t *testing.T) {
//		url := pgtest.Shared(t).NewDatabase(t) // dropped when t ends
//		...
//	}
//
// Where PostgreSQL is not installed the tests skip, unless
// LEDGERLINE_REQUIRE_POSTGRES=1 asks for them to fail.
//
// Concurrency: a Cluster is safe for concurrent use, so parallel tests may
// call NewDatabase at once; each gets a database of its own. Template is for
// setup and Stop for the end of the binary: call them when no test is using
// the cluster.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the role the cluster is created with; it authenticates
// without a password (trust), and only over loopback.
const Superuser = "ledgerline"

// ErrUnavailable is wrapped by the errors saying that PostgreSQL cannot run
// on this machine at all (no server binaries, no user to run them as), as
// opposed to failing to: tests skip on the first and fail on the second.
var ErrUnavailable = errors.New("pgtest: PostgreSQL is not available")

// Bounds on the server's start and stop. A loaded 2-core machine starts it
// in about a second; the margin is for worse.
var (
	readyTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
	pollInterval = 20 * time.Millisecond
)

// EnvDir names the directory to make clusters in, over the default: /dev/shm
// where it has room, else the system's temporary directory.
const EnvDir = "LEDGERLINE_PG_TMPDIR"

// shmRoom is the free space /dev/shm needs to be chosen: a cluster takes
// about 40 MB, each database about 8 MB more, and the write-ahead log up to
// max_wal_size. Containers often give /dev/shm only 64 MB.
const shmRoom = 1 << 30

// clusterRoot is where clusters go. Memory beats disk by far: on an ext4
// virtual disk CREATE DATABASE took about 300 ms, most of it opening the few
// hundred files it copies, and initdb 1.4 s; on tmpfs they took 10 to 30 ms
// and 0.6 s.
func clusterRoot() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	if free, ok := freeBytes("/dev/shm"); ok && free >= shmRoom {
		return "/dev/shm"
	}
	return os.TempDir()
}

// dirPrefix starts the name of every cluster directory, followed by the
// owning process's id, so that a later run can tell a dead run's directory
// from a live one's (sweep).
const dirPrefix = "ledgerline-pgtest-"

// Cluster is a running PostgreSQL server in a temporary directory, listening
// on a random loopback port.
type Cluster struct {
	dir  string
	port int
	srv  *proc

	seq atomic.Int64 // numbers the databases NewDatabase makes

	tmplMu    sync.Mutex // serialises Template
	templates map[string]bool

	mu       sync.Mutex // guards the fields below
	stopped  bool
	idle     []*pgx.Conn // admin connections to the postgres database
	template string      // what NewDatabase copies

	stopOnce sync.Once
	stopErr  error
}

// Start creates a cluster in a new temporary directory and starts its
// server; ctx bounds the start only. It first removes the directories that
// earlier runs, killed before they could stop their server, left behind.
// The caller owns the cluster and must Stop it; should the process die
// first, even by SIGKILL, the server dies with it (on Linux; see spawn).
func Start(ctx context.Context) (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	owner, err := serverUser()
	if err != nil {
		return nil, err
	}
	root := clusterRoot()
	sweep(root)
	if tmp := os.TempDir(); tmp != root {
		sweep(tmp)
	}
	dir, err := os.MkdirTemp(root, fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{dir: dir, templates: map[string]bool{}, template: "template0"}
	if err := c.start(ctx, bin, owner); err != nil {
		c.kill()
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, bin string, owner *account) error {
	if err := owner.chown(c.dir); err != nil {
		return fmt.Errorf("pgtest: handing %s to %s: %w", c.dir, owner, err)
	}
	data := filepath.Join(c.dir, "data")
	var out bytes.Buffer
	initdb := exec.Command(filepath.Join(bin, "initdb"),
		"-D", data, "-U", Superuser, "--auth=trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--no-sync", "--no-instructions")
	// The server user may not be allowed into the caller's working directory.
	initdb.Dir = c.dir
	initdb.Stdout, initdb.Stderr = &out, &out
	if err := run(ctx, initdb, owner); err != nil {
		// A directory the server user cannot reach fails as "fork/exec
		// .../initdb: permission denied": name both.
		return fmt.Errorf("pgtest: initdb in %s as %s: %w\n%s", c.dir, owner, err, strings.TrimSpace(out.String()))
	}

	// The free port is found by binding and releasing it, so another process
	// may take it before the server binds it; then a second port is tried.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return fmt.Errorf("pgtest: finding a free port: %w", err)
		}
		err = c.launch(ctx, bin, owner, port)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			return err
		}
	}
}

var errPortTaken = errors.New("port taken")

// launch runs the server in the foreground, as this process's child, rather
// than through pg_ctl, which would daemonise it out of reach of the
// parent-death signal and of Stop.
func (c *Cluster) launch(ctx context.Context, bin string, owner *account, port int) error {
	logf, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close() // the child holds its own copy
	sockets := c.dir
	if len(sockets)+len("/.s.PGSQL.65535") >= 108 {
		sockets = "" // past the limit of a Unix socket's path: TCP only
	}
	srv := exec.Command(filepath.Join(bin, "postgres"),
		"-D", filepath.Join(c.dir, "data"),
		"-p", strconv.Itoa(port),
		"-k", sockets,
		"-c", "listen_addresses=127.0.0.1",
		// A test's data need not survive a crash: skip the disk flushes.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		// Checkpoints are cheap without fsync; frequent ones keep the log,
		// which may be in memory (clusterRoot), small.
		"-c", "max_wal_size=128MB",
		"-c", "min_wal_size=32MB",
		// Parallel tests each hold a pool of connections.
		"-c", "max_connections=300",
	)
	srv.Dir = c.dir
	srv.Stdout, srv.Stderr = logf, logf
	p, err := spawn(srv, owner)
	if err != nil {
		return fmt.Errorf("pgtest: starting postgres: %w", err)
	}
	c.srv, c.port = p, port
	if err := c.waitReady(ctx); err != nil {
		c.kill()
		c.srv = nil
		return err
	}
	return nil
}

// waitReady polls with a real connection, the one sure sign that the server
// accepts clients: the port opens before recovery has finished.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	start := time.Now()
	var last error
	for {
		conn, err := c.connect(ctx, "postgres")
		if err == nil {
			version := conn.PgConn().ParameterStatus("server_version")
			conn.Close(ctx)
			// DROP DATABASE ... WITH (FORCE) came in 13.
			major, _, _ := strings.Cut(version, ".")
			if n, _ := strconv.Atoi(major); n < 13 {
				return fmt.Errorf("pgtest: PostgreSQL %s is too old; 13 or later is needed", version)
			}
			return nil
		}
		last = err
		select {
		case <-c.srv.done:
			tail := c.logTail()
			if strings.Contains(tail, "could not bind") || strings.Contains(tail, "already in use") {
				return fmt.Errorf("%w: %d", errPortTaken, c.port)
			}
			return fmt.Errorf("pgtest: postgres exited during start (%v); server log:\n%s", c.srv.err, tail)
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres not accepting connections after %v (last: %v); server log:\n%s",
				time.Since(start).Round(time.Millisecond), last, c.logTail())
		case <-time.After(pollInterval):
		}
	}
}

// Dir is the cluster's temporary directory: the data directory, the Unix
// socket and server.log, the server's output.
func (c *Cluster) Dir() string { return c.dir }

// URL is the connection URL of the named database, as the superuser over
// loopback TCP.
func (c *Cluster) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(Superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable", // the server has no TLS; don't ask
	}
	return u.String()
}

// Stop shuts the server down (fast shutdown: sessions are cut, nothing is
// waited for), waits for it to exit and removes the directory. Later calls
// return the first call's result; a nil Cluster stops at once.
func (c *Cluster) Stop() error {
	if c == nil {
		return nil
	}
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Cluster) stop() error {
	c.mu.Lock()
	c.stopped = true
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, conn := range idle {
		conn.Close(ctx)
	}

	var err error
	if c.srv != nil {
		// SIGINT is PostgreSQL's fast shutdown.
		if serr := c.srv.signal(sigInterrupt); serr != nil && !c.srv.exited() {
			err = fmt.Errorf("pgtest: stopping postgres: %w", serr)
		}
		select {
		case <-c.srv.done:
			// A server that crashed during the tests, or failed its shutdown
			// checkpoint, exits with an error: say so while its log exists.
			if c.srv.err != nil && err == nil {
				err = fmt.Errorf("pgtest: postgres exited with %v; server log:\n%s", c.srv.err, c.logTail())
			}
		case <-time.After(stopTimeout):
			c.kill()
			err = fmt.Errorf("pgtest: postgres still running %v after SIGINT; killed it; server log:\n%s",
				stopTimeout, c.logTail())
		}
	}
	if rerr := os.RemoveAll(c.dir); rerr != nil && err == nil {
		err = fmt.Errorf("pgtest: %w", rerr)
	}
	return err
}

// kill ends the server and its backends at once, and waits for the server.
func (c *Cluster) kill() {
	if c.srv == nil {
		return
	}
	c.srv.killGroup()
	<-c.srv.done
}

func (c *Cluster) logPath() string { return filepath.Join(c.dir, "server.log") }

// logTail is the end of the server's log, for error messages: the server
// says there why it failed.
func (c *Cluster) logTail() string {
	f, err := os.Open(c.logPath())
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	defer f.Close()
	const tail = 4 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > tail {
		f.Seek(fi.Size()-tail, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}

// freePort asks the kernel for a loopback port no one is listening on.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
