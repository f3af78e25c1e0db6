// Package server serves a meeting's live overlay page and streams its event log to viewers over WebSocket.
// Each meeting is reached by a capability link holding its access token; viewers never slow the pipeline.
//
// # Concurrency
//
// A Server is safe for concurrent use. It owns one hub goroutine per meeting, which holds the meeting's
// subscription to the event log and the set of its viewers, and two goroutines per viewer connection, as
// gorilla/websocket requires: a reader (readPump, the only reader) and a writer (writePump, the only
// writer). The hub hands each event to every viewer's bounded send queue without waiting; a viewer whose
// queue is full is disconnected with a close frame saying "too slow", and may reconnect with ?since=SEQ.
// A new viewer first joins the hub, then is sent the stored events after its since: viewers who ask
// for the same since at the same time share one read of the log, made by a goroutine of the hub's,
// so a crowd opening a long meeting costs the store a few reads rather than one each. Its writePump
// writes that history message by message while live events wait in its send queue, so a viewer slow
// to take its history is dropped by the same rules as a slow live one. Close and Shutdown stop every
// goroutine the Server started and wait for them.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/summary"
)

// EventLog is what the server needs of a meeting's event log: replay after a sequence number, and
// follow live. ledger.MemLog and the store implement it.
type EventLog interface {
	Since(ctx context.Context, meeting string, seq int64) ([]ledger.Event, error)
	Subscribe(meeting string, buffer int) *ledger.Subscription
}

var _ EventLog = (*ledger.MemLog)(nil)

// Defaults for Config fields left zero.
const (
	DefaultAddr              = "127.0.0.1:8080"
	DefaultSendQueue         = 256
	DefaultMaxMessageBytes   = 4096
	DefaultPingInterval      = 30 * time.Second
	DefaultPongWait          = 60 * time.Second
	DefaultWriteWait         = 10 * time.Second
	DefaultHubBuffer         = 4096
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultBodyTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxConnsPerAddr   = 64
	DefaultWarnInterval      = time.Minute
)

// Config configures a Server. Zero fields take the defaults above; Log is required.
type Config struct {
	// Addr is the address Start listens on; localhost only by default.
	Addr string
	// AllowedOrigins are extra browser origins ("https://crm.example.com") allowed to open a meeting's
	// socket. Pages served by this server (same host) are always allowed.
	AllowedOrigins []string
	// Logger receives structured logs; nil discards them. Tokens are never logged.
	Logger *slog.Logger
	// Log is the event log viewers read.
	Log EventLog
	// Ingest, when set, receives WebRTC audio pushed over WHIP at
	// /whip/{meeting} and /whip/{meeting}/{session}; it checks its own tokens.
	Ingest http.Handler
	// SendQueue is how many events may wait for one viewer before it is disconnected as too slow.
	SendQueue int
	// MaxMessageBytes is the largest message a viewer may send; a larger one closes its connection.
	MaxMessageBytes int64
	// PingInterval is how often the server pings a viewer; PongWait is how long it waits for any
	// message or pong before giving up on it (must exceed PingInterval); WriteWait bounds each write,
	// and each read of the history that viewers joining together share.
	PingInterval, PongWait, WriteWait time.Duration
	// HubBuffer is the buffer of each meeting's subscription to the log.
	HubBuffer int
	// ReadHeaderTimeout bounds how long a request's headers may take to arrive, BodyTimeout its
	// body; IdleTimeout is how long a connection may wait for its next request before it is
	// closed. A viewer socket, once upgraded, keeps its own deadlines (PongWait, WriteWait).
	// BodyTimeout holds wherever Handler serves; the other two and MaxConnsPerAddr on the
	// listeners of Start and Serve.
	ReadHeaderTimeout, BodyTimeout, IdleTimeout time.Duration
	// MaxConnsPerAddr is how many connections one client address (an IPv6 /64) may hold open at
	// once; more are answered 503 and closed. Behind a reverse proxy, whose connections all come
	// from its own address, raise it; negative means no limit.
	MaxConnsPerAddr int
	// WarnInterval is how often at most a refusal that any client can cause (a wrong token,
	// another site's page, too many connections) is logged for one meeting and client address;
	// those held back meanwhile are counted in one line at the end of the interval.
	WarnInterval time.Duration
	// Control, when set, appends the changes viewers make from the overlay (renames, commitment
	// edits); Recorder, when set, pauses and resumes capture. Unset, those requests answer 501.
	Control  Control
	Recorder Recorder
	// Records, when set, is the store the recap, export and deal pages read (/m/{meeting}/recap,
	// /m/{meeting}/export/{kind}, /d/{deal}, /api/deals/{deal}). Unset, those answer 404. A
	// participant's side of the deal (the join page, a rename) gives their organisation from the
	// meeting's deal read there; unset, the side alone is recorded.
	Records RecordStore
	// Narrator, when set, writes the narrative at the top of each recap page (a local model: see
	// summary.ChatNarrator); a recap is served without one when it fails or is late.
	Narrator summary.Narrator
	// Gate, when set, lets in requests that hold no capability link (people signed in to a team
	// server, API tokens), and meetings it lets in are served on demand, with no AddMeeting:
	// their hub follows the log while they have viewers and stops IdleHub after the last leaves.
	Gate    Gate
	IdleHub time.Duration
	// Front, when set, puts a handler in front of the server's own: a team server's API and pages,
	// which hand the overlay's paths on to the handler Front is given. Its requests get the same
	// limits as the server's own.
	Front func(overlay http.Handler) http.Handler
	// TLSCertFile and TLSKeyFile, when set, make Start serve HTTPS with that certificate and key
	// (PEM files); unset, it serves plain HTTP (behind a proxy that ends TLS, or on localhost).
	TLSCertFile, TLSKeyFile string
}

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("server: invalid config")

// ErrClosed is returned by a Server after Close or Shutdown.
var ErrClosed = errors.New("server: closed")

// ErrMeetingID reports a meeting ID that cannot be used in a link.
var ErrMeetingID = errors.New("server: invalid meeting ID")

// idPattern is what the IDs of meetings and deals may be: they travel in links' paths.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,128}$`)

// ValidID reports whether id may name a meeting or a deal: 1-128 letters, digits, '.', '_', '~'
// or '-', which a link's path carries as they are.
func ValidID(id string) bool { return idPattern.MatchString(id) }

func (c Config) withDefaults() (Config, error) {
	if c.Log == nil {
		return c, fmt.Errorf("%w: Log is required", ErrConfig)
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&c.SendQueue, DefaultSendQueue)
	setDefault(&c.HubBuffer, DefaultHubBuffer)
	setDefault(&c.MaxMessageBytes, DefaultMaxMessageBytes)
	setDefault(&c.PingInterval, DefaultPingInterval)
	setDefault(&c.PongWait, DefaultPongWait)
	setDefault(&c.WriteWait, DefaultWriteWait)
	setDefault(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&c.BodyTimeout, DefaultBodyTimeout)
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.MaxConnsPerAddr, DefaultMaxConnsPerAddr)
	setDefault(&c.WarnInterval, DefaultWarnInterval)
	setDefault(&c.IdleHub, DefaultIdleHub)
	switch {
	case c.SendQueue < 0, c.HubBuffer < 0, c.MaxMessageBytes < 0:
		return c, fmt.Errorf("%w: SendQueue, HubBuffer and MaxMessageBytes must not be negative", ErrConfig)
	case c.PingInterval < 0, c.WriteWait < 0:
		return c, fmt.Errorf("%w: PingInterval and WriteWait must not be negative", ErrConfig)
	case c.ReadHeaderTimeout < 0, c.BodyTimeout < 0, c.IdleTimeout < 0, c.WarnInterval < 0, c.IdleHub < 0:
		return c, fmt.Errorf("%w: ReadHeaderTimeout, BodyTimeout, IdleTimeout, WarnInterval and IdleHub must not be negative", ErrConfig)
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		return c, fmt.Errorf("%w: give both a TLS certificate and its key, or neither", ErrConfig)
	case c.PongWait <= c.PingInterval:
		return c, fmt.Errorf("%w: PongWait (%s) must exceed PingInterval (%s)", ErrConfig, c.PongWait, c.PingInterval)
	}
	origins := make([]string, 0, len(c.AllowedOrigins))
	for _, o := range c.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return c, fmt.Errorf("%w: allowed origin %q is not scheme://host[:port]", ErrConfig, o)
		}
		origins = append(origins, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	c.AllowedOrigins = origins
	return c, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Server serves meetings' overlay pages and event sockets.
type Server struct {
	cfg      Config
	log      *slog.Logger
	warn     *warnings
	handler  http.Handler
	upgrader websocket.Upgrader

	mu       sync.Mutex // guards the fields below
	meetings map[string]*meeting
	https    []*http.Server
	closed   bool
	sweeping bool          // sweepIdle runs
	quit     chan struct{} // closed with closed

	wg sync.WaitGroup // hubs, viewer connections, listeners started by Start

	narratives narratives // recap narratives already written, by meeting
}

type meeting struct {
	id     string
	tokens scopeDigests // digests of its access token for each scope, compared in constant time
	hub    *hub
	edit   sync.Mutex // serialises viewers' changes: read the latest state, then append
	// onDemand marks a meeting opened through the Gate rather than added: its hub stops when it
	// has been without viewers for a while.
	onDemand bool
}

// New returns a Server for cfg. It starts nothing until a meeting is added.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, warn: newWarnings(cfg.Logger, cfg.WarnInterval), meetings: make(map[string]*meeting), quit: make(chan struct{})}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.WriteWait,
		ReadBufferSize:   1024,
		WriteBufferSize:  4096,
		CheckOrigin:      s.checkOrigin,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /m/{meeting}", s.servePage)
	mux.HandleFunc("GET /m/{meeting}/ws", s.serveSocket)
	mux.Handle("GET /assets/", assetHandler())
	s.registerControl(mux)
	s.handleRecords(mux)
	s.registerJoin(mux)
	s.registerHealth(mux)
	if cfg.Ingest != nil {
		mux.Handle("/whip/{meeting}", cfg.Ingest)
		mux.Handle("/whip/{meeting}/{session}", cfg.Ingest)
	}
	var h http.Handler = mux
	if cfg.Front != nil {
		h = cfg.Front(mux)
	}
	s.handler = bodyDeadline(h, cfg.BodyTimeout)
	return s, nil
}

// Handler returns the server's HTTP handler, for use with an http.Server or httptest.Server of the
// caller's. Connections it upgrades are still owned and stopped by the Server.
func (s *Server) Handler() http.Handler { return s.handler }

// NewToken returns a fresh access token: 128 random bits, base64url without padding.
func NewToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails; it aborts the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// AddMeeting registers a meeting with a fresh access token and returns the token. Give viewers the
// link PagePath(id, token).
func (s *Server) AddMeeting(id string) (string, error) {
	token := NewToken()
	if err := s.AddMeetingToken(id, token); err != nil {
		return "", err
	}
	return token, nil
}

// AddMeetingToken registers a meeting with a given access token, or replaces the token of a
// registered one (its viewers stay connected). Tokens must be at least 16 characters.
func (s *Server) AddMeetingToken(id, token string) error {
	if !ValidID(id) {
		return fmt.Errorf("%w: %q (use 1-128 letters, digits, '.', '_', '~' or '-')", ErrMeetingID, id)
	}
	if len(token) < 16 {
		return fmt.Errorf("server: token for meeting %q is too short (%d characters, want at least 16)", id, len(token))
	}
	tokens := digestsOf(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("server: add meeting %q: %w", id, ErrClosed)
	}
	if m := s.meetings[id]; m != nil {
		m.tokens, m.onDemand = tokens, false
		return nil
	}
	s.addHubLocked(id).tokens = tokens
	return nil
}

// addHubLocked registers a meeting and starts its hub; s.mu is held and the server is open.
func (s *Server) addHubLocked(id string) *meeting {
	h := newHub(id, s.cfg.Log, s.cfg.HubBuffer, s.cfg.WriteWait, s.log.With("meeting", id))
	m := &meeting{id: id, hub: h}
	s.meetings[id] = m
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		h.run()
	}()
	return m
}

// ReplaceToken replaces the access token of a meeting served here, if it is, and with it every
// scoped token derived from it; "" leaves it with none, so that no capability link opens it.
// Viewers already connected stay. It reports whether the meeting was served.
func (s *Server) ReplaceToken(id, token string) bool {
	tokens := digestsOf(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.meetings[id]
	if m != nil {
		m.tokens = tokens
	}
	return m != nil
}

// RemoveMeeting forgets a meeting and disconnects its viewers. It reports whether the meeting was known.
func (s *Server) RemoveMeeting(id string) bool {
	s.mu.Lock()
	m := s.meetings[id]
	delete(s.meetings, id)
	s.mu.Unlock()
	if m == nil {
		return false
	}
	m.hub.stop()
	return true
}

// DisconnectAll closes every viewer connection of a meeting with a close frame (1012, "server
// restarting"); viewers may reconnect and resume. It returns how many were connected.
func (s *Server) DisconnectAll(id string) int {
	s.mu.Lock()
	m := s.meetings[id]
	s.mu.Unlock()
	if m == nil {
		return 0
	}
	return m.hub.disconnectAll()
}

// Viewers returns how many viewers are connected to a meeting.
func (s *Server) Viewers(id string) int {
	s.mu.Lock()
	m := s.meetings[id]
	s.mu.Unlock()
	if m == nil {
		return 0
	}
	return m.hub.count()
}

// PagePath returns the path of a meeting's overlay page, token included: the capability link.
func PagePath(id, token string) string {
	return "/m/" + url.PathEscape(id) + "?t=" + url.QueryEscape(token)
}

// Start listens on Config.Addr and serves in the background until Close or Shutdown. It returns the
// address listened on (useful with port 0).
func (s *Server) Start() (net.Addr, error) {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("server: listen on %s: %w", s.cfg.Addr, err)
	}
	wrapped, err := s.secure(s.limit(ln))
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	hs, err := s.newHTTPServer()
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	go func() {
		defer s.wg.Done()
		if err := hs.Serve(wrapped); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serving stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	s.log.Info("serving", "addr", ln.Addr().String())
	return ln.Addr(), nil
}

// Serve serves on ln until Close or Shutdown, when it returns nil.
func (s *Server) Serve(ln net.Listener) error {
	hs, err := s.newHTTPServer()
	if err != nil {
		return err
	}
	defer s.wg.Done()
	wrapped, err := s.secure(s.limit(ln))
	if err != nil {
		return err
	}
	if err := hs.Serve(wrapped); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: serve on %s: %w", ln.Addr(), err)
	}
	return nil
}

// secure serves TLS on ln when the Config names a certificate, loaded now so that a bad file is
// reported when the server starts rather than at the first connection.
func (s *Server) secure(ln net.Listener) (net.Listener, error) {
	if s.cfg.TLSCertFile == "" {
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("server: load the TLS certificate %s and key %s: %w", s.cfg.TLSCertFile, s.cfg.TLSKeyFile, err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}

// limit bounds the connections each client address may hold open on ln.
func (s *Server) limit(ln net.Listener) net.Listener {
	return newLimitListener(ln, s.cfg.MaxConnsPerAddr, func(remote string) {
		s.warn.warn("refused a connection: too many open from one address (behind a reverse proxy, raise the limit)", "", remote)
	})
}

// newHTTPServer registers an http.Server and counts its serving goroutine in s.wg.
func (s *Server) newHTTPServer() (*http.Server, error) {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	s.https = append(s.https, hs)
	s.wg.Add(1)
	return hs, nil
}

// Shutdown stops accepting connections, waits for page requests to finish, closes every viewer
// connection with a close frame (1001, "server stopping") and waits for every goroutine the Server
// started, or for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	https, hubs := s.markClosed()
	var errs []error
	for _, hs := range https {
		if err := hs.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: shutdown: %w", err))
		}
	}
	for _, h := range hubs {
		h.stop()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("server: shutdown: waiting for connections: %w", ctx.Err()))
	}
	s.warn.close()
	return errors.Join(errs...)
}

// Close closes listeners and page requests at once, closes every viewer connection with a close frame
// (1001, "server stopping") and waits for every goroutine the Server started.
func (s *Server) Close() error {
	https, hubs := s.markClosed()
	var errs []error
	for _, hs := range https {
		if err := hs.Close(); err != nil {
			errs = append(errs, fmt.Errorf("server: close: %w", err))
		}
	}
	for _, h := range hubs {
		h.stop()
	}
	s.wg.Wait()
	s.warn.close()
	return errors.Join(errs...)
}

func (s *Server) markClosed() ([]*http.Server, []*hub) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		close(s.quit)
	}
	s.closed = true
	https := s.https
	s.https = nil
	hubs := make([]*hub, 0, len(s.meetings))
	for id, m := range s.meetings {
		hubs = append(hubs, m.hub)
		delete(s.meetings, id)
	}
	return https, hubs
}

// CheckToken reports whether a meeting is served (known) and whether token opens it for at least
// need (ok), for other ways in such as WHIP ingest.
func (s *Server) CheckToken(meeting, token string, need Scope) (known, ok bool) {
	_, known, scope := s.checkToken(meeting, token)
	return known, scope >= need
}

// Admit reports whether the server's Gate lets r change the meeting, send it audio included:
// nil for someone signed in, or an API token, whom the access rule lets edit it; else the Gate's
// answer (ErrReadOnly, or one wrapping ledger.ErrNotFound for someone it knows whom the rule does
// not let reach the meeting), and ErrNoCredentials for credentials it knows nobody by, or without
// a Gate.
func (s *Server) Admit(r *http.Request, meeting string) error {
	if s.cfg.Gate == nil {
		return ErrNoCredentials
	}
	err := s.cfg.Gate.Meeting(r, meeting, true)
	if n, ok := s.cfg.Gate.(Namer); ok && errors.Is(err, ledger.ErrNotFound) && n.Name(r) == "" {
		// Credentials the Gate knows nobody by (a meeting link's token, a stale one): a publisher
		// is told its token is wrong, as without a Gate, not that the meeting does not exist.
		return ErrNoCredentials
	}
	return err
}

// checkToken finds a served meeting and the widest scope token opens of it. known reports a
// meeting served with a token of its own: one opened on demand has none here.
func (s *Server) checkToken(id, token string) (m *meeting, known bool, scope Scope) {
	s.mu.Lock()
	m = s.meetings[id]
	var tokens scopeDigests
	if m != nil {
		tokens, known = m.tokens, !m.onDemand
	}
	s.mu.Unlock()
	return m, known, tokens.scopeOf(token)
}

func plainError(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	http.Error(w, fmt.Sprintf("%d %s\n\n%s", code, http.StatusText(code), msg), code)
}

// checkOrigin allows browsers on this server's own host and the configured origins. Requests without
// an Origin header come from programs, not pages, and still need the token.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	o := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, a := range s.cfg.AllowedOrigins {
		if o == a {
			return true
		}
	}
	s.warn.warn("refused a socket from another origin", r.PathValue("meeting"), r.RemoteAddr, "origin", origin)
	return false
}
