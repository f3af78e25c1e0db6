package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
)

const testMeeting = "acme-q3"

// fixture is a real server on loopback with one meeting.
type fixture struct {
	t     *testing.T
	log   fixtureLog
	srv   *Server
	http  *httptest.Server
	token string
}

// fixtureLog is the log a fixture serves: in memory, or a store where the server reads projections.
type fixtureLog interface {
	ledger.Log
	Close() error
}

// newFixture serves a fresh meeting on an in-memory log.
func newFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	return startFixture(t, ledger.NewMemLog(), edit, nil)
}

// startFixture serves a fresh meeting on log; wrap, when set, wraps the listener.
func startFixture(t *testing.T, log fixtureLog, edit func(*Config), wrap func(net.Listener) net.Listener) *fixture {
	t.Helper()
	leaktest.Check(t) // first, so that it checks after the cleanups below
	f := &fixture{t: t, log: log}
	cfg := Config{Log: f.log}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	if f.token, err = srv.AddMeeting(testMeeting); err != nil {
		t.Fatal(err)
	}
	f.http = httptest.NewUnstartedServer(srv.Handler())
	if wrap != nil {
		f.http.Listener = wrap(f.http.Listener)
	}
	f.http.Start()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		f.http.Close()
		_ = f.log.Close()
	})
	return f
}

// eventually reports whether cond became true before the deadline, checking it on a ticker.
func eventually(within time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
	return true
}

func (f *fixture) wsURL(meeting, token, query string) string {
	u := "ws" + strings.TrimPrefix(f.http.URL, "http") + "/m/" + meeting + "/ws?t=" + url.QueryEscape(token)
	if query != "" {
		u += "&" + query
	}
	return u
}

func (f *fixture) dial(query string, header http.Header) *websocket.Conn {
	f.t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(f.wsURL(testMeeting, f.token, query), header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		f.t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	f.t.Cleanup(func() { _ = c.Close() })
	return c
}

func (f *fixture) appendFinal(i int, text string) ledger.Event {
	f.t.Helper()
	e, err := f.log.Append(context.Background(), ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: testMeeting,
		Segment: &ledger.SegmentInfo{ID: fmt.Sprintf("seg-%d", i), Channel: "mic", Speaker: "spk-1",
			StartMS: int64(i) * 1000, EndMS: int64(i)*1000 + 900, Text: text, Language: "en"}})
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

func (f *fixture) publishPartial(id, text string) {
	f.t.Helper()
	if err := f.log.Publish(ledger.Event{Type: ledger.TypeSegmentPartial, Meeting: testMeeting,
		Segment: &ledger.SegmentInfo{ID: id, Channel: "mic", Text: text}}); err != nil {
		f.t.Fatal(err)
	}
}

func readEvent(t *testing.T, c *websocket.Conn) ledger.Event {
	t.Helper()
	var e ledger.Event
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := c.ReadJSON(&e); err != nil {
		t.Fatalf("read event: %v", err)
	}
	return e
}

// readClose reads until the connection ends and returns the close error, skipping events.
func readClose(t *testing.T, c *websocket.Conn) (*websocket.CloseError, int) {
	t.Helper()
	events := 0
	for {
		if err := c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce, events
			}
			t.Fatalf("connection ended without a close frame after %d events: %v", events, err)
		}
		events++
	}
}

func TestConfigValidation(t *testing.T) {
	leaktest.Check(t)
	log := ledger.NewMemLog()
	for name, cfg := range map[string]Config{
		"no log":         {},
		"pong too short": {Log: log, PingInterval: time.Minute, PongWait: time.Second},
		"bad origin":     {Log: log, AllowedOrigins: []string{"crm.example.com"}},
		"negative queue": {Log: log, SendQueue: -1},
		"negative idle":  {Log: log, IdleTimeout: -time.Second},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: New = %v, want ErrConfig", name, err)
		}
	}
	s, err := New(Config{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.cfg.Addr != "127.0.0.1:8080" || s.cfg.SendQueue != 256 {
		t.Errorf("defaults: addr %q queue %d", s.cfg.Addr, s.cfg.SendQueue)
	}
	for _, id := range []string{"", "a/b", "a b", strings.Repeat("x", 129)} {
		if _, err := s.AddMeeting(id); !errors.Is(err, ErrMeetingID) {
			t.Errorf("AddMeeting(%q) = %v, want ErrMeetingID", id, err)
		}
	}
	if err := s.AddMeetingToken("m", "short"); err == nil {
		t.Error("AddMeetingToken accepted a short token")
	}
	tok, err := s.AddMeeting("m")
	if err != nil || len(tok) != 22 || strings.ContainsAny(tok, "+/=") {
		t.Errorf("AddMeeting token %q, %v; want 22 base64url characters", tok, err)
	}
	if tok2, _ := s.AddMeeting("m2"); tok2 == tok {
		t.Error("two meetings got the same token")
	}
}

func TestPageAndSocketAuth(t *testing.T) {
	f := newFixture(t, nil)
	cases := []struct {
		name, path string
		want       int
	}{
		{"page ok", PagePath(testMeeting, f.token), http.StatusOK},
		{"page no token", "/m/" + testMeeting, http.StatusUnauthorized},
		{"page empty token", "/m/" + testMeeting + "?t=", http.StatusUnauthorized},
		{"page wrong token", PagePath(testMeeting, f.token+"x"), http.StatusForbidden},
		{"page unknown meeting", PagePath("nobody", f.token), http.StatusNotFound},
		{"asset", "/assets/overlay.js", http.StatusOK},
		{"asset listing", "/assets/", http.StatusNotFound},
	}
	for _, tc := range cases {
		resp, err := http.Get(f.http.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: GET %s = %d, want %d", tc.name, tc.path, resp.StatusCode, tc.want)
		}
		if tc.name == "page ok" {
			if !strings.Contains(string(body), "overlay.js") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") ||
				resp.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("page: headers %v, body %.200s", resp.Header, body)
			}
		}
		if strings.Contains(string(body), f.token) {
			t.Errorf("%s: the response echoes the token", tc.name)
		}
	}

	for _, tc := range []struct {
		name, meeting, token string
		want                 int
	}{
		{"no token", testMeeting, "", http.StatusUnauthorized},
		{"wrong token", testMeeting, "AAAAAAAAAAAAAAAAAAAAAA", http.StatusForbidden},
		{"unknown meeting", "nobody", f.token, http.StatusNotFound},
	} {
		c, resp, err := websocket.DefaultDialer.Dial(f.wsURL(tc.meeting, tc.token, ""), nil)
		if err == nil {
			c.Close()
			t.Errorf("socket %s: connected", tc.name)
			continue
		}
		if resp == nil || resp.StatusCode != tc.want {
			t.Errorf("socket %s: %v, response %v; want HTTP %d", tc.name, err, resp, tc.want)
		}
	}
	if _, resp, err := websocket.DefaultDialer.Dial(f.wsURL(testMeeting, f.token, "since=-1"), nil); err == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("since=-1: %v, want HTTP 400", err)
	}
}

func TestSocketOriginChecked(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AllowedOrigins = []string{"https://crm.example.com"} })
	for origin, want := range map[string]bool{
		"http://evil.example":                       false,
		"https://crm.example.com.evil.example":      false,
		"null":                                      false,
		f.http.URL:                                  true,
		"https://crm.example.com":                   true,
		"HTTPS://CRM.example.com":                   true,
		"http://" + f.http.Listener.Addr().String(): true,
	} {
		h := http.Header{"Origin": {origin}}
		c, resp, err := websocket.DefaultDialer.Dial(f.wsURL(testMeeting, f.token, ""), h)
		if want {
			if err != nil {
				t.Errorf("origin %q refused: %v", origin, err)
				continue
			}
			c.Close()
			continue
		}
		if err == nil {
			c.Close()
			t.Errorf("origin %q accepted", origin)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: %v, want HTTP 403", origin, err)
		}
	}
}

// A viewer that reconnects with since=last seq gets every stored event exactly once, in order, while
// events keep being appended; partials are never replayed and never stale.
func TestSocketResumeNoGapNoDuplicate(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.SendQueue = 8192 })
	const total = 600
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the pipeline: finals and partials, without pause
		defer wg.Done()
		for i := 1; i <= total && ctx.Err() == nil; i++ {
			f.publishPartial(fmt.Sprintf("seg-%d", i), "partial")
			f.appendFinal(i, fmt.Sprintf("final %d", i))
		}
	}()
	defer func() { stop(); wg.Wait() }()

	var seen []int64
	last, reconnects := int64(0), 0
	for last < total {
		c := f.dial(fmt.Sprintf("since=%d", last), nil)
		// Read a few dozen events, then drop the connection mid-stream.
		for n := 0; n < 40 && last < total; n++ {
			e := readEvent(t, c)
			switch {
			case e.Type == ledger.TypeSegmentPartial:
				if e.Seq < last {
					t.Fatalf("stale partial (seq %d) after stored event %d", e.Seq, last)
				}
			case e.Seq <= last:
				t.Fatalf("duplicate: seq %d after %d", e.Seq, last)
			case e.Seq != last+1:
				t.Fatalf("gap: seq %d after %d", e.Seq, last)
			default:
				last = e.Seq
				seen = append(seen, e.Seq)
			}
		}
		c.Close()
		reconnects++
	}
	if len(seen) != total || reconnects < 5 {
		t.Fatalf("saw %d stored events over %d connections, want %d over at least 5", len(seen), reconnects, total)
	}
}

func TestSocketPartialsNotReplayed(t *testing.T) {
	f := newFixture(t, nil)
	f.publishPartial("seg-1", "hel")
	f.appendFinal(1, "hello")
	f.publishPartial("seg-2", "wor")

	c := f.dial("", nil)
	if e := readEvent(t, c); e.Type != ledger.TypeSegmentFinal || e.Seq != 1 {
		t.Fatalf("first event %s seq %d, want the stored final 1 and no partial", e.Type, e.Seq)
	}
	f.publishPartial("seg-2", "world") // live partials are forwarded
	if e := readEvent(t, c); e.Type != ledger.TypeSegmentPartial || e.Seq != 1 || e.Segment.Text != "world" {
		t.Fatalf("live event %+v, want the new partial with seq 1", e)
	}
	c2 := f.dial("since=1", nil) // nothing stored after 1: the next event is live
	f.appendFinal(2, "world")
	if e := readEvent(t, c2); e.Type != ledger.TypeSegmentFinal || e.Seq != 2 {
		t.Fatalf("resumed viewer got %s seq %d, want final 2", e.Type, e.Seq)
	}
}

// A viewer that never reads is disconnected with "too slow"; a viewer on the same meeting that keeps
// up receives every event; the pipeline (Append) never waits for either.
func TestSlowViewerDisconnectedFastKeepsUp(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.SendQueue = 8
		c.WriteWait = time.Minute // the slow viewer must still get the close frame when it reads again
		c.PongWait = 2 * time.Minute
	})
	slow := f.dial("", nil)
	fast := f.dial("", nil)
	if !eventually(10*time.Second, func() bool { return f.srv.Viewers(testMeeting) == 2 }) {
		t.Fatal("viewers did not join")
	}

	got := make(chan int64, 1)
	go func() { // the fast viewer
		defer close(got)
		for {
			var e ledger.Event
			if err := fast.ReadJSON(&e); err != nil {
				return
			}
			got <- e.Seq
		}
	}()
	// 16 KiB per event, 9.6 MiB in all: more than the kernel buffers between the server and a viewer
	// that never reads can hold (the send buffer grows to at most 4 MiB by default on Linux; the
	// receive buffer grows only while the application reads).
	const n = 600
	text := strings.Repeat("word ", 16<<10/5)
	for i := 1; i <= n; i++ {
		f.appendFinal(i, text)
		select { // keep pace with the fast viewer: it must never be the slow one
		case seq, ok := <-got:
			if !ok || seq != int64(i) {
				t.Fatalf("fast viewer got seq %d (open %v), want %d", seq, ok, i)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("fast viewer stalled at event %d", i)
		}
	}
	if v := f.srv.Viewers(testMeeting); v != 1 {
		t.Fatalf("%d viewers after %d events, want only the fast one", v, n)
	}
	// Now read: the events queued before the kick, then the close frame.
	ce, events := readClose(t, slow)
	if ce.Code != websocket.ClosePolicyViolation || ce.Text != "too slow" {
		t.Fatalf("slow viewer closed with %d %q, want 1008 \"too slow\"", ce.Code, ce.Text)
	}
	if events >= n {
		t.Fatalf("slow viewer received all %d events", events)
	}
	t.Logf("slow viewer received %d of %d events before the close frame", events, n)
}

func TestOversizedMessageClosesConnection(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxMessageBytes = 1024 })
	c := f.dial("", nil)
	if !eventually(10*time.Second, func() bool { return f.srv.Viewers(testMeeting) == 1 }) {
		t.Fatal("viewer did not join")
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 512))); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 2048))); err != nil {
		t.Fatal(err)
	}
	ce, _ := readClose(t, c)
	if ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("closed with %d %q, want 1009", ce.Code, ce.Text)
	}
	if !eventually(10*time.Second, func() bool { return f.srv.Viewers(testMeeting) == 0 }) {
		t.Fatal("viewer still registered")
	}
}

func TestKeepalive(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.PingInterval = 20 * time.Millisecond
		c.PongWait = 500 * time.Millisecond
	})
	// A viewer that reads answers pings (gorilla replies with pongs) and stays.
	alive := f.dial("", nil)
	pings := make(chan struct{}, 100)
	alive.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return alive.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		for {
			if _, _, err := alive.ReadMessage(); err != nil {
				return
			}
		}
	}()
	// A viewer that never reads never answers, and is dropped once PongWait passes.
	silent := f.dial("", nil)
	_ = silent
	if !eventually(20*time.Second, func() bool { return len(pings) >= 40 && f.srv.Viewers(testMeeting) == 1 }) {
		t.Fatalf("after %d pings: %d viewers, want the answering one only", len(pings), f.srv.Viewers(testMeeting))
	}
}

func TestDisconnectAllAndClose(t *testing.T) {
	f := newFixture(t, nil)
	a, b := f.dial("", nil), f.dial("", nil)
	if !eventually(10*time.Second, func() bool { return f.srv.Viewers(testMeeting) == 2 }) {
		t.Fatal("viewers did not join")
	}
	if n := f.srv.DisconnectAll(testMeeting); n != 2 {
		t.Fatalf("DisconnectAll = %d, want 2", n)
	}
	for _, c := range []*websocket.Conn{a, b} {
		if ce, _ := readClose(t, c); ce.Code != websocket.CloseServiceRestart {
			t.Errorf("closed with %d, want 1012", ce.Code)
		}
	}
	c := f.dial("", nil)
	if !eventually(10*time.Second, func() bool { return f.srv.Viewers(testMeeting) == 1 }) {
		t.Fatal("viewer did not join")
	}
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if ce, _ := readClose(t, c); ce.Code != websocket.CloseGoingAway || ce.Text != "server stopping" {
		t.Errorf("closed with %d %q, want 1001 \"server stopping\"", ce.Code, ce.Text)
	}
	if _, err := f.srv.AddMeeting("late"); !errors.Is(err, ErrClosed) {
		t.Errorf("AddMeeting after Close = %v, want ErrClosed", err)
	}
	if _, resp, err := websocket.DefaultDialer.Dial(f.wsURL(testMeeting, f.token, ""), nil); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("dial after Close: %v, want HTTP 404", err)
	}
}

func TestStartAndShutdown(t *testing.T) {
	leaktest.Check(t)
	log := ledger.NewMemLog()
	s, err := New(Config{Log: log, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.AddMeeting(testMeeting)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr.String()+"/m/"+testMeeting+"/ws?t="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := log.Append(context.Background(), ledger.Event{Type: ledger.TypeMeetingState, Meeting: testMeeting, State: ledger.MeetingRecording}); err != nil {
		t.Fatal(err)
	}
	if e := readEvent(t, c); e.Type != ledger.TypeMeetingState || e.State != ledger.MeetingRecording {
		t.Fatalf("got %+v", e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if ce, _ := readClose(t, c); ce.Code != websocket.CloseGoingAway {
		t.Errorf("closed with %d, want 1001", ce.Code)
	}
	if _, err := http.Get("http://" + addr.String() + "/m/" + testMeeting); err == nil {
		t.Error("still listening after Shutdown")
	}
}

// When the hub itself falls behind the log, its viewers are told to come back ("server fell behind",
// 1013) and, resuming with since, still see every event exactly once.
func TestHubLagViewersResume(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.HubBuffer = 1; c.SendQueue = 1 << 14 })
	const total = 2000
	c := f.dial("", nil)
	if !eventually(10*time.Second, func() bool { return f.srv.Viewers(testMeeting) == 1 }) {
		t.Fatal("viewer did not join")
	}
	for i := 1; i <= total; i++ { // as fast as the log takes them: the hub cannot keep up with a buffer of 1
		f.appendFinal(i, "x")
	}
	last, lags := int64(0), 0
	for last < total {
		if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		var e ledger.Event
		err := c.ReadJSON(&e)
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce) && ce.Code == websocket.CloseTryAgainLater && ce.Text == "server fell behind":
			lags++
			c.Close()
			c = f.dial(fmt.Sprintf("since=%d", last), nil)
		case err != nil:
			t.Fatalf("after seq %d: %v", last, err)
		case e.Seq != last+1:
			t.Fatalf("seq %d after %d", e.Seq, last)
		default:
			last = e.Seq
		}
	}
	t.Logf("the hub fell behind %d times", lags)
}
