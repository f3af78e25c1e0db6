package mcpserver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/mcpserver"
	"github.com/ledgerline/ledgerline/team"
)

// The secrets of the fixture's API tokens.
const (
	tokenA = "secret-of-dana-s-assistant-0123456789abcdef"
	tokenC = "secret-of-wu-s-assistant-0123456789abcdef"
)

// teamServer serves st as a team server, on a real listener, with an API token for A and one for
// C; it returns the server's URL and an HTTP transport that the test's clients share.
func teamServer(t *testing.T, st store) (string, *http.Transport) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []ledger.Credential{
		{ID: "tok-a", Digest: digest(tokenA), Kind: ledger.CredentialToken, OrgID: orgA, Role: ledger.MemberMember, Name: callerA.Name},
		{ID: "tok-c", Digest: digest(tokenC), Kind: ledger.CredentialToken, OrgID: orgC, Role: ledger.MemberMember, Name: callerC.Name},
	} {
		if err := st.AddCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := team.New(team.Config{Store: st.(team.Store)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ts.Handler())
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
		_ = ts.Close()
	})
	return srv.URL, tr
}

// bearer sends every request with an API token.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// connectHTTP connects the SDK's own client to the team server's /mcp with token.
func connectHTTP(t *testing.T, base string, tr http.RoundTripper, token string) (*mcp.ClientSession, error) {
	t.Helper()
	transport := &mcp.StreamableClientTransport{Endpoint: base + "/mcp", HTTPClient: &http.Client{Transport: bearer{token, tr}},
		MaxRetries: -1}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test-assistant", Version: "1"}, nil).Connect(context.Background(), transport, nil)
	if err == nil {
		t.Cleanup(func() { _ = cs.Close() })
	}
	return cs, err
}

// The team server serves the tools at /mcp to the bearer tokens of its API: each request is
// answered by the access rule as the organisation its own token acts for, and an edit is recorded
// under the token's name.
func TestTeamServerHTTP(t *testing.T) {
	both(t, func(t *testing.T, st store) {
		leaktest.Check(t)
		base, tr := teamServer(t, st)
		a, err := connectHTTP(t, base, tr, tokenA)
		if err != nil {
			t.Fatal(err)
		}
		c, err := connectHTTP(t, base, tr, tokenC)
		if err != nil {
			t.Fatal(err)
		}
		// Calls of the two sessions interleaved: each answered as its own caller.
		for range 2 {
			var ms struct{ Meetings []meeting }
			mustCall(t, a, "list_meetings", nil, &ms)
			if got, want := meetingIDs(ms.Meetings), []string{meetingRenewal, meetingKickoff, meetingStandup}; !slices.Equal(got, want) {
				t.Errorf("A's meetings over HTTP: %v, want %v", got, want)
			}
			mustCall(t, c, "list_meetings", nil, &ms)
			if got := meetingIDs(ms.Meetings); !slices.Equal(got, []string{meetingSecret}) {
				t.Errorf("C's meetings over HTTP: %v, want only its own", got)
			}
		}
		if msg := call(t, a, "get_transcript", map[string]any{"meeting": meetingSecret}, nil); !strings.Contains(msg, "that you may see") {
			t.Errorf("A reads C's transcript over HTTP: %q", msg)
		}
		var found struct{ Hits []hit }
		mustCall(t, a, "search", map[string]any{"query": secretWord}, &found)
		if len(found.Hits) != 0 {
			t.Errorf("A finds C's words over HTTP: %+v", found.Hits)
		}

		var done struct{ Commitment commitment }
		mustCall(t, a, "mark_commitment_done", map[string]any{"meeting": meetingKickoff, "commitment": "c-pricing"}, &done)
		events, err := st.Since(context.Background(), meetingKickoff, 0)
		if err != nil {
			t.Fatal(err)
		}
		last := events[len(events)-1]
		if last.Type != ledger.TypeCommitmentUpsert || last.By != callerA.Name || last.Commitment.ID != "c-pricing" ||
			last.Commitment.Status != ledger.StatusDone {
			t.Errorf("marking done over HTTP recorded %+v; want a commitment.upsert by %q", last, callerA.Name)
		}
		if msg := call(t, c, "mark_commitment_done", map[string]any{"meeting": meetingKickoff, "commitment": "c-review"}, nil); !strings.Contains(msg, "that you may see") {
			t.Errorf("C marks A's commitment done over HTTP: %q", msg)
		}
	})
}

// /mcp lets in only what the API lets in: no token, or a wrong one, is 401 before any tool runs.
func TestTeamServerHTTPRefusals(t *testing.T) {
	leaktest.Check(t)
	base, tr := teamServer(t, seed(t, sqliteStore(t)))
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	for _, auth := range []string{"", "Bearer wrong-token", "Basic dXNlcjpwYXNz"} {
		req, err := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(initialize))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: %s, WWW-Authenticate %q; want 401 asking for a bearer token", auth, res.Status, res.Header.Get("WWW-Authenticate"))
		}
	}
	if _, err := connectHTTP(t, base, tr, "wrong-token"); err == nil {
		t.Error("the SDK's client connected with a wrong token")
	}
}

// The Server itself refuses an HTTP request whose context names no caller: it never stands in for
// the front's credential check.
func TestHTTPWithoutCaller(t *testing.T) {
	srv := newServer(t, seed(t, sqliteStore(t)))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(`{}`))
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("a request without a caller: %d, want 401", rec.Code)
	}
	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodGet, "/mcp", nil)
	srv.ServeHTTP(rec, req.WithContext(mcpserver.WithCaller(req.Context(), callerA)))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("a GET: %d, want 405 (the server keeps no sessions to stream)", rec.Code)
	}
}
