// Package teamsync sends a laptop's meetings to a team server, store-and-forward. The laptop
// records into its own store as always; what the store holds of a meeting is uploaded from it, and
// only from it (Since), so that an upload that waits (offline, the server down, the process
// killed) loses nothing and resumes where the server's acknowledgement left it, without
// duplicates. The store's outbox (ledger.Upload) keeps, per meeting and server, the origin that
// names this laptop's log to the server and how far the server has acknowledged it.
//
// The protocol, on the server's /api/v1/meetings/{id}/import with a bearer token: GET ?origin=O
// answers how far the server holds that origin's events ({"acked": N}); POST sends a batch of
// stored events that follows local seq "after" (at most MaxBatchEvents events and MaxBatchBytes),
// with the meeting's record, and is answered with the new ack; 409 says the batch does not follow
// what the server holds (its ack is in the answer: resend from there). The server skips events it
// already holds, so that a batch sent twice (its answer was lost) is stored once. Only the
// laptop's own events are sent (Event.Origin ""): the seqs of a batch may skip those brought back
// from the server.
//
// The way back: changes made on the server to a meeting being sent (a partner renames a speaker,
// marks a commitment done) are events appended there. GET /api/v1/meetings/{id}/events?since=S&
// not_from=O answers the meeting's events after server seq S other than those of the laptop's
// origin O, and Receive imports them into the laptop's store under the server's own origin
// ("server:" and its URL), S being how far the store holds that origin: each is stored once
// however often it is asked for, keeps the laptop's order, and is never sent back.
//
// Concurrency: a Client is safe for concurrent use. An Uploader follows one live meeting from its
// owner's call of Run, and one goroutine of Run's own that brings back the server's changes (and
// calls Config.Observe): Run returns when its context is cancelled (or when the upload cannot go
// on, a permanent error) and leaves nothing running. Pending, Progress and Drain
// may be called from any goroutine meanwhile. Nothing here makes the recording pipeline wait: the
// store's subscription is only a wake-up (one that falls behind is replaced, as Since is the
// truth), and the outbox is written at most about once a second while a meeting is followed.
package teamsync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// The protocol's limits on one import batch.
const (
	MaxBatchEvents = 500
	MaxBatchBytes  = 4 << 20
)

// Outbox is what uploading needs of the laptop's store: the meeting's log and record, the
// outbox of uploads, and the import of what comes back from the server (ledger.Team's part for
// laptops).
type Outbox interface {
	Since(ctx context.Context, meeting string, seq int64) ([]ledger.Event, error)
	Subscribe(meeting string, buffer int) *ledger.Subscription
	Meeting(ctx context.Context, id string) (ledger.Meeting, error)
	AddUpload(ctx context.Context, u ledger.Upload) error
	Uploads(ctx context.Context, server string) ([]ledger.Upload, error)
	SetUploaded(ctx context.Context, meetingID, server string, acked int64) error
	Import(ctx context.Context, meeting, origin string, after int64, batch []ledger.Event) (int64, error)
	ImportCursor(ctx context.Context, meeting, origin string) (int64, error)
}

var _ Outbox = (*ledger.SQLiteStore)(nil)

var (
	// ErrUnauthorized reports a token the server does not accept (HTTP 401).
	ErrUnauthorized = errors.New("teamsync: the server refused the token")
	// ErrNotVisible reports a meeting the token may not upload to (HTTP 403, 404): its deal is
	// unknown there, or not shared with the token's organisation for editing.
	ErrNotVisible = errors.New("teamsync: the server does not let this token upload the meeting")
	// ErrRejected reports an upload the server refused as it was sent (HTTP 400, 413, another 4xx,
	// or an answer outside the protocol): sending it again would not help.
	ErrRejected = errors.New("teamsync: the server refused the upload")
	// ErrDiverged reports a server that holds more of the meeting from this laptop's origin than
	// the laptop's store has: the database was replaced by an older copy, and what it records
	// now would be taken for what the server already holds.
	ErrDiverged = errors.New("teamsync: the server holds more of the meeting than this laptop's store")
	// ErrPending reports that not every event was acknowledged in time (Drain).
	ErrPending = errors.New("teamsync: events wait to be sent")
)

// Permanent reports whether err ends an upload: trying again, later, would fail the same way
// (a wrong token, a meeting the server does not let the token upload, an upload it refuses).
// Other errors (the server unreachable, answering 5xx, the store busy) are tried again.
func Permanent(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrNotVisible) || errors.Is(err, ErrRejected) ||
		errors.Is(err, ErrDiverged) || errors.Is(err, ledger.ErrNotFound) || errors.Is(err, ledger.ErrLogClosed)
}

// Config sets up a Client. Server, Token and Store are required.
type Config struct {
	// Server is the team server's base URL, http or https, with a path prefix when it is served
	// under one.
	Server string
	// Token is the API token sent as "Authorization: Bearer …".
	Token string
	// Store is the laptop's store the meetings are read from and their uploads recorded in.
	Store Outbox
	// HTTPClient sends the requests; nil for one with timeouts that follows no redirect.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Observe, when not nil, is told of each change made on the server that Receive, or an
	// Uploader following a meeting, brings back into the store: once each, in order, as stored
	// (with its local Seq and Origin), on the goroutine that received it. It must not block for
	// long: the next changes wait for it.
	Observe func(ledger.Event)
}

// Client sends meetings from a store to one team server.
type Client struct {
	server  string // canonical base URL: the outbox's key
	token   string
	store   Outbox
	http    *http.Client
	log     *slog.Logger
	observe func(ledger.Event)

	// The batch limits, the protocol's; lower in tests.
	maxEvents int
	maxBytes  int
	// maxChanges bounds the bytes of changes read from one answer; lower in tests.
	maxChanges int64
	// receiveEvery spaces an Uploader's requests for the server's changes; shorter in tests.
	receiveEvery time.Duration
}

// New checks cfg and returns a Client for it.
func New(cfg Config) (*Client, error) {
	server, err := ParseServer(cfg.Server)
	if err != nil {
		return nil, err
	}
	if err := CheckToken(cfg.Token); err != nil {
		return nil, err
	}
	if cfg.Store == nil {
		return nil, errors.New("teamsync: a client needs a store")
	}
	c := &Client{server: server, token: cfg.Token, store: cfg.Store, http: cfg.HTTPClient,
		log: cfg.Logger, observe: cfg.Observe, maxEvents: MaxBatchEvents, maxBytes: MaxBatchBytes, maxChanges: maxChangesBytes,
		receiveEvery: receiveEvery}
	if c.http == nil {
		c.http = newHTTPClient()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("server", server)
	return c, nil
}

// Server returns the server's base URL as the outbox keys it: the URL given, with its scheme and
// host in lower case and no trailing slash.
func (c *Client) Server() string { return c.server }

// ServerOrigin is the origin a laptop's store keeps the server's changes to a meeting under:
// "server:" and the meeting's upload origin, which the server is sent it under at every address
// (a store from before kept them under "server:" and the server's base URL, and goes on so).
// Events of these origins were made on the server and are never sent back.
func ServerOrigin(upload string) string { return "server:" + upload }

// Close closes the connections the client keeps open for its next requests.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// ParseServer checks a team server's base URL and returns it as the outbox keys it: http or
// https, a host, no user or password (the token goes in the header), no query or fragment; the
// scheme and host in lower case, without a trailing slash.
func ParseServer(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", errors.New("teamsync: no server URL: give the team server's address, such as https://ledgerline.example.com")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("teamsync: server URL %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("teamsync: server URL %q: use an http:// or https:// address, such as https://ledgerline.example.com", raw)
	case u.User != nil:
		return "", fmt.Errorf("teamsync: server URL %q holds a user or password: give the address without it, and the token on its own", raw)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("teamsync: server URL %q names no host", raw)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("teamsync: server URL %q: give the server's base address, without a query or fragment", raw)
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return "", fmt.Errorf("teamsync: server URL %q: bad port %q", raw, p)
		}
	}
	return u.Scheme + "://" + strings.ToLower(u.Host) + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// CheckToken checks that a token can be sent in a header: not empty, printable ASCII, no spaces.
func CheckToken(token string) error {
	if token == "" {
		return errors.New("teamsync: no token: ask the team server's administrator for an API token")
	}
	for _, r := range token {
		if r <= ' ' || r > '~' {
			return errors.New("teamsync: the token holds a space or a character other than printable ASCII: copy it again")
		}
	}
	return nil
}

// newHTTPClient returns a client whose every stage has a deadline, so that a server that stops
// answering costs a retry rather than an upload that hangs, and that follows no redirect: the
// token would go along, perhaps to another scheme, and the user is better told the right URL.
func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = time.Minute // a batch is imported before it is answered
	return &http.Client{
		Transport: t,
		Timeout:   2 * time.Minute, // 4 MiB on a slow uplink
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("%w: it redirects to %s: give that address as the server's", ErrRejected, req.URL.Redacted())
		},
	}
}

// Progress is how far the server has acknowledged a meeting. Only the laptop's own events count:
// those brought back from the server are not sent.
type Progress struct {
	Meeting string
	Acked   int64 // the local seq of the last of the laptop's own events the server holds
	Last    int64 // the local seq of the last of the laptop's own events, as last read
	// Err is why the last attempt to send failed, while it is being tried again; nil after a
	// success.
	Err error

	unsent int64 // the laptop's own events after Acked, as last read
}

// Pending is the number of the laptop's own events the server has not acknowledged.
func (p Progress) Pending() int64 { return p.unsent }

// Outbox lists the meetings to be sent to the server, with how far each is acknowledged.
func (c *Client) Outbox(ctx context.Context) ([]Progress, error) {
	ups, err := c.store.Uploads(ctx, c.server)
	if err != nil {
		return nil, fmt.Errorf("teamsync: read the outbox: %w", err)
	}
	out := make([]Progress, 0, len(ups))
	for _, u := range ups {
		if _, err := c.store.Meeting(ctx, u.MeetingID); err != nil {
			return nil, fmt.Errorf("teamsync: meeting %s: %w", u.MeetingID, err)
		}
		s := &sender{c: c, meeting: u.MeetingID, acked: u.Acked, last: u.Acked}
		if _, err := s.read(ctx, u.Acked); err != nil {
			return nil, err
		}
		out = append(out, s.progress())
	}
	return out, nil
}

// Add puts a meeting of the store in the outbox, to be sent to the server; adding it again
// changes nothing.
func (c *Client) Add(ctx context.Context, meetingID string) error {
	_, _, err := c.register(ctx, meetingID)
	return err
}

// register adds the meeting to the outbox with a fresh origin, which the store keeps only the
// first time, and returns the upload as stored, with the meeting's record.
func (c *Client) register(ctx context.Context, meetingID string) (ledger.Upload, ledger.Meeting, error) {
	fail := func(err error) (ledger.Upload, ledger.Meeting, error) { return ledger.Upload{}, ledger.Meeting{}, err }
	m, err := c.store.Meeting(ctx, meetingID)
	if err != nil {
		return fail(fmt.Errorf("teamsync: meeting %s: %w", meetingID, err))
	}
	origin, err := newOrigin()
	if err != nil {
		return fail(err)
	}
	if err := c.store.AddUpload(ctx, ledger.Upload{MeetingID: m.ID, Server: c.server, DealID: m.DealID, Origin: origin}); err != nil {
		return fail(fmt.Errorf("teamsync: add meeting %s to the outbox: %w", meetingID, err))
	}
	ups, err := c.store.Uploads(ctx, c.server)
	if err != nil {
		return fail(fmt.Errorf("teamsync: read the outbox: %w", err))
	}
	for _, u := range ups {
		if u.MeetingID == m.ID {
			if u.Origin == "" {
				return fail(fmt.Errorf("teamsync: meeting %s: the outbox keeps no origin for it", meetingID))
			}
			return u, m, nil
		}
	}
	return fail(fmt.Errorf("teamsync: meeting %s is not in the outbox after it was added", meetingID))
}

// newOrigin names a log to a server: random, so that two laptops (or two copies of one database
// made before its first upload) never pass for one.
func newOrigin() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("teamsync: origin: %w", err)
	}
	return "laptop-" + hex.EncodeToString(b[:]), nil
}

// Send sends the server, in batches, what it does not yet hold of a meeting recorded in the
// store, adding the meeting to the outbox first, and returns how far the server then holds it. It
// makes one attempt: an error (the server unreachable, or a permanent one) is returned, with what
// was acknowledged before it recorded in the outbox. progress, when not nil, is called after
// each acknowledged batch.
func (c *Client) Send(ctx context.Context, meetingID string, progress func(Progress)) (Progress, error) {
	up, _, err := c.register(ctx, meetingID)
	if err != nil {
		return Progress{Meeting: meetingID}, err
	}
	s := &sender{c: c, meeting: up.MeetingID, origin: up.Origin, deal: up.DealID, acked: up.Acked, last: up.Acked}
	if _, err := s.read(ctx, s.acked); err != nil { // what waits, should the server not answer
		return s.progress(), err
	}
	err = s.send(ctx, func() {
		// A batch at a time: a sync is not a live meeting, and what is recorded here is what the
		// next sync need not ask the server about.
		if perr := c.store.SetUploaded(ctx, s.meeting, c.server, s.acked); perr != nil {
			c.log.Warn("could not record the server's acknowledgement; it is asked again next time", "meeting", s.meeting, "err", perr)
		}
		if progress != nil {
			progress(s.progress())
		}
	})
	return s.progress(), err
}
