package team

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/internal/browsertest"
	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/internal/pgtest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, nil))
}

// opener opens an empty store for one test.
type opener func(t *testing.T) Store

func sqliteStore(t *testing.T) Store {
	s, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "team.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func postgresStore(t *testing.T) Store {
	url := pgtest.Shared(t).NewDatabase(t)
	s, err := ledger.OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// both runs a test against a team server on SQLite and on PostgreSQL.
func both(t *testing.T, test func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) { test(t, sqliteStore) })
	t.Run("postgres", func(t *testing.T) { test(t, postgresStore) })
}

// fixture is a team server with a vendor, a partner and a stranger organisation, a deal the vendor
// owns and shares with the partner, and an API token for each.
type fixture struct {
	t                            *testing.T
	srv                          *httptest.Server
	store                        Store
	admin                        string
	vendor, partner, stranger    string // organisation IDs
	vendorTok, partnerTok, other string
}

func newFixture(t *testing.T, store Store) *fixture {
	t.Helper()
	leaktest.Check(t)
	f, ts := serveFixture(t, Config{Store: store})
	if again, err := ts.EnsureAdmin(context.Background()); again != "" || err != nil {
		t.Fatalf("second EnsureAdmin = %q, %v; want no new token", again, err)
	}
	f.vendor = f.org("Acme")
	f.partner = f.org("Partner Co")
	f.stranger = f.org("Elsewhere Ltd")
	f.vendorTok = f.token(f.vendor)
	f.partnerTok = f.token(f.partner)
	f.other = f.token(f.stranger)
	f.call(http.MethodPost, "/api/v1/deals", f.admin, map[string]string{"id": "deal-1", "name": "Big deal", "account": "Buyer Inc",
		"vendor_org": "Acme", "partner_org": "Partner Co"}, http.StatusCreated, nil)
	return f
}

// serveFixture serves a team server of cfg until the test ends, with its administrator's token and
// no organisation yet.
func serveFixture(t *testing.T, cfg Config) (*fixture, *Server) {
	t.Helper()
	ts, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ts.Handler())
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	admin, err := ts.EnsureAdmin(context.Background())
	if err != nil || admin == "" {
		t.Fatalf("EnsureAdmin = %q, %v", admin, err)
	}
	return &fixture{t: t, srv: srv, store: cfg.Store, admin: admin}, ts
}

// call makes an API request and checks its status; out, when set, receives the JSON answer.
func (f *fixture) call(method, path, token string, body any, want int, out any) []byte {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		f.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			f.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return data
}

func (f *fixture) org(name string) string {
	var o struct{ ID string }
	f.call(http.MethodPost, "/api/v1/orgs", f.admin, map[string]string{"name": name}, http.StatusCreated, &o)
	return o.ID
}

func (f *fixture) token(org string) string {
	var tok struct{ Token string }
	f.call(http.MethodPost, "/api/v1/tokens", f.admin, map[string]string{"org": org, "name": "laptop"}, http.StatusCreated, &tok)
	return tok.Token
}

// call of a meeting a laptop recorded: a speaker, what they said, and the commitment in it.
func laptopEvents(meeting string) []ledger.Event {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return []ledger.Event{
		{Seq: 1, Type: ledger.TypeMeetingState, Meeting: meeting, At: at, State: ledger.MeetingRecording, Reason: ledger.ReasonStarted},
		{Seq: 2, Type: ledger.TypeSpeakerUpdate, Meeting: meeting, At: at.Add(time.Second),
			Speaker: &ledger.SpeakerInfo{ID: "mic", Channel: "mic", Name: "Dana", Org: "Acme", Role: ledger.RoleVendor}},
		{Seq: 3, Type: ledger.TypeSegmentFinal, Meeting: meeting, At: at.Add(5 * time.Second),
			Segment: &ledger.SegmentInfo{ID: "s1", Channel: "mic", Speaker: "mic", StartMS: 1000, EndMS: 4000,
				Text: "We will send you the integration architecture by Thursday."}},
		{Seq: 4, Type: ledger.TypeCommitmentUpsert, Meeting: meeting, At: at.Add(6 * time.Second),
			Commitment: &ledger.CommitmentInfo{ID: "c1", What: "send the integration architecture", Owner: "Dana",
				Status: ledger.StatusOpen, Confidence: 0.9, Quote: "We will send you the integration architecture by Thursday.",
				SegmentIDs: []string{"s1"}, StartMS: 1000}},
	}
}

func batch(after int64, events []ledger.Event, deal string) map[string]any {
	return map[string]any{"origin": "laptop-1", "after": after, "events": events,
		"meeting": map[string]any{"title": "Architecture review", "deal": deal, "started_at": "2026-12-01T10:00:00Z", "timezone": "Europe/Madrid"}}
}

func TestSharedDealReachesPartnerNotStranger(t *testing.T) {
	both(t, func(t *testing.T, open opener) {
		f := newFixture(t, open(t))
		id := uuid.Must(uuid.NewV7()).String()
		events := laptopEvents(id)
		var ack struct{ Acked int64 }
		f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(0, events[:2], "deal-1"), http.StatusOK, &ack)
		if ack.Acked != 2 {
			t.Fatalf("acked %d after the first batch, want 2", ack.Acked)
		}
		// The ack of the second batch is lost: the laptop sends it again, with the first.
		f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(2, events[2:], "deal-1"), http.StatusOK, &ack)
		f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(0, events, "deal-1"), http.StatusOK, &ack)
		if ack.Acked != 4 {
			t.Fatalf("acked %d after a resend, want 4", ack.Acked)
		}
		var cursor struct{ Acked int64 }
		f.call(http.MethodGet, "/api/v1/meetings/"+id+"/import?origin=laptop-1", f.vendorTok, nil, http.StatusOK, &cursor)
		if cursor.Acked != 4 {
			t.Fatalf("import cursor %d, want 4", cursor.Acked)
		}

		// The partner sees the meeting, its events once each and in order, and finds it by search.
		var list []meetingJSON
		f.call(http.MethodGet, "/api/v1/meetings", f.partnerTok, nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].ID != id || list[0].Deal != "deal-1" || list[0].Title != "Architecture review" {
			t.Fatalf("partner's meetings = %+v, want the imported one", list)
		}
		var got []ledger.Event
		f.call(http.MethodGet, "/api/v1/meetings/"+id+"/events?since=0", f.partnerTok, nil, http.StatusOK, &got)
		if len(got) != len(events) {
			t.Fatalf("partner read %d events, want %d (no duplicates)", len(got), len(events))
		}
		for i, e := range got {
			if e.Seq != int64(i+1) || e.Type != events[i].Type || !e.At.Equal(events[i].At) {
				t.Fatalf("event %d = seq %d %s at %s, want seq %d %s at the laptop's %s", i, e.Seq, e.Type, e.At, i+1, events[i].Type, events[i].At)
			}
		}
		// Made on the server: a partner's edit. A laptop following the changes sees only that.
		done := ledger.StatusDone
		if _, err := f.store.EditCommitment(context.Background(), id, "c1", ledger.CommitmentEdit{Status: &done}, "Pat"); err != nil {
			t.Fatal(err)
		}
		var changes []ledger.Event
		f.call(http.MethodGet, "/api/v1/meetings/"+id+"/events?since=0&not_from=laptop-1", f.vendorTok, nil, http.StatusOK, &changes)
		if len(changes) != 1 || changes[0].Seq != 5 || changes[0].Commitment == nil || changes[0].Commitment.Status != done {
			t.Fatalf("events not from the laptop = %+v, want the partner's edit, seq 5", changes)
		}
		var hits []hitJSON
		f.call(http.MethodGet, "/api/v1/search?q=integration+architecture", f.partnerTok, nil, http.StatusOK, &hits)
		if len(hits) == 0 || hits[0].Meeting != id || !strings.Contains(hits[0].Link, "/m/"+id+"/recap") {
			t.Fatalf("partner's search = %+v, want hits in %s linking to its recap", hits, id)
		}

		// The stranger's organisation reaches nothing, and cannot tell the meeting exists.
		f.call(http.MethodGet, "/api/v1/meetings", f.other, nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Fatalf("stranger's meetings = %+v, want none", list)
		}
		for _, path := range []string{"/api/v1/meetings/" + id, "/api/v1/meetings/" + id + "/events", "/api/v1/meetings/" + id + "/recap",
			"/m/" + id + "/recap", "/m/" + id, "/d/deal-1", "/api/v1/meetings/no-such-meeting"} {
			f.call(http.MethodGet, path, f.other, nil, http.StatusNotFound, nil)
		}
		f.call(http.MethodGet, "/api/v1/search?q=architecture", f.other, nil, http.StatusOK, &hits)
		if len(hits) != 0 {
			t.Fatalf("stranger's search = %+v, want nothing", hits)
		}
		f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.other, batch(0, events[:1], ""), http.StatusNotFound, nil)

		// A batch that skips what the server holds is refused with where to resume.
		var gap struct {
			Error string
			Acked int64
		}
		late := events[0]
		late.Seq = 10
		f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(9, []ledger.Event{late}, "deal-1"), http.StatusConflict, &gap)
		if gap.Acked != 4 {
			t.Fatalf("409 says acked %d, want 4: %s", gap.Acked, gap.Error)
		}
		// The partner's pages work with its token too.
		f.call(http.MethodGet, "/m/"+id+"/recap?format=md", f.partnerTok, nil, http.StatusOK, nil)
		f.call(http.MethodGet, "/d/deal-1", f.partnerTok, nil, http.StatusOK, nil)
	})
}

func TestCredentialsAreChecked(t *testing.T) {
	f := newFixture(t, sqliteStore(t))
	f.call(http.MethodGet, "/api/v1/meetings", "", nil, http.StatusUnauthorized, nil)
	f.call(http.MethodGet, "/api/v1/meetings", "not-a-token", nil, http.StatusUnauthorized, nil)
	// Members may not create organisations nor manage another organisation.
	f.call(http.MethodPost, "/api/v1/orgs", f.vendorTok, map[string]string{"name": "Mine"}, http.StatusForbidden, nil)
	f.call(http.MethodPost, "/api/v1/tokens", f.partnerTok, map[string]string{"org": f.vendor, "name": "x"}, http.StatusForbidden, nil)
	// A revoked token stops working at once.
	var tok struct{ ID, Token string }
	f.call(http.MethodPost, "/api/v1/tokens", f.admin, map[string]string{"org": f.vendor, "name": "old laptop"}, http.StatusCreated, &tok)
	f.call(http.MethodGet, "/api/v1/meetings", tok.Token, nil, http.StatusOK, nil)
	f.call(http.MethodDelete, "/api/v1/tokens/"+tok.ID, f.admin, nil, http.StatusNoContent, nil)
	f.call(http.MethodGet, "/api/v1/meetings", tok.Token, nil, http.StatusUnauthorized, nil)
	// Tokens are stored only as digests.
	cs, err := f.store.Credentials(context.Background(), f.vendor, ledger.CredentialToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Digest == tok.Token || c.Digest == f.vendorTok || len(c.Digest) != 64 {
			t.Fatalf("credential %s stored as %q: want a SHA-256 digest", c.ID, c.Digest)
		}
	}
	// Oversized and malformed bodies are refused with what went wrong.
	big := strings.Repeat("x", MaxImportBytes)
	f.call(http.MethodPost, "/api/v1/meetings/m1/import", f.vendorTok, map[string]string{"origin": big}, http.StatusRequestEntityTooLarge, nil)
	f.call(http.MethodPost, "/api/v1/orgs", f.admin, map[string]any{"name": "x", "extra": 1}, http.StatusBadRequest, nil)
	f.call(http.MethodPost, "/api/v1/orgs", f.admin, map[string]string{"name": "Acme"}, http.StatusConflict, nil)
	f.call(http.MethodPost, "/api/v1/meetings/m1/import", f.vendorTok, batch(0, laptopEvents("m1")[:1], "no-such-deal"), http.StatusNotFound, nil)
}

// TestInviteSignsInOnce follows an invite link in a browser-like client: the page, the sign-in,
// the library with the shared meeting, and CSRF on changes made with the session.
func TestInviteSignsInOnce(t *testing.T) {
	f := newFixture(t, sqliteStore(t))
	id := uuid.Must(uuid.NewV7()).String()
	f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(0, laptopEvents(id), "deal-1"), http.StatusOK, nil)
	var inv struct{ Link string }
	f.call(http.MethodPost, "/api/v1/invites", f.admin, map[string]string{"org": "Partner Co", "role": "admin"}, http.StatusCreated, &inv)
	if !strings.HasPrefix(inv.Link, f.srv.URL+"/invite/") {
		t.Fatalf("invite link %q is not on the server's address", inv.Link)
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	get := func(u string, want int) string {
		t.Helper()
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d: %s", u, resp.StatusCode, want, b)
		}
		return string(b)
	}
	get(f.srv.URL+"/", http.StatusUnauthorized)
	// Opening the link (a mail scanner would) uses nothing up.
	get(inv.Link, http.StatusOK)
	get(inv.Link, http.StatusOK)
	resp, err := browser.PostForm(inv.Link, url.Values{"name": {"Pat"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("sign-in ended at %s with %d, want the library", resp.Request.URL, resp.StatusCode)
	}
	var session string
	for _, c := range jar.Cookies(resp.Request.URL) {
		if c.Name == sessionCookie {
			session = c.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie after signing in")
	}
	library := get(f.srv.URL+"/", http.StatusOK)
	for _, want := range []string{"Architecture review", "Big deal", `data-meeting="` + id + `"`, "Acme"} {
		if !strings.Contains(library, want) {
			t.Fatalf("library lacks %q:\n%s", want, library)
		}
	}
	if found := get(f.srv.URL+"/search?q=architecture", http.StatusOK); !strings.Contains(found, "/m/"+id+"/recap#seg-s1") {
		t.Fatalf("search page lacks a link to the segment:\n%s", found)
	}
	// The link lands on the segment's line of the recap.
	page := get(f.srv.URL+"/m/"+id+"/recap", http.StatusOK)
	if !strings.Contains(page, `id="seg-s1"`) {
		t.Fatalf("recap page has no target for the search's link:\n%s", page)
	}
	// Links relative to their page (they hold behind a proxy's path) land where they should.
	if deal := get(f.srv.URL+"/d/deal-1", http.StatusOK); !strings.Contains(deal, `<a href="../m/`+id+`/recap">`) {
		t.Fatalf("the deal page does not link the meeting's recap:\n%s", deal)
	}
	// Signed in, the downloads need no token: the session opens them.
	if !strings.Contains(page, `href="export/csv" download`) {
		t.Fatalf("recap page lacks the commitments' download:\n%s", page)
	}
	if csv := get(f.srv.URL+"/m/"+id+"/export/csv", http.StatusOK); !strings.Contains(csv, "send the integration architecture") {
		t.Fatalf("the commitments' download:\n%s", csv)
	}
	// The invite is used up.
	resp, err = (&http.Client{}).PostForm(inv.Link, url.Values{"name": {"Mallory"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("second sign-in with one invite: %d, want 404", resp.StatusCode)
	}

	// A change made with the session needs the page's CSRF token.
	post := func(csrf, origin string) int {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/api/v1/tokens", strings.NewReader(`{"org":"Partner Co","name":"script"}`))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set(csrfHeader, csrf)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("", ""); code != http.StatusForbidden {
		t.Fatalf("session change without a CSRF token: %d, want 403", code)
	}
	if code := post(csrfToken(session), "https://evil.example"); code != http.StatusForbidden {
		t.Fatalf("session change from another site: %d, want 403", code)
	}
	if code := post(csrfToken(session), f.srv.URL); code != http.StatusCreated {
		t.Fatalf("session change from the server's own page: %d, want 201", code)
	}
}

// TestViewersFollowImports checks that a partner watching a laptop's meeting live on the server
// gets what the laptop sends as it arrives, and resumes with since.
// A first batch refused (an event not valid, one of another meeting, one that does not follow)
// leaves no meeting behind: the corrected batch makes it, with its title and deal.
func TestARefusedFirstBatchMakesNoMeeting(t *testing.T) {
	f := newFixture(t, sqliteStore(t))
	id := uuid.Must(uuid.NewV7()).String()
	events := laptopEvents(id)
	bad := events[0]
	bad.State = "bogus-state"
	elsewhere := events[0]
	elsewhere.Meeting = "another-meeting"
	for _, b := range []map[string]any{batch(0, []ledger.Event{bad}, "deal-1"), batch(0, []ledger.Event{elsewhere}, "deal-1")} {
		f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, b, http.StatusBadRequest, nil)
		f.call(http.MethodGet, "/api/v1/meetings/"+id, f.vendorTok, nil, http.StatusNotFound, nil)
	}
	var gap struct{ Acked int64 }
	f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(2, events[2:], "deal-1"), http.StatusConflict, &gap)
	f.call(http.MethodGet, "/api/v1/meetings/"+id, f.vendorTok, nil, http.StatusNotFound, nil)
	if gap.Acked != 0 {
		t.Errorf("409 for a meeting not yet made says acked %d, want 0", gap.Acked)
	}
	f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(0, events, "deal-1"), http.StatusOK, nil)
	var m meetingJSON
	f.call(http.MethodGet, "/api/v1/meetings/"+id, f.partnerTok, nil, http.StatusOK, &m)
	if m.Title != "Architecture review" || m.Deal != "deal-1" {
		t.Errorf("meeting %+v, want the corrected batch's title and deal", m)
	}
}

func TestViewersFollowImports(t *testing.T) {
	both(t, func(t *testing.T, open opener) {
		f := newFixture(t, open(t))
		id := uuid.Must(uuid.NewV7()).String()
		events := laptopEvents(id)
		f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(0, events[:2], "deal-1"), http.StatusOK, nil)

		ws := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/m/" + id + "/ws?since=1"
		h := http.Header{"Authorization": {"Bearer " + f.partnerTok}}
		conn, resp, err := websocket.DefaultDialer.Dial(ws, h)
		if err != nil {
			t.Fatalf("partner's socket: %v (%v)", err, resp)
		}
		defer conn.Close()
		f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(2, events[2:], "deal-1"), http.StatusOK, nil)
		for want := int64(2); want <= 4; want++ {
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			var e ledger.Event
			if err := conn.ReadJSON(&e); err != nil {
				t.Fatalf("waiting for seq %d: %v", want, err)
			}
			if e.Seq != want {
				t.Fatalf("viewer got seq %d, want %d", e.Seq, want)
			}
		}
		_, resp, err = websocket.DefaultDialer.Dial(ws, http.Header{"Authorization": {"Bearer " + f.other}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("stranger's socket: %v, %v; want 404", err, resp)
		}
	})
}

func TestPublicURLBuildsLinks(t *testing.T) {
	store := sqliteStore(t)
	f, _ := serveFixture(t, Config{Store: store, PublicURL: "https://ledgerline.example.com/"})
	org := f.org("Acme")
	var inv struct{ Link string }
	f.call(http.MethodPost, "/api/v1/invites", f.admin, map[string]string{"org": org}, http.StatusCreated, &inv)
	if !strings.HasPrefix(inv.Link, "https://ledgerline.example.com/invite/") {
		t.Fatalf("invite link %q is not built on the public URL", inv.Link)
	}
	for _, bad := range []string{"ftp://x", "https://user:pw@x", "not a url"} {
		if _, err := New(Config{Store: store, PublicURL: bad}); err == nil {
			t.Errorf("public URL %q accepted", bad)
		}
	}
}

// proxy forwards TCP connections to a database, and can cut them all and refuse new ones, as a
// database that goes away (a restart, a network partition) does to the server.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(up, c); up.Close() }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes every connection and stops accepting new ones.
func (p *proxy) cut() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// restore accepts connections again, on the same address.
func (p *proxy) restore() { p.listen(p.addr) }

// A database that goes away makes the server unhealthy, not broken: it answers what needs no
// database, says it cannot answer the rest, and recovers once the database is back.
func TestDatabaseGoesAway(t *testing.T) {
	dbURL := pgtest.Shared(t).NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, u.Host)
	defer px.cut() // before the fixture's check for leaked goroutines
	u.Host = px.addr
	store, err := ledger.OpenPostgres(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	f := newFixture(t, store)
	id := uuid.Must(uuid.NewV7()).String()
	f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(0, laptopEvents(id)[:2], "deal-1"), http.StatusOK, nil)
	health := func() int {
		resp, err := http.Get(f.srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := health(); code != http.StatusOK {
		t.Fatalf("healthz %d before the database went away", code)
	}

	px.cut()
	if code := health(); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz %d with the database gone, want 503", code)
	}
	var e struct{ Error string }
	f.call(http.MethodGet, "/api/v1/meetings", f.partnerTok, nil, http.StatusServiceUnavailable, &e)
	if e.Error == "" || strings.Contains(e.Error, px.addr) {
		t.Fatalf("error with the database gone: %q; want a message that names no database", e.Error)
	}
	f.call(http.MethodGet, "/team/page.css", "", nil, http.StatusOK, nil)

	px.restore()
	deadline := time.Now().Add(30 * time.Second)
	for health() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("healthz still unhealthy 30 s after the database came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var ack struct{ Acked int64 }
	f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(2, laptopEvents(id)[2:], "deal-1"), http.StatusOK, &ack)
	if ack.Acked != 4 {
		t.Fatalf("acked %d after the database came back, want 4", ack.Acked)
	}
}

// A meeting's guest link opens it without an account until it is replaced or revoked.
func TestGuestLinks(t *testing.T) {
	f := newFixture(t, sqliteStore(t))
	id := uuid.Must(uuid.NewV7()).String()
	f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(0, laptopEvents(id), "deal-1"), http.StatusOK, nil)
	path := func(link string) string {
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		return u.RequestURI()
	}
	var first, second struct{ Overlay, Recap, Join string }
	f.call(http.MethodPost, "/api/v1/meetings/"+id+"/guest-link", f.vendorTok, nil, http.StatusOK, &first)
	f.call(http.MethodGet, path(first.Recap), "", nil, http.StatusOK, nil)
	// The meeting is opened here on demand by the first; the second guest is let in all the same.
	f.call(http.MethodGet, path(first.Overlay), "", nil, http.StatusOK, nil)
	f.call(http.MethodGet, path(first.Overlay), "", nil, http.StatusOK, nil)
	f.call(http.MethodPost, "/api/v1/meetings/"+id+"/guest-link", f.vendorTok, nil, http.StatusOK, &second)
	f.call(http.MethodGet, path(first.Recap), "", nil, http.StatusNotFound, nil)
	f.call(http.MethodGet, path(second.Recap), "", nil, http.StatusOK, nil)
	f.call(http.MethodDelete, "/api/v1/meetings/"+id+"/guest-link", f.partnerTok, nil, http.StatusNoContent, nil)
	f.call(http.MethodGet, path(second.Recap), "", nil, http.StatusNotFound, nil)
	f.call(http.MethodPost, "/api/v1/meetings/"+id+"/guest-link", f.other, nil, http.StatusNotFound, nil)
}

// quiet hears nothing: the server's own meetings run without a model.
type quiet struct{}

func (quiet) Transcribe(context.Context, []float32, asr.Options) (asr.Result, error) {
	return asr.Result{}, nil
}

// A meeting the server records itself is made through the API, with links its participants join
// by, and belongs to the caller's organisation and deal.
func TestCreateMeeting(t *testing.T) {
	store, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "team.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	host, err := agent.NewHost(agent.HostConfig{Store: store, Loopback: true,
		Load: func(context.Context) (asr.Engine, error) { return quiet{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	leaktest.Check(t)
	ts, err := New(Config{Store: store, Control: host, Recorder: host, Server: server.Config{Ingest: host.Ingest()}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ts.Handler())
	defer srv.Close()
	defer ts.Close()
	if err := host.Attach(ts.Overlay(), srv.URL); err != nil {
		t.Fatal(err)
	}
	admin, err := ts.EnsureAdmin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, srv: srv, store: store, admin: admin}
	f.vendor, f.partner, f.stranger = f.org("Acme"), f.org("Partner Co"), f.org("Elsewhere Ltd")
	f.vendorTok, f.partnerTok, f.other = f.token(f.vendor), f.token(f.partner), f.token(f.stranger)
	f.call(http.MethodPost, "/api/v1/deals", f.admin, map[string]string{"id": "deal-1", "name": "Big deal",
		"vendor_org": "Acme", "partner_org": "Partner Co"}, http.StatusCreated, nil)

	var made struct{ ID, Title, Deal, Overlay, Join, WHIP, Recap string }
	f.call(http.MethodPost, "/api/v1/meetings", f.vendorTok, map[string]string{"title": "Kick-off", "deal": "deal-1"}, http.StatusCreated, &made)
	if made.ID == "" || made.Title != "Kick-off" || made.WHIP != srv.URL+"/whip/"+made.ID ||
		!strings.HasPrefix(made.Join, srv.URL+"/m/"+made.ID+"/join?t=") {
		t.Fatalf("POST /api/v1/meetings = %+v", made)
	}
	rec, err := store.Meeting(context.Background(), made.ID)
	if err != nil || !rec.Hosted || rec.OrgID != f.vendor || rec.DealID != "deal-1" {
		t.Fatalf("stored meeting %+v, %v; want hosted, the vendor's, of deal-1", rec, err)
	}
	u, _ := url.Parse(made.Join)
	f.call(http.MethodGet, u.RequestURI(), "", nil, http.StatusOK, nil)
	// WHIP follows the one access rule too: the partner's API token may send audio to a meeting of
	// a deal shared with it for editing; a stranger's may not.
	rtc, err := ingest.NewAPI(ingest.APIConfig{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub, err := ingest.Publish(pctx, made.WHIP+"?name=Pat&org=partner", f.partnerTok, ingest.PublishOptions{Channel: "pat", API: rtc})
	if err != nil {
		t.Fatalf("the partner's API token sends audio: %v", err)
	}
	if err := pub.Close(pctx); err != nil {
		t.Logf("close the partner's publisher: %v", err)
	}
	if p, err := ingest.Publish(pctx, made.WHIP+"?name=Eve", f.other, ingest.PublishOptions{Channel: "eve", API: rtc}); err == nil {
		_ = p.Close(pctx)
		t.Error("a stranger's API token sent audio to the meeting")
	}
	// Answered as the API answers: a meeting the token does not reach is not found, as a missing
	// one is; one its organisation may only watch is refused as such; no token is asked for one.
	whip := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, made.WHIP+"?name=Eve", strings.NewReader("v=0\r\n"))
		req.Header.Set("Content-Type", "application/sdp")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := whip(f.other); code != http.StatusNotFound {
		t.Errorf("WHIP with a stranger's token: %d, want 404", code)
	}
	if code := whip(""); code != http.StatusUnauthorized {
		t.Errorf("WHIP without a token: %d, want 401", code)
	}
	if code := whip("not-a-token-of-anything"); code != http.StatusUnauthorized {
		t.Errorf("WHIP with a wrong token: %d, want 401", code)
	}

	f.call(http.MethodGet, "/api/v1/meetings/"+made.ID, f.partnerTok, nil, http.StatusOK, nil)
	f.call(http.MethodGet, "/api/v1/meetings/"+made.ID, f.other, nil, http.StatusNotFound, nil)
	// Its record is the server's own: a laptop cannot send events into it.
	f.call(http.MethodPost, "/api/v1/meetings/"+made.ID+"/import", f.vendorTok, batch(0, laptopEvents(made.ID), "deal-1"), http.StatusConflict, nil)
	// Bad requests say what is wrong.
	f.call(http.MethodPost, "/api/v1/meetings", f.vendorTok, map[string]string{"title": ""}, http.StatusBadRequest, nil)
	f.call(http.MethodPost, "/api/v1/meetings", f.other, map[string]string{"title": "x", "deal": "deal-1"}, http.StatusNotFound, nil)
	f.call(http.MethodPost, "/api/v1/meetings", f.vendorTok, map[string]string{"title": "x", "timezone": "Mars/Base"}, http.StatusBadRequest, nil)

	// Without an ingest, the server does not record meetings itself, and says so.
	plain := newFixture(t, sqliteStore(t))
	plain.call(http.MethodPost, "/api/v1/meetings", plain.vendorTok, map[string]string{"title": "x"}, http.StatusNotImplemented, nil)
	// Shared to watch only, it is refused as such.
	f.call(http.MethodPost, "/api/v1/deals/deal-1/shares", f.admin, map[string]string{"org": "Elsewhere Ltd", "level": "view"}, http.StatusOK, nil)
	if code := whip(f.other); code != http.StatusForbidden {
		t.Errorf("WHIP with a token of an organisation that may only watch: %d, want 403", code)
	}
}

// routes records the patterns registered on it.
type routes []string

func (r *routes) HandleFunc(pattern string, _ func(http.ResponseWriter, *http.Request)) {
	*r = append(*r, pattern)
}

// The OpenAPI document describes every route of the API, and no route that is not there.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	var r routes
	(&Server{}).registerAPI(&r)
	served := map[string]bool{}
	for _, pattern := range r {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			continue // the catch-all for unknown endpoints
		}
		served[method+" "+path] = true
		if !documented[method+" "+path] {
			t.Errorf("%s is served but not in openapi.json", pattern)
		}
	}
	for op := range documented {
		if !served[op] && op != "GET /healthz" {
			t.Errorf("%s is in openapi.json but not served by the API", op)
		}
	}
}

// Pages reached through a proxy keep their origin: the public URL's and the allowed ones are this
// server's own, whatever Host the proxy passes on.
func TestOwnOrigins(t *testing.T) {
	ts, err := New(Config{Store: sqliteStore(t), PublicURL: "https://ledgerline.example.com/team",
		Server: server.Config{AllowedOrigins: []string{"https://crm.example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/api/v1/tokens", nil)
	for origin, want := range map[string]bool{
		"http://127.0.0.1:8080":          true,
		"https://ledgerline.example.com": true,
		"https://CRM.example.com":        true,
		"https://evil.example":           false,
		"null":                           false,
	} {
		if got := ts.ownOrigin(r, origin); got != want {
			t.Errorf("ownOrigin(%q) = %v, want %v", origin, got, want)
		}
	}
}

// A long meeting's events are read in pages, each from the last seq of the one before.
func TestEventsInPages(t *testing.T) {
	f := newFixture(t, sqliteStore(t))
	id := uuid.Must(uuid.NewV7()).String()
	f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(0, laptopEvents(id), "deal-1"), http.StatusOK, nil)
	var seqs []int64
	for since := int64(0); ; {
		var page []ledger.Event
		f.call(http.MethodGet, fmt.Sprintf("/api/v1/meetings/%s/events?since=%d&limit=3", id, since), f.vendorTok, nil, http.StatusOK, &page)
		if len(page) > 3 {
			t.Fatalf("a page of %d events, want at most 3", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			seqs = append(seqs, e.Seq)
		}
		since = page[len(page)-1].Seq
	}
	if fmt.Sprint(seqs) != "[1 2 3 4]" {
		t.Fatalf("paged reads gave seqs %v, want 1..4 once each", seqs)
	}
	for _, bad := range []string{"0", "10001", "x"} {
		f.call(http.MethodGet, "/api/v1/meetings/"+id+"/events?limit="+bad, f.vendorTok, nil, http.StatusBadRequest, nil)
	}
}

// A person signs in from an invite in a real browser and signs out again: the pages' forms post
// from the server's own origin, which the browser must be let say.
func TestInviteSignInAndOutInChromium(t *testing.T) {
	f := newFixture(t, sqliteStore(t))
	var inv struct{ Link string }
	f.call(http.MethodPost, "/api/v1/invites", f.admin, map[string]string{"org": "Partner Co", "role": "admin"}, http.StatusCreated, &inv)
	ctx := browsertest.New(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(inv.Link),
		browsertest.WaitJS(`document.querySelector('input[name="name"]') !== null`),
		chromedp.SetValue(chromedp.CSS(`input[name="name"]`), "Pat"),
		chromedp.Click(chromedp.CSS(`form button`)),
		// The form's answer is a new page: wait for what it shows, not in the page that posted it.
		chromedp.WaitVisible(chromedp.CSS(`form[action="/signout"] button`)),
	)
	if err == nil {
		if path, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`)); path != "/" {
			t.Errorf("signed in at %q, want the library", path)
		}
		err = chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)),
			chromedp.WaitNotPresent(chromedp.CSS(`form[action="/signout"]`)),
		)
	}
	if err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + '\n' + document.body.innerText`))
		t.Fatalf("%v; the page:\n%s", err, page)
	}
	// Signed out, the library is closed again.
	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if open, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('form[action="/signout"]') !== null || document.body.innerText.includes('Meetings ·')`)); open {
		t.Error("the library still opens after signing out")
	}
}

// The library names a meeting's organisations as its deal does: someone who gave only their side
// is shown under the deal's organisation on it.
func TestLibraryNamesSidesByTheDeal(t *testing.T) {
	f := newFixture(t, sqliteStore(t))
	id := uuid.Must(uuid.NewV7()).String()
	events := laptopEvents(id)
	events[1].Speaker.Org = "" // Dana gave only her side
	events = append(events, ledger.Event{Seq: 5, Type: ledger.TypeSpeakerUpdate, Meeting: id, At: events[3].At.Add(time.Second),
		Speaker: &ledger.SpeakerInfo{ID: "ravi", Channel: "ravi", Name: "Ravi", Org: "partner", Role: ledger.RolePartner}})
	f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(0, events, "deal-1"), http.StatusOK, nil)
	page := string(f.call(http.MethodGet, "/", f.vendorTok, nil, http.StatusOK, nil))
	i := strings.Index(page, `data-meeting="`+id+`"`)
	if i < 0 {
		t.Fatalf("the library lacks the meeting:\n%s", page)
	}
	row := page[i:]
	if end := strings.Index(row, "</tr>"); end > 0 {
		row = row[:end]
	}
	if !strings.Contains(row, "Acme, Partner Co") || strings.Contains(row, "vendor") || strings.Contains(row, "partner,") || strings.Contains(row, ", partner") {
		t.Errorf("the library's row names the organisations as %q, want Acme, Partner Co", row)
	}
}

// A deal's shares name their organisations, by ID and by name, for people and scripts alike.
func TestDealSharesNameTheirOrganisations(t *testing.T) {
	f := newFixture(t, sqliteStore(t))
	var deals []struct {
		ID     string
		Shares []struct{ Org, Name, Level string }
	}
	f.call(http.MethodGet, "/api/v1/deals", f.vendorTok, nil, http.StatusOK, &deals)
	if len(deals) != 1 || len(deals[0].Shares) != 1 {
		t.Fatalf("deals %+v, want deal-1 shared once", deals)
	}
	if sh := deals[0].Shares[0]; sh.Org != f.partner || sh.Name != "Partner Co" || sh.Level != "edit" {
		t.Errorf("share %+v, want Partner Co (%s) for editing", sh, f.partner)
	}
}

// A deal's account obeys the rules of every name, and a deal is shared with organisations other than
// its owner: its owner has it already.
func TestDealRefusesAHiddenAccountAndItsOwnerAsPartner(t *testing.T) {
	f := newFixture(t, sqliteStore(t))
	for _, account := range []string{"Evil\u202eCorp", "two\nlines", strings.Repeat("a", 201)} {
		f.call(http.MethodPost, "/api/v1/deals", f.admin, map[string]string{"id": "d2", "name": "x", "vendor_org": "Acme", "account": account}, http.StatusBadRequest, nil)
	}
	f.call(http.MethodPost, "/api/v1/deals", f.admin, map[string]string{"id": "d2", "name": "x", "vendor_org": "Acme", "partner_org": "Acme"}, http.StatusBadRequest, nil)
	f.call(http.MethodPost, "/api/v1/deals/deal-1/shares", f.admin, map[string]string{"org": "Acme", "level": "view"}, http.StatusBadRequest, nil)
	f.call(http.MethodPost, "/api/v1/deals", f.admin, map[string]string{"id": "d2", "name": "x", "vendor_org": "Acme", "account": " Buyer Inc "}, http.StatusCreated, nil)
}

// Behind a reverse proxy that serves the team server under a path of its own (the public URL's),
// the pages' links, forms, stylesheet and redirects stay under that path.
func TestPagesBehindAProxyPath(t *testing.T) {
	store := sqliteStore(t)
	var upstream http.Handler
	proxy := httptest.NewServer(http.StripPrefix("/ledgerline", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstream.ServeHTTP(w, r)
	})))
	defer proxy.Close()
	f, ts := serveFixture(t, Config{Store: store, PublicURL: proxy.URL + "/ledgerline"})
	upstream = ts.Handler()
	f.vendor = f.org("Acme")
	f.vendorTok = f.token(f.vendor)
	f.call(http.MethodPost, "/api/v1/deals", f.admin, map[string]string{"id": "deal-1", "name": "Big deal", "vendor_org": "Acme"}, http.StatusCreated, nil)
	id := uuid.Must(uuid.NewV7()).String()
	f.call(http.MethodPost, "/api/v1/meetings/"+id+"/import", f.vendorTok, batch(0, laptopEvents(id), "deal-1"), http.StatusOK, nil)
	var inv struct{ Link string }
	f.call(http.MethodPost, "/api/v1/invites", f.admin, map[string]string{"org": "Acme"}, http.StatusCreated, &inv)
	if !strings.HasPrefix(inv.Link, proxy.URL+"/ledgerline/invite/") {
		t.Fatalf("invite link %q is not under the public URL", inv.Link)
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.PostForm(inv.Link, url.Values{"name": {"Pat"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/ledgerline/" {
		t.Fatalf("sign-in ended at %s with %d, want the library under /ledgerline/", resp.Request.URL, resp.StatusCode)
	}
	for _, want := range []string{`href="/ledgerline/team/page.css"`, `<a href="/ledgerline/">Library</a>`, `action="/ledgerline/search"`,
		`action="/ledgerline/signout"`, `href="/ledgerline/d/deal-1"`, `href="/ledgerline/m/` + id + `/recap"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the library lacks %s:\n%s", want, page)
		}
	}
	for _, path := range []string{"/ledgerline/team/page.css", "/ledgerline/d/deal-1", "/ledgerline/m/" + id + "/recap", "/ledgerline/search?q=architecture"} {
		resp, err := browser.Get(proxy.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s through the proxy: %d", path, resp.StatusCode)
		}
	}
}
