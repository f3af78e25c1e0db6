package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/leaktest"
)

const (
	adminTestToken  = "llt_0d9c2f7e6b5a4f3e8d1c0b9a8f7e6d5c" // the server administrator's
	memberTestToken = "llt_5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b" // a member of Acme's
)

// adminFake is the part of a team server's API that 'ledgerline admin' calls, answering as the
// server does (docs/api.md), and recording each request it gets.
type adminFake struct {
	t   *testing.T
	srv *httptest.Server

	mu   sync.Mutex
	reqs []adminFakeRequest
}

type adminFakeRequest struct {
	Method, Path, Query, Auth string
	Body                      map[string]string
}

func newAdminFake(t *testing.T) *adminFake {
	f := &adminFake{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/orgs", f.auth(true, func(w http.ResponseWriter, r *http.Request, body map[string]string) {
		if !f.fields(w, body, "name") {
			return
		}
		if body["name"] == "Taken" {
			adminFakeJSON(w, http.StatusConflict, map[string]string{"error": `an organisation named "Taken" exists`})
			return
		}
		adminFakeJSON(w, http.StatusCreated, map[string]string{"id": "org_acme", "name": body["name"], "created_at": "2026-03-05T14:30:00.123Z"})
	}))
	mux.HandleFunc("GET /api/v1/orgs", f.auth(false, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		adminFakeJSON(w, http.StatusOK, []map[string]string{
			{"id": "org_acme", "name": "Acme", "created_at": "2026-03-05T14:30:00.123Z"},
			{"id": "org_globex", "name": "Globex", "created_at": "2026-03-05T14:31:00Z"},
		})
	}))
	mux.HandleFunc("POST /api/v1/tokens", f.auth(false, func(w http.ResponseWriter, r *http.Request, body map[string]string) {
		if !f.fields(w, body, "org", "name", "role") || !f.knownOrg(w, body["org"]) {
			return
		}
		adminFakeJSON(w, http.StatusCreated, map[string]string{"id": "tok_1", "token": "llt_new0123456789abcdef0123456789ab",
			"org": "org_acme", "name": body["name"], "role": body["role"], "created_at": "2026-03-05T14:32:00Z"})
	}))
	mux.HandleFunc("GET /api/v1/tokens", f.auth(false, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		if org := r.URL.Query().Get("org"); org != "" && !f.knownOrg(w, org) {
			return
		}
		adminFakeJSON(w, http.StatusOK, []map[string]string{
			{"id": "tok_1", "org": "org_acme", "name": "dana's laptop", "role": "member", "created_at": "2026-03-05T14:32:00Z"},
			{"id": "tok_2", "org": "org_acme", "name": "ci", "role": "admin", "created_at": "2026-03-05T14:33:00Z", "revoked_at": "2026-03-06T09:00:00Z"},
		})
	}))
	mux.HandleFunc("DELETE /api/v1/tokens/{id}", f.auth(false, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		if r.PathValue("id") != "tok_1" {
			adminFakeJSON(w, http.StatusNotFound, map[string]string{"error": "no such token"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /api/v1/invites", f.auth(false, func(w http.ResponseWriter, r *http.Request, body map[string]string) {
		if !f.fields(w, body, "org", "role", "expires_in") || !f.knownOrg(w, body["org"]) {
			return
		}
		adminFakeJSON(w, http.StatusCreated, map[string]string{"id": "inv_1", "link": "https://team.example.com/invite/4f1c9a2b7d8e6f50",
			"org": "org_acme", "role": body["role"], "expires_at": "2026-03-08T14:30:00Z"})
	}))
	deal := map[string]any{"id": "acme-q3", "name": "Acme Q3", "account": "Initech", "vendor": "Acme", "partner": "Globex",
		"owner_org": "org_acme", "shares": []map[string]string{{"org": "Globex", "level": "edit"}},
		"page": "https://team.example.com/d/acme-q3"}
	mux.HandleFunc("POST /api/v1/deals", f.auth(false, func(w http.ResponseWriter, r *http.Request, body map[string]string) {
		if !f.fields(w, body, "id", "name", "account", "vendor_org", "partner_org", "partner_level") {
			return
		}
		if v := body["vendor_org"]; v != "" && !f.knownOrg(w, v) {
			return
		}
		if body["id"] == "taken" {
			adminFakeJSON(w, http.StatusConflict, map[string]string{"error": `a deal "taken" exists`})
			return
		}
		adminFakeJSON(w, http.StatusCreated, deal)
	}))
	mux.HandleFunc("GET /api/v1/deals", f.auth(false, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		adminFakeJSON(w, http.StatusOK, []any{deal})
	}))
	mux.HandleFunc("POST /api/v1/deals/{id}/shares", f.auth(false, func(w http.ResponseWriter, r *http.Request, body map[string]string) {
		if !f.fields(w, body, "org", "level") {
			return
		}
		if r.PathValue("id") != "acme-q3" {
			adminFakeJSON(w, http.StatusNotFound, map[string]string{"error": "no such deal"})
			return
		}
		shared := maps.Clone(deal)
		shared["shares"] = []map[string]string{{"org": "Globex", "level": "edit"}, {"org": body["org"], "level": body["level"]}}
		adminFakeJSON(w, http.StatusOK, shared)
	}))
	mux.HandleFunc("POST /api/v1/meetings", f.auth(false, func(w http.ResponseWriter, r *http.Request, body map[string]string) {
		if !f.fields(w, body, "title", "deal") {
			return
		}
		if d := body["deal"]; d != "" && d != "acme-q3" {
			adminFakeJSON(w, http.StatusNotFound, map[string]string{"error": "no such deal"})
			return
		}
		base := "https://team.example.com"
		adminFakeJSON(w, http.StatusCreated, map[string]string{"id": "m-7c1e", "title": body["title"], "deal": body["deal"],
			"overlay": base + "/m/m-7c1e?t=v13w", "join": base + "/m/m-7c1e/join?t=j01n", "whip": base + "/whip/m-7c1e",
			"recap": base + "/m/m-7c1e/recap?t=v13w"})
	}))
	mux.HandleFunc("GET /api/v1/meetings", f.auth(false, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		adminFakeJSON(w, http.StatusOK, []map[string]any{
			{"id": "m-7c1e", "title": "Kickoff", "deal": "acme-q3", "org": "org_acme", "started_at": "2026-03-05T15:00:00Z",
				"state": "recording", "last_seq": 42, "overlay": "https://team.example.com/m/m-7c1e?t=v13w"},
			{"id": "m-0a9b", "title": "Intro", "deal": "", "org": "org_acme", "started_at": "2026-03-04T10:00:00.5Z",
				"state": "stopped", "last_seq": 7},
		})
	}))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// auth records a request, checks its token and, for a POST, that its body is one JSON object of
// strings, then calls h. Only the administrator's token may call an adminOnly handler.
func (f *adminFake) auth(adminOnly bool, h func(http.ResponseWriter, *http.Request, map[string]string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := adminFakeRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization")}
		if r.Method == http.MethodPost {
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				f.t.Errorf("%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
			}
			dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
			if err := dec.Decode(&req.Body); err != nil || dec.More() {
				f.t.Errorf("%s %s: body is not one JSON object of strings: %v", r.Method, r.URL.Path, err)
				adminFakeJSON(w, http.StatusBadRequest, map[string]string{"error": "the body is not a JSON object"})
				return
			}
		}
		if a := r.Header.Get("Accept"); a != "application/json" {
			f.t.Errorf("%s %s: Accept %q, want application/json", r.Method, r.URL.Path, a)
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		switch req.Auth {
		case "Bearer " + adminTestToken:
		case "Bearer " + memberTestToken:
			if adminOnly {
				adminFakeJSON(w, http.StatusForbidden, map[string]string{"error": "only the server's administrator may create organisations"})
				return
			}
		default:
			adminFakeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing, unknown or revoked token"})
			return
		}
		h(w, r, req.Body)
	}
}

// fields refuses a body with a field the API does not take there, as the server's strict
// decoding does.
func (f *adminFake) fields(w http.ResponseWriter, body map[string]string, allowed ...string) bool {
	for k := range body {
		if !slices.Contains(allowed, k) {
			f.t.Errorf("unknown field %q in %v", k, body)
			adminFakeJSON(w, http.StatusBadRequest, map[string]string{"error": "unknown field " + k})
			return false
		}
	}
	return true
}

// knownOrg answers 404 for an organisation that is neither Acme's id nor its name.
func (f *adminFake) knownOrg(w http.ResponseWriter, org string) bool {
	if org != "Acme" && org != "org_acme" {
		adminFakeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no organisation %q", org)})
		return false
	}
	return true
}

func adminFakeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// requests returns the requests the server got so far.
func (f *adminFake) requests() []adminFakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]adminFakeRequest(nil), f.reqs...)
}

// last returns the one request the server got, failing the test when it got another number.
func (f *adminFake) last(t *testing.T) adminFakeRequest {
	t.Helper()
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("the server got %d requests, want 1: %+v", len(reqs), reqs)
	}
	f.mu.Lock()
	f.reqs = nil
	f.mu.Unlock()
	return reqs[0]
}

// runAdminCLI runs 'ledgerline admin' against a server with the administrator's token, in an
// environment without LEDGERLINE_SERVER and LEDGERLINE_TOKEN.
func runAdminCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv(adminEnvServer, "")
	t.Setenv(adminEnvToken, "")
	return ledgerline(t, append([]string{"admin"}, args...)...)
}

func TestAdminCommands(t *testing.T) {
	f := newAdminFake(t)
	conn := []string{"--server", f.srv.URL, "--token", adminTestToken}
	for _, tc := range []struct {
		args                []string
		out                 string // all of stdout; for tables, every line's fields separated by single spaces
		method, path, query string
		body                map[string]string
	}{
		{args: []string{"org", "create", "Acme"}, out: "org_acme\n",
			method: "POST", path: "/api/v1/orgs", body: map[string]string{"name": "Acme"}},
		{args: []string{"org", "create", "Acme Corp"}, out: "org_acme\n",
			method: "POST", path: "/api/v1/orgs", body: map[string]string{"name": "Acme Corp"}},
		{args: []string{"token", "create", "--org", "Acme", "--name", "dana's laptop"}, out: "llt_new0123456789abcdef0123456789ab\n",
			method: "POST", path: "/api/v1/tokens", body: map[string]string{"org": "Acme", "name": "dana's laptop", "role": "member"}},
		{args: []string{"token", "create", "--org", "org_acme", "--name", "ci", "--role", "admin"}, out: "llt_new0123456789abcdef0123456789ab\n",
			method: "POST", path: "/api/v1/tokens", body: map[string]string{"org": "org_acme", "name": "ci", "role": "admin"}},
		{args: []string{"invite", "--org", "Acme"}, out: "https://team.example.com/invite/4f1c9a2b7d8e6f50\n",
			method: "POST", path: "/api/v1/invites", body: map[string]string{"org": "Acme", "role": "member"}},
		{args: []string{"invite", "--org", "org_acme", "--role", "admin", "--expires", "24h"}, out: "https://team.example.com/invite/4f1c9a2b7d8e6f50\n",
			method: "POST", path: "/api/v1/invites", body: map[string]string{"org": "org_acme", "role": "admin", "expires_in": "24h"}},
		{args: []string{"deal", "create", "--id", "acme-q3", "--name", "Acme Q3", "--account", "Initech", "--vendor-org", "Acme", "--partner-org", "Globex"},
			out:    "id: acme-q3\nowner: Acme\nshared: Globex (edit)\npage: https://team.example.com/d/acme-q3\n",
			method: "POST", path: "/api/v1/deals",
			body: map[string]string{"id": "acme-q3", "name": "Acme Q3", "account": "Initech", "vendor_org": "Acme", "partner_org": "Globex", "partner_level": "edit"}},
		{args: []string{"deal", "create", "--id", "solo", "--name", "Solo", "--vendor-org", "Acme"},
			out:    "id: acme-q3\nowner: Acme\nshared: Globex (edit)\npage: https://team.example.com/d/acme-q3\n",
			method: "POST", path: "/api/v1/deals",
			body: map[string]string{"id": "solo", "name": "Solo", "account": "", "vendor_org": "Acme"}},
		{args: []string{"deal", "create", "--id", "own", "--name", "Own"},
			out:    "id: acme-q3\nowner: Acme\nshared: Globex (edit)\npage: https://team.example.com/d/acme-q3\n",
			method: "POST", path: "/api/v1/deals",
			body: map[string]string{"id": "own", "name": "Own", "account": ""}},
		{args: []string{"deal", "share", "--deal", "acme-q3", "--org", "Initech"},
			out:    "id: acme-q3\nowner: Acme\nshared: Globex (edit), Initech (view)\npage: https://team.example.com/d/acme-q3\n",
			method: "POST", path: "/api/v1/deals/acme-q3/shares", body: map[string]string{"org": "Initech", "level": "view"}},
		{args: []string{"meeting", "create", "--title", "Kickoff", "--deal", "acme-q3"},
			out: "id: m-7c1e\noverlay: https://team.example.com/m/m-7c1e?t=v13w\njoin: https://team.example.com/m/m-7c1e/join?t=j01n\n" +
				"whip: https://team.example.com/whip/m-7c1e\n",
			method: "POST", path: "/api/v1/meetings", body: map[string]string{"title": "Kickoff", "deal": "acme-q3"}},
		{args: []string{"meeting", "create", "--title", "Standup"},
			out: "id: m-7c1e\noverlay: https://team.example.com/m/m-7c1e?t=v13w\njoin: https://team.example.com/m/m-7c1e/join?t=j01n\n" +
				"whip: https://team.example.com/whip/m-7c1e\n",
			method: "POST", path: "/api/v1/meetings", body: map[string]string{"title": "Standup"}},
		{args: []string{"token", "revoke", "tok_1"}, out: "", method: "DELETE", path: "/api/v1/tokens/tok_1"},
		{args: []string{"org", "list"},
			out:    "ID NAME CREATED\norg_acme Acme 2026-03-05T14:30:00Z\norg_globex Globex 2026-03-05T14:31:00Z\n",
			method: "GET", path: "/api/v1/orgs"},
		{args: []string{"token", "list", "--org", "Acme"},
			out: "ID NAME ROLE CREATED REVOKED\ntok_1 dana's laptop member 2026-03-05T14:32:00Z -\n" +
				"tok_2 ci admin 2026-03-05T14:33:00Z 2026-03-06T09:00:00Z\n",
			method: "GET", path: "/api/v1/tokens", query: "org=Acme"},
		{args: []string{"token", "list"},
			out: "ID NAME ROLE CREATED REVOKED\ntok_1 dana's laptop member 2026-03-05T14:32:00Z -\n" +
				"tok_2 ci admin 2026-03-05T14:33:00Z 2026-03-06T09:00:00Z\n",
			method: "GET", path: "/api/v1/tokens"},
		{args: []string{"deal", "list"},
			out:    "ID NAME ACCOUNT OWNER SHARED\nacme-q3 Acme Q3 Initech Acme Globex (edit)\n",
			method: "GET", path: "/api/v1/deals"},
		{args: []string{"meeting", "list"},
			out: "ID TITLE DEAL STARTED STATE EVENTS\nm-7c1e Kickoff acme-q3 2026-03-05T15:00:00Z recording 42\n" +
				"m-0a9b Intro - 2026-03-04T10:00:00Z stopped 7\n",
			method: "GET", path: "/api/v1/meetings"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runAdminCLI(t, append(append([]string{}, conn...), tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if slices.Contains(tc.args, "list") {
				out = adminCollapse(out)
			}
			if out != tc.out {
				t.Errorf("stdout %q, want %q", out, tc.out)
			}
			req := f.last(t)
			if req.Method != tc.method || req.Path != tc.path || req.Query != tc.query {
				t.Errorf("request %s %s?%s, want %s %s?%s", req.Method, req.Path, req.Query, tc.method, tc.path, tc.query)
			}
			if req.Auth != "Bearer "+adminTestToken {
				t.Errorf("Authorization %q", req.Auth)
			}
			if !maps.Equal(req.Body, tc.body) {
				t.Errorf("body %v, want %v", req.Body, tc.body)
			}
		})
	}
}

// adminCollapse turns a table's column padding into single spaces.
func adminCollapse(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if line == "" {
			continue
		}
		cols := strings.Split(strings.TrimRight(line, "\n"), "  ")
		var kept []string
		for _, c := range cols {
			if c = strings.TrimSpace(c); c != "" {
				kept = append(kept, c)
			}
		}
		b.WriteString(strings.Join(kept, " ") + "\n")
	}
	return b.String()
}

// --format json prints the server's answer, every field of it.
func TestAdminListJSON(t *testing.T) {
	f := newAdminFake(t)
	code, out, errOut := runAdminCLI(t, "--server", f.srv.URL, "--token", adminTestToken, "meeting", "list", "--format", "json")
	var ms []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &ms) != nil || len(ms) != 2 || ms[0]["overlay"] == nil || ms[0]["org"] != "org_acme" {
		t.Errorf("exit %d, stdout %q, stderr %q; want the server's two meetings as JSON", code, out, errOut)
	}
}

// The token's secret is printed alone on stdout, for a script to take; what it is for, on stderr.
func TestAdminTokenCreateSaysShownOnce(t *testing.T) {
	f := newAdminFake(t)
	_, out, errOut := runAdminCLI(t, "--server", f.srv.URL, "--token", adminTestToken, "token", "create", "--org", "Acme", "--name", "ci")
	if strings.Count(out, "\n") != 1 || !strings.Contains(errOut, "shown once") || !strings.Contains(errOut, "token revoke tok_1") {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
}

// Errors from the server are told as what to do, with its message, and exit 1.
func TestAdminServerErrors(t *testing.T) {
	f := newAdminFake(t)
	for _, tc := range []struct {
		token string
		args  []string
		want  []string
	}{
		{"wrong", []string{"org", "list"}, []string{"the server refused the token: check --token", "revoked token"}},
		{memberTestToken, []string{"org", "create", "Initech"}, []string{"this token may not do that: only the server's administrator may create organisations"}},
		{adminTestToken, []string{"token", "create", "--org", "Nope", "--name", "x"}, []string{`organisation "Nope" not found (or not shared with your organisation)`}},
		{adminTestToken, []string{"token", "list", "--org", "Nope"}, []string{`organisation "Nope" not found (or not shared with your organisation)`}},
		{adminTestToken, []string{"token", "revoke", "tok_9"}, []string{`token "tok_9" not found (or not shared with your organisation)`}},
		{adminTestToken, []string{"meeting", "create", "--title", "x", "--deal", "nope"}, []string{`deal "nope" not found (or not shared with your organisation)`}},
		{adminTestToken, []string{"deal", "create", "--id", "x", "--name", "x", "--vendor-org", "Nope", "--partner-org", "Globex"}, []string{`organisation "Nope" or "Globex" not found`}},
		{adminTestToken, []string{"deal", "share", "--deal", "nope", "--org", "Acme"}, []string{`deal "nope" or organisation "Acme" not found`}},
		{adminTestToken, []string{"org", "create", "Taken"}, []string{`an organisation named "Taken" exists`}},
		{adminTestToken, []string{"deal", "create", "--id", "taken", "--name", "x", "--vendor-org", "Acme"}, []string{`a deal "taken" exists`, "choose another --id"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runAdminCLI(t, append([]string{"--server", f.srv.URL, "--token", tc.token}, tc.args...)...)
			if code != 1 || out != "" {
				t.Errorf("exit %d, stdout %q; want 1 and nothing on stdout", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not say %q", errOut, w)
				}
			}
			if strings.Contains(errOut, tc.token) && tc.token != "wrong" {
				t.Errorf("stderr %q shows the token", errOut)
			}
		})
	}
}

// What is not the team server's API, or no server at all, is told as such.
func TestAdminUnreachableOrWrongServer(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/orgs":
			http.NotFound(w, r) // not an answer of the API: plain text
		case "/api/v1/deals":
			http.Redirect(w, r, "https://team.example.com/api/v1/deals", http.StatusMovedPermanently)
		case "/api/v1/meetings":
			if r.Method == http.MethodPost {
				// A team server without this endpoint answers with its catch-all.
				adminFakeJSON(w, http.StatusNotFound, map[string]string{"error": "no such API endpoint: see /api/v1/openapi.json"})
				return
			}
			_, _ = io.WriteString(w, "<html>hello</html>")
		case "/api/v1/tokens":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "[")
			_, _ = io.WriteString(w, strings.Repeat(" ", adminBodyLimit+10))
		case "/api/v1/invites":
			adminFakeJSON(w, http.StatusInternalServerError, map[string]string{"error": "store: disk full\x1b[2J"})
		}
	}))
	t.Cleanup(other.Close)
	for _, tc := range []struct {
		server string
		args   []string
		want   string
	}{
		{closed.URL, []string{"org", "list"}, "cannot reach " + closed.URL + ": is `ledgerline serve` running?"},
		{other.URL, []string{"org", "list"}, other.URL + " has no GET /api/v1/orgs: is --server a team server"},
		{other.URL, []string{"meeting", "create", "--title", "x"}, other.URL + " has no POST /api/v1/meetings: is --server a team server"},
		{other.URL + "/", []string{"deal", "list"}, `sending to "https://team.example.com/api/v1/deals": if that is the server, pass its address as --server`},
		{other.URL, []string{"meeting", "list"}, "not a ledgerline team server's JSON"},
		{other.URL, []string{"token", "list", "--org", "Acme"}, "is over 1 MiB"},
		{other.URL, []string{"invite", "--org", "Acme"}, "500 Internal Server Error: store: disk full\uFFFD[2J (a fault of the server's"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runAdminCLI(t, append([]string{"--server", tc.server, "--token", adminTestToken}, tc.args...)...)
			if code != 1 || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 saying %q", code, out, errOut, tc.want)
			}
		})
	}
}

// A server that does not answer is given up on after adminTimeout.
func TestAdminTimeout(t *testing.T) {
	defer func(d time.Duration) { adminTimeout = d }(adminTimeout)
	adminTimeout = 100 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(srv.Close)
	code, _, errOut := runAdminCLI(t, "--server", srv.URL, "--token", adminTestToken, "org", "list")
	if code != 1 || !strings.Contains(errOut, "did not answer within 100ms") {
		t.Errorf("exit %d, stderr %q; want 1, saying the server did not answer in time", code, errOut)
	}
}

// Mistakes on the command line are usage errors (exit 2, stderr only) found before any request.
func TestAdminUsageErrors(t *testing.T) {
	f := newAdminFake(t)
	conn := []string{"--server", f.srv.URL, "--token", adminTestToken}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "ledgerline admin [--server URL]"},
		{[]string{"frobnicate"}, `unknown admin command "frobnicate"`},
		{[]string{"org"}, "admin org create NAME | admin org list"},
		{[]string{"org", "frobnicate"}, "unknown command 'admin org frobnicate'"},
		{[]string{"org", "--server", "x", "create", "Acme"}, "flags go before \"org\" or after its command"},
		{[]string{"org", "create"}, "ledgerline admin org create NAME"},
		{[]string{"org", "create", "Acme", "Corp"}, "quote a name with spaces"},
		{[]string{"org", "create", " "}, "NAME is empty"},
		{[]string{"org", "list", "extra"}, "takes no arguments"},
		{[]string{"org", "list", "--bogus"}, "flag provided but not defined"},
		{[]string{"org", "list", "--format", "xml"}, `invalid value "xml" for flag -format: unknown format: use table or json`},
		{[]string{"token", "create", "--org", "Acme"}, "--name is required"},
		{[]string{"token", "create", "--name", "x"}, "--org is required"},
		{[]string{"token", "create", "--org", "Acme", "--name", "x", "--role", "owner"}, `unknown role "owner"`},
		{[]string{"token", "revoke"}, "ledgerline admin token revoke ID"},
		{[]string{"token", "revoke", ".."}, `".." is not a token ID`},
		{[]string{"invite"}, "--org is required"},
		{[]string{"invite", "--org", "Acme", "--expires", "1000h"}, "up to 720h"},
		{[]string{"invite", "--org", "Acme", "--expires", "soon"}, "up to 720h"},
		{[]string{"invite", "--org", "Acme", "--expires", "-1h"}, "up to 720h"},
		{[]string{"invite", "--org", "Acme", "--role", "owner"}, `unknown role "owner"`},
		{[]string{"deal", "create", "--id", "x", "--vendor-org", "Acme"}, "--name is required"},
		{[]string{"deal", "create", "--id", "x", "--name", "x", "--vendor-org", "Acme", "--partner-org", "G", "--partner-level", "admin"}, "use view or edit"},
		{[]string{"deal", "create", "--id", "x", "--name", "x", "--vendor-org", "Acme", "--partner-level", "view"}, "name the partner with --partner-org"},
		{[]string{"deal", "create", "--id", "bad id", "--name", "x"}, "1-128 letters"},
		{[]string{"deal", "share", "--deal", "x", "--org", "y", "--level", "owner"}, "use view or edit"},
		{[]string{"deal", "share", "--org", "y"}, "--deal is required"},
		{[]string{"meeting", "create"}, "--title is required"},
		{[]string{"meeting", "create", "--title", "x", "extra"}, "takes no arguments"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runAdminCLI(t, append(append([]string{}, conn...), tc.args...)...)
			if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 saying %q", code, out, errOut, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		server, token string
		want          string
	}{
		{"", adminTestToken, "no server: pass --server URL or set LEDGERLINE_SERVER"},
		{f.srv.URL, "", "no token: pass --token TOKEN or set LEDGERLINE_TOKEN"},
		{"ftp://team.example.com", adminTestToken, "use an http:// or https:// URL"},
		{"team.example.com", adminTestToken, "use an http:// or https:// URL"},
		{"http://", adminTestToken, "has no host"},
		{"http://:8080", adminTestToken, "has no host"},
		{"https://admin:pw@team.example.com", adminTestToken, "must not hold a user name or password"},
		{"https://team.example.com/?x=1", adminTestToken, "must not have a query or fragment"},
		{"https://team.example.com/?", adminTestToken, "must not have a query or fragment"},
		{"https://team.example.com/#top", adminTestToken, "must not have a query or fragment"},
		{"http://[::1", adminTestToken, "not a URL"},
		{f.srv.URL, "two words", "--token holds spaces"},
		{f.srv.URL, adminTestToken + "\n", "--token holds spaces"},
	} {
		t.Run(tc.server+" "+tc.token, func(t *testing.T) {
			args := []string{"org", "list"}
			if tc.server != "" {
				args = append(args, "--server", tc.server)
			}
			if tc.token != "" {
				args = append(args, "--token", tc.token)
			}
			code, out, errOut := runAdminCLI(t, args...)
			if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 saying %q", code, out, errOut, tc.want)
			}
			if strings.Contains(errOut, "two words") || strings.Contains(errOut, adminTestToken) {
				t.Errorf("stderr %q shows the token", errOut)
			}
		})
	}
	t.Run("--token empty", func(t *testing.T) {
		t.Setenv(adminEnvToken, adminTestToken)
		code, _, errOut := ledgerline(t, "admin", "--server", f.srv.URL, "--token", "", "org", "list")
		if code != 2 || !strings.Contains(errOut, "--token is empty") {
			t.Errorf("exit %d, stderr %q; want 2: an empty --token is a mistake, not a reason to use $%s", code, errOut, adminEnvToken)
		}
	})
	if reqs := f.requests(); len(reqs) != 0 {
		t.Errorf("usage errors sent %d requests: %+v", len(reqs), reqs)
	}
}

// --server and --token come from the flags, given before the command or after it (the later one
// wins), else from LEDGERLINE_SERVER and LEDGERLINE_TOKEN.
func TestAdminFlagEnvPrecedence(t *testing.T) {
	f := newAdminFake(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name             string
		envServer, envTo string
		args             []string
		auth             string
	}{
		{"env only", f.srv.URL, adminTestToken, []string{"org", "list"}, adminTestToken},
		{"flags before", "", "", []string{"--server", f.srv.URL, "--token", memberTestToken, "org", "list"}, memberTestToken},
		{"flags after", "", "", []string{"org", "list", "--server", f.srv.URL, "--token", memberTestToken}, memberTestToken},
		{"flags between", "", "", []string{"org", "create", "--server", f.srv.URL, "Acme", "--token", adminTestToken}, adminTestToken},
		{"flag over env", closed.URL, adminTestToken, []string{"--server", f.srv.URL, "--token", memberTestToken, "org", "list"}, memberTestToken},
		{"after over before", "", "", []string{"--server", closed.URL, "--token", adminTestToken, "org", "list", "--server", f.srv.URL, "--token", memberTestToken}, memberTestToken},
		{"env token, flag server", closed.URL, memberTestToken, []string{"--server=" + f.srv.URL, "org", "list"}, memberTestToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(adminEnvServer, tc.envServer)
			t.Setenv(adminEnvToken, tc.envTo)
			code, _, errOut := ledgerline(t, append([]string{"admin"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if req := f.last(t); req.Auth != "Bearer "+tc.auth {
				t.Errorf("Authorization %q, want the token %s", req.Auth, tc.auth)
			}
		})
	}
}

// A base URL with a path (behind a reverse proxy) keeps it; a trailing slash is dropped.
func TestAdminServerPathPrefix(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		adminFakeJSON(w, http.StatusOK, []any{})
	}))
	t.Cleanup(srv.Close)
	if code, _, errOut := runAdminCLI(t, "--server", srv.URL+"/ledgerline/", "--token", adminTestToken, "org", "list"); code != 0 || got != "/ledgerline/api/v1/orgs" {
		t.Errorf("exit %d (%s), path %q; want /ledgerline/api/v1/orgs", code, errOut, got)
	}
}

// A command leaves no connection or goroutine behind.
func TestAdminLeavesNoGoroutines(t *testing.T) {
	leaktest.Check(t)
	f := newAdminFake(t)
	if code, _, errOut := runAdminCLI(t, "--server", f.srv.URL, "--token", adminTestToken, "org", "create", "Acme"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestAdminLoopback(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true, "app.localhost": true,
		"team.example.com": false, "10.0.0.1": false, "": false} {
		if got := adminLoopback(host); got != want {
			t.Errorf("adminLoopback(%q) = %v", host, got)
		}
	}
}

// Every admin subcommand answers -h and --help on stdout with exit 0, as every command does
// (TestHelpFlags), with no token in it even when one is in the environment.
func TestAdminHelp(t *testing.T) {
	t.Setenv(adminEnvToken, adminTestToken)
	t.Setenv(adminEnvServer, "https://team.example.com")
	cases := [][]string{{"admin"}}
	for _, g := range adminGroups {
		cases = append(cases, []string{"admin", g})
	}
	for _, c := range adminCommands {
		cases = append(cases, append([]string{"admin"}, strings.Fields(c.name)...))
	}
	for _, args := range cases {
		for _, h := range []string{"-h", "--help"} {
			full := append(append([]string{}, args...), h)
			t.Run(strings.Join(full, " "), func(t *testing.T) {
				code, out, errOut := ledgerline(t, full...)
				want := "ledgerline " + strings.Join(args, " ")
				if code != 0 || errOut != "" || !strings.HasPrefix(out, "Usage: ") || !strings.Contains(out, want) {
					t.Errorf("exit %d, stdout %q, stderr %q; want 0 and help naming %q on stdout only", code, out, errOut, want)
				}
				if strings.Contains(out, adminTestToken) {
					t.Errorf("help shows the token from $%s", adminEnvToken)
				}
			})
		}
	}
	// help COMMAND is COMMAND -h, at both levels.
	for _, tc := range []struct{ args, same []string }{
		{[]string{"help", "admin"}, []string{"admin", "-h"}},
		{[]string{"help", "admin", "org", "create"}, []string{"admin", "org", "create", "-h"}},
		{[]string{"admin", "help", "token", "create"}, []string{"admin", "token", "create", "--help"}},
		{[]string{"admin", "help"}, []string{"admin", "--help"}},
		{[]string{"admin", "--server", "http://127.0.0.1:1", "invite", "-h"}, []string{"admin", "invite", "-h"}},
	} {
		code, out, errOut := ledgerline(t, tc.args...)
		_, want, _ := ledgerline(t, tc.same...)
		if code != 0 || errOut != "" || out != want || out == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 0 and the output of %v", tc.args, code, out, errOut, tc.same)
		}
	}
	// admin -h lists every subcommand.
	_, out, _ := ledgerline(t, "admin", "-h")
	for _, c := range adminCommands {
		if !strings.Contains(out, "  "+c.name+" ") {
			t.Errorf("admin -h does not list %q", c.name)
		}
	}
	for _, w := range []string{adminEnvServer, adminEnvToken} {
		if !strings.Contains(out, w) {
			t.Errorf("admin -h does not mention %s", w)
		}
	}
}
