// Package calendar reads organisations' calendar feeds (ICS, the "secret address" Google Calendar
// and Outlook give) and schedules a meeting bot for each event with a meeting link: one bot per
// event, moved when the event moves, withdrawn when it is cancelled or gone.
//
// A feed is read with a conditional GET (its ETag), a timeout and a bounded body, from public
// addresses only unless told otherwise, since anyone who may add a calendar chooses the address
// the server fetches. Its URL is a secret: it never appears in a log or an error.
//
// Concurrency: a Poller's Run is called once and polls on the caller's goroutine; PollDue may be
// called from any goroutine. Several processes may poll one store: each calendar is claimed by one
// at a time, and scheduling an event's bot is idempotent.
package calendar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/ledgerline/ledgerline/ledger"
)

// Store is what the poller reads and schedules in.
type Store interface {
	ClaimCalendarPolls(ctx context.Context, now, next time.Time, limit int) ([]ledger.Calendar, error)
	CalendarPolled(ctx context.Context, id string, read bool, etag, pollErr string) error
	ScheduleEventBot(ctx context.Context, b ledger.BotRequest) (bool, error)
	WithdrawEventBots(ctx context.Context, calendarID string, keep []string) (int, error)
	OrgDomains(ctx context.Context, orgID string) ([]string, error)
}

// Deals is the record's deals as the access rule lets an organisation reach them.
type Deals interface {
	VisibleDeals(ctx context.Context, r ledger.Reader) ([]ledger.Deal, error)
	DealAccess(ctx context.Context, r ledger.Reader, dealID string) (ledger.ShareLevel, error)
	DealShares(ctx context.Context, dealID string) ([]ledger.DealShare, error)
}

var (
	_ Store = (*ledger.SQLiteStore)(nil)
	_ Deals = (*ledger.PostgresStore)(nil)
)

// Config configures a Poller. Store, Deals and Platform are required.
type Config struct {
	Store Store
	Deals Deals
	// Platform recognises a meeting link (the bot's own recognition): an error for a link no
	// bot joins.
	Platform func(link string) (string, error)
	// Every is how often a calendar is read [5 min]; Check how often the store is asked for
	// calendars due [5 s].
	Every, Check time.Duration
	// Horizon is how far ahead events are scheduled [14 days].
	Horizon time.Duration
	// Timeout bounds one read of a feed [20 s]; MaxBody its size [4 MiB].
	Timeout time.Duration
	MaxBody int64
	// AllowPrivate lets feeds be read from loopback and private addresses: for a server that
	// only its own machine reaches.
	AllowPrivate bool
	Logger       *slog.Logger
	Now          func() time.Time
}

// Poller reads the calendars due and schedules their events' bots.
type Poller struct {
	cfg    Config
	client *http.Client
	log    *slog.Logger
}

// New checks cfg and returns a Poller.
func New(cfg Config) (*Poller, error) {
	if cfg.Store == nil || cfg.Deals == nil || cfg.Platform == nil {
		return nil, errors.New("calendar: Config.Store, Deals and Platform are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Every, 5*time.Minute)
	def(&cfg.Check, 5*time.Second)
	def(&cfg.Horizon, 14*24*time.Hour)
	def(&cfg.Timeout, 20*time.Second)
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 4 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !cfg.AllowPrivate {
		dialer.Control = publicOnly
	}
	transport := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 10 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout, MaxIdleConns: 4, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: transport, Timeout: cfg.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return nil
		}}
	return &Poller{cfg: cfg, client: client, log: cfg.Logger}, nil
}

// publicOnly refuses connections to loopback, private, link-local and unspecified addresses.
func publicOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() {
		return fmt.Errorf("the feed's address %s is not a public one", host)
	}
	return nil
}

// Run polls the calendars as they come due until ctx ends.
func (p *Poller) Run(ctx context.Context) {
	tick := time.NewTicker(p.cfg.Check)
	defer tick.Stop()
	for {
		if err := p.PollDue(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("calendars", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// PollDue reads each calendar due now, claimed for this process, and schedules its bots.
func (p *Poller) PollDue(ctx context.Context) error {
	now := p.cfg.Now()
	due, err := p.cfg.Store.ClaimCalendarPolls(ctx, now, now.Add(p.cfg.Every), 10)
	if err != nil {
		return err
	}
	for _, c := range due {
		read, etag, err := p.poll(ctx, c, now)
		msg := ""
		if err != nil {
			msg = err.Error()
			p.log.Warn("a calendar could not be read", "calendar", c.ID, "org", c.OrgID, "err", msg)
		}
		if err := p.cfg.Store.CalendarPolled(ctx, c.ID, read, etag, msg); err != nil {
			return err
		}
	}
	return nil
}

// errFeed is a feed's answer that is no calendar; its message is safe to show (no URL).
type errFeed struct{ msg string }

func (e *errFeed) Error() string { return e.msg }

// poll reads one calendar and schedules its events' bots; it reports whether the feed was read
// whole (not unchanged, nor failed), and its ETag.
func (p *Poller) poll(ctx context.Context, c ledger.Calendar, now time.Time) (bool, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return false, "", &errFeed{"the calendar's address is not a valid URL"}
	}
	req.Header.Set("Accept", "text/calendar")
	// A feed read whole within the day is asked for again only if it changed; once a day it is
	// read whole, as events come into the horizon by time alone.
	if c.ETag != "" && now.Sub(c.PolledAt) < 24*time.Hour {
		req.Header.Set("If-None-Match", c.ETag)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return false, "", &errFeed{"the feed could not be reached: " + redact(err)}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return false, "", nil
	case resp.StatusCode != http.StatusOK:
		return false, "", &errFeed{fmt.Sprintf("the feed answered %s: check that the calendar's secret address is still valid", resp.Status)}
	}
	body := http.MaxBytesReader(nil, resp.Body, p.cfg.MaxBody)
	// Instances that started a little before now keep their schedule until their bot started.
	occ, err := Occurrences(body, now.Add(-15*time.Minute), now.Add(p.cfg.Horizon))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return false, "", &errFeed{fmt.Sprintf("the feed is larger than %d bytes", p.cfg.MaxBody)}
		}
		return false, "", &errFeed{"the feed is not a calendar (ICS): " + redact(err)}
	}
	etag := resp.Header.Get("ETag")
	if !c.SendBot {
		_, err := p.cfg.Store.WithdrawEventBots(ctx, c.ID, nil)
		return err == nil, etag, err
	}
	keep, err := p.schedule(ctx, c, occ)
	if err != nil {
		return false, "", err
	}
	if n, err := p.cfg.Store.WithdrawEventBots(ctx, c.ID, keep); err != nil {
		return false, "", err
	} else if n > 0 {
		p.log.Info("bots withdrawn: their events were cancelled or are gone", "calendar", c.ID, "bots", n)
	}
	return true, etag, nil
}

// schedule schedules the bots of the occurrences with a meeting link, and returns their keys.
func (p *Poller) schedule(ctx context.Context, c ledger.Calendar, occ []Occurrence) ([]string, error) {
	var keep []string
	var deals *dealPicker
	for _, o := range occ {
		if o.Cancelled {
			continue
		}
		link, platform := "", ""
		for _, l := range o.Links {
			if pl, err := p.cfg.Platform(l); err == nil {
				link, platform = l, pl
				break
			}
		}
		if link == "" {
			continue
		}
		if deals == nil {
			var err error
			if deals, err = newDealPicker(ctx, p.cfg.Store, p.cfg.Deals, c.OrgID); err != nil {
				return nil, err
			}
		}
		deal := deals.pick(o.Domains)
		b := ledger.BotRequest{ID: "bot_" + uuid.NewString(), OrgID: c.OrgID, MeetingURL: link, Platform: platform,
			Title: o.Title, DealID: deal, JoinAt: o.Start.Add(-c.Lead), MeetingID: uuid.Must(uuid.NewV7()).String(),
			CalendarID: c.ID, EventKey: o.Key}
		if _, err := p.cfg.Store.ScheduleEventBot(ctx, b); err != nil {
			return nil, err
		}
		keep = append(keep, o.Key)
	}
	return keep, nil
}

// redact is an error's message without any URL in it: a feed's address is a secret.
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return linkPattern.ReplaceAllString(err.Error(), "<the feed's address>")
}

// dealPicker picks the deal an event's meeting is filed under: of the deals the calendar's
// organisation may add meetings to, the one whose other organisations' domains most attendees'
// domains match; none when no deal matches, or two match alike.
type dealPicker struct {
	own   []string
	deals map[string][]string // deal ID → its organisations' domains, the calendar's own left out
}

func newDealPicker(ctx context.Context, store Store, deals Deals, org string) (*dealPicker, error) {
	reader := ledger.Reader{OrgID: org}
	own, err := store.OrgDomains(ctx, org)
	if err != nil {
		return nil, err
	}
	visible, err := deals.VisibleDeals(ctx, reader)
	if err != nil {
		return nil, err
	}
	dp := &dealPicker{own: own, deals: map[string][]string{}}
	for _, d := range visible {
		level, err := deals.DealAccess(ctx, reader, d.ID)
		if err != nil {
			return nil, err
		}
		if !level.Covers(ledger.ShareEdit) {
			continue
		}
		orgs := []string{d.OwnerOrg}
		shares, err := deals.DealShares(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		for _, s := range shares {
			orgs = append(orgs, s.OrgID)
		}
		for _, o := range orgs {
			if o == "" || o == org {
				continue
			}
			ds, err := store.OrgDomains(ctx, o)
			if err != nil && !errors.Is(err, ledger.ErrNotFound) {
				return nil, err
			}
			dp.deals[d.ID] = append(dp.deals[d.ID], ds...)
		}
	}
	return dp, nil
}

func (dp *dealPicker) pick(domains []string) string {
	best, most, tie := "", 0, false
	for id, ds := range dp.deals {
		n := 0
		for _, d := range domains {
			if !slices.Contains(dp.own, d) && slices.Contains(ds, d) {
				n++
			}
		}
		switch {
		case n > most:
			best, most, tie = id, n, false
		case n == most && n > 0:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}
