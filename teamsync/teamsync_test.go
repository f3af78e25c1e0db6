package teamsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/teamsync/synctest"
)

const token = "tok-3f9a"

// laptop is a laptop's store: a real SQLite file.
func laptop(t *testing.T) *ledger.SQLiteStore {
	t.Helper()
	return openLaptop(t, filepath.Join(t.TempDir(), "laptop.db"))
}

func openLaptop(t *testing.T, path string) *ledger.SQLiteStore {
	t.Helper()
	st, err := ledger.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newMeeting records a meeting of deal ("" for none) with n final segments.
func newMeeting(t *testing.T, st *ledger.SQLiteStore, id, deal string, n int) {
	t.Helper()
	ctx := context.Background()
	if deal != "" {
		if err := st.CreateDeal(ctx, ledger.Deal{ID: deal, Name: deal}); err != nil && !errors.Is(err, ledger.ErrExists) {
			t.Fatal(err)
		}
	}
	m := ledger.Meeting{ID: id, DealID: deal, Title: "Pricing call", Timezone: "Europe/Madrid", Language: "en",
		StartedAt: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
	if err := st.CreateMeeting(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, ledger.Event{Type: ledger.TypeMeetingState, Meeting: id, State: ledger.MeetingRecording}); err != nil {
		t.Fatal(err)
	}
	say(t, st, id, n-1, "")
}

// say appends n final segments to a meeting, each with text padded to at least pad bytes.
func say(t *testing.T, st ledger.Log, meeting string, n int, pad string) {
	t.Helper()
	for i := range n {
		text := fmt.Sprintf("we will send the quote by Friday, item %d %s", i, pad)
		if _, err := st.Append(context.Background(), ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: meeting,
			Segment: &ledger.SegmentInfo{ID: fmt.Sprintf("s%d-%d", time.Now().UnixNano(), i), Channel: "mic", Speaker: "me",
				StartMS: int64(i) * 1000, EndMS: int64(i)*1000 + 900, Text: text}}); err != nil {
			t.Fatal(err)
		}
	}
}

func newClient(t *testing.T, st Outbox, server, tok string) *Client {
	t.Helper()
	c, err := New(Config{Server: server, Token: tok, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// sameEvents fails unless the server holds exactly the laptop's events of a meeting: each once,
// in order, as recorded (the server numbering one origin's events as the laptop did).
func sameEvents(t *testing.T, st *ledger.SQLiteStore, srv *synctest.Server, meeting string) {
	t.Helper()
	want, err := st.Since(context.Background(), meeting, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := srv.Events(meeting)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("the server holds %d events, the laptop %d", len(got), len(want))
	}
	for i := range want {
		a, _ := json.Marshal(want[i])
		b, _ := json.Marshal(got[i])
		if string(a) != string(b) {
			t.Fatalf("event %d differs:\nlaptop %s\nserver %s", i+1, a, b)
		}
	}
}

func acked(t *testing.T, st *ledger.SQLiteStore, server, meeting string) int64 {
	t.Helper()
	ups, err := st.Uploads(context.Background(), server)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups {
		if u.MeetingID == meeting {
			return u.Acked
		}
	}
	t.Fatalf("meeting %s is not in the outbox for %s: %v", meeting, server, ups)
	return 0
}

// follow runs an Uploader for the meeting until the test ends.
func follow(t *testing.T, c *Client, meeting string) (*Uploader, func() error) {
	t.Helper()
	u, err := c.Follow(context.Background(), meeting)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	var result error
	stopped := false
	stop := func() error {
		if !stopped {
			cancel()
			result, stopped = <-done, true
		}
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return u, stop
}

func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// A meeting recorded before it was sent goes in batches within the limits, each acknowledged in
// the outbox; sending it again sends nothing.
func TestSendCatchesUpARecordedMeeting(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", token)
	st := laptop(t)
	newMeeting(t, st, "m1", "", 23)
	c := newClient(t, st, srv.URL+"/", token) // the slash is not part of the outbox's key
	c.maxEvents = 10

	var seen []Progress
	p, err := c.Send(context.Background(), "m1", func(p Progress) { seen = append(seen, p) })
	if err != nil {
		t.Fatal(err)
	}
	if p.Acked != 23 || p.Last != 23 || p.Pending() != 0 {
		t.Errorf("Send returned %+v, want 23 of 23 acknowledged", p)
	}
	if len(seen) != 3 || seen[0].Acked != 10 || seen[2].Acked != 23 {
		t.Errorf("progress %+v, want three batches: 10, 20, 23", seen)
	}
	sameEvents(t, st, srv, "m1")
	if got := acked(t, st, srv.URL, "m1"); got != 23 {
		t.Errorf("outbox acknowledged %d, want 23", got)
	}
	m, err := srv.Meeting("m1")
	if err != nil {
		t.Fatal(err)
	}
	if m.Title != "Pricing call" || m.Timezone != "Europe/Madrid" || m.Language != "en" || !m.StartedAt.Equal(time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("the server's record %+v is not the laptop's", m)
	}
	if s := srv.Stats(); s.Batches != 3 || s.Resent != 0 {
		t.Errorf("server stats %+v, want 3 batches and nothing resent", s)
	}

	out, err := c.Outbox(context.Background())
	if err != nil || len(out) != 1 || out[0].Pending() != 0 {
		t.Fatalf("Outbox %+v, %v; want m1 with nothing pending", out, err)
	}
	if _, err := c.Send(context.Background(), "m1", nil); err != nil {
		t.Fatal(err)
	}
	if s := srv.Stats(); s.Batches != 3 {
		t.Errorf("sending again posted %d batches, want none", s.Batches-3)
	}
}

// The same server named by another address (localhost for 127.0.0.1) is told the rest of the
// meeting, not all of it again.
func TestSendToTheSameServerByAnotherAddress(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", token)
	st := laptop(t)
	newMeeting(t, st, "m1", "", 5)
	if _, err := newClient(t, st, srv.URL, token).Send(context.Background(), "m1", nil); err != nil {
		t.Fatal(err)
	}
	say(t, st, "m1", 2, "")
	other := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	p, err := newClient(t, st, other, token).Send(context.Background(), "m1", nil)
	if err != nil || p.Acked != 7 {
		t.Fatalf("Send to %s: %+v, %v; want 7 acknowledged", other, p, err)
	}
	sameEvents(t, st, srv, "m1")
	if s := srv.Stats(); s.Events != 7 || s.Resent != 0 {
		t.Errorf("server stats %+v, want the 7 events sent once", s)
	}
	// A change made on the server comes back once, whichever address asks.
	rename(t, srv, "m1", "Dana")
	for i, server := range []string{srv.URL, other} {
		n, err := newClient(t, st, server, token).Receive(context.Background(), "m1")
		if err != nil || n != 1-i {
			t.Errorf("Receive from %s: %d, %v; want %d", server, n, err, 1-i)
		}
	}
}

// A batch stays within the byte limit; when the server finds one too large all the same (a proxy
// in front of it may take less), it is split until it passes.
func TestSendSplitsLargeBatches(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", token)
	st := laptop(t)
	newMeeting(t, st, "m1", "", 1)
	say(t, st, "m1", 30, strings.Repeat("x", 10<<10))
	c := newClient(t, st, srv.URL, token)

	c.maxBytes = 64 << 10
	if _, err := c.Send(context.Background(), "m1", nil); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, st, srv, "m1")
	if s := srv.Stats(); s.Batches < 5 || s.Largest > c.maxBytes {
		t.Errorf("stats %+v: want batches of at most %d bytes", s, c.maxBytes)
	}

	say(t, st, "m1", 30, strings.Repeat("y", 10<<10))
	c.maxBytes = MaxBatchBytes
	srv.SetMaxBatchBytes(40 << 10) // it answers 413, and the batch is halved until it passes
	if _, err := c.Send(context.Background(), "m1", nil); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, st, srv, "m1")
}

// A live meeting is sent as it is recorded, each event soon after it is appended, also when an
// answer is lost on the way; Drain then finds everything acknowledged.
func TestUploaderFollowsALiveMeeting(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", token)
	st := laptop(t)
	newMeeting(t, st, "live", "", 3)
	c := newClient(t, st, srv.URL, token)
	u, stop := follow(t, c, "live")
	ctx := within(t, 30*time.Second)

	if err := srv.Wait(ctx, "live", 3); err != nil {
		t.Fatal(err)
	}
	for i := 4; i <= 12; i++ {
		if i == 8 {
			srv.SetFault(synctest.DropAck)
		}
		say(t, st, "live", 1, "")
		if err := srv.Wait(ctx, "live", i); err != nil {
			t.Fatal(err)
		}
	}
	var shown []Progress
	p, err := u.Drain(ctx, 10*time.Second, func(p Progress) { shown = append(shown, p) })
	if err != nil || p.Acked != 12 || u.Pending() != 0 {
		t.Fatalf("Drain: %+v, %v; want all 12 acknowledged", p, err)
	}
	if len(shown) == 0 || shown[len(shown)-1].Acked != 12 {
		t.Errorf("Drain showed %+v", shown)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	sameEvents(t, st, srv, "live")
	if s := srv.Stats(); s.Resent != 0 {
		t.Errorf("%d events were sent twice: after the lost answer, the server is asked how far it holds the meeting", s.Resent)
	}
	if got := acked(t, st, srv.URL, "live"); got != 12 {
		t.Errorf("outbox acknowledged %d after Run returned, want 12", got)
	}
}

// While the server is down the events wait, Drain tells how many, and once it is up they all
// arrive, once each.
func TestUploaderWaitsForTheServer(t *testing.T) {
	leaktest.Check(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there until the server starts

	st := laptop(t)
	newMeeting(t, st, "m1", "", 4)
	c := newClient(t, st, "http://"+addr, token)
	u, stop := follow(t, c, "m1")
	say(t, st, "m1", 3, "")

	p, err := u.Drain(context.Background(), time.Second, nil)
	if !errors.Is(err, ErrPending) || Permanent(err) || p.Pending() != 7 || u.Pending() != 7 {
		t.Fatalf("Drain with the server down: %+v (pending %d), %v; want ErrPending with 7 events", p, p.Pending(), err)
	}
	if p.Err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("Drain does not say the server is unreachable: %v (last failure %v)", err, p.Err)
	}

	srv := synctest.StartFaulty(t, addr, token, synctest.Unavailable) // up, but not ready yet
	if _, err := u.Drain(context.Background(), time.Second, nil); !errors.Is(err, ErrPending) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Drain with the server answering 503: %v", err)
	}
	srv.SetFault(synctest.None)
	say(t, st, "m1", 2, "")
	if p, err := u.Drain(context.Background(), 30*time.Second, nil); err != nil || p.Acked != 9 {
		t.Fatalf("Drain with the server up: %+v, %v", p, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, st, srv, "m1")
	if s := srv.Stats(); s.Resent != 0 {
		t.Errorf("%d events sent twice", s.Resent)
	}
}

// The upload never holds up the recording: while the server takes its time, the store's
// subscription overflows (partials, finals) and is replaced, and nothing is lost for it.
func TestUploaderFallsBehindWithoutLoss(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", token)
	st := laptop(t)
	newMeeting(t, st, "m1", "", 2)
	c := newClient(t, st, srv.URL, token)
	srv.SetFault(synctest.Stall)
	u, stop := follow(t, c, "m1")
	for i := range 2 * subscribeBuffer {
		if err := st.Publish(ledger.Event{Type: ledger.TypeSegmentPartial, Meeting: "m1",
			Segment: &ledger.SegmentInfo{ID: "p", Channel: "mic", Text: fmt.Sprint("we will ", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	say(t, st, "m1", 5, "")
	if p, err := u.Drain(context.Background(), 100*time.Millisecond, nil); !errors.Is(err, ErrPending) || p.Pending() != 7 {
		t.Fatalf("Drain with the server stalled: %+v, %v", p, err)
	}
	srv.SetFault(synctest.None)
	if p, err := u.Drain(within(t, 30*time.Second), 20*time.Second, nil); err != nil || p.Acked != 7 {
		t.Fatalf("Drain: %+v, %v", p, err)
	}
	say(t, st, "m1", 1, "") // followed live again, on a new subscription
	if err := srv.Wait(within(t, 30*time.Second), "m1", 8); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, st, srv, "m1")
}

// A batch the server stored but whose answer was lost is not sent again, even after the laptop
// was stopped before it could learn the ack.
func TestLostAckAcrossARestart(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", token)
	path := filepath.Join(t.TempDir(), "laptop.db")
	st := openLaptop(t, path)
	newMeeting(t, st, "m1", "", 5)
	c := newClient(t, st, srv.URL, token)
	srv.SetFault(synctest.DropAck)
	p, err := c.Send(context.Background(), "m1", nil)
	if err == nil || Permanent(err) || p.Acked != 0 {
		t.Fatalf("Send with its answer lost: %+v, %v; want a temporary error and nothing acknowledged", p, err)
	}
	say(t, st, "m1", 2, "")
	st.Close() // killed before it could try again

	st = openLaptop(t, path)
	c = newClient(t, st, srv.URL, token)
	if p, err := c.Send(context.Background(), "m1", nil); err != nil || p.Acked != 7 {
		t.Fatalf("Send after the restart: %+v, %v", p, err)
	}
	sameEvents(t, st, srv, "m1")
	if s := srv.Stats(); s.Resent != 0 || s.Batches != 2 {
		t.Errorf("stats %+v: want two batches and nothing sent twice", s)
	}
}

// A server that holds less than it acknowledged (restored from a backup) answers 409 with what
// it holds, and is sent the rest from there.
func TestServerRestoredFromABackup(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", token)
	st := laptop(t)
	newMeeting(t, st, "m1", "", 6)
	c := newClient(t, st, srv.URL, token)
	u, stop := follow(t, c, "m1")
	ctx := within(t, 30*time.Second)
	if _, err := u.Drain(ctx, 10*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	srv.Forget()
	say(t, st, "m1", 3, "")
	if p, err := u.Drain(ctx, 10*time.Second, nil); err != nil || p.Acked != 9 {
		t.Fatalf("Drain after the server lost the meeting: %+v, %v", p, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := srv.Stats(); s.Gaps != 1 {
		t.Errorf("%d batches answered 409, want 1", s.Gaps)
	}
	sameEvents(t, st, srv, "m1")
}

// A wrong token stops the upload at once with an error that says so; it is not tried again.
func TestWrongTokenStops(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", token)
	st := laptop(t)
	newMeeting(t, st, "m1", "", 2)
	c := newClient(t, st, srv.URL, "not-the-token")
	if _, err := c.Send(context.Background(), "m1", nil); !errors.Is(err, ErrUnauthorized) || !Permanent(err) ||
		!strings.Contains(err.Error(), "token") || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Send with a wrong token: %v", err)
	}
	u, stop := follow(t, c, "m1")
	p, err := u.Drain(within(t, 30*time.Second), 20*time.Second, nil)
	if !errors.Is(err, ErrUnauthorized) || p.Pending() != 2 {
		t.Fatalf("Drain: %+v, %v; want ErrUnauthorized with 2 pending", p, err)
	}
	if err := stop(); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Run returned %v", err)
	}
	if s := srv.Stats(); s.Gets != 0 {
		t.Errorf("the server answered %d requests", s.Gets)
	}
}

// A meeting of a deal the server does not know is refused as not visible; once the deal is
// there, it goes.
func TestDealNotOnTheServer(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", token)
	st := laptop(t)
	newMeeting(t, st, "m1", "acme-renewal", 2)
	c := newClient(t, st, srv.URL, token)
	if _, err := c.Send(context.Background(), "m1", nil); !errors.Is(err, ErrNotVisible) || !strings.Contains(err.Error(), "deal") {
		t.Fatalf("Send: %v, want ErrNotVisible", err)
	}
	srv.AddDeal("acme-renewal")
	if _, err := c.Send(context.Background(), "m1", nil); err != nil {
		t.Fatal(err)
	}
	if m, err := srv.Meeting("m1"); err != nil || m.DealID != "acme-renewal" {
		t.Fatalf("server's meeting %+v, %v", m, err)
	}
}

// A server that holds more from this laptop's origin than its store (restored from an older copy)
// is not sent anything: what the laptop records now would be taken for what the server holds.
func TestStoreOlderThanTheServer(t *testing.T) {
	leaktest.Check(t)
	srv := synctest.Start(t, "", token)
	st := laptop(t)
	newMeeting(t, st, "m1", "", 5)
	c := newClient(t, st, srv.URL, token)
	if _, err := c.Send(context.Background(), "m1", nil); err != nil {
		t.Fatal(err)
	}
	ups, err := st.Uploads(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}

	older := laptop(t) // the same upload, with fewer events
	newMeeting(t, older, "m1", "", 3)
	ups[0].Acked = 2
	if err := older.AddUpload(context.Background(), ups[0]); err != nil {
		t.Fatal(err)
	}
	co := newClient(t, older, srv.URL, token)
	if _, err := co.Send(context.Background(), "m1", nil); !errors.Is(err, ErrDiverged) {
		t.Fatalf("Send: %v, want ErrDiverged", err)
	}
	if got := acked(t, older, srv.URL, "m1"); got != 2 {
		t.Errorf("outbox acknowledged %d, want 2 as before", got)
	}
}

// A redirect is not followed (the token would go with it): the user is told the address.
func TestRedirectIsNotFollowed(t *testing.T) {
	leaktest.Check(t)
	srv := httptest.NewServer(http.RedirectHandler("https://elsewhere.example/api", http.StatusPermanentRedirect))
	t.Cleanup(srv.Close)
	st := laptop(t)
	newMeeting(t, st, "m1", "", 1)
	c := newClient(t, st, srv.URL, token)
	if _, err := c.Send(context.Background(), "m1", nil); !Permanent(err) || !strings.Contains(err.Error(), "https://elsewhere.example") {
		t.Fatalf("Send: %v", err)
	}
}

func TestParseServer(t *testing.T) {
	for in, want := range map[string]string{
		"https://Team.Example.com":        "https://team.example.com",
		"https://team.example.com/":       "https://team.example.com",
		"http://127.0.0.1:8080/ledger///": "http://127.0.0.1:8080/ledger",
		"https://[::1]:9/x":               "https://[::1]:9/x",
	} {
		if got, err := ParseServer(in); err != nil || got != want {
			t.Errorf("ParseServer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"":                              "no server",
		"team.example.com":              "http://",
		"ftp://team.example.com":        "http://",
		"https://bob:pw@team.example":   "user or password",
		"https://team.example/?t=1":     "query",
		"https://team.example/#x":       "fragment",
		"https://:443":                  "no host",
		"https://team.example:99999999": "port",
	} {
		if _, err := ParseServer(in); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseServer(%q): %v; want an error about %s", in, err, why)
		}
	}
	for _, tok := range []string{"", "a b", "a\nb", "tök"} {
		if CheckToken(tok) == nil {
			t.Errorf("CheckToken(%q) passed", tok)
		}
	}
}
