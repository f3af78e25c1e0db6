package calendar

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/bot"
	"github.com/ledgerline/ledgerline/ledger"
)

// feedServer serves one ICS feed at a secret path, with an ETag, answering 304 to a request
// that names the current one.
type feedServer struct {
	*httptest.Server
	mu          sync.Mutex
	body        string
	status      int
	notModified int
}

func newFeedServer(t *testing.T, body string) *feedServer {
	f := &feedServer{body: body, status: http.StatusOK}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.URL.Path != "/private-s3cr3t/basic.ics" {
			http.NotFound(w, r)
			return
		}
		if f.status != http.StatusOK {
			w.WriteHeader(f.status)
			return
		}
		etag := fmt.Sprintf(`"%x"`, sha256.Sum256([]byte(f.body)))
		if r.Header.Get("If-None-Match") == etag {
			f.notModified++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/calendar")
		_, _ = w.Write([]byte(f.body))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *feedServer) set(body string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body, f.status = body, status
}

func recognise(link string) (string, error) {
	a, _, err := bot.Recognise(link, "", bot.GenericOptions{})
	if err != nil {
		return "", err
	}
	return a.Platform(), nil
}

// A calendar's events with meeting links get one bot each, lead seconds before they start, filed
// under the deal their attendees' domains name; a feed unchanged is not read again; a moved event
// moves its bot, a cancelled or deleted one withdraws it; the feed's secret address is in no
// error and no log.
func TestPollSchedulesBots(t *testing.T) {
	var clock struct {
		sync.Mutex
		now time.Time
	}
	clock.now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time {
		clock.Lock()
		defer clock.Unlock()
		return clock.now
	}
	advance := func(d time.Duration) {
		clock.Lock()
		clock.now = clock.now.Add(d)
		clock.Unlock()
	}
	store, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "team.db"), ledger.WithSQLiteClock(now))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	for _, o := range []ledger.Org{{ID: "acme", Name: "Acme"}, {ID: "partner", Name: "Partner"}, {ID: "other", Name: "Other"}} {
		if err := store.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for org, domains := range map[string][]string{"acme": {"acme.example"}, "partner": {"partner.example"}, "other": {"other.example"}} {
		if err := store.SetOrgDomains(ctx, org, domains); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []struct{ id, owner, share string }{{"d-partner", "acme", "partner"}, {"d-other", "acme", "other"}, {"d-theirs", "other", "partner"}} {
		if err := store.CreateDeal(ctx, ledger.Deal{ID: d.id, Name: d.id}); err != nil {
			t.Fatal(err)
		}
		if err := store.SetDealOwner(ctx, d.id, d.owner); err != nil {
			t.Fatal(err)
		}
		if err := store.ShareDeal(ctx, ledger.DealShare{DealID: d.id, OrgID: d.share, Level: ledger.ShareView}); err != nil {
			t.Fatal(err)
		}
	}
	fs := newFeedServer(t, feed)
	secret := fs.URL + "/private-s3cr3t/basic.ics"
	if err := store.AddCalendar(ctx, ledger.Calendar{ID: "cal1", OrgID: "acme", URL: secret, SendBot: true, Lead: time.Minute}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	p, err := New(Config{Store: store, Deals: store, Platform: recognise, AllowPrivate: true, Now: now,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	scheduled := func() map[string]ledger.BotRequest {
		t.Helper()
		bs, err := store.OrgBots(ctx, "acme", false, 100)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]ledger.BotRequest{}
		for _, b := range bs {
			if b.Status == ledger.BotScheduled {
				out[b.EventKey] = b
			}
		}
		return out
	}
	if err := p.PollDue(ctx); err != nil {
		t.Fatal(err)
	}
	bots := scheduled()
	// The next 14 days: two weekly meetings (one moved; the third excluded), three stand-ups, the
	// one-off call; not the lunch, which has no meeting link.
	want := map[string]struct {
		start, platform, deal, title string
	}{
		"weekly@example.com/20260302T090000Z":  {"2026-03-02T09:00:00Z", "meet", "d-partner", "Weekly sync"},
		"weekly@example.com/20260309T090000Z":  {"2026-03-09T11:00:00Z", "meet", "d-partner", "Weekly sync (moved)"},
		"standup@example.com/20260302T083000Z": {"2026-03-02T08:30:00Z", "teams", "", "Stand-up"},
		"standup@example.com/20260303T083000Z": {"2026-03-03T08:30:00Z", "teams", "", "Stand-up"},
		"standup@example.com/20260304T083000Z": {"2026-03-04T08:30:00Z", "teams", "", "Stand-up"},
		"oneoff@example.com":                   {"2026-03-04T15:00:00Z", "jitsi", "", "Pricing call"},
	}
	if len(bots) != len(want) {
		t.Fatalf("%d bots scheduled, want %d: %+v", len(bots), len(want), bots)
	}
	for key, w := range want {
		b := bots[key]
		start, _ := time.Parse(time.RFC3339, w.start)
		if !b.JoinAt.Equal(start.Add(-time.Minute)) || b.Platform != w.platform || b.DealID != w.deal || b.Title != w.title || b.CalendarID != "cal1" {
			t.Errorf("bot of %s = %+v, want joining a minute before %s on %s, deal %q, title %q", key, b, w.start, w.platform, w.deal, w.title)
		}
	}

	// Not due again for a while; then read again, unchanged.
	if err := p.PollDue(ctx); err != nil {
		t.Fatal(err)
	}
	advance(6 * time.Minute)
	if err := p.PollDue(ctx); err != nil {
		t.Fatal(err)
	}
	if fs.notModified != 1 {
		t.Errorf("%d answers 304, want 1: the feed is read with its ETag", fs.notModified)
	}
	if got := scheduled(); len(got) != len(want) {
		t.Errorf("%d bots after an unchanged read, want %d", len(got), len(want))
	}

	// The one-off call moves, the stand-up is deleted, the first weekly meeting is cancelled.
	changed := strings.Replace(feed, "DTSTART:20260304T150000Z", "DTSTART:20260304T160000Z", 1)
	i, j := strings.Index(changed, "BEGIN:VEVENT\nUID:standup"), strings.Index(changed, "BEGIN:VEVENT\nUID:oneoff")
	changed = changed[:i] + `BEGIN:VEVENT
UID:weekly@example.com
RECURRENCE-ID;TZID=Europe/Madrid:20260302T100000
DTSTART;TZID=Europe/Madrid:20260302T100000
STATUS:CANCELLED
END:VEVENT
` + changed[j:]
	fs.set(changed, http.StatusOK)
	advance(6 * time.Minute)
	if err := p.PollDue(ctx); err != nil {
		t.Fatal(err)
	}
	bots = scheduled()
	if len(bots) != 2 || bots["weekly@example.com/20260309T090000Z"].ID == "" {
		t.Fatalf("bots after the changes = %+v, want the second weekly meeting and the one-off call", bots)
	}
	if b := bots["oneoff@example.com"]; !b.JoinAt.Equal(time.Date(2026, 3, 4, 15, 59, 0, 0, time.UTC)) {
		t.Errorf("the one-off call's bot joins at %s, want 15:59 (moved with its event)", b.JoinAt)
	}
	all, err := store.OrgBots(ctx, "acme", false, 100)
	if err != nil || len(all) != len(want) {
		t.Errorf("%d bot requests in all, %v; want %d (one per event, moved rather than added)", len(all), err, len(want))
	}

	fs.set("", http.StatusForbidden)
	advance(6 * time.Minute)
	if err := p.PollDue(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := store.Calendar(ctx, "cal1")
	if err != nil || !strings.Contains(c.PollError, "403") {
		t.Errorf("calendar after a refused read = %+v, %v; want the refusal", c, err)
	}
	if len(scheduled()) != 2 {
		t.Error("a refused read withdrew bots")
	}
	if strings.Contains(logs.String(), "s3cr3t") || strings.Contains(c.PollError, "s3cr3t") {
		t.Errorf("the feed's secret address leaked: %s / %s", logs.String(), c.PollError)
	}
}

// Feeds are read from public addresses only, unless allowed.
func TestPrivateFeedsRefused(t *testing.T) {
	store, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "team.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.CreateOrg(ctx, ledger.Org{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	fs := newFeedServer(t, feed)
	if err := store.AddCalendar(ctx, ledger.Calendar{ID: "cal1", OrgID: "acme", URL: fs.URL + "/private-s3cr3t/basic.ics", SendBot: true}); err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Store: store, Deals: store, Platform: recognise})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.PollDue(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := store.Calendar(ctx, "cal1")
	if err != nil || !strings.Contains(c.PollError, "not a public one") || strings.Contains(c.PollError, "s3cr3t") {
		t.Errorf("calendar on a loopback address = %+v, %v; want refused, without its address", c, err)
	}
}
