package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
)

// startServer starts a Server with cfg on a loopback port with one meeting, closed at the end of
// the test, and returns its address and the meeting's token.
func startServer(t *testing.T, cfg Config) (*Server, string, string) {
	t.Helper()
	leaktest.Check(t)
	if cfg.Log == nil {
		cfg.Log = ledger.NewMemLog()
	}
	cfg.Addr = "127.0.0.1:0"
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	token, err := s.AddMeeting(testMeeting)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	return s, addr.String(), token
}

// rawConn is a client connection written by hand, to send requests that stop halfway.
type rawConn struct {
	t *testing.T
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string, from net.IP) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if from != nil {
		d.LocalAddr = &net.TCPAddr{IP: from}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawConn{t: t, Conn: c, r: bufio.NewReader(c)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		c.t.Fatal(err)
	}
}

// get sends a keep-alive GET for an asset and returns the answer's status, or 0 when none came
// within wait.
func (c *rawConn) get(wait time.Duration) int {
	c.t.Helper()
	c.send("GET /assets/overlay.js HTTP/1.1\r\nHost: ledgerline\r\n\r\n")
	return c.status(wait)
}

// status reads one answer, body included, and returns its status, or 0 when none came within wait.
func (c *rawConn) status(wait time.Duration) int {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// closedWithin reports whether the server closed the connection within d; it skips what the
// server still sends.
func (c *rawConn) closedWithin(d time.Duration) error {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c.r)
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, syscall.ECONNRESET):
		return nil
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("still open after %s", d)
	}
	return err
}

// Connections that hold the server without finishing anything are closed once their timeout
// passes: an idle keep-alive connection, headers that stop halfway, a body that never arrives
// (to a handler that reads it, and to one that does not).
func TestStalledConnectionsClosed(t *testing.T) {
	// Long enough that a client stalled between connecting and writing its request on a busy
	// machine is not taken for one that never sends it.
	const timeout = time.Second
	_, addr, token := startServer(t, Config{IdleTimeout: timeout, ReadHeaderTimeout: timeout, BodyTimeout: timeout})
	decline := "POST /m/" + testMeeting + "/join/decline?t=" + url.QueryEscape(token) + " HTTP/1.1\r\nHost: ledgerline\r\n" +
		"Content-Type: application/json\r\nX-Ledgerline: 1\r\nContent-Length: 100\r\n\r\n{\"name\":"
	for _, tc := range []struct {
		name string
		do   func(c *rawConn)
		want int // the status answered before closing, 0 for none
	}{
		{"idle after a request", func(c *rawConn) {
			if code := c.get(10 * time.Second); code != http.StatusOK {
				t.Fatalf("GET: %d", code)
			}
		}, 0},
		{"headers never finished", func(c *rawConn) { c.send("GET /assets/overlay.js HTTP/1.1\r\nHost: ledge") }, 0},
		{"a change whose body never arrives", func(c *rawConn) { c.send(decline) }, http.StatusRequestTimeout},
		{"a body nobody reads never arrives", func(c *rawConn) {
			c.send("POST /assets/overlay.js HTTP/1.1\r\nHost: ledgerline\r\nContent-Length: 100\r\n\r\n")
		}, http.StatusMethodNotAllowed},
	} {
		c := dialRaw(t, addr, nil)
		tc.do(c)
		if tc.want != 0 {
			if code := c.status(10 * time.Second); code != tc.want {
				t.Errorf("%s: answered %d, want %d", tc.name, code, tc.want)
			}
		}
		// Generous: the point is that the connection is closed at all, not how soon after the timeout.
		if err := c.closedWithin(10 * time.Second); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// The timeouts of ordinary requests cut neither a viewer's socket, which lives on long after them,
// nor a handler that works on after reading its body, as the WHIP endpoint does while it answers an
// offer.
func TestTimeoutsSpareSocketsAndSlowAnswers(t *testing.T) {
	const timeout = 200 * time.Millisecond
	log := ledger.NewMemLog()
	answered := make(chan error, 1)
	ingest := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			answered <- err
			return
		}
		time.Sleep(5 * timeout) // negotiating
		answered <- r.Context().Err()
		w.WriteHeader(http.StatusCreated)
	})
	_, addr, token := startServer(t, Config{Log: log, IdleTimeout: timeout, BodyTimeout: timeout, Ingest: ingest})

	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/m/"+testMeeting+"/ws?t="+url.QueryEscape(token), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	resp, err := http.Post("http://"+addr+"/whip/"+testMeeting, "application/sdp", strings.NewReader("v=0\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-answered; err != nil || resp.StatusCode != http.StatusCreated {
		t.Errorf("a handler working on after its body: %d, %v", resp.StatusCode, err)
	}

	// By now the socket has lived well past every timeout.
	if _, err := log.Append(context.Background(), ledger.Event{Type: ledger.TypeMeetingState, Meeting: testMeeting, State: ledger.MeetingRecording}); err != nil {
		t.Fatal(err)
	}
	if e := readEvent(t, ws); e.Type != ledger.TypeMeetingState {
		t.Fatalf("socket got %+v", e)
	}
}

// One client address holds at most MaxConnsPerAddr connections: the next is answered 503 and
// closed at once, while another address is served, and so is the first again once it closes one.
func TestConnectionsPerAddressCapped(t *testing.T) {
	const perAddr = 3
	_, addr, _ := startServer(t, Config{MaxConnsPerAddr: perAddr})
	var held []*rawConn
	for range perAddr {
		c := dialRaw(t, addr, nil)
		if code := c.get(10 * time.Second); code != http.StatusOK {
			t.Fatalf("connection %d: %d", len(held)+1, code)
		}
		held = append(held, c)
	}
	over := dialRaw(t, addr, nil)
	if code := over.status(10 * time.Second); code != http.StatusServiceUnavailable {
		t.Fatalf("a connection over the limit: %d, want 503", code)
	}
	if err := over.closedWithin(10 * time.Second); err != nil {
		t.Fatalf("a connection over the limit: %v", err)
	}

	other := dialRaw(t, addr, net.IPv4(127, 0, 0, 2))
	if code := other.get(10 * time.Second); code != http.StatusOK {
		t.Errorf("another address: %d, want 200", code)
	}

	held[0].Close()
	served := eventually(10*time.Second, func() bool {
		c := dialRaw(t, addr, nil)
		defer c.Close()
		return c.get(10*time.Second) == http.StatusOK
	})
	if !served {
		t.Error("a place given back was not taken again")
	}
}

// When the process runs out of descriptors, the server goes on accepting once connections close:
// idle ones are closed after IdleTimeout, and accepting is retried meanwhile. The server runs in a
// child process, whose descriptor limit is lowered.
func TestServesAgainAfterDescriptorsRunOut(t *testing.T) {
	if os.Getenv("LEDGERLINE_FD_CHILD") == "1" {
		fdChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServesAgainAfterDescriptorsRunOut$", "-test.count=1")
	cmd.Env = append(os.Environ(), "LEDGERLINE_FD_CHILD=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer // written by the command's copier while the test reads it
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("server process: %v\n%s", err, stderr.String())
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server process: %v\n%s", err, stderr.String())
	}
	addr := strings.TrimSpace(line)

	// More connections than the server has descriptors for, each with a request: it serves as
	// many as it can hold, and the others once those, idle, are closed.
	const conns = 40
	var cs []*rawConn
	for range conns {
		c := dialRaw(t, addr, nil)
		c.send("GET /assets/overlay.js HTTP/1.1\r\nHost: ledgerline\r\n\r\n")
		cs = append(cs, c)
	}
	deadline := time.Now().Add(60 * time.Second) // generous: the point is that each is served at all
	for i, c := range cs {
		if code := c.status(time.Until(deadline)); code != http.StatusOK {
			t.Fatalf("request %d of %d: %d, want 200\n%s", i+1, conns, code, stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), "too many open files") {
		t.Errorf("the server never ran out of descriptors:\n%s", stderr.String())
	}
}

// lockedBuffer is a text buffer one goroutine writes while another reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fdChild serves with a descriptor limit a little above what the process has open, and the default
// limit of connections per address (above the test's), until its standard input closes.
func fdChild() {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lim.Cur = uint64(len(fds) + 16)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s, err := New(Config{Log: ledger.NewMemLog(), Addr: "127.0.0.1:0", IdleTimeout: 3 * time.Second,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	addr, err := s.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(addr)
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = s.Close()
	os.Exit(0)
}

// logged is a slog handler that keeps every record, with the attributes of its logger.
type logged struct {
	mu      *sync.Mutex
	records *[]map[string]string
	attrs   []slog.Attr
}

func newLogged() logged { return logged{mu: &sync.Mutex{}, records: &[]map[string]string{}} }

func (l logged) Enabled(context.Context, slog.Level) bool { return true }
func (l logged) WithGroup(string) slog.Handler            { return l }
func (l logged) WithAttrs(as []slog.Attr) slog.Handler {
	l.attrs = append(append([]slog.Attr(nil), l.attrs...), as...)
	return l
}

func (l logged) Handle(_ context.Context, r slog.Record) error {
	rec := map[string]string{"msg": r.Message}
	for _, a := range l.attrs {
		rec[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec[a.Key] = a.Value.String()
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.records = append(*l.records, rec)
	return nil
}

// with returns the records with msg.
func (l logged) with(msg string) []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, r := range *l.records {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// A client that keeps sending a wrong token is logged once per interval, with the count of the
// refusals held back; another address is logged apart.
func TestWrongTokenWarningsThrottled(t *testing.T) {
	const msg = "refused a wrong access token"
	logs := newLogged()
	f := newFixture(t, func(c *Config) { c.Logger = slog.New(logs); c.WarnInterval = time.Hour })
	get := func(client *http.Client) {
		t.Helper()
		resp, err := client.Get(f.http.URL + PagePath(testMeeting, f.token+"x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("wrong token: %d", resp.StatusCode)
		}
	}
	const n = 50
	for range n {
		get(http.DefaultClient)
	}
	if got := logs.with(msg); len(got) != 1 || got[0]["remote"] != "127.0.0.1" || got[0]["meeting"] != testMeeting {
		t.Fatalf("after %d wrong tokens, logged %v; want one line", n, got)
	}
	other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}
	defer other.CloseIdleConnections()
	get(other)
	get(other)
	if got := logs.with(msg); len(got) != 2 || got[1]["remote"] != "127.0.0.2" {
		t.Fatalf("another address: logged %v; want a line of its own", got)
	}

	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	repeats := map[string]string{}
	for _, r := range logs.with(msg)[2:] {
		repeats[r["remote"]] = r["repeated"]
	}
	if want := map[string]string{"127.0.0.1": fmt.Sprint(n - 1), "127.0.0.2": "1"}; fmt.Sprint(repeats) != fmt.Sprint(want) {
		t.Errorf("on close, counted %v; want %v", repeats, want)
	}
}

// What a client keeps causing is counted into one line at the end of each interval, without
// waiting for the server to close.
func TestWarningsSummarisedEachInterval(t *testing.T) {
	leaktest.Check(t)
	logs := newLogged()
	w := newWarnings(slog.New(logs), 2*time.Second)
	defer w.close()
	for range 5 {
		w.warn("refused", "m", "192.0.2.7:4000")
	}
	w.warn("refused", "m", "[2001:db8::1]:4000")
	w.warn("refused", "m", "[2001:db8::2]:4000") // the same /64: one client
	held := func() int {
		n := 0
		for _, r := range logs.with("refused") {
			if r["repeated"] != "" {
				n++
			}
		}
		return n
	}
	if !eventually(30*time.Second, func() bool { return held() == 2 }) {
		t.Fatalf("logged %v; want each client's held-back refusals counted", logs.with("refused"))
	}
	got := map[string]string{}
	for _, r := range logs.with("refused") {
		got[r["remote"]+" "+r["repeated"]] = r["meeting"]
	}
	want := map[string]string{"192.0.2.7 ": "m", "192.0.2.7 4": "m", "2001:db8::/64 ": "m", "2001:db8::/64 1": "m"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("logged %v; want %v", got, want)
	}
}

// A viewer cannot resume past the log's head: it would wait in silence for events it claims to have.
func TestSocketSincePastHead(t *testing.T) {
	log := ledger.NewMemLog()
	for i := 1; i <= 3; i++ {
		if _, err := log.Append(context.Background(), ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: testMeeting,
			Segment: &ledger.SegmentInfo{ID: fmt.Sprint("seg-", i), Channel: "mic", Text: "hello"}}); err != nil {
			t.Fatal(err)
		}
	}
	// Appended before the server started: its hub has broadcast none of them.
	f := startFixture(t, log, nil, nil)
	for _, since := range []int{0, 2, 3} {
		c := f.dial(fmt.Sprint("since=", since), nil)
		c.Close()
	}
	for _, since := range []int{4, 1000} {
		_, resp, err := websocket.DefaultDialer.Dial(f.wsURL(testMeeting, f.token, fmt.Sprint("since=", since)), nil)
		if err == nil {
			t.Fatalf("since=%d: connected past the head", since)
		}
		body := ""
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			body = string(b)
		}
		if resp == nil || resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "last event (seq 3)") {
			t.Errorf("since=%d: %v %q, want 400 naming seq 3", since, err, body)
		}
	}

	// Once the hub has broadcast an event, since up to it is allowed at once; beyond, refused.
	e := f.appendFinal(4, "world")
	c := f.dial("since=3", nil)
	if got := readEvent(t, c); got.Seq != e.Seq {
		t.Fatalf("resumed at 3, got seq %d", got.Seq)
	}
	f.dial("since=4", nil).Close()
	if _, resp, err := websocket.DefaultDialer.Dial(f.wsURL(testMeeting, f.token, "since=5"), nil); err == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("since=5 past seq 4: %v, want 400", err)
	}
}
