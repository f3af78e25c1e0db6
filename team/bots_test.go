package team

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// machine is a BotLauncher with a fixed number of slots whose bots are stand-ins: each checks
// that its token opens its meeting's join scope and no more, and records its states on the
// meeting's log as a real bot does. Links on meet.google.com are recognised, others refused.
type machine struct {
	store Store
	slots int

	mu      sync.Mutex
	used    int
	running map[string]string // request ID → meeting
	started []BotLaunch
	left    []string
}

var _ BotLauncher = (*machine)(nil)

func newMachine(store Store, slots int) *machine {
	return &machine{store: store, slots: slots, running: map[string]string{}}
}

func (m *machine) Platform(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "https" {
		return "", fmt.Errorf("%q is not an http(s) link", link)
	}
	if u.Host != "meet.google.com" {
		return "", errors.New("not a meeting link of a known platform: " + u.Host)
	}
	return "meet", nil
}

func (m *machine) Reserve() (BotSlot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.used == m.slots {
		return nil, fmt.Errorf("%w: %d bots run", ErrNoBotCapacity, m.used)
	}
	m.used++
	return &machineSlot{m: m}, nil
}

func (m *machine) Leave(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	meeting, ok := m.running[id]
	if ok {
		delete(m.running, id)
		m.used--
		m.left = append(m.left, id)
		m.state(meeting, ledger.BotEnded)
	}
	return ok
}

func (m *machine) Running() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id := range m.running {
		ids = append(ids, id)
	}
	return ids
}

func (m *machine) state(meeting string, st ledger.BotState) {
	if _, err := m.store.Append(context.Background(), ledger.Event{Type: ledger.TypeBotState, Meeting: meeting,
		Bot: &ledger.BotInfo{State: st, Platform: "meet"}}); err != nil {
		panic(err)
	}
}

type machineSlot struct{ m *machine }

func (s *machineSlot) Start(b BotLaunch) {
	m := s.m
	rec, err := m.store.Meeting(context.Background(), b.Meeting)
	if err != nil || !rec.Hosted || server.TokenScope(rec.Token, b.Token) != server.ScopeJoin {
		panic(fmt.Sprintf("launched into %+v (%v) with a token that is not its join token", rec, err))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running[b.RequestID] = b.Meeting
	m.started = append(m.started, b)
	m.state(b.Meeting, ledger.BotRequested)
	m.state(b.Meeting, ledger.BotWaiting)
}

func (s *machineSlot) Release() {
	s.m.mu.Lock()
	s.m.used--
	s.m.mu.Unlock()
}

func (m *machine) launches() []BotLaunch {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]BotLaunch(nil), m.started...)
}

// botServer is a team server on store that records meetings itself and sends bots from a
// machine of slots.
func botServer(t *testing.T, store Store, slots int, now func() time.Time) (*Server, *machine) {
	t.Helper()
	leaktest.Check(t)
	host, err := agent.NewHost(agent.HostConfig{Store: store.(agent.HostStore), Loopback: true,
		Load: func(context.Context) (asr.Engine, error) { return quiet{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	mach := newMachine(store, slots)
	ts, err := New(Config{Store: store, Control: host, Recorder: host, Server: server.Config{Ingest: host.Ingest()}, Bots: mach, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	return ts, mach
}

// botFixture is botServer, served, with the organisations, tokens and deal of newFixture.
func botFixture(t *testing.T, store Store, slots int, now func() time.Time) (*fixture, *Server, *machine) {
	t.Helper()
	ts, mach := botServer(t, store, slots, now)
	srv := httptest.NewServer(ts.Handler())
	t.Cleanup(srv.Close)
	admin, err := ts.EnsureAdmin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, srv: srv, store: store, admin: admin}
	f.vendor, f.partner, f.stranger = f.org("Acme"), f.org("Partner Co"), f.org("Elsewhere Ltd")
	f.vendorTok, f.partnerTok, f.other = f.token(f.vendor), f.token(f.partner), f.token(f.stranger)
	f.call(http.MethodPost, "/api/v1/deals", f.admin, map[string]string{"id": "deal-1", "name": "Big deal",
		"vendor_org": "Acme", "partner_org": "Partner Co"}, http.StatusCreated, nil)
	return f, ts, mach
}

// raw makes an API request and returns its response, its body read and closed.
func (f *fixture) raw(method, path, token string, body any) *http.Response {
	f.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		f.t.Fatal(err)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(b))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// browse makes a browser's request (a form when form is set), and checks its final status.
func (f *fixture) browse(c *http.Client, method, path string, form url.Values, want int) string {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		f.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	return string(b)
}

// A bot is sent into a call for the caller's organisation, now or at a time; the link, the deal
// and the machine's capacity are checked, and the bot's latest state is read from its meeting.
func TestSendBot(t *testing.T) {
	both(t, func(t *testing.T, open opener) {
		f, _, mach := botFixture(t, open(t), 1, nil)
		var b botJSON
		f.call(http.MethodPost, "/api/v1/bots", f.vendorTok, map[string]string{"meeting_url": "https://meet.google.com/abc-defg-hij",
			"title": "Kick-off", "deal": "deal-1"}, http.StatusCreated, &b)
		if b.Status != string(ledger.BotStarted) || b.Platform != "meet" || b.Meeting == "" || b.State == nil ||
			b.State.State != ledger.BotWaiting || b.Org != f.vendor || b.Deal != "deal-1" {
			t.Fatalf("POST /api/v1/bots = %+v, want started, waiting in the call", b)
		}
		rec, err := f.store.Meeting(context.Background(), b.Meeting)
		if err != nil || rec.Title != "Kick-off" || rec.DealID != "deal-1" || rec.OrgID != f.vendor || !rec.Hosted {
			t.Fatalf("the bot's meeting = %+v, %v", rec, err)
		}
		// The partner the deal is shared with sees the bot through its meeting; the stranger
		// does not.
		f.call(http.MethodGet, "/api/v1/bots/"+b.ID, f.partnerTok, nil, http.StatusOK, nil)
		f.call(http.MethodGet, "/api/v1/bots/"+b.ID, f.other, nil, http.StatusNotFound, nil)
		f.call(http.MethodDelete, "/api/v1/bots/"+b.ID, f.other, nil, http.StatusNotFound, nil)

		// The one slot is taken: one more now is refused, one for later is scheduled.
		resp := f.raw(http.MethodPost, "/api/v1/bots", f.vendorTok, map[string]string{"meeting_url": "https://meet.google.com/xyz-defg-hij"})
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("a bot past capacity: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		later := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		var sched botJSON
		f.call(http.MethodPost, "/api/v1/bots", f.vendorTok, map[string]string{"meeting_url": "https://meet.google.com/xyz-defg-hij",
			"join_at": later.Format(time.RFC3339)}, http.StatusCreated, &sched)
		if sched.Status != string(ledger.BotScheduled) || !sched.JoinAt.Equal(later) || sched.Meeting != "" {
			t.Fatalf("scheduled bot = %+v", sched)
		}
		var list []botJSON
		f.call(http.MethodGet, "/api/v1/bots", f.vendorTok, nil, http.StatusOK, &list)
		if len(list) != 2 || list[0].ID != sched.ID || list[1].ID != b.ID {
			t.Fatalf("GET /api/v1/bots = %+v, want the scheduled one, then the running one", list)
		}
		f.call(http.MethodGet, "/api/v1/bots", f.other, nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Fatalf("the stranger's bots = %+v, want none", list)
		}

		// Leaving and cancelling.
		f.call(http.MethodDelete, "/api/v1/bots/"+b.ID, f.vendorTok, nil, http.StatusNoContent, nil)
		f.call(http.MethodDelete, "/api/v1/bots/"+sched.ID, f.vendorTok, nil, http.StatusNoContent, nil)
		var got botJSON
		f.call(http.MethodGet, "/api/v1/bots/"+b.ID, f.vendorTok, nil, http.StatusOK, &got)
		if got.Status != string(ledger.BotCancelled) || got.State == nil || got.State.State != ledger.BotEnded {
			t.Fatalf("bot after DELETE = %+v, want cancelled and ended", got)
		}
		f.call(http.MethodGet, "/api/v1/bots/"+sched.ID, f.vendorTok, nil, http.StatusOK, &got)
		if got.Status != string(ledger.BotCancelled) {
			t.Fatalf("scheduled bot after DELETE = %+v, want cancelled", got)
		}

		// Bad requests say what is wrong.
		for _, tc := range []struct {
			token string
			body  map[string]string
			want  int
			says  string
		}{
			{f.vendorTok, map[string]string{"meeting_url": "https://example.com/call/1"}, http.StatusBadRequest, "not a meeting link"},
			{f.vendorTok, map[string]string{}, http.StatusBadRequest, "meeting_url"},
			{f.vendorTok, map[string]string{"meeting_url": "https://meet.google.com/a", "join_at": "tomorrow"}, http.StatusBadRequest, "RFC 3339"},
			{f.other, map[string]string{"meeting_url": "https://meet.google.com/a", "deal": "deal-1"}, http.StatusNotFound, "no deal"},
			{f.admin, map[string]string{"meeting_url": "https://meet.google.com/a"}, http.StatusForbidden, "organisation"},
		} {
			if body := string(f.call(http.MethodPost, "/api/v1/bots", tc.token, tc.body, tc.want, nil)); !strings.Contains(body, tc.says) {
				t.Errorf("POST %v: %s, want it to say %q", tc.body, body, tc.says)
			}
		}
		if n := len(mach.launches()); n != 1 {
			t.Errorf("%d bots launched, want 1", n)
		}
	})
}

// A scheduled bot starts when it is due, once, even with two servers on one database; a server
// restarted finds its schedules in the store.
func TestScheduledBotStartsOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "team.db")
	var clock struct {
		sync.Mutex
		now time.Time
	}
	clock.now = time.Now()
	now := func() time.Time {
		clock.Lock()
		defer clock.Unlock()
		return clock.now
	}
	first, err := ledger.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	f, _, _ := botFixture(t, first, 1, now)
	var sched botJSON
	f.call(http.MethodPost, "/api/v1/bots", f.vendorTok, map[string]string{"meeting_url": "https://meet.google.com/abc-defg-hij",
		"join_at": now().Add(10 * time.Minute).UTC().Format(time.RFC3339)}, http.StatusCreated, &sched)
	f.srv.Close()
	first.Close()

	// Restarted as two replicas on the store, both running their schedulers.
	var machines []*machine
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		s, err := ledger.OpenSQLite(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		ts, mach := botServer(t, s, 1, now)
		machines = append(machines, mach)
		wg.Go(func() { ts.RunBots(ctx) })
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	clock.Lock()
	clock.now = clock.now.Add(11 * time.Minute)
	clock.Unlock()
	deadline := time.Now().Add(time.Minute)
	for {
		n := len(machines[0].launches()) + len(machines[1].launches())
		b, err := machines[0].store.Bot(context.Background(), sched.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 && b.Status == ledger.BotStarted {
			break
		}
		if n > 1 || time.Now().After(deadline) {
			t.Fatalf("%d launches, request %+v; want one, started", n, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Both schedulers have swept again by now: still one launch.
	time.Sleep(2*botSweep + 500*time.Millisecond)
	if n := len(machines[0].launches()) + len(machines[1].launches()); n != 1 {
		t.Fatalf("%d launches after more sweeps, want 1", n)
	}
	// Cancelled through either replica's store, the bot leaves on the one that runs it.
	if _, err := machines[1].store.CancelBot(context.Background(), sched.ID); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); len(machines[0].Running())+len(machines[1].Running()) > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the cancelled bot is still running after a minute")
		}
	}
	if left := append(machines[0].leftIDs(), machines[1].leftIDs()...); len(left) != 1 || left[0] != sched.ID {
		t.Fatalf("bots that left: %v, want %s", left, sched.ID)
	}
}

func (m *machine) leftIDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.left...)
}

// The library's "Send the bot" box posts a link with the page's CSRF token and shows the bot's
// state; a post without the token changes nothing.
func TestSendBotFromLibrary(t *testing.T) {
	f, _, mach := botFixture(t, sqliteStore(t), 2, nil)
	var inv struct{ Link string }
	f.call(http.MethodPost, "/api/v1/invites", f.admin, map[string]string{"org": "Acme"}, http.StatusCreated, &inv)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Transport: &http.Transport{}}
	t.Cleanup(browser.CloseIdleConnections)
	resp, err := browser.PostForm(inv.Link, url.Values{"name": {"Dana"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	page := f.browse(browser, http.MethodGet, "/", nil, http.StatusOK)
	if !strings.Contains(page, `action="/bots"`) || !strings.Contains(page, `<option value="deal-1">Big deal</option>`) {
		t.Fatalf("the library has no bot box with the deal: %s", page)
	}
	csrf := between(page, `name="csrf" value="`, `"`)
	form := url.Values{"meeting_url": {"https://meet.google.com/abc-defg-hij"}, "title": {"Pricing call"}, "deal": {"deal-1"}}
	f.browse(browser, http.MethodPost, "/bots", form, http.StatusForbidden)
	if n := len(mach.launches()); n != 0 {
		t.Fatalf("a post without the CSRF token launched %d bots", n)
	}
	form.Set("csrf", csrf)
	page = f.browse(browser, http.MethodPost, "/bots", form, http.StatusOK) // followed back to the library
	if n := len(mach.launches()); n != 1 {
		t.Fatalf("%d bots launched from the form, want 1", n)
	}
	if !strings.Contains(page, "Pricing call") || !strings.Contains(page, `<td class="bot-state">waiting</td>`) {
		t.Fatalf("the library does not show the bot waiting: %s", page)
	}
	form.Set("meeting_url", "https://example.com/not-a-meeting")
	page = f.browse(browser, http.MethodPost, "/bots", form, http.StatusBadRequest)
	if !strings.Contains(page, "not a meeting link") {
		t.Fatalf("a refused link is not explained: %s", page)
	}
	form.Set("meeting_url", "https://meet.google.com/abc-defg-hij")
	form.Set("join_at", "2999-01-02T15:04")
	f.browse(browser, http.MethodPost, "/bots", form, http.StatusOK)
	var list []botJSON
	f.call(http.MethodGet, "/api/v1/bots", f.vendorTok, nil, http.StatusOK, &list)
	if len(list) != 2 || list[0].Status != string(ledger.BotScheduled) || list[0].JoinAt.Format(formJoinAt) != "2999-01-02T15:04" {
		t.Fatalf("bots after a scheduled form = %+v", list)
	}
}

// Calendars are an organisation's: their secret address is never shown whole, and another
// organisation can neither list nor remove them.
func TestCalendarSubscriptions(t *testing.T) {
	f, _, _ := botFixture(t, sqliteStore(t), 1, nil)
	secret := "https://calendar.google.com/calendar/ical/dana%40acme.example/private-0123456789abcdef/basic.ics"
	var c calendarJSON
	body := f.call(http.MethodPost, "/api/v1/calendars", f.vendorTok, map[string]any{"url": secret, "send_bot": true}, http.StatusCreated, &c)
	if strings.Contains(string(body), "private-") || c.Feed != "https://calendar.google.com/…" || c.LeadSeconds != 60 || !c.SendBot {
		t.Fatalf("POST /api/v1/calendars = %s", body)
	}
	list := f.call(http.MethodGet, "/api/v1/calendars", f.vendorTok, nil, http.StatusOK, nil)
	if strings.Contains(string(list), "private-") || !strings.Contains(string(list), c.ID) {
		t.Fatalf("GET /api/v1/calendars = %s", list)
	}
	if other := f.call(http.MethodGet, "/api/v1/calendars", f.other, nil, http.StatusOK, nil); strings.Contains(string(other), c.ID) {
		t.Fatalf("the stranger lists %s", other)
	}
	f.call(http.MethodPost, "/api/v1/calendars", f.vendorTok, map[string]any{"url": "ftp://x/y.ics"}, http.StatusBadRequest, nil)
	f.call(http.MethodPost, "/api/v1/calendars", f.vendorTok, map[string]any{"url": secret, "lead_seconds": -5}, http.StatusBadRequest, nil)
	f.call(http.MethodDelete, "/api/v1/calendars/"+c.ID, f.other, nil, http.StatusNotFound, nil)
	f.call(http.MethodDelete, "/api/v1/calendars/"+c.ID, f.vendorTok, nil, http.StatusNoContent, nil)
	f.call(http.MethodDelete, "/api/v1/calendars/"+c.ID, f.vendorTok, nil, http.StatusNotFound, nil)

	var domains struct{ Domains []string }
	f.call(http.MethodPut, "/api/v1/orgs/"+f.partner+"/domains", f.admin, map[string]any{"domains": []string{"Partner.example"}}, http.StatusOK, &domains)
	if len(domains.Domains) != 1 || domains.Domains[0] != "partner.example" {
		t.Fatalf("domains = %+v", domains)
	}
	f.call(http.MethodPut, "/api/v1/orgs/"+f.partner+"/domains", f.vendorTok, map[string]any{"domains": []string{"x.example"}}, http.StatusForbidden, nil)
}

// between returns the text of s between the first from and the to after it.
func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}
