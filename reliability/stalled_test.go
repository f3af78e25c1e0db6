package reliability

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// Many connections that hold the server without finishing anything, all at once, are each closed
// once their timeout has passed: ones that never send a byte, idle keep-alive ones, headers cut
// halfway, a change's body and a WHIP offer that never arrive (answered 408 first), a body nobody
// reads. Meanwhile a viewer's socket, which outlives every one of those timeouts, keeps receiving
// the meeting, and clients from the same addresses are served; once the stalled connections are
// closed, their addresses hold their full quota of connections again.
func TestStalledConnectionsClosed(t *testing.T) {
	skipShort(t)
	leaktest.Check(t)
	const (
		meeting  = "stalled"
		timeout  = time.Second
		closeBy  = 20 * time.Second // generous: the point is that each is closed at all
		addrs    = 8                // the stalled connections' client addresses
		quota    = 16               // connections per address
		firstURL = "/assets/overlay.js"
	)
	perKind := size(12, 100)
	peak := watchMemory()
	ctx := background(t, 5*time.Minute)
	store := openStore(t)
	token := server.NewToken()
	if err := store.CreateMeeting(ctx, ledger.Meeting{ID: meeting, Token: token, StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var srv *server.Server
	api, err := ingest.NewAPI(ingest.APIConfig{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	whip, err := ingest.NewWHIP(ingest.WHIPConfig{API: api,
		Authorize: func(r *http.Request, m string) error {
			tok, _ := ingest.BearerToken(r)
			if known, ok := srv.CheckToken(m, tok, server.ScopeJoin); !known {
				return ingest.ErrUnknownMeeting
			} else if !ok {
				return ingest.ErrUnauthorized
			}
			return nil
		},
		OnTrack: func(_ string, tr *ingest.Track) { tr.Close() },
	})
	if err != nil {
		t.Fatal(err)
	}
	// The per-address cap well above what the stalled connections of one address hold, so that
	// the served clients beside them are not refused for it, and low enough to fill afterwards.
	perAddr := perKind*6/addrs + quota
	srv, err = server.New(server.Config{Log: store, Records: store, Control: store, Ingest: whip, Addr: "127.0.0.1:0",
		ReadHeaderTimeout: timeout, BodyTimeout: timeout, IdleTimeout: timeout, MaxConnsPerAddr: perAddr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Close()
		_ = whip.Close()
	})
	if err := srv.AddMeetingToken(meeting, token); err != nil {
		t.Fatal(err)
	}
	ln, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.String()

	// A viewer with the watch link, from one of the stalled connections' addresses.
	dialer := websocket.Dialer{HandshakeTimeout: closeBy, NetDialContext: dialerFrom(clientAddr(1)).DialContext}
	ws, resp, err := dialer.Dial("ws://"+addr+"/m/"+meeting+"/ws?t="+url.QueryEscape(server.ScopedToken(token, server.ScopeWatch)), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer ws.Close()
	viewed := make(chan error, 1)
	var lastSeen int64
	go func() {
		for {
			e, err := readEvent(ws, closeBy+time.Minute)
			if err != nil {
				viewed <- err
				return
			}
			if e.Seq != lastSeen+1 {
				viewed <- fmt.Errorf("seq %d after %d", e.Seq, lastSeen)
				return
			}
			lastSeen = e.Seq
			if e.Segment != nil && e.Segment.Text == "the end" {
				viewed <- nil
				return
			}
		}
	}()

	offer := offerSDP(t)
	join := server.ScopedToken(token, server.ScopeJoin)
	rename := "POST /m/" + meeting + "/speakers/mic?t=" + url.QueryEscape(token) + " HTTP/1.1\r\nHost: ledgerline\r\n" +
		"Content-Type: application/json\r\nX-Ledgerline: 1\r\nContent-Length: 100\r\n\r\n{\"name\":"
	publish := "POST /whip/" + meeting + "?channel=half HTTP/1.1\r\nHost: ledgerline\r\nAuthorization: Bearer " + join + "\r\n" +
		"Content-Type: application/sdp\r\nContent-Length: " + fmt.Sprint(len(offer)) + "\r\n\r\n" + offer[:len(offer)/2]
	kinds := []struct {
		name string
		send string // what the client sends before it stops
		want int    // the status answered before closing; 0 for none
	}{
		{"never sends a byte", "", 0},
		{"idle after a request", "GET " + firstURL + " HTTP/1.1\r\nHost: ledgerline\r\n\r\n", http.StatusOK},
		{"headers cut halfway", "GET " + firstURL + " HTTP/1.1\r\nHost: ledg", 0},
		{"a change whose body never arrives", rename, http.StatusRequestTimeout},
		{"a WHIP offer cut halfway", publish, http.StatusRequestTimeout},
		{"a body nobody reads never arrives", "POST " + firstURL + " HTTP/1.1\r\nHost: ledgerline\r\nContent-Length: 100\r\n\r\n", http.StatusMethodNotAllowed},
	}
	type outcome struct {
		kind string
		took time.Duration // from the last byte sent to the close
		err  error
	}
	var (
		wg       sync.WaitGroup
		outcomes = make(chan outcome, perKind*len(kinds))
	)
	for i := range perKind * len(kinds) {
		k := kinds[i%len(kinds)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := outcome{kind: k.name}
			o.took, o.err = stall(addr, clientAddr(1+i%addrs), k.send, k.want, closeBy)
			outcomes <- o
		}()
	}

	// While they stall, the meeting goes on for its viewer, and clients beside them are served.
	stalled := make(chan struct{})
	go func() {
		wg.Wait()
		close(stalled)
	}()
	served := 0
	for i := 0; ; i++ {
		if _, err := store.Append(ctx, final(meeting, fmt.Sprint("live-", i), int64(i)*1000, "still here")); err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Transport: &http.Transport{DialContext: dialerFrom(clientAddr(1 + i%addrs)).DialContext}, Timeout: closeBy}
		if code, _ := request(t, c, http.MethodGet, "http://"+addr+server.RecapPath(meeting, token), "", "", nil); code != http.StatusOK {
			t.Errorf("a client beside the stalled ones: recap answered %d", code)
		}
		c.CloseIdleConnections()
		served++
		select {
		case <-stalled:
		case <-time.After(100 * time.Millisecond):
			continue
		}
		break
	}
	close(outcomes)
	worst := map[string]time.Duration{}
	for o := range outcomes {
		if o.err != nil {
			t.Errorf("%s: %v", o.kind, o.err)
		}
		worst[o.kind] = max(worst[o.kind], o.took)
	}

	// The socket lived past every timeout: it receives what comes next.
	if _, err := store.Append(ctx, final(meeting, "end", 1e9, "the end")); err != nil {
		t.Fatal(err)
	}
	if err := <-viewed; err != nil {
		t.Errorf("the viewer's socket, after %d events: %v", lastSeen, err)
	}

	// Their places given back, an address holds its whole quota again (once the server has also
	// closed the connections of the clients served beside them, which it does as they close).
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	waitFor(t, fmt.Sprintf("an address to hold %d connections again", perAddr), closeBy, func() bool {
		c, err := dialerFrom(clientAddr(2)).Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		code, err := ask(c, "GET "+firstURL+" HTTP/1.1\r\nHost: ledgerline\r\n\r\n", closeBy)
		if err != nil || code != http.StatusOK {
			c.Close()
			return false
		}
		held = append(held, c)
		return len(held) == perAddr
	})

	var longest []string
	for _, k := range kinds {
		longest = append(longest, fmt.Sprintf("%s %s", k.name, worst[k.name].Round(time.Millisecond)))
	}
	slices.Sort(longest)
	report(t, figures{viewers: 1, events: int(lastSeen), peak: peak(),
		note: fmt.Sprintf("%d stalled connections, timeouts %s, %d requests served beside them; closed at the latest after: %s",
			perKind*len(kinds), timeout, served, strings.Join(longest, ", "))})
}

// stall connects from ip, sends what, and waits for the server's answer (want, or none when 0) and
// for it to close the connection, up to limit. It returns how long the close took after the send.
func stall(addr string, ip net.IP, what string, want int, limit time.Duration) (time.Duration, error) {
	c, err := dialerFrom(ip).Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := io.WriteString(c, what); err != nil {
		return 0, err
	}
	sent := time.Now()
	if err := c.SetReadDeadline(sent.Add(limit)); err != nil {
		return 0, err
	}
	r := bufio.NewReader(c)
	if want != 0 {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return 0, fmt.Errorf("no answer: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			return 0, fmt.Errorf("answered %d, want %d", resp.StatusCode, want)
		}
	}
	_, err = io.Copy(io.Discard, r)
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, syscall.ECONNRESET):
		return time.Since(sent), nil
	case errors.As(err, &ne) && ne.Timeout():
		return 0, fmt.Errorf("still open after %s", limit)
	}
	return 0, err
}

// ask sends one request on c and returns the status of its answer.
func ask(c net.Conn, req string, limit time.Duration) (int, error) {
	if _, err := io.WriteString(c, req); err != nil {
		return 0, err
	}
	if err := c.SetReadDeadline(time.Now().Add(limit)); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
