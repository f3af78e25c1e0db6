package server

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// A client's connections are bounded in time and number, so that none holds descriptors the server
// needs for others: the http.Server closes a connection whose headers take longer than
// ReadHeaderTimeout or that waits longer than IdleTimeout for its next request; bodyDeadline bounds
// a request's body by BodyTimeout; limitListener lets one client address hold at most
// MaxConnsPerAddr connections at once. None of these cuts a viewer's socket, a request without a
// body that keeps deadlines of its own once upgraded, nor a WHIP session, whose media runs over
// WebRTC rather than over its HTTP request.

// refusedConn answers a connection over its address's limit before it is closed.
const refusedConn = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Retry-After: 5\r\n\r\n" +
	"503 Service Unavailable\n\nToo many connections from your address. Close some and try again.\n"

// limitListener accepts at most limit connections from one client address at once; the ones over it
// are answered 503 and closed at once. Errors of the listener pass through unchanged: http.Server
// retries those that are temporary, such as running out of descriptors (EMFILE), after a short
// backoff, and serves again once connections close.
type limitListener struct {
	net.Listener
	limit   int
	refused func(remote string)

	mu   sync.Mutex
	open map[string]int // connections per client address
}

func newLimitListener(ln net.Listener, limit int, refused func(remote string)) net.Listener {
	if limit < 0 {
		return ln
	}
	return &limitListener{Listener: ln, limit: limit, refused: refused, open: make(map[string]int)}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := clientKey(c.RemoteAddr().String())
		l.mu.Lock()
		ok := l.open[client] < l.limit
		if ok {
			l.open[client]++
		}
		l.mu.Unlock()
		if ok {
			return &limitedConn{Conn: c, release: func() { l.release(client) }}, nil
		}
		// A fresh connection's send buffer is empty: the answer is written at once.
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write([]byte(refusedConn))
		_ = c.Close()
		l.refused(c.RemoteAddr().String())
	}
}

func (l *limitListener) release(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[client]--; l.open[client] <= 0 {
		delete(l.open, client)
	}
}

// limitedConn gives its place back to its address when it is closed, by the http.Server or, after
// an upgrade, by the viewer connection.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// clientKey is the client a remote address (host and port) counts for: its IP, or for IPv6 its /64
// network, since one host is handed a whole /64 and may connect from any address in it.
func clientKey(remote string) string {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return remote
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.WithZone("").Prefix(64)
	return p.String()
}

// bodyDeadline bounds how long a request's body may take to arrive, for requests that have one. A
// body that does not arrive in time fails the handler's read, and the connection is closed after
// the answer. net/http lifts the deadline once the body has been read to its end, when it starts
// watching the connection for the client going away, so a handler that works on after reading
// (a WHIP offer being answered) is not cut short.
func bodyDeadline(next http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			// A writer that cannot set deadlines (a test's recorder) leaves the body unbounded.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
		}
		next.ServeHTTP(w, r)
	})
}
