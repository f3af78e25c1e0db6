// Package team is the team server's front: the one place where a request becomes a person or
// program of an organisation (API tokens, invite links, browser sessions with CSRF tokens), where
// the record's one access rule is applied to it on every way in, and the REST API, meeting library
// and search that people of both companies reach. It wraps a server.Server, which serves the
// meetings' overlays, sockets, recaps and deal pages, and lets those in through a server.Gate.
//
// The access rule itself is the store's (ledger.Team.Access, VisibleMeetings, Search): every
// handler here asks it, and none decides visibility on its own.
//
// Concurrency: a Server is safe for concurrent use; it starts no goroutine of its own beyond those
// of the server.Server it wraps, whose Close stops them. RunBots, which starts the bots that come
// due and reads the calendars, runs on its caller's goroutine until its context ends, and stops the
// one it starts (the calendars') before it returns.
package team

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/mcpserver"
	"github.com/ledgerline/ledgerline/server"
)

// Store is what a team server keeps: the record and, beside it, who may read it.
type Store interface {
	ledger.Store
	ledger.Team
	ledger.CRM
	ledger.Bots
	ledger.Calendars
	server.Control
}

var (
	_ Store = (*ledger.SQLiteStore)(nil)
	_ Store = (*ledger.PostgresStore)(nil)
)

// Config configures a Server. Store is required.
type Config struct {
	Store Store
	// PublicURL is the address people reach the server at ("https://ledgerline.example.com"),
	// which invite links and the links of the API are built on; unset, they are built on the
	// address each request was sent to.
	PublicURL string
	// Server is the configuration of the wrapped overlay server; its Log, Records and Gate are set
	// from Store. With an Ingest, the server records meetings itself: POST /api/v1/meetings makes
	// them, and participants send their audio to Ingest (an agent.Host).
	Server server.Config
	// Control takes viewers' changes, and Recorder pauses and resumes: the Host that runs the
	// server's own meetings, so that a live meeting's changes go through its pipeline. Control
	// defaults to Store.
	Control  server.Control
	Recorder server.Recorder
	// Bots sends meeting bots into web calls for the server's own meetings (/api/v1/bots,
	// calendars; RunBots starts the scheduled ones); nil: the server sends none. PrivateFeeds lets
	// calendar feeds be read from loopback and private addresses.
	Bots         BotLauncher
	PrivateFeeds bool
	Logger       *slog.Logger
	CRM          CRMKeys // seals organisations' CRM tokens (a crm.Keyring); nil: CRM settings are refused
	// Now is the clock credentials are checked by; time.Now when nil.
	Now func() time.Time
}

// Server is a team server's HTTP front.
type Server struct {
	cfg     Config
	store   Store
	log     *slog.Logger
	now     func() time.Time
	overlay *server.Server
	origins []string // browser origins of this server's pages besides the request's host, lower case
	// assistants serves AI assistants at /mcp, as the callers the API's credential check finds.
	assistants *mcpserver.Server
	// root is the path the public URL serves the server under ("/ledgerline"; "" at the host's
	// root), which the pages' links start with; pages are the page templates that know it.
	root  string
	pages *template.Template
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("team: Config.Store is required")
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return nil, fmt.Errorf("team: public URL %q: give http(s)://host[:port][/path]", cfg.PublicURL)
		}
		cfg.PublicURL = strings.TrimSuffix(u.String(), "/")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, store: cfg.Store, log: cfg.Logger, now: cfg.Now}
	sc := cfg.Server
	if cfg.PublicURL != "" {
		// Pages reached at the public URL are this server's, whatever Host a proxy passes on.
		u, _ := url.Parse(cfg.PublicURL) // checked above
		sc.AllowedOrigins = append(slices.Clone(sc.AllowedOrigins), u.Scheme+"://"+u.Host)
		s.root = strings.TrimSuffix(u.EscapedPath(), "/")
	}
	s.pages = template.Must(pages.Clone()).Funcs(template.FuncMap{"root": func() string { return s.root }})
	for _, o := range sc.AllowedOrigins {
		s.origins = append(s.origins, strings.ToLower(strings.TrimSuffix(o, "/")))
	}
	if cfg.Control == nil {
		cfg.Control = cfg.Store
	}
	assistants, err := mcpserver.New(mcpserver.Config{Store: cfg.Store, Editor: cfg.Control, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("team: %w", err)
	}
	s.assistants = assistants
	sc.Log, sc.Records, sc.Control, sc.Recorder, sc.Gate = cfg.Store, cfg.Store, cfg.Control, cfg.Recorder, gate{s}
	if sc.Logger == nil {
		sc.Logger = cfg.Logger
	}
	sc.Front = func(overlay http.Handler) http.Handler {
		mux := http.NewServeMux()
		s.registerAPI(mux)
		s.registerPages(mux)
		mux.HandleFunc("/mcp", s.api(s.serveAssistant)) // AI assistants: not a REST endpoint
		mux.Handle("/", overlay)
		return mux
	}
	overlay, err := server.New(sc)
	if err != nil {
		return nil, fmt.Errorf("team: %w", err)
	}
	s.overlay = overlay
	return s, nil
}

// Handler returns the server's HTTP handler, for an http.Server or httptest.Server of the
// caller's.
func (s *Server) Handler() http.Handler { return s.overlay.Handler() }

// Overlay returns the wrapped overlay server, whose Start, Serve and Shutdown run the listeners.
func (s *Server) Overlay() *server.Server { return s.overlay }

// Close stops the overlay server and every viewer connection.
func (s *Server) Close() error { return s.overlay.Close() }

// EnsureAdmin makes the server's first administrator token when the store has none, and returns
// its secret, to be shown once; "" when an administrator exists already.
func (s *Server) EnsureAdmin(ctx context.Context) (string, error) {
	has, err := s.store.HasAdmin(ctx)
	if err != nil {
		return "", fmt.Errorf("team: look for an administrator: %w", err)
	}
	if has {
		return "", nil
	}
	secret := newSecret()
	c := ledger.Credential{ID: newID("tok"), Digest: digest(secret), Kind: ledger.CredentialToken,
		Role: ledger.MemberAdmin, Name: "administrator"}
	if err := s.store.AddCredential(ctx, c); err != nil {
		return "", fmt.Errorf("team: make the administrator token: %w", err)
	}
	return secret, nil
}

// base returns the URL links are built on: PublicURL, or the scheme and host of the request.
func (s *Server) base(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// apiError is an answer other than 2xx with a message for the client, and fields to add.
type apiError struct {
	code  int
	msg   string
	extra map[string]any
}

func (e *apiError) Error() string { return e.msg }

func failf(code int, format string, args ...any) error {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// writeJSON answers v as JSON with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// fail answers err: its own code for an apiError, 404 for ledger.ErrNotFound, 409 for
// ledger.ErrExists, 400 for ledger.ErrInvalidRecord, 413 for a body over its limit, and 500 —
// logged, not shown — for anything else.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var tooBig *http.MaxBytesError
	body := map[string]any{}
	code := http.StatusInternalServerError
	switch {
	case errors.As(err, &ae):
		code = ae.code
		body["error"] = ae.msg
		for k, v := range ae.extra {
			body[k] = v
		}
	case errors.As(err, &tooBig):
		code = http.StatusRequestEntityTooLarge
		body["error"] = fmt.Sprintf("the request body is larger than %d bytes", tooBig.Limit)
	case errors.Is(err, ledger.ErrNotFound):
		code = http.StatusNotFound
		body["error"] = "not found (or not shared with your organisation)"
	case errors.Is(err, ledger.ErrExists):
		code = http.StatusConflict
		body["error"] = "already exists: " + err.Error()
	case errors.Is(err, ledger.ErrInvalidRecord):
		code = http.StatusBadRequest
		body["error"] = err.Error()
	case errors.Is(err, ledger.ErrUnavailable):
		s.log.Warn("the record's database cannot be reached", "method", r.Method, "path", r.URL.Path, "err", err)
		code = http.StatusServiceUnavailable
		body["error"] = "the record's database cannot be reached right now: nothing was changed; try again shortly"
		w.Header().Set("Retry-After", "5")
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body["error"] = "the server could not do that right now; try again, and if it keeps failing, check the server's log"
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ledgerline"`)
	}
	writeJSON(w, code, body)
}

// decodeJSON reads a JSON body of at most limit bytes into v, refusing unknown fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return failf(http.StatusUnsupportedMediaType, "send the request body as JSON (Content-Type: application/json)")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return failf(http.StatusBadRequest, "the request body is not the JSON expected: %v", err)
	}
	if dec.More() {
		return failf(http.StatusBadRequest, "the request body holds more than one JSON value")
	}
	return nil
}
