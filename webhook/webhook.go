// Package webhook tells other systems that a meeting ended: it posts the recap's summary to each
// configured endpoint (a Slack-compatible incoming webhook, or JSON), retrying with back-off and
// honouring Retry-After, and never logs an endpoint's secret path.
//
// Concurrency: a Notifier may be shared. Send delivers to the endpoints side by side, one
// goroutine each, and returns once every one has answered, given up, or ctx is done.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ledgerline/ledgerline/internal/clock"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/recap"
)

// Format is the payload a webhook endpoint receives.
type Format string

// The webhook payloads.
const (
	// Slack posts {"text": …}, as Slack (and Mattermost, Teams workflows, Discord's
	// /slack endpoints) incoming webhooks take it: the recap's commitments by owner.
	Slack Format = "slack"
	// JSON posts the Summary as JSON: meeting, participants, commitments.
	JSON Format = "json"
)

// Defaults for Notifier fields left zero.
const (
	DefaultAttempts      = 5
	DefaultBaseDelay     = 500 * time.Millisecond
	DefaultMaxDelay      = 30 * time.Second
	DefaultMaxRetryAfter = 2 * time.Minute
	DefaultTimeout       = 10 * time.Second
)

var (
	// ErrConfig reports a webhook endpoint or setting that cannot work.
	ErrConfig = errors.New("webhook: invalid webhook config")
	// ErrRejected reports an endpoint that refused a payload for good (a 4xx other than
	// 408, 425 and 429): retrying would not help.
	ErrRejected = errors.New("webhook: webhook rejected")
	// ErrGaveUp reports an endpoint that still failed after every attempt.
	ErrGaveUp = errors.New("webhook: webhook gave up")
)

// Endpoint is one URL that hears about ended meetings.
type Endpoint struct {
	URL    string
	Format Format // "" means JSON
}

// Notifier tells configured endpoints about a meeting that ended. Zero fields take the defaults
// above. Send posts to every endpoint at once and retries each with exponential back-off and full
// jitter on network errors, 408, 425, 429 and 5xx, waiting what a Retry-After header asks on 429 and
// 503 (at most MaxRetryAfter). A Notifier is safe for concurrent use once configured.
type Notifier struct {
	Endpoints     []Endpoint
	Client        *http.Client  // nil: a client with Timeout per attempt
	MaxAttempts   int           // attempts per endpoint, the first included
	BaseDelay     time.Duration // the wait before the second attempt; doubled for each next one
	MaxDelay      time.Duration // the longest back-off
	MaxRetryAfter time.Duration // the longest Retry-After honoured; a longer one is cut to it
	Timeout       time.Duration // for each attempt
	Logger        *slog.Logger  // nil discards

	// wait pauses between attempts; tests replace it to see the delays without spending them.
	wait func(ctx context.Context, d time.Duration) error
}

// Summary is what a webhook says about a meeting that ended.
type Summary struct {
	Event        string       `json:"event"` // "meeting.ended"
	Meeting      Meeting      `json:"meeting"`
	Participants []Person     `json:"participants"`
	Commitments  []Commitment `json:"commitments"`
	// CaptureProblems are the stretches in which a channel's capture was failing: the record may
	// miss words there.
	CaptureProblems []recap.CaptureProblem `json:"capture_problems,omitempty"`
	RecapURL        string                 `json:"recap_url,omitempty"` // the recap's link, when the caller gives one
	// Delivery names this summary the same on every try and every resend, so that a receiver that
	// took it once can drop a repeat; it is sent as the Idempotency-Key header too, when set.
	Delivery string `json:"delivery,omitempty"`
}

// Meeting describes the meeting in a webhook.
type Meeting struct {
	ID         string    `json:"id"`
	Title      string    `json:"title,omitempty"`
	Deal       string    `json:"deal,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
}

// Person is a participant in a webhook.
type Person struct {
	Name string      `json:"name"`
	Org  string      `json:"org,omitempty"`
	Role ledger.Role `json:"role,omitempty"`
}

// Commitment is a commitment in a webhook.
type Commitment struct {
	ID          string `json:"id"`
	Owner       string `json:"owner"`
	OwnerOrg    string `json:"owner_org,omitempty"`
	What        string `json:"what"`
	Beneficiary string `json:"beneficiary,omitempty"`
	Due         string `json:"due,omitempty"`
	Status      string `json:"status"`
	Quote       string `json:"quote,omitempty"`
	StartMS     int64  `json:"start_ms"`
}

// NewSummary makes a webhook's summary from a meeting's recap. recapURL may be empty; it is
// a capability link, so give it only to endpoints trusted with the meeting.
func NewSummary(r recap.Recap, recapURL string) Summary {
	s := Summary{
		Event:    "meeting.ended",
		Meeting:  Meeting{ID: r.MeetingID, Title: r.Title, Deal: r.Deal, StartedAt: r.StartedAt, DurationMS: r.DurationMS},
		RecapURL: recapURL, Participants: []Person{}, Commitments: []Commitment{}, CaptureProblems: r.CaptureProblems,
	}
	for _, o := range r.Orgs {
		for _, p := range o.People {
			s.Participants = append(s.Participants, Person{Name: p, Org: o.Org, Role: o.Role})
		}
	}
	for _, c := range r.Commitments {
		quote := ""
		if len(c.Evidence) > 0 {
			quote = c.Evidence[0].Quote
		}
		s.Commitments = append(s.Commitments, Commitment{ID: c.ID, Owner: c.Owner, OwnerOrg: c.OwnerOrg,
			What: c.What, Beneficiary: c.Beneficiary, Due: c.Due, Status: c.Status, Quote: quote, StartMS: c.StartMS})
	}
	return s
}

// SlackText writes the summary as Slack message text: the meeting, then its commitments by owner.
// Text from the meeting is escaped as Slack asks (&, <, >), so it cannot mention or link.
func (s Summary) SlackText() string {
	var b strings.Builder
	name := s.Meeting.Title
	if name == "" {
		name = s.Meeting.ID
	}
	fmt.Fprintf(&b, "*Recap: %s*", slackEscape(name))
	if s.Meeting.Deal != "" {
		fmt.Fprintf(&b, " (deal %s)", slackEscape(s.Meeting.Deal))
	}
	if s.RecapURL != "" {
		fmt.Fprintf(&b, " <%s|open the recap>", slackEscape(s.RecapURL))
	}
	b.WriteString("\n")
	if n := len(s.CaptureProblems); n > 0 {
		fmt.Fprintf(&b, "⚠ Capture failed %d time(s) during the call (%s): the record may miss words there.\n", n,
			slackEscape(s.CaptureProblems[0].Message))
	}
	if len(s.Commitments) == 0 {
		b.WriteString("No commitments were made.")
		return b.String()
	}
	var owners []string
	byOwner := map[string][]Commitment{}
	for _, c := range s.Commitments {
		if _, ok := byOwner[c.Owner]; !ok {
			owners = append(owners, c.Owner)
		}
		byOwner[c.Owner] = append(byOwner[c.Owner], c)
	}
	for _, o := range owners {
		cs := byOwner[o]
		head := o
		if org := cs[0].OwnerOrg; org != "" && !strings.EqualFold(org, o) {
			head += " (" + org + ")"
		}
		fmt.Fprintf(&b, "*%s*\n", slackEscape(head))
		for _, c := range cs {
			fmt.Fprintf(&b, "• %s", slackEscape(c.What))
			if c.Due != "" {
				fmt.Fprintf(&b, " — due %s", c.Due)
			}
			if c.Status != ledger.StatusOpen {
				fmt.Fprintf(&b, " [%s]", c.Status)
			}
			b.WriteString("\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackEscape(s string) string { return slackEscaper.Replace(s) }

// Validate checks the endpoints: absolute http or https URLs of a known format.
func (w *Notifier) Validate() error {
	for _, e := range w.Endpoints {
		u, err := url.Parse(e.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: endpoint %q is not an http(s) URL", ErrConfig, redactURL(e.URL))
		}
		switch e.Format {
		case "", JSON, Slack:
		default:
			return fmt.Errorf("%w: endpoint %s: unknown format %q (use %q or %q)", ErrConfig, redactURL(e.URL),
				e.Format, Slack, JSON)
		}
	}
	if w.MaxAttempts < 0 || w.BaseDelay < 0 || w.MaxDelay < 0 || w.MaxRetryAfter < 0 || w.Timeout < 0 {
		return fmt.Errorf("%w: attempts and delays must not be negative", ErrConfig)
	}
	return nil
}

// Send posts the summary to every endpoint, each in its own goroutine, and returns once all are
// done: nil when every endpoint took it, otherwise the errors of those that did not (each wrapping
// ErrRejected, ErrGaveUp or ctx's error). Cancelling ctx stops waits and requests.
func (w *Notifier) Send(ctx context.Context, s Summary) error {
	if err := w.Validate(); err != nil {
		return err
	}
	if len(w.Endpoints) == 0 {
		return nil
	}
	slack, err := json.Marshal(map[string]string{"text": s.SlackText()})
	if err != nil {
		return fmt.Errorf("webhook: payload: %w", err)
	}
	generic, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("webhook: payload: %w", err)
	}
	errs := make([]error, len(w.Endpoints))
	var wg sync.WaitGroup
	for i, e := range w.Endpoints {
		body := generic
		if e.Format == Slack {
			body = slack
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.post(ctx, e.URL, body, s.Delivery)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// post delivers one payload to one endpoint, retrying as Notifier says.
func (w *Notifier) post(ctx context.Context, target string, body []byte, delivery string) error {
	attempts := w.MaxAttempts
	if attempts == 0 {
		attempts = DefaultAttempts
	}
	base, maxDelay := orDefault(w.BaseDelay, DefaultBaseDelay), orDefault(w.MaxDelay, DefaultMaxDelay)
	maxRetryAfter := orDefault(w.MaxRetryAfter, DefaultMaxRetryAfter)
	log := w.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("webhook", redactURL(target))
	wait := w.wait
	if wait == nil {
		wait = clock.Sleep
	}
	var last error
	for attempt := 1; attempt <= attempts; attempt++ {
		retryAfter, err := w.attempt(ctx, target, body, delivery)
		if err == nil {
			if attempt > 1 {
				log.Info("webhook delivered", "attempt", attempt)
			}
			return nil
		}
		if errors.Is(err, ErrRejected) {
			return err
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("webhook: %s: %w", redactURL(target), ctxErr)
		}
		last = err
		if attempt == attempts {
			break
		}
		delay := backoff(attempt, base, maxDelay)
		if retryAfter > 0 {
			delay = min(retryAfter, maxRetryAfter)
		}
		log.Warn("webhook failed; retrying", "attempt", attempt, "delay", delay, "err", err)
		if err := wait(ctx, delay); err != nil {
			return fmt.Errorf("webhook: %s: %w", redactURL(target), err)
		}
	}
	return fmt.Errorf("%w after %d attempts: %w", ErrGaveUp, attempts, last)
}

// attempt makes one request. It returns the wait a Retry-After header asked for, if any.
func (w *Notifier) attempt(ctx context.Context, target string, body []byte, delivery string) (time.Duration, error) {
	timeout := orDefault(w.Timeout, DefaultTimeout)
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrRejected, redactURL(target), err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Ledgerline-Webhook/1")
	if delivery != "" {
		req.Header.Set("Idempotency-Key", delivery)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message holds the whole URL, secret path included
		}
		return 0, fmt.Errorf("webhook: %s: %w", redactURL(target), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	_ = resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return 0, nil
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		return parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
			fmt.Errorf("webhook: %s: HTTP %d", redactURL(target), code)
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly || code >= 500:
		return 0, fmt.Errorf("webhook: %s: HTTP %d", redactURL(target), code)
	}
	return 0, fmt.Errorf("%w: %s answered HTTP %d", ErrRejected, redactURL(target), code)
}

// backoff is the wait after the attempt-th failure: base·2^(attempt-1) capped at max, with full
// jitter (a uniformly random wait up to it) so that many senders do not retry in step.
func backoff(attempt int, base, maxDelay time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date. It returns 0 when absent or
// unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// redactURL keeps a webhook URL's scheme and host for messages: the path of an incoming webhook is
// its secret.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
