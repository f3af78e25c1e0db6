package ingest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Sentinel errors.
var (
	// ErrUnauthorized: the request carries no valid token for the meeting.
	// Authorize returns it (wrapped or not) to answer 401.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUnknownMeeting: no such meeting. Authorize returns it to answer 404.
	ErrUnknownMeeting = errors.New("unknown meeting")
	// ErrIdle: a track or session ended because no media came in time.
	ErrIdle = errors.New("no media")
	// ErrDisconnected: the peer connection was lost (ICE or DTLS failed or
	// the peer closed it).
	ErrDisconnected = errors.New("peer disconnected")
	// ErrConfig: a configuration value is missing or out of range.
	ErrConfig = errors.New("invalid ingest configuration")
	// ErrWHIP: a WHIP endpoint refused a publisher's request.
	ErrWHIP = errors.New("WHIP request refused")
	// ErrClosed: the endpoint or publisher has been closed.
	ErrClosed = errors.New("ingest closed")
)

// Refuse returns the error with which Authorize turns a publisher away, from a meeting that takes
// no audio now or for what its query announces: the endpoint answers 403 with reason, a sentence
// for people that says what to do, as the body.
func Refuse(reason string) error { return refusal(reason) }

type refusal string

func (r refusal) Error() string { return string(r) }

// Redirect returns the error with which Authorize sends a publisher to another endpoint that
// serves the meeting (a team server's replica that runs it): the endpoint answers 307 Temporary
// Redirect with location, an absolute URL, which publishers POST their offer to again (RFC 9725
// section 4.5).
func Redirect(location string) error { return redirect(location) }

type redirect string

func (r redirect) Error() string { return "the meeting is served at " + string(r) }

// SDP content type (RFC 9725 section 4.2).
const sdpType = "application/sdp"

// maxOfferBytes bounds an SDP offer. Real ones are a few kilobytes.
const maxOfferBytes = 64 << 10

// channelName is what a channel query parameter may hold.
var channelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// WHIPConfig configures a WHIP endpoint. Authorize and OnTrack are required;
// zero values of the rest mean their defaults.
type WHIPConfig struct {
	// Authorize checks a request (POST and DELETE) for meeting; BearerToken
	// extracts its token. It only decides: it returns nil to allow it, an
	// error wrapping ErrUnauthorized (401) or ErrUnknownMeeting (404), or one
	// made by Refuse (403), to refuse it, or one made by Redirect (307) to
	// send the publisher elsewhere (a browser's POST is relayed there
	// instead: see relay.go); any other error answers 500. An
	// allowed POST may still be refused later (a channel already live, a bad
	// offer), so what a publisher announces with its query parameters is
	// read from its tracks (Track.Query); here it is only checked.
	Authorize func(r *http.Request, meeting string) error
	// OnTrack receives each new audio track. It runs on the track's reading
	// goroutine before any frame is decoded, so it must return quickly
	// (hand the track on, never wait); the receiver must then drain the
	// track (see Track).
	OnTrack func(meeting string, t *Track)
	// MeetingStart tells when a meeting's clock started, so each track's
	// first packet is placed at the meeting time it arrived. Nil: the clock
	// starts at the meeting's first WHIP session on this endpoint.
	MeetingStart func(meeting string) time.Time
	// Route extracts the meeting ID and the session ID (empty on the
	// endpoint itself) from a request. Nil: r.PathValue("meeting") and
	// r.PathValue("session"), for a mux with the patterns /whip/{meeting}
	// and /whip/{meeting}/{session}.
	Route func(r *http.Request) (meeting, session string)
	// MaxSessions caps concurrent sessions; more are refused with 503 and
	// Retry-After. Default 64.
	MaxSessions int
	// RetryAfter is the Retry-After hint when full. Default 5 s.
	RetryAfter time.Duration
	// IdleTimeout ends a track that sends no packet for this long, and a
	// connected session that has no track this long. Default 5 s.
	IdleTimeout time.Duration
	// ConnectTimeout ends a session whose peer has not connected this long
	// after the answer. Default 30 s.
	ConnectTimeout time.Duration
	// JitterDepth is how long a hole in the packet sequence is waited for
	// before it counts as lost (in stream time). Default 80 ms.
	JitterDepth time.Duration
	// MaxGap is the largest timestamp jump taken as real time (DTX, a
	// muted sender); a larger one counts as a sender clock reset. Default
	// 10 s.
	MaxGap time.Duration
	// AllowOrigin is the CORS Access-Control-Allow-Origin. Default "*":
	// tokens travel in the Authorization header, not cookies.
	AllowOrigin string
	// API is the WebRTC stack; nil means NewAPI(APIConfig{}).
	API *webrtc.API
	// Logger receives the endpoint's logs; nil discards them.
	Logger *slog.Logger
}

func (c *WHIPConfig) setDefaults() error {
	if c.Authorize == nil || c.OnTrack == nil {
		return fmt.Errorf("%w: WHIP needs Authorize and OnTrack", ErrConfig)
	}
	if c.MaxSessions < 0 || c.RetryAfter < 0 || c.IdleTimeout < 0 || c.ConnectTimeout < 0 ||
		c.JitterDepth < 0 || c.MaxGap < 0 {
		return fmt.Errorf("%w: WHIP limits and durations must not be negative", ErrConfig)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = 64
	}
	def(&c.RetryAfter, 5*time.Second)
	def(&c.IdleTimeout, 5*time.Second)
	def(&c.ConnectTimeout, 30*time.Second)
	def(&c.JitterDepth, 80*time.Millisecond)
	def(&c.MaxGap, 10*time.Second)
	if c.AllowOrigin == "" {
		c.AllowOrigin = "*"
	}
	if c.Route == nil {
		c.Route = func(r *http.Request) (string, string) {
			return r.PathValue("meeting"), r.PathValue("session")
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.API == nil {
		api, err := NewAPI(APIConfig{})
		if err != nil {
			return err
		}
		c.API = api
	}
	return nil
}

// WHIP is an http.Handler serving the WebRTC-HTTP Ingestion Protocol (RFC
// 9725) for the meetings of one agent. POST on the endpoint with an SDP offer
// creates a session and answers 201 with the SDP answer (ICE candidates
// gathered, no trickle) and the session's Location; DELETE on that location
// ends it. PATCH is answered 405: this endpoint supports neither trickle ICE
// nor ICE restarts, so a publisher that loses its connection publishes anew.
//
// Status codes: 400 malformed SDP or channel parameter, 401 bad token, 403
// a meeting that takes no audio now (the body says why), 404 unknown meeting
// or session, 405 other methods (with Allow), 408 an offer that did not
// arrive within the server's read deadline, 409 channel
// name already live in the meeting, 413 offer too large, 415 body not
// application/sdp, 422 well-formed SDP with nothing to ingest (no audio
// m-line sending Opus) or that the WebRTC stack refuses, 503 with
// Retry-After when the session limit is reached or the endpoint is closed.
//
// Each audio track becomes a Track handed to OnTrack. Its channel is the
// POST's channel query parameter (a second track in the same session gets
// "-2" appended, and so on), or else the track's stream or track ID.
//
// A WHIP is safe for concurrent use. Close ends every session and waits for
// every goroutine the endpoint started.
type WHIP struct {
	cfg            WHIPConfig
	log            *slog.Logger
	relayTransport *http.Transport // relays browsers' offers to another replica: see relay.go

	mu       sync.Mutex
	closed   bool
	sessions map[string]*session
	starts   map[string]time.Time       // meeting clock origins seen here
	channels map[string]map[string]bool // live channel names per meeting
	wg       sync.WaitGroup
}

var _ http.Handler = (*WHIP)(nil)

// NewWHIP returns a WHIP endpoint.
func NewWHIP(cfg WHIPConfig) (*WHIP, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &WHIP{
		cfg: cfg, log: cfg.Logger, relayTransport: newRelayTransport(),
		sessions: map[string]*session{},
		starts:   map[string]time.Time{},
		channels: map[string]map[string]bool{},
	}, nil
}

// BearerToken returns the token of an "Authorization: Bearer TOKEN" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	tok := strings.TrimSpace(h[len(prefix):])
	return tok, tok != ""
}

// Sessions reports how many sessions are live.
func (h *WHIP) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// Close ends every session (tracks end with the frames already queued; the
// rest are dropped), refuses new ones, and waits for all of the endpoint's
// goroutines.
func (h *WHIP) Close() error {
	h.mu.Lock()
	h.closed = true
	all := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		s.abandonTracks()
		s.stop()
	}
	h.wg.Wait()
	h.relayTransport.CloseIdleConnections()
	return nil
}

// ServeHTTP implements http.Handler.
func (h *WHIP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	meeting, id := h.cfg.Route(r)
	h.cors(w)
	if meeting == "" {
		http.Error(w, "no meeting in the URL: publish to /whip/MEETING", http.StatusNotFound)
		return
	}
	allow := "OPTIONS, POST"
	if id != "" {
		allow = "OPTIONS, DELETE"
	}
	switch {
	case r.Method == http.MethodOptions:
		w.Header().Set("Allow", allow)
		w.Header().Set("Access-Control-Allow-Methods", allow)
		w.WriteHeader(http.StatusNoContent)
	case id == "" && r.Method == http.MethodPost:
		h.post(w, r, meeting)
	case id != "" && r.Method == http.MethodDelete:
		h.delete(w, r, meeting, id)
	default:
		// PATCH included: neither trickle ICE nor ICE restarts are
		// supported (RFC 9725 section 4.3.1).
		w.Header().Set("Allow", allow)
		http.Error(w, r.Method+" is not supported here; allowed: "+allow, http.StatusMethodNotAllowed)
	}
}

func (h *WHIP) cors(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", h.cfg.AllowOrigin)
	hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	hd.Set("Access-Control-Expose-Headers", "Location, Link, Retry-After")
}

// authorize answers the request itself and returns false when it is refused.
func (h *WHIP) authorize(w http.ResponseWriter, r *http.Request, meeting string) bool {
	err := h.cfg.Authorize(r, meeting)
	var refused refusal
	var moved redirect
	switch {
	case err == nil:
		return true
	case errors.As(err, &moved) && relays(r):
		h.relay(w, r, string(moved))
	case errors.As(err, &moved):
		http.Redirect(w, r, string(moved), http.StatusTemporaryRedirect)
	case errors.As(err, &refused):
		http.Error(w, string(refused), http.StatusForbidden)
	case errors.Is(err, ErrUnauthorized):
		w.Header().Set("WWW-Authenticate", `Bearer realm="ledgerline"`)
		http.Error(w, "missing or wrong token: send Authorization: Bearer TOKEN", http.StatusUnauthorized)
	case errors.Is(err, ErrUnknownMeeting):
		http.Error(w, "no meeting "+strconv.Quote(meeting), http.StatusNotFound)
	default:
		h.log.Error("WHIP authorization failed", "meeting", meeting, "err", err)
		http.Error(w, "authorization failed", http.StatusInternalServerError)
	}
	return false
}

func (h *WHIP) post(w http.ResponseWriter, r *http.Request, meeting string) {
	if !h.authorize(w, r, meeting) {
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != sdpType {
		http.Error(w, "the body must be an SDP offer with Content-Type: "+sdpType, http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOfferBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			http.Error(w, "SDP offer too large", http.StatusRequestEntityTooLarge)
		case errors.Is(err, os.ErrDeadlineExceeded): // the server bounds how long a body may take
			http.Error(w, "the SDP offer did not arrive in time: send it again", http.StatusRequestTimeout)
		default:
			http.Error(w, "read offer: "+err.Error(), http.StatusBadRequest)
		}
		return
	}
	if code, msg := checkOffer(body); code != 0 {
		http.Error(w, msg, code)
		return
	}
	channel := r.URL.Query().Get("channel")
	if channel != "" && !channelName.MatchString(channel) {
		http.Error(w, "channel must be 1-64 letters, digits, '.', '_' or '-'", http.StatusBadRequest)
		return
	}

	s, code, msg := h.reserve(meeting, channel, r.URL.RawQuery)
	if s == nil {
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(int((h.cfg.RetryAfter+time.Second-1)/time.Second)))
		}
		http.Error(w, msg, code)
		return
	}
	answer, err := s.negotiate(r.Context(), string(body))
	if err != nil {
		if s.pc != nil {
			_ = s.pc.Close()
		}
		h.release(s)
		var bad *offerError
		if errors.As(err, &bad) {
			http.Error(w, "offer refused: "+bad.Error(), http.StatusUnprocessableEntity)
			return
		}
		h.log.Warn("WHIP negotiation failed", "meeting", meeting, "err", err)
		http.Error(w, "negotiation failed", http.StatusServiceUnavailable)
		return
	}
	if !h.launch(s) {
		_ = s.pc.Close()
		h.release(s)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "the endpoint is shutting down", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", sdpType)
	w.Header().Set("Location", location(r, s.id))
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
	h.log.Info("WHIP session started", "meeting", meeting, "session", s.id, "channel", channel)
}

// location is the session's URL path: the endpoint's path (as the client
// sent it, before any prefix stripping) plus the session ID.
func location(r *http.Request, id string) string {
	p := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		p = u.Path
	}
	return strings.TrimSuffix(p, "/") + "/" + id
}

// checkOffer sorts out offers that cannot work before any WebRTC state is
// made: 400 when it is not SDP, 422 when it has no audio to ingest.
func checkOffer(body []byte) (int, string) {
	if len(bytes.TrimSpace(body)) == 0 {
		return http.StatusBadRequest, "empty body: POST an SDP offer"
	}
	var d sdp.SessionDescription
	if err := d.Unmarshal(body); err != nil {
		return http.StatusBadRequest, "malformed SDP offer: " + err.Error()
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		if _, ok := m.Attribute("recvonly"); ok {
			continue
		}
		if _, ok := m.Attribute("inactive"); ok {
			continue
		}
		for _, a := range m.Attributes {
			if a.Key == "rtpmap" && strings.Contains(strings.ToLower(a.Value), "opus/48000") {
				return 0, ""
			}
		}
	}
	return http.StatusUnprocessableEntity, "the offer sends no Opus audio: ledgerline ingests audio tracks encoded with Opus"
}

// offerError: the WebRTC stack refused an offer that parsed.
type offerError struct{ err error }

func (e *offerError) Error() string { return e.err.Error() }
func (e *offerError) Unwrap() error { return e.err }

// reserve books a session slot and the channel name, or says why not.
func (h *WHIP) reserve(meeting, channel, query string) (*session, int, string) {
	id, err := newID()
	if err != nil {
		return nil, http.StatusInternalServerError, "no session ID"
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, http.StatusServiceUnavailable, "the ingest endpoint is shutting down"
	}
	if len(h.sessions) >= h.cfg.MaxSessions {
		return nil, http.StatusServiceUnavailable, "too many sessions on this agent; retry later"
	}
	if channel != "" && h.channels[meeting][channel] {
		return nil, http.StatusConflict, "channel " + strconv.Quote(channel) + " is already live in this meeting"
	}
	if _, ok := h.starts[meeting]; !ok {
		h.starts[meeting] = time.Now()
	}
	s := newSession(h, meeting, id, channel, query)
	if channel != "" {
		h.claimLocked(meeting, channel)
		s.names = append(s.names, channel)
	}
	h.sessions[id] = s
	return s, 0, ""
}

// launch runs a negotiated session unless the endpoint closed meanwhile;
// Close then waits for it like for any other.
func (h *WHIP) launch(s *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	go s.run()
	return true
}

// release forgets a session and frees its channel names.
func (h *WHIP) release(s *session) {
	s.mu.Lock()
	names := append([]string(nil), s.names...)
	s.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.sessions, s.id)
	for _, n := range names {
		delete(h.channels[s.meeting], n)
	}
	if len(h.channels[s.meeting]) == 0 {
		delete(h.channels, s.meeting)
	}
}

func (h *WHIP) claimLocked(meeting, name string) {
	if h.channels[meeting] == nil {
		h.channels[meeting] = map[string]bool{}
	}
	h.channels[meeting][name] = true
}

// claim picks a free channel name in meeting based on want. Lock order: a
// session's mu before the endpoint's.
func (h *WHIP) claim(meeting, want string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	name := want
	for i := 2; h.channels[meeting][name]; i++ {
		name = want + "-" + strconv.Itoa(i)
	}
	h.claimLocked(meeting, name)
	return name
}

// clock maps wall-clock instants onto the meeting's clock.
func (h *WHIP) clock(meeting string) func(time.Time) time.Duration {
	var start time.Time
	if h.cfg.MeetingStart != nil {
		start = h.cfg.MeetingStart(meeting)
	} else {
		h.mu.Lock()
		start = h.starts[meeting]
		h.mu.Unlock()
	}
	return func(t time.Time) time.Duration { return t.Sub(start) }
}

func (h *WHIP) delete(w http.ResponseWriter, r *http.Request, meeting, id string) {
	if !h.authorize(w, r, meeting) {
		return
	}
	h.mu.Lock()
	s := h.sessions[id]
	h.mu.Unlock()
	if s == nil || s.meeting != meeting {
		http.Error(w, "no such session", http.StatusNotFound)
		return
	}
	s.stop()
	w.WriteHeader(http.StatusOK)
}

func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("session ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Answer gathering waits at most this long even if the request context
// allows more.
const gatherTimeout = 10 * time.Second

var errGather = errors.New("ICE gathering did not finish")

// gather waits for ICE gathering, ctx or the gather timeout.
func gather(ctx context.Context, done <-chan struct{}) error {
	t := time.NewTimer(gatherTimeout)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", errGather, ctx.Err())
	case <-t.C:
		return fmt.Errorf("%w in %s", errGather, gatherTimeout)
	}
}
