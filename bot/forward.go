package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// ErrForward: the WHIP endpoint refused a forwarded track.
var ErrForward = errors.New("forwarding a track was refused")

// Forward is where the bot sends the call's audio: a WHIP endpoint (RFC 9725) and the bearer
// token that lets it publish, one session and one channel per remote track.
type Forward struct {
	// Endpoint is the meeting's WHIP endpoint, such as http://127.0.0.1:8080/whip/MEETING.
	Endpoint string
	// Token is a bearer token that may publish to it (the meeting's join token).
	Token string
	// Channel names the channel of the n-th track; nil: "call-n".
	Channel func(n int) string
	// Client makes the requests; nil: a client with a 15 s timeout.
	Client *http.Client
}

func (f Forward) channel(n int) string {
	if f.Channel != nil {
		return f.Channel(n)
	}
	return "call-" + strconv.Itoa(n)
}

// forwarder does the WHIP exchanges of the page's forwarding peer connections: the page makes the
// offer, the bot posts it, the page takes the answer. The page's origin never talks to the
// endpoint, so no CORS or private-network rule of the browser stands between them. Safe for
// concurrent use.
type forwarder struct {
	cfg   Forward
	claim func(channel string)

	mu       sync.Mutex
	closed   bool
	sessions map[int]string // track → its session's URL
}

func newForwarder(cfg Forward, claim func(string)) *forwarder {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 15 * time.Second}
	}
	return &forwarder{cfg: cfg, claim: claim, sessions: map[int]string{}}
}

// maxOffer bounds an SDP offer or answer.
const maxOffer = 64 << 10

// offer publishes track n's offer and returns the endpoint's answer.
func (f *forwarder) offer(ctx context.Context, n int, sdp string) (string, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return "", fmt.Errorf("%w: the bot is leaving", ErrForward)
	}
	if _, ok := f.sessions[n]; ok {
		f.mu.Unlock()
		return "", fmt.Errorf("%w: track %d is forwarded already", ErrForward, n)
	}
	f.sessions[n] = "" // booked
	f.mu.Unlock()
	answer, err := f.publish(ctx, n, sdp)
	if err != nil {
		f.mu.Lock()
		if f.sessions[n] == "" {
			delete(f.sessions, n)
		}
		f.mu.Unlock()
	}
	return answer, err
}

// publish posts track n's offer.
func (f *forwarder) publish(ctx context.Context, n int, sdp string) (string, error) {
	ch := f.cfg.channel(n)
	f.claim(ch)
	u, err := url.Parse(f.cfg.Endpoint)
	if err != nil {
		return "", fmt.Errorf("%w: endpoint %q: %w", ErrForward, f.cfg.Endpoint, err)
	}
	q := u.Query()
	q.Set("channel", ch)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader([]byte(sdp)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	f.authorize(req)
	resp, err := f.cfg.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrForward, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOffer))
	if err != nil {
		return "", fmt.Errorf("%w: read answer: %w", ErrForward, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("%w: %s: %s", ErrForward, resp.Status, bytes.TrimSpace(body))
	}
	loc, err := resp.Location()
	if err != nil {
		return "", fmt.Errorf("%w: answer without Location: %w", ErrForward, err)
	}
	f.mu.Lock()
	closed := f.closed
	if !closed {
		f.sessions[n] = loc.String()
	}
	f.mu.Unlock()
	if closed { // left meanwhile: end the session just made
		f.remove(context.WithoutCancel(ctx), loc.String())
		return "", fmt.Errorf("%w: the bot is leaving", ErrForward)
	}
	return string(body), nil
}

// end ends track n's session.
func (f *forwarder) end(ctx context.Context, n int) {
	f.mu.Lock()
	loc := f.sessions[n]
	delete(f.sessions, n)
	f.mu.Unlock()
	if loc != "" {
		f.remove(ctx, loc)
	}
}

// close ends every session and refuses new ones.
func (f *forwarder) close(ctx context.Context) {
	f.mu.Lock()
	f.closed = true
	locs := make([]string, 0, len(f.sessions))
	for _, l := range f.sessions {
		if l != "" {
			locs = append(locs, l)
		}
	}
	f.sessions = map[int]string{}
	f.mu.Unlock()
	for _, l := range locs {
		f.remove(ctx, l)
	}
}

func (f *forwarder) remove(ctx context.Context, loc string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, loc, nil)
	if err != nil {
		return
	}
	f.authorize(req)
	if resp, err := f.cfg.Client.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
	}
}

func (f *forwarder) authorize(req *http.Request) {
	if f.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+f.cfg.Token)
	}
}
