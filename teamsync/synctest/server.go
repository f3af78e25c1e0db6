// Package synctest serves a team server's import endpoint, for tests of what uploads to one: the
// protocol package teamsync speaks, over a real SQLiteStore's Import, with faults a test turns on
// (the server unavailable, an answer lost after the batch was stored, the server restored from an
// empty backup). It checks what it is sent strictly: a field the protocol does not name is refused.
// It serves a meeting's events too (GET …/events?since=N&not_from=ORIGIN), as the team server
// does, for the laptop to bring back the changes made on the server, which a test makes with Edit.
//
// Concurrency: a Server's methods are safe for concurrent use, and with its handlers.
package synctest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// The protocol's limits on a batch, as maxBatchEvents and MaxBatchBytes (which this
// package does not import, so that teamsync's own tests may use it).
const (
	maxBatchEvents = 500
	maxBatchBytes  = 4 << 20
)

// Fault is how the server misbehaves.
type Fault int

// The faults.
const (
	// None: the server follows the protocol.
	None Fault = iota
	// Unavailable answers every request 503.
	Unavailable
	// DropAck stores the next batch, then closes the connection without an answer, once.
	DropAck
	// Stall holds every request unanswered until the fault changes or the client gives up.
	Stall
)

// Server is a team server's import endpoint on a loopback address.
type Server struct {
	URL   string // base URL, http://127.0.0.1:port
	Token string // the one token it accepts

	tb   testing.TB
	http *httptest.Server

	mu      sync.Mutex
	store   *ledger.SQLiteStore
	backups int // stores replaced by Forget, for their file names
	deals   []string
	limit   int64 // bytes a batch may have
	fault   Fault
	release chan struct{} // closed when a Stall ends
	stats   Stats
	changed chan struct{} // closed and replaced after each batch stored
}

// Stats counts what the server was sent.
type Stats struct {
	Gets    int // cursor requests answered
	Batches int // batches answered 200
	Events  int // events sent in those batches
	Resent  int // events in them the server already held, skipped
	Gaps    int // batches answered 409
	Largest int // bytes of the largest batch answered 200
	Polls   int // requests for a meeting's events answered 200
	Served  int // events in those answers
}

// Start serves the endpoint on addr ("" for a free loopback port) with token, until the test
// ends.
func Start(tb testing.TB, addr, token string) *Server {
	tb.Helper()
	return StartFaulty(tb, addr, token, None)
}

// StartFaulty is Start with fault in force from the first request on (see SetFault): a client
// already knocking cannot slip in before it.
func StartFaulty(tb testing.TB, addr, token string, fault Fault) *Server {
	tb.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatalf("synctest: listen on %s: %v", addr, err)
	}
	s := &Server{Token: token, tb: tb, limit: maxBatchBytes, fault: fault, changed: make(chan struct{})}
	s.store = s.open()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/meetings/{id}/import", s.guard(s.cursor))
	mux.HandleFunc("POST /api/v1/meetings/{id}/import", s.guard(s.importBatch))
	mux.HandleFunc("GET /api/v1/meetings/{id}/events", s.guard(s.events))
	s.http = httptest.NewUnstartedServer(mux)
	s.http.Listener.Close()
	s.http.Listener = l
	s.http.Start()
	s.URL = s.http.URL
	tb.Cleanup(s.Close)
	return s
}

// Close stops serving, closing every connection; the server's store stays readable.
func (s *Server) Close() { s.http.Close() }

func (s *Server) open() *ledger.SQLiteStore {
	s.tb.Helper()
	st, err := ledger.OpenSQLite(filepath.Join(s.tb.TempDir(), fmt.Sprintf("server-%d.db", s.backups)))
	if err != nil {
		s.tb.Fatalf("synctest: open the server's store: %v", err)
	}
	s.tb.Cleanup(func() { st.Close() })
	for _, d := range s.deals {
		if err := st.CreateDeal(context.Background(), ledger.Deal{ID: d, Name: d}); err != nil {
			s.tb.Fatalf("synctest: %v", err)
		}
	}
	return st
}

// AddDeal creates a deal on the server: meetings of a deal it does not know are answered 404.
func (s *Server) AddDeal(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.store.CreateDeal(context.Background(), ledger.Deal{ID: id, Name: id}); err != nil {
		s.tb.Fatalf("synctest: %v", err)
	}
	s.deals = append(s.deals, id)
}

// SetFault makes the server misbehave from now on (DropAck: once).
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fault == Stall && f != Stall {
		close(s.release)
	} else if s.fault != Stall && f == Stall {
		s.release = make(chan struct{})
	}
	s.fault = f
}

// SetMaxBatchBytes lowers the size of the batches the server takes, as a proxy in front of a
// server may (nginx takes 1 MiB by default): a larger one is answered 413.
func (s *Server) SetMaxBatchBytes(n int64) {
	s.mu.Lock()
	s.limit = n
	s.mu.Unlock()
}

// Forget replaces what the server holds with an empty store, its deals kept: a server restored
// from an old backup.
func (s *Server) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.backups++
	s.store = s.open()
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Meeting returns the server's record of a meeting.
func (s *Server) Meeting(id string) (ledger.Meeting, error) {
	return s.current().Meeting(context.Background(), id)
}

// Edit appends an event to a meeting on the server, as a change made there (a partner renames a
// speaker, marks a commitment done), and returns it as stored.
func (s *Server) Edit(e ledger.Event) (ledger.Event, error) {
	st := s.current()
	stored, err := st.Append(context.Background(), e)
	if err != nil {
		return stored, err
	}
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return stored, nil
}

// Events returns the events the server holds of a meeting, in its order.
func (s *Server) Events(meeting string) ([]ledger.Event, error) {
	return s.current().Since(context.Background(), meeting, 0)
}

// Wait waits until the server holds n events of a meeting, or ctx is done.
func (s *Server) Wait(ctx context.Context, meeting string, n int) error {
	for {
		s.mu.Lock()
		st, changed := s.store, s.changed
		s.mu.Unlock()
		m, err := st.Meeting(ctx, meeting)
		if err == nil && m.LastSeq >= int64(n) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("synctest: meeting %s: %d events on the server, want %d: %w", meeting, m.LastSeq, n, ctx.Err())
		}
	}
}

func (s *Server) current() *ledger.SQLiteStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store
}

// guard answers a request with its fault, or 401 for a wrong token; else it hands it on.
func (s *Server) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		fault, release := s.fault, s.release
		s.mu.Unlock()
		if fault == Stall {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		if fault == Unavailable {
			answer(w, http.StatusServiceUnavailable, map[string]any{"error": "restarting"})
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+s.Token {
			answer(w, http.StatusUnauthorized, map[string]any{"error": "unknown or revoked token"})
			return
		}
		next(w, r)
	}
}

func (s *Server) cursor(w http.ResponseWriter, r *http.Request) {
	origin := r.URL.Query().Get("origin")
	if origin == "" {
		answer(w, http.StatusBadRequest, map[string]any{"error": "no origin"})
		return
	}
	acked, err := s.current().ImportCursor(r.Context(), r.PathValue("id"), origin)
	if err != nil {
		answer(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
		return
	}
	s.mu.Lock()
	s.stats.Gets++
	s.mu.Unlock()
	answer(w, http.StatusOK, map[string]any{"acked": acked})
}

// events answers a meeting's events after seq since, but those imported from origin not_from, in
// the envelope, with the server's seqs: the team server's GET /api/v1/meetings/{id}/events.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "since" && k != "not_from" {
			answer(w, http.StatusBadRequest, map[string]any{"error": "unknown parameter " + k})
			return
		}
	}
	var since int64
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			answer(w, http.StatusBadRequest, map[string]any{"error": "since must be the last seq seen, a whole number ≥ 0"})
			return
		}
		since = n
	}
	st := s.current()
	id := r.PathValue("id")
	if _, err := st.Meeting(r.Context(), id); errors.Is(err, ledger.ErrNotFound) {
		answer(w, http.StatusNotFound, map[string]any{"error": "no meeting " + id})
		return
	} else if err != nil {
		answer(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
		return
	}
	events, err := st.Since(r.Context(), id, since)
	if err != nil {
		answer(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
		return
	}
	notFrom := q.Get("not_from")
	out := make([]ledger.Event, 0, len(events))
	for _, e := range events {
		if notFrom == "" || e.Origin != notFrom {
			out = append(out, e)
		}
	}
	s.mu.Lock()
	s.stats.Polls++
	s.stats.Served += len(out)
	s.mu.Unlock()
	answer(w, http.StatusOK, out)
}

type batch struct {
	Origin  string `json:"origin"`
	After   *int64 `json:"after"`
	Meeting *struct {
		Title     string    `json:"title"`
		Deal      string    `json:"deal"`
		StartedAt time.Time `json:"started_at"`
		Timezone  string    `json:"timezone"`
		Language  string    `json:"language"`
	} `json:"meeting"`
	Events []ledger.Event `json:"events"`
}

func (s *Server) importBatch(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		answer(w, http.StatusBadRequest, map[string]any{"error": "content type " + ct + ", want application/json"})
		return
	}
	s.mu.Lock()
	limit := s.limit
	s.mu.Unlock()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if mb := (*http.MaxBytesError)(nil); errors.As(err, &mb) {
		answer(w, http.StatusRequestEntityTooLarge, map[string]any{"error": fmt.Sprintf("over %d bytes", limit)})
		return
	} else if err != nil {
		answer(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var b batch
	if err := dec.Decode(&b); err != nil {
		answer(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	switch {
	case b.Origin == "" || b.After == nil || b.Meeting == nil || b.Events == nil:
		answer(w, http.StatusBadRequest, map[string]any{"error": "origin, after, meeting and events are required"})
		return
	case len(b.Events) > maxBatchEvents:
		answer(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "over 500 events"})
		return
	}
	s.mu.Lock()
	st := s.store
	s.mu.Unlock()
	ctx := r.Context()
	if _, err := st.Meeting(ctx, id); errors.Is(err, ledger.ErrNotFound) {
		m := b.Meeting
		err := st.CreateMeeting(ctx, ledger.Meeting{ID: id, DealID: m.Deal, Title: m.Title, StartedAt: m.StartedAt, Timezone: m.Timezone, Language: m.Language})
		if errors.Is(err, ledger.ErrNotFound) {
			answer(w, http.StatusNotFound, map[string]any{"error": "unknown deal " + m.Deal})
			return
		} else if err != nil {
			answer(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
	}
	held, err := st.ImportCursor(ctx, id, b.Origin)
	if err != nil {
		answer(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
		return
	}
	acked, err := st.Import(ctx, id, b.Origin, *b.After, b.Events)
	var gap *ledger.OriginGapError
	switch {
	case errors.As(err, &gap):
		s.mu.Lock()
		s.stats.Gaps++
		s.mu.Unlock()
		answer(w, http.StatusConflict, map[string]any{"error": err.Error(), "acked": gap.Acked})
		return
	case errors.Is(err, ledger.ErrInvalidRecord) || errors.Is(err, ledger.ErrInvalidEvent):
		answer(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	case err != nil:
		answer(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
		return
	}
	s.mu.Lock()
	s.stats.Batches++
	s.stats.Events += len(b.Events)
	s.stats.Largest = max(s.stats.Largest, len(body))
	for _, e := range b.Events {
		if e.Seq <= held {
			s.stats.Resent++
		}
	}
	drop := s.fault == DropAck
	if drop {
		s.fault = None
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if drop {
		// Stored, but the answer is lost: the connection closes under the client.
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
			return
		}
		answer(w, http.StatusInternalServerError, map[string]any{"error": "answer lost"})
		return
	}
	answer(w, http.StatusOK, map[string]any{"acked": acked})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
