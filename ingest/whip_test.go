package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/stream"
)

const testToken = "s3cret"

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func loopbackAPI(tb testing.TB, cfg APIConfig) *webrtc.API {
	tb.Helper()
	cfg.Loopback = true
	if cfg.ReportInterval == 0 {
		cfg.ReportInterval = 50 * time.Millisecond
	}
	api, err := NewAPI(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return api
}

// harness is a WHIP endpoint on a loopback HTTP server.
type harness struct {
	h      *WHIP
	srv    *httptest.Server
	mux    *http.ServeMux
	client *http.Client
	tracks chan *Track
}

func newHarness(tb testing.TB, mut func(*WHIPConfig)) *harness {
	tb.Helper()
	hs := &harness{tracks: make(chan *Track, 16)}
	cfg := WHIPConfig{
		Authorize: func(r *http.Request, meeting string) error {
			if tok, ok := BearerToken(r); !ok || tok != testToken {
				return ErrUnauthorized
			}
			if meeting != "m1" {
				return fmt.Errorf("%w: %s", ErrUnknownMeeting, meeting)
			}
			return nil
		},
		OnTrack: func(_ string, t *Track) { hs.tracks <- t },
		API:     loopbackAPI(tb, APIConfig{}),
		Logger:  discardLogger(),
	}
	if mut != nil {
		mut(&cfg)
	}
	h, err := NewWHIP(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	hs.h = h
	hs.mux = http.NewServeMux()
	hs.mux.Handle("/whip/{meeting}", h)
	hs.mux.Handle("/whip/{meeting}/{session}", h)
	hs.srv = httptest.NewServer(hs.mux)
	hs.client = &http.Client{Transport: &http.Transport{}}
	tb.Cleanup(func() {
		if err := h.Close(); err != nil {
			tb.Error(err)
		}
		hs.srv.Close()
		hs.client.CloseIdleConnections()
	})
	return hs
}

func (hs *harness) endpoint() string { return hs.srv.URL + "/whip/m1" }

func (hs *harness) publishOptions(tb testing.TB, channel string) PublishOptions {
	return PublishOptions{
		Channel: channel, Speed: 4,
		API:        loopbackAPI(tb, APIConfig{}),
		HTTPClient: hs.client,
		Logger:     discardLogger(),
	}
}

// nextTrack waits for the endpoint to hand over a track.
func (hs *harness) nextTrack(tb testing.TB) *Track {
	tb.Helper()
	select {
	case t := <-hs.tracks:
		return t
	case <-time.After(10 * time.Second):
		tb.Fatal("no track arrived")
		return nil
	}
}

// collect drains a track until it ends.
func collect(tb testing.TB, t *Track) []stream.Frame {
	tb.Helper()
	var frames []stream.Frame
	deadline := time.After(20 * time.Second)
	for {
		select {
		case f, ok := <-t.Frames():
			if !ok {
				return frames
			}
			frames = append(frames, f)
		case <-deadline:
			tb.Fatalf("track %q did not end", t.Channel())
		}
	}
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func TestWHIPPublishWAV(t *testing.T) {
	leaktest.Check(t)
	hs := newHarness(t, nil)
	ctx := testContext(t)
	type result struct {
		sent time.Duration
		err  error
	}
	done := make(chan result, 1)
	go func() {
		sent, err := PublishWAV(ctx, hs.endpoint()+"?name=Alice+Martin&org=partner", testToken, "testdata/alice.wav", hs.publishOptions(t, "alice"))
		done <- result{sent, err}
	}()
	tr := hs.nextTrack(t)
	frames := collect(t, tr)
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	checkContiguous(t, frames)
	src := loadFixture(t, "alice.wav")
	got := audioOf(frames)
	checkLength(t, got, len(src))
	if audio := time.Duration(len(src)) * time.Second / stream.SampleRate; res.sent < audio || res.sent > audio+20*time.Millisecond {
		t.Errorf("PublishWAV reports %v sent, want the file's %v (up to one frame of padding)", res.sent, audio)
	}
	if c := corr(got, src); c < 0.5 {
		t.Errorf("correlation with the source %.2f, want > 0.5", c)
	}
	if tr.Channel() != "alice" || frames[0].Channel != "alice" || tr.Meeting() != "m1" {
		t.Errorf("track %q/%q, frames %q", tr.Meeting(), tr.Channel(), frames[0].Channel)
	}
	if q := tr.Query(); q.Get("name") != "Alice Martin" || q.Get("org") != "partner" || q.Get("channel") != "alice" {
		t.Errorf("the track carries the query %v, want what its publisher announced", q)
	}
	if tr.Err() != nil {
		t.Errorf("track ended with %v, want nil after DELETE", tr.Err())
	}
	if frames[0].At < 0 || frames[0].At > 5*time.Second {
		t.Errorf("first frame at meeting time %v", frames[0].At)
	}
}

func TestWHIPTwoPublishers(t *testing.T) {
	leaktest.Check(t)
	hs := newHarness(t, nil)
	ctx := testContext(t)
	names := []string{"alice", "bob"}
	errc := make(chan error, len(names))
	for _, n := range names {
		go func() {
			_, err := PublishWAV(ctx, hs.endpoint(), testToken, "testdata/"+n+".wav", hs.publishOptions(t, n))
			errc <- err
		}()
	}
	got := map[string][]float32{}
	starts := map[string]time.Duration{}
	results := make(chan []stream.Frame, len(names))
	for range names {
		tr := hs.nextTrack(t)
		go func() { results <- collect(t, tr) }()
	}
	for range names {
		frames := <-results
		if len(frames) == 0 {
			t.Fatal("a track delivered no audio")
		}
		checkContiguous(t, frames)
		for _, f := range frames {
			if f.Channel != frames[0].Channel {
				t.Fatalf("frames of %q and %q on one track", frames[0].Channel, f.Channel)
			}
		}
		got[frames[0].Channel] = audioOf(frames)
		starts[frames[0].Channel] = frames[0].At
	}
	for range names {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	srcs := map[string][]float32{"alice": loadFixture(t, "alice.wav"), "bob": loadFixture(t, "bob.wav")}
	for _, n := range names {
		other := names[0]
		if n == other {
			other = names[1]
		}
		checkLength(t, got[n], len(srcs[n]))
		own, cross := corr(got[n], srcs[n]), corr(got[n], srcs[other])
		t.Logf("%s: starts at %v, correlation with own source %.2f, with %s's %.2f", n, starts[n], own, other, cross)
		if own < 0.5 || own < cross+0.3 {
			t.Errorf("%s's channel: correlation %.2f with its source, %.2f with %s's", n, own, cross, other)
		}
	}
	// Both joined at about the same moment, so their meeting times agree
	// to well within a second.
	if d := starts["alice"] - starts["bob"]; d > time.Second || d < -time.Second {
		t.Errorf("start times %v and %v", starts["alice"], starts["bob"])
	}
}

// lossy drops every twentieth packet (5%) and swaps neighbours every tenth.
func lossy() (func(*rtp.Packet) []*rtp.Packet, *int) {
	i, dropped := 0, 0
	var held *rtp.Packet
	return func(p *rtp.Packet) []*rtp.Packet {
		if p == nil { // flush
			if held != nil {
				h := held
				held = nil
				return []*rtp.Packet{h}
			}
			return nil
		}
		defer func() { i++ }()
		switch {
		case held != nil:
			h := held
			held = nil
			return []*rtp.Packet{p, h}
		case i%20 == 7:
			dropped++
			return nil
		case i%10 == 3:
			held = p.Clone()
			return nil
		}
		return []*rtp.Packet{p}
	}, &dropped
}

func TestWHIPLossAndReorder(t *testing.T) {
	leaktest.Check(t)
	hs := newHarness(t, nil)
	ctx := testContext(t)
	opts := hs.publishOptions(t, "alice")
	first := uint16(65500) // cross the sequence number wrap
	mangle, dropped := lossy()
	opts.firstSeq, opts.mangle = &first, mangle
	errc := make(chan error, 1)
	go func() {
		_, err := PublishWAV(ctx, hs.endpoint(), testToken, "testdata/alice.wav", opts)
		errc <- err
	}()
	tr := hs.nextTrack(t)
	frames := collect(t, tr)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	checkContiguous(t, frames)
	src := loadFixture(t, "alice.wav")
	got := audioOf(frames)
	checkLength(t, got, len(src))
	st := tr.Stats()
	t.Logf("stats %+v, %d dropped", st, *dropped)
	if st.Lost != int64(*dropped) || st.Late != 0 {
		t.Errorf("lost %d late %d, want %d lost and none late", st.Lost, st.Late, *dropped)
	}
	if c := corr(got, src); c < 0.4 {
		t.Errorf("correlation with the source %.2f, want > 0.4", c)
	}
}

func TestWHIPIdleTrackCloses(t *testing.T) {
	leaktest.Check(t)
	hs := newHarness(t, func(c *WHIPConfig) { c.IdleTimeout = 300 * time.Millisecond })
	ctx := testContext(t)
	p, err := Publish(ctx, hs.endpoint(), testToken, hs.publishOptions(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	src := loadFixture(t, "alice.wav")[:stream.SampleRate/2]
	if err := p.Send(ctx, src); err != nil {
		t.Fatal(err)
	}
	// The publisher goes quiet without ending its session.
	tr := hs.nextTrack(t)
	frames := collect(t, tr)
	if !errors.Is(tr.Err(), ErrIdle) {
		t.Errorf("track ended with %v, want ErrIdle", tr.Err())
	}
	checkLength(t, audioOf(frames), len(src))
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWHIPPeerGoneEndsTrack(t *testing.T) {
	leaktest.Check(t)
	hs := newHarness(t, func(c *WHIPConfig) {
		c.IdleTimeout = time.Minute
		c.API = loopbackAPI(t, APIConfig{DisconnectedTimeout: time.Second, FailedTimeout: 2 * time.Second})
	})
	ctx := testContext(t)
	p, err := Publish(ctx, hs.endpoint(), testToken, hs.publishOptions(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, loadFixture(t, "alice.wav")[:stream.SampleRate/4]); err != nil {
		t.Fatal(err)
	}
	tr := hs.nextTrack(t)
	// The publisher vanishes without DELETE.
	if err := p.pc.Close(); err != nil {
		t.Fatal(err)
	}
	collect(t, tr)
	if !errors.Is(tr.Err(), ErrDisconnected) {
		t.Errorf("track ended with %v, want ErrDisconnected", tr.Err())
	}
	p.resource = "" // nothing to delete
	if err := p.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// The endpoint takes the next publisher as before.
	if _, err := PublishWAV(ctx, hs.endpoint(), testToken, "testdata/bob.wav", hs.publishOptions(t, "bob")); err != nil {
		t.Fatal(err)
	}
	tr = hs.nextTrack(t)
	collect(t, tr)
	if tr.Channel() != "bob" {
		t.Fatalf("channel %q", tr.Channel())
	}
}

// A publisher whose server goes away (it died, or restarted and forgot the session) says so while
// it sends, once its connection has failed, rather than streaming the rest into nothing.
func TestPublisherNoticesTheServerGone(t *testing.T) {
	leaktest.Check(t)
	hs := newHarness(t, nil)
	ctx := testContext(t)
	opts := hs.publishOptions(t, "alice")
	opts.API = loopbackAPI(t, APIConfig{DisconnectedTimeout: time.Second, FailedTimeout: 2 * time.Second})
	p, err := Publish(ctx, hs.endpoint(), testToken, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.pc.Close() }()
	speech := loadFixture(t, "alice.wav")[:stream.SampleRate/4]
	if err := p.Send(ctx, speech); err != nil {
		t.Fatal(err)
	}
	hs.nextTrack(t)
	if err := hs.h.Close(); err != nil { // every session ends, as when the server process dies
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		err := p.Send(ctx, speech)
		if errors.Is(err, ErrDisconnected) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("sending after the server went away: %v (state %s); want ErrDisconnected", err, webrtc.PeerConnectionState(p.state.Load()))
		}
	}
}

// offer makes a real SDP offer with one sendonly Opus track.
func offer(tb testing.TB) string {
	tb.Helper()
	pc, err := loopbackAPI(tb, APIConfig{}).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	defer pc.Close()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a", "s")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		tb.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		tb.Fatal(err)
	}
	<-done
	return pc.LocalDescription().SDP
}

func TestWHIPRequests(t *testing.T) {
	leaktest.Check(t)
	hs := newHarness(t, func(c *WHIPConfig) { c.MaxSessions = 2; c.RetryAfter = 7 * time.Second })
	good := offer(t)
	type step struct {
		name, method, path, ctype, token, body string
		want                                   int
		header                                 map[string]string // expected response headers
	}
	var first, second string // Locations of created sessions
	steps := []step{
		{name: "preflight", method: "OPTIONS", path: "/whip/m1", want: 204,
			header: map[string]string{"Access-Control-Allow-Origin": "*", "Allow": "OPTIONS, POST"}},
		{name: "no token", method: "POST", path: "/whip/m1", ctype: sdpType, body: good, want: 401,
			header: map[string]string{"WWW-Authenticate": `Bearer realm="ledgerline"`}},
		{name: "wrong token", method: "POST", path: "/whip/m1", ctype: sdpType, token: "nope", body: good, want: 401},
		{name: "unknown meeting", method: "POST", path: "/whip/m9", ctype: sdpType, token: testToken, body: good, want: 404},
		{name: "wrong content type", method: "POST", path: "/whip/m1", ctype: "application/json", token: testToken, body: good, want: 415},
		{name: "no content type", method: "POST", path: "/whip/m1", token: testToken, body: good, want: 415},
		{name: "malformed SDP", method: "POST", path: "/whip/m1", ctype: sdpType, token: testToken, body: "not an offer at all", want: 400},
		{name: "empty body", method: "POST", path: "/whip/m1", ctype: sdpType, token: testToken, want: 400},
		{name: "video only", method: "POST", path: "/whip/m1", ctype: sdpType, token: testToken,
			body: strings.ReplaceAll(good, "m=audio", "m=video"), want: 422},
		{name: "no Opus", method: "POST", path: "/whip/m1", ctype: sdpType, token: testToken,
			body: strings.ReplaceAll(good, "opus/48000", "PCMU/8000"), want: 422},
		{name: "too large", method: "POST", path: "/whip/m1", ctype: sdpType, token: testToken,
			body: good + strings.Repeat("a=x-pad:0\r\n", maxOfferBytes/10), want: 413},
		{name: "bad channel", method: "POST", path: "/whip/m1?channel=a%20b", ctype: sdpType, token: testToken, body: good, want: 400},
		{name: "GET endpoint", method: "GET", path: "/whip/m1", token: testToken, want: 405,
			header: map[string]string{"Allow": "OPTIONS, POST"}},
		{name: "create", method: "POST", path: "/whip/m1?channel=alice", ctype: "application/sdp; charset=utf-8",
			token: testToken, body: good, want: 201, header: map[string]string{"Content-Type": sdpType}},
		{name: "channel taken", method: "POST", path: "/whip/m1?channel=alice", ctype: sdpType, token: testToken, body: good, want: 409},
		{name: "create another", method: "POST", path: "/whip/m1", ctype: sdpType, token: testToken, body: good, want: 201},
		{name: "full", method: "POST", path: "/whip/m1", ctype: sdpType, token: testToken, body: good, want: 503,
			header: map[string]string{"Retry-After": "7"}},
		{name: "trickle", method: "PATCH", path: "FIRST", ctype: "application/trickle-ice-sdpfrag", token: testToken,
			body: "a=end-of-candidates\r\n", want: 405, header: map[string]string{"Allow": "OPTIONS, DELETE"}},
		{name: "resource preflight", method: "OPTIONS", path: "FIRST", want: 204, header: map[string]string{"Allow": "OPTIONS, DELETE"}},
		{name: "delete without token", method: "DELETE", path: "FIRST", want: 401},
		{name: "delete unknown", method: "DELETE", path: "/whip/m1/0123456789abcdef", token: testToken, want: 404},
		{name: "delete", method: "DELETE", path: "FIRST", token: testToken, want: 200},
		{name: "delete other", method: "DELETE", path: "SECOND", token: testToken, want: 200},
	}
	for _, s := range steps {
		path := s.path
		switch path {
		case "FIRST":
			path = first
		case "SECOND":
			path = second
		}
		req := httptest.NewRequest(s.method, path, strings.NewReader(s.body))
		if s.ctype != "" {
			req.Header.Set("Content-Type", s.ctype)
		}
		if s.token != "" {
			req.Header.Set("Authorization", "Bearer "+s.token)
		}
		rec := httptest.NewRecorder()
		hs.mux.ServeHTTP(rec, req)
		if rec.Code != s.want {
			t.Fatalf("%s: %s %s = %d %q, want %d", s.name, s.method, path, rec.Code, rec.Body.String(), s.want)
		}
		for k, v := range s.header {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s: %s: %q, want %q", s.name, k, got, v)
			}
		}
		if rec.Code == 201 {
			loc := rec.Header().Get("Location")
			if !strings.HasPrefix(loc, "/whip/m1/") || !strings.Contains(rec.Body.String(), "a=candidate") {
				t.Fatalf("%s: Location %q, answer %q", s.name, loc, rec.Body.String())
			}
			if first == "" {
				first = loc
			} else {
				second = loc
			}
		}
	}
}

// A meeting that takes no audio turns publishers away before any session is made, saying why.
func TestWHIPRefusal(t *testing.T) {
	leaktest.Check(t)
	const why = "this meeting is not being transcribed"
	hs := newHarness(t, func(c *WHIPConfig) {
		c.Authorize = func(*http.Request, string) error { return fmt.Errorf("meeting m1: %w", Refuse(why)) }
	})
	req := httptest.NewRequest("POST", "/whip/m1?channel=alice", strings.NewReader(offer(t)))
	req.Header.Set("Content-Type", sdpType)
	rec := httptest.NewRecorder()
	hs.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || strings.TrimSpace(rec.Body.String()) != why {
		t.Fatalf("POST to a meeting that takes no audio: %d %q, want 403 %q", rec.Code, rec.Body.String(), why)
	}
	if n := hs.h.Sessions(); n != 0 {
		t.Errorf("%d sessions after a refusal", n)
	}
	_, err := Publish(testContext(t), hs.endpoint(), testToken, hs.publishOptions(t, "alice"))
	if !errors.Is(err, ErrWHIP) || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), why) {
		t.Fatalf("Publish: %v, want a refusal with 403 and why", err)
	}
}

// An offer that does not arrive within the read deadline the server sets is answered 408, with
// no session made.
func TestWHIPOfferTooSlow(t *testing.T) {
	leaktest.Check(t)
	hs := newHarness(t, nil)
	hs.mux.Handle("/bounded/whip/{meeting}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		hs.h.ServeHTTP(w, r)
	}))
	c, err := net.Dial("tcp", hs.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := offer(t)
	head := "POST /bounded/whip/m1 HTTP/1.1\r\nHost: ledgerline\r\nContent-Type: " + sdpType + "\r\n" +
		"Authorization: Bearer " + testToken + "\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n"
	if _, err := io.WriteString(c, head+body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(msg), "send it again") {
		t.Errorf("an offer cut halfway: %d %q, want 408", resp.StatusCode, msg)
	}
	if n := hs.h.Sessions(); n != 0 {
		t.Errorf("%d sessions after a refusal", n)
	}
}

func TestWHIPConfig(t *testing.T) {
	if _, err := NewWHIP(WHIPConfig{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("NewWHIP without callbacks: %v, want ErrConfig", err)
	}
	if _, err := NewAPI(APIConfig{UDPPortMin: 5000, UDPPortMax: 4000}); !errors.Is(err, ErrConfig) {
		t.Fatalf("NewAPI with a reversed port range: %v, want ErrConfig", err)
	}
}

func TestBearerToken(t *testing.T) {
	for h, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer ": "", "": ""} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("Authorization", h)
		if got, _ := BearerToken(r); got != want {
			t.Errorf("BearerToken(%q) = %q, want %q", h, got, want)
		}
	}
}

// A publisher follows an endpoint's redirect to another host (as a team server's replica sends
// publishers to the one that runs the meeting) and sends its token there again, which Go's client
// would not.
func TestWHIPPublisherFollowsRedirectWithToken(t *testing.T) {
	leaktest.Check(t)
	owner := newHarness(t, nil)
	other := strings.Replace(owner.srv.URL, "127.0.0.1", "localhost", 1) // another host to Go's client
	front := newHarness(t, func(c *WHIPConfig) {
		c.Authorize = func(r *http.Request, meeting string) error { return Redirect(other + r.URL.RequestURI()) }
	})
	ctx := testContext(t)
	p, err := Publish(ctx, front.endpoint(), testToken, front.publishOptions(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Resource(), other+"/whip/m1/") {
		t.Errorf("resource %q, want one on %s", p.Resource(), other)
	}
	if err := p.Send(ctx, loadFixture(t, "alice.wav")[:stream.SampleRate/2]); err != nil {
		t.Fatal(err)
	}
	tr := owner.nextTrack(t)
	if tr.Channel() != "alice" {
		t.Errorf("channel %q: the query was not kept", tr.Channel())
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	collect(t, tr)
}

// A browser's POST (it carries Origin) that Authorize redirects is relayed to the owner, token
// and all: the browser gets the owner's answer and a Location on its own origin. Other
// publishers, and a request relayed once already, get the 307; an owner that does not answer
// is a 502.
func TestWHIPRelaysABrowsersPostToTheOwner(t *testing.T) {
	leaktest.Check(t)
	owner := newHarness(t, nil)
	ownerURL := owner.srv.URL
	front := newHarness(t, func(c *WHIPConfig) {
		c.Authorize = func(r *http.Request, meeting string) error { return Redirect(ownerURL + r.URL.RequestURI()) }
	})
	post := func(headers map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, front.endpoint()+"?channel=carla", strings.NewReader(offer(t)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("Authorization", "Bearer "+testToken)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	resp := post(map[string]string{"Origin": front.srv.URL})
	body, _ := io.ReadAll(resp.Body)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(string(body), "v=0") || !strings.HasPrefix(loc, "/whip/m1/") {
		t.Fatalf("relayed POST: %d, Location %q, body %.80q; want 201, the owner's answer and a path", resp.StatusCode, loc, body)
	}
	if got := resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 {
		t.Errorf("Access-Control-Allow-Origin %q, want this endpoint's one", got)
	}
	if owner.h.Sessions() != 1 || front.h.Sessions() != 0 {
		t.Fatalf("sessions: owner %d, front %d; want the session on the owner", owner.h.Sessions(), front.h.Sessions())
	}
	del, err := http.NewRequest(http.MethodDelete, ownerURL+loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	del.Header.Set("Authorization", "Bearer "+testToken)
	if r, err := http.DefaultClient.Do(del); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("DELETE of the relayed session on the owner: %v %v", r, err)
	} else {
		r.Body.Close()
	}

	for name, h := range map[string]map[string]string{
		"a publisher without Origin": nil,
		"a request relayed already":  {"Origin": front.srv.URL, relayedHeader: "1"},
	} {
		if resp := post(h); resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != ownerURL+"/whip/m1?channel=carla" {
			t.Errorf("%s: %d to %q, want 307 to the owner", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}

	owner.srv.Close()
	if resp := post(map[string]string{"Origin": front.srv.URL}); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("relay to an owner that is gone: %d, want 502", resp.StatusCode)
	}
}
