// Package mcpserver serves the record to AI assistants over the Model Context Protocol: tools
// that list meetings and deals, fetch a transcript or a recap, search, list commitments by deal or
// owner, and mark one done, so that an assistant can answer "what did we promise Acme last
// week?" from the record itself.
//
// Every tool asks the store's one access rule (ledger.Team.Access, VisibleMeetings, VisibleDeals,
// Search) with the caller's ledger.Reader, and decides nothing on its own: a meeting or deal the
// caller may not see answers exactly as one that does not exist. An edit goes to the commitments'
// owner (the running pipeline, else the store), recorded by the caller's name, like a viewer's.
//
// Who calls is given from outside, never taken from the request: `ledgerline mcp` serves the
// local user over stdio, who reads everything in their own database; the team server checks the
// bearer token of each request at /mcp with its own credential check and passes its caller in the
// request's context (WithCaller).
//
// Concurrency: a Server is safe for concurrent use and keeps no state between calls. A session's
// caller is fixed when it is connected (Connect, Run); over HTTP the Server is stateless, so each
// request is a session of its own, answered as the caller its own context names. The Server starts
// no goroutine of its own: the SDK's sessions own theirs, and end with their transport, their
// context (Run) or the HTTP request.
package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/recap"
)

// Store is what the tools read: the record and its one access rule.
type Store interface {
	recap.MeetingSource
	// Access, DealAccess, VisibleMeetings, VisibleDeals and Search are the access rule, as
	// ledger.Team declares them.
	Access(ctx context.Context, r ledger.Reader, meetingID string) (ledger.ShareLevel, error)
	DealAccess(ctx context.Context, r ledger.Reader, dealID string) (ledger.ShareLevel, error)
	VisibleMeetings(ctx context.Context, r ledger.Reader) ([]ledger.Meeting, error)
	VisibleDeals(ctx context.Context, r ledger.Reader) ([]ledger.Deal, error)
	Search(ctx context.Context, r ledger.Reader, q string, limit int) ([]ledger.SearchHit, error)
}

// Editor applies a person's edit to a commitment as it stands and appends the result, as
// server.Control does: the running pipeline of a live meeting, or else the store.
type Editor interface {
	EditCommitment(ctx context.Context, meeting, id string, edit ledger.CommitmentEdit, by string) (ledger.Event, error)
}

var (
	_ Store  = (*ledger.SQLiteStore)(nil)
	_ Store  = (*ledger.PostgresStore)(nil)
	_ Editor = (*ledger.SQLiteStore)(nil)
	_ Editor = (*ledger.PostgresStore)(nil)
)

// Caller is who asks: the reader the access rule knows, and the name the edits they make are
// recorded by.
type Caller struct {
	Reader ledger.Reader
	Name   string // "dana's laptop", "ana"; required
}

type callerKey struct{}

// WithCaller returns a context that names who makes the calls made with it. The team server puts
// the caller its credential check found into each request's context before handing it to
// ServeHTTP.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// callerFrom returns the caller of ctx; false when none was given, which every tool refuses.
func callerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok && c.Name != ""
}

// Config configures a Server. Store is required.
type Config struct {
	Store Store
	// Editor takes the edits: the team server's Control (its Host, so that a live meeting's edits
	// go through its pipeline). Store when nil, if it is an Editor.
	Editor Editor
	// Version is the product's version the server reports to clients; "devel" when empty.
	Version string
	Logger  *slog.Logger
}

// Server is the record's MCP server.
type Server struct {
	store  Store
	editor Editor
	log    *slog.Logger
	mcp    *mcp.Server
	http   http.Handler
}

// callTimeout bounds one tool call: a database that hangs must not hold an assistant for ever.
const callTimeout = 30 * time.Second

// maxHTTPBody bounds the body of one request to /mcp: tool arguments are short.
const maxHTTPBody = 1 << 20

// instructions tell a connecting assistant what the server is for and how its tools fit together.
const instructions = `Ledgerline keeps the record of co-selling calls: transcripts attributed to each ` +
	`speaker and their organisation, and the commitments made on them (who promised what, to whom, by ` +
	`when). Find an account's deal with list_deals, its calls with list_meetings, what was promised with ` +
	`list_commitments (open ones by default; filter by deal, owner or dates), and the words said with ` +
	`search or get_transcript. Quote the record's evidence when you answer. Mark a commitment done ` +
	`only when the person you assist asks you to: the change is recorded under their name.`

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("mcpserver: Config.Store is required")
	}
	if cfg.Editor == nil {
		e, ok := cfg.Store.(Editor)
		if !ok {
			return nil, errors.New("mcpserver: Config.Editor is required when the store edits no commitments")
		}
		cfg.Editor = e
	}
	if cfg.Version == "" {
		cfg.Version = "devel"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{store: cfg.Store, editor: cfg.Editor, log: cfg.Logger}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "ledgerline", Title: "Ledgerline", Version: cfg.Version},
		&mcp.ServerOptions{Instructions: instructions,
			// No logging to the client; the tools never change while the server runs.
			Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}}})
	s.addTools()
	s.http = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp }, &mcp.StreamableHTTPOptions{
		// Each request is a session of its own, answered as its own caller: nothing to keep between
		// requests, and any replica of a team server answers any request.
		Stateless:    true,
		JSONResponse: true,
		// The protection is for servers that let in whoever reaches them on loopback; this one lets
		// in only bearer tokens, which a rebound page does not hold, and may sit on loopback behind
		// a proxy that passes the public host on.
		DisableLocalhostProtection: true,
		MaxRequestBodyBytes:        maxHTTPBody,
	})
	return s, nil
}

// Connect serves one session on t as c, until the client or the returned session closes it.
func (s *Server) Connect(ctx context.Context, t mcp.Transport, c Caller) (*mcp.ServerSession, error) {
	if c.Name == "" {
		return nil, errors.New("mcpserver: a caller needs a name, for the edits they make")
	}
	return s.mcp.Connect(WithCaller(ctx, c), t, nil)
}

// Run serves one session on t as c (`ledgerline mcp` on stdio) until the client ends it, or ctx
// is done.
func (s *Server) Run(ctx context.Context, t mcp.Transport, c Caller) error {
	ss, err := s.Connect(ctx, t, c)
	if err != nil {
		return fmt.Errorf("mcpserver: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = ss.Close() })
	defer stop()
	err = ss.Wait()
	if ctx.Err() != nil {
		return nil // asked to stop: the session's end is no failure
	}
	return err
}

// ServeHTTP serves the streamable HTTP transport of MCP, statelessly, as the caller that the
// request's context names (WithCaller). A request without one is refused: the front that mounts
// the Server checks credentials, and nothing here stands in for that.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, ok := callerFrom(r.Context()); !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ledgerline"`)
		http.Error(w, "send an API token (Authorization: Bearer TOKEN)", http.StatusUnauthorized)
		return
	}
	s.http.ServeHTTP(w, r)
}

// userError is a failure the assistant is told as it is: the caller can do something about it.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func failf(format string, args ...any) error {
	return &userError{msg: fmt.Sprintf(format, args...)}
}

// errNoCaller is what a tool answers when it was reached without a caller: a wiring fault.
var errNoCaller = errors.New("mcpserver: the call names no caller")

// answer turns what a tool failed with into what the assistant is told: a userError as it is, an
// unreachable database as "try again", and anything else as a failure of the server, logged and
// not shown.
func (s *Server) answer(tool string, c Caller, err error) error {
	var ue *userError
	switch {
	case errors.As(err, &ue):
		return ue
	case errors.Is(err, ledger.ErrUnavailable):
		s.log.Warn("the record's database cannot be reached", "tool", tool, "err", err)
		return failf("the record's database cannot be reached right now: nothing was changed; try again shortly")
	case errors.Is(err, context.Canceled):
		return failf("the call was cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		s.log.Warn("a tool call took too long", "tool", tool, "caller", c.Name, "err", err)
		return failf("the record took too long to answer: try again, or ask for less")
	}
	s.log.Error("a tool call failed", "tool", tool, "caller", c.Name, "err", err)
	return failf("the server could not do that right now; try again, and if it keeps failing, check the server's log")
}

// tool wraps a tool's handler: it finds the caller, bounds the call in time, and turns a failure
// into what the assistant is told.
func tool[In, Out any](s *Server, name string, fn func(ctx context.Context, c Caller, in In) (Out, error)) mcp.ToolHandlerFor[In, Out] {
	return func(ctx context.Context, _ *mcp.CallToolRequest, in In) (*mcp.CallToolResult, Out, error) {
		var zero Out
		c, ok := callerFrom(ctx)
		if !ok {
			s.log.Error("a tool was called without a caller", "tool", name)
			return nil, zero, s.answer(name, c, errNoCaller)
		}
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		out, err := fn(ctx, c, in)
		if err != nil {
			return nil, zero, s.answer(name, c, err)
		}
		return nil, out, nil
	}
}
