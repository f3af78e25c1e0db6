// Package crm pushes a stopped meeting to the CRM record of its deal, where sellers work: the
// meeting's recap as a note, each commitment as a task, in HubSpot or Salesforce through their
// public REST APIs (a Client per CRM). An organisation's admin sets its CRM and token (kept
// sealed by a Keyring) and the record each deal maps to; the deal's owner's CRM is the one used.
//
// A push never makes a thing twice: the store keeps, for each item of a meeting and each record,
// the CRM's ID of what was made and a digest of what was sent, so that a push run again updates
// what changed and leaves the rest. The item is recorded before the CRM is asked to create it; a
// push that finds an item recorded without an ID (a process died between the create and
// recording its ID) first looks in the CRM for what that create made, by the reference every
// item carries in its text, and creates only when it finds none. Requests answered 429 or 5xx
// are tried again after a back-off (Retry-After when the CRM gives one). Each push appends a
// crm.push event to the meeting's log saying what was pushed where, or what failed and why.
//
// Concurrency: a Pusher is safe for concurrent use; pushes of different meetings may run side by
// side. Two pushes of one meeting at the same moment (two of its stops, on two replicas) may both
// create an item the store had not recorded yet.
package crm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/recap"
)

// Store is what a push reads a meeting from and records what it pushed in.
type Store interface {
	recap.MeetingSource
	ledger.CRM
	Append(ctx context.Context, e ledger.Event) (ledger.Event, error)
}

var (
	_ Store = (*ledger.SQLiteStore)(nil)
	_ Store = (*ledger.PostgresStore)(nil)
)

// Kind is what an Object becomes in a CRM.
type Kind int

// The kinds of objects pushed.
const (
	Note Kind = iota // the meeting's recap
	Task             // a commitment
)

// Object is one thing pushed to a CRM record, in words every CRM can take.
type Object struct {
	Kind  Kind
	Ref   string   // the item's reference, letters and digits, carried in Lines: how a cut-short create is found
	Title string   // a task's subject, a note's title (255 characters at most)
	Lines []string // the text, a paragraph each, plain
	// At is when a note's meeting took place, or when a task is due: the due date at 17:00 in
	// the meeting's timezone, or the meeting's start for a commitment with none.
	At     time.Time
	Due    string // a task's due date, YYYY-MM-DD; "" for none
	Status string // a task's status: ledger.StatusOpen, StatusDone or StatusDropped
}

// Client makes and changes objects on one CRM's records. Errors the CRM answered are *APIError.
type Client interface {
	// Create makes o on the record and returns its ID in the CRM.
	Create(ctx context.Context, record string, o Object) (string, error)
	// Update changes the object with that ID to o. One the CRM no longer has is an *APIError with
	// Status 404.
	Update(ctx context.Context, record, id string, o Object) error
	// Find returns the ID of an object made for o on the record at or after since, attached to
	// it, or "" when there is none.
	Find(ctx context.Context, record string, o Object, since time.Time) (string, error)
}

// Config sets up a Pusher.
type Config struct {
	Store Store
	// Keys opens organisations' tokens; nil pushes nothing (the server has no CRM key).
	Keys *Keyring
	// HTTP sends the requests; nil is a client with a 30 s timeout.
	HTTP *http.Client
	// HubSpotURL is where HubSpot's API is; "" is https://api.hubapi.com.
	HubSpotURL string
	// RecapURL is the recap link a note carries, or "" for none.
	RecapURL func(ledger.Meeting) string
	// Backoff spaces the tries of a request answered 429 or 5xx; nil is DefaultBackoff.
	Backoff []time.Duration
	// Logger receives what was pushed and what failed; nil drops it.
	Logger *slog.Logger
}

// DefaultBackoff spaces the tries of a request the CRM answered 429 or 5xx, or never answered:
// five tries in all, unless the CRM asks for a longer wait (Retry-After).
var DefaultBackoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}

// Pusher pushes meetings to their deals' CRM records.
type Pusher struct {
	cfg Config
	log *slog.Logger
}

// New makes a Pusher.
func New(cfg Config) (*Pusher, error) {
	if cfg.Store == nil {
		return nil, errors.New("crm: a Pusher needs a store")
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.HubSpotURL == "" {
		cfg.HubSpotURL = "https://api.hubapi.com"
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pusher{cfg: cfg, log: cfg.Logger}, nil
}

// Do pushes the meeting of a stop's follow-up: the step package followup runs with each.
func (p *Pusher) Do(ctx context.Context, f ledger.FollowUp) error { return p.Push(ctx, f.Meeting) }

// Push pushes a meeting to its deal's CRM record, if its deal has one and the deal's owner has a
// CRM, and appends a crm.push event saying what it did. What the CRM refused, or kept failing
// after the tries, is in that event and the log: Push fails, for its caller to try again later,
// only when the store could not be read or written or ctx ended.
func (p *Pusher) Push(ctx context.Context, meeting string) error {
	t, err := p.target(ctx, meeting)
	if err != nil || t.client == nil {
		return err
	}
	data, err := recap.LoadMeeting(ctx, p.cfg.Store, meeting)
	if err != nil {
		return fmt.Errorf("crm: %w", err)
	}
	link := ""
	if p.cfg.RecapURL != nil {
		link = p.cfg.RecapURL(data.Meeting)
	}
	report := ledger.CRMPush{Provider: t.provider, Record: t.record}
	for _, it := range items(recap.New(data), t.record, link) {
		done, err := p.pushItem(ctx, t, meeting, it)
		var se storeError
		switch {
		case errors.As(err, &se) || ctx.Err() != nil:
			return err // tried again with the follow-up, which carries on from what was recorded
		case err != nil:
			report.Failed++
			if report.Error == "" {
				report.Error = fmt.Sprintf("%s: %v", it.name, err)
			}
		case done == created:
			report.Created++
		case done == updated:
			report.Updated++
		default:
			report.Unchanged++
		}
	}
	return p.record(ctx, meeting, report)
}

// target is where a meeting goes: its deal's record, on its deal owner's CRM.
type target struct {
	provider ledger.CRMProvider
	record   string
	client   Client // nil: the meeting goes nowhere
}

func (p *Pusher) target(ctx context.Context, meeting string) (target, error) {
	m, err := p.cfg.Store.Meeting(ctx, meeting)
	if err != nil {
		return target{}, fmt.Errorf("crm: %w", err)
	}
	if m.DealID == "" {
		return target{}, nil
	}
	record, err := p.cfg.Store.DealCRM(ctx, m.DealID)
	if errors.Is(err, ledger.ErrNotFound) {
		return target{}, nil
	}
	if err != nil {
		return target{}, fmt.Errorf("crm: %w", err)
	}
	deal, err := p.cfg.Store.Deal(ctx, m.DealID)
	if err != nil {
		return target{}, fmt.Errorf("crm: %w", err)
	}
	if deal.OwnerOrg == "" {
		return target{}, nil
	}
	c, err := p.cfg.Store.OrgCRM(ctx, deal.OwnerOrg)
	if errors.Is(err, ledger.ErrNotFound) {
		return target{}, nil
	}
	if err != nil {
		return target{}, fmt.Errorf("crm: %w", err)
	}
	t := target{provider: c.Provider, record: record}
	token, err := p.cfg.Keys.Open(c.OrgID, c.SealedToken)
	if err != nil {
		// Nothing can be pushed until the key is given or an admin sets the token again: said on
		// the meeting's log (the error names no token).
		return t, p.record(ctx, meeting, ledger.CRMPush{Provider: c.Provider, Record: record, Failed: 1,
			Error: err.Error() + "; an admin of the organisation can set the token again (PUT /api/v1/orgs/{id}/crm)"})
	}
	switch c.Provider {
	case ledger.CRMHubSpot:
		t.client = &HubSpot{Base: p.cfg.HubSpotURL, Token: token, HTTP: p.cfg.HTTP}
	case ledger.CRMSalesforce:
		t.client = &Salesforce{InstanceURL: c.InstanceURL, Token: token, HTTP: p.cfg.HTTP}
	}
	return t, nil
}

// record appends the push's event to the meeting's log and logs it.
func (p *Pusher) record(ctx context.Context, meeting string, r ledger.CRMPush) error {
	if r.Failed > 0 {
		p.log.Warn("crm: push failed", "meeting", meeting, "crm", r.Provider, "record", r.Record, "failed", r.Failed, "err", r.Error)
	} else {
		p.log.Info("crm: pushed", "meeting", meeting, "crm", r.Provider, "record", r.Record,
			"created", r.Created, "updated", r.Updated, "unchanged", r.Unchanged)
	}
	if _, err := p.cfg.Store.Append(context.WithoutCancel(ctx), ledger.Event{Type: ledger.TypeCRMPush, Meeting: meeting, CRM: &r}); err != nil {
		return fmt.Errorf("crm: %w", err)
	}
	return nil
}

// item is one object of a meeting, named in the store.
type item struct {
	name string // "recap", or "commitment/" and its ID
	obj  Object
}

// digest names what o says, to tell whether it changed since it was sent.
func digest(o Object) string {
	b, _ := json.Marshal(o) // an Object always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// ref is an item's reference in the CRM: letters and digits only, so that a CRM's search takes
// it as one word.
func ref(meeting, record, name string) string {
	sum := sha256.Sum256([]byte(meeting + "\x00" + record + "\x00" + name))
	return "ledgerline" + hex.EncodeToString(sum[:10])
}
