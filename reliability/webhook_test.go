package reliability

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/followup"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
	"github.com/ledgerline/ledgerline/stream"
	"github.com/ledgerline/ledgerline/webhook"
)

// The link a webhook carries off the machine is the meeting's recap link and no more: it opens the
// recap and its exports, and is refused (403) for every control (pause, resume, renaming a speaker,
// editing a commitment), for the live overlay and its socket, for the join page and declining, and
// (401) for sending audio. Checked while the meeting's own server still serves it (the webhook is
// sent as the meeting finishes), and after it, by a server started again on the same store.
func TestWebhookLinkOpensOnlyTheRecap(t *testing.T) {
	skipShort(t)
	ctx := background(t, 2*time.Minute)
	store := openStore(t)
	delivered := make(chan webhook.Summary, 1)
	checked := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(checked) }) }
	defer release()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s webhook.Summary
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case delivered <- s:
		default: // a retry: the first delivery is being checked
		}
		// The meeting finishes once the webhook is answered: hold it while its links are tried.
		select {
		case <-checked:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	var m *agent.Meeting
	follow, err := followup.New(followup.Config{Store: store,
		Notifier: webhook.Notifier{Endpoints: []webhook.Endpoint{{URL: receiver.URL, Format: webhook.JSON}}},
		RecapURL: func(ledger.Meeting) string { return m.RecapURL() }})
	if err != nil {
		t.Fatal(err)
	}
	m, err = agent.StartMeeting(ctx, agent.MeetingConfig{Store: store, Listen: "127.0.0.1:0", Title: "Pricing call",
		Finished: func(ctx context.Context) {
			if _, err := follow.Sweep(ctx, follow.Deliver); err != nil {
				t.Error(err)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = m.Close() }()
	base, meeting, token := splitLink(t, m.OverlayURL())
	mic, err := stream.NewReplaySamples(speech(t, 4), "mic", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Transcribe(ctx, agent.Config{Sources: []stream.Source{mic}, Speakers: map[string]agent.Speaker{"mic": {Name: "Dana", Role: ledger.RoleVendor}}},
		loadSaying("I will send you the pricing by Friday.")); err != nil {
		t.Fatal(err)
	}
	finished := make(chan error, 1)
	go func() { finished <- m.Finish(ctx) }()
	var summary webhook.Summary
	select {
	case summary = <-delivered:
	case err := <-finished:
		t.Fatalf("the meeting finished (%v) without sending its webhook", err)
	case <-time.After(time.Minute):
		t.Fatal("no webhook within a minute of the meeting's end")
	}
	if summary.Meeting.ID != meeting || summary.RecapURL == "" {
		t.Fatalf("webhook for meeting %q with recap link %q; want meeting %s and its recap link", summary.Meeting.ID, redact(summary.RecapURL), meeting)
	}
	recapBase, recapMeeting, recapToken := splitLink(t, summary.RecapURL)
	if recapBase != base || recapMeeting != meeting {
		t.Fatalf("the webhook's recap link points at %s, meeting %s; want %s, meeting %s", recapBase, recapMeeting, base, meeting)
	}
	if recapToken == token || recapToken != server.ScopedToken(token, server.ScopeRecap) {
		t.Fatal("the webhook carries a token other than the meeting's recap-scoped one")
	}
	commitment := "c1"
	if len(summary.Commitments) > 0 {
		commitment = summary.Commitments[0].ID
	}
	t.Logf("webhook: %d participants, %d commitments", len(summary.Participants), len(summary.Commitments))

	// While the meeting's own server serves it: the meeting's own token still opens the overlay,
	// so what the recap link is refused is refused for its scope.
	if code, _ := request(t, http.DefaultClient, http.MethodGet, base+server.PagePath(meeting, token), "", "", nil); code != http.StatusOK {
		t.Fatalf("the overlay with the meeting's own token: %d, want 200", code)
	}
	checkRecapOnly(t, base, meeting, summary.RecapURL, recapToken, commitment, true)
	release()
	if err := <-finished; err != nil {
		t.Errorf("Finish: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// The same link, given to a server started again on the store: the recap link outlives the
	// process that sent it, with its scope.
	srv, err := server.New(server.Config{Log: store, Records: store, Control: store, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	again := "http://" + addr.String()
	checkRecapOnly(t, again, meeting, again+server.RecapPath(meeting, token), recapToken, commitment, false)
	rename := again + "/m/" + meeting + "/speakers/mic?t=" + url.QueryEscape(token)
	if code, body := request(t, http.DefaultClient, http.MethodPost, rename, "application/json", `{"name":"Dana Reyes"}`,
		map[string]string{"X-Ledgerline": "1"}); code != http.StatusOK {
		t.Errorf("a rename with the meeting's own token, after the restart: %d %q, want 200", code, body)
	}
}

// checkRecapOnly checks that the recap link opens the recap and its exports and nothing else.
func checkRecapOnly(t *testing.T, base, meeting, recapURL, recapToken, commitment string, live bool) {
	t.Helper()
	get := func(path string) (int, string) {
		t.Helper()
		return request(t, http.DefaultClient, http.MethodGet, base+path, "", "", nil)
	}
	if code, body := request(t, http.DefaultClient, http.MethodGet, recapURL, "", "", nil); code != http.StatusOK || !strings.Contains(body, "Pricing call") {
		t.Errorf("the recap link: %d, want 200 and the recap", code)
	}
	for _, kind := range []string{"vtt", "csv", "json", "ics"} {
		if code, _ := get(server.ExportPath(meeting, kind, recapToken)); code != http.StatusOK {
			t.Errorf("the %s export with the recap link: %d, want 200", kind, code)
		}
	}
	m, q := "/m/"+url.PathEscape(meeting), "?t="+url.QueryEscape(recapToken)
	for _, path := range []string{"/pause", "/resume", "/speakers/mic", "/commitments/" + url.PathEscape(commitment), "/join/decline"} {
		code, body := request(t, http.DefaultClient, http.MethodPost, base+m+path+q, "application/json", `{"name":"Mallory"}`,
			map[string]string{"X-Ledgerline": "1"})
		if code != http.StatusForbidden || !strings.Contains(body, "recap link") {
			t.Errorf("POST %s with the recap link: %d %q, want 403 saying it is a recap link", path, code, body)
		}
	}
	for _, path := range []string{"", "/join"} {
		if code, _ := get(m + path + q); code != http.StatusForbidden {
			t.Errorf("GET %s with the recap link: %d, want 403", m+path, code)
		}
	}
	c, resp, err := websocket.DefaultDialer.Dial(wsURL(base, m+"/ws"+q), nil)
	if err == nil {
		c.Close()
		t.Error("the recap link opened the live socket")
	} else if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("the live socket with the recap link: %v, want 403", err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	if live {
		code, body := request(t, http.DefaultClient, http.MethodPost, base+"/whip/"+url.PathEscape(meeting)+"?name=Mallory", "application/sdp", offerSDP(t),
			map[string]string{"Authorization": "Bearer " + recapToken})
		if code != http.StatusUnauthorized {
			t.Errorf("a WHIP publisher with the recap link: %d %q, want 401", code, body)
		}
	}
}
