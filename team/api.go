package team

import (
	"crypto/rand"
	_ "embed"
	"encoding/base32"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/mcpserver"
	"github.com/ledgerline/ledgerline/server"
)

// MaxEventsPage is how many events one read of a meeting's events returns at most: a longer
// meeting is read in pages, each from the last seq of the one before (since).
const MaxEventsPage = 10000

// Limits of the API.
const (
	maxSmallBody    = 16 << 10 // bytes of a request that manages orgs, tokens, invites, deals
	maxNameLen      = 200      // characters of a name or title
	defaultHits     = 50
	maxHits         = 200
	apiTimeout      = 30 * time.Second
	maxSearchLength = 500 // characters of a search
)

//go:embed openapi.json
var openAPI []byte

// apiFunc serves one API request made by p.
type apiFunc func(w http.ResponseWriter, r *http.Request, p principal) error

// router is where routes are registered: an http.ServeMux, or a test's list of them.
type router interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

var _ router = (*http.ServeMux)(nil)

func (s *Server) registerAPI(mux router) {
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(openAPI)
	})
	mux.HandleFunc("GET /api/v1/meetings", s.api(s.listMeetings))
	mux.HandleFunc("POST /api/v1/meetings", s.api(s.createMeeting))
	mux.HandleFunc("GET /api/v1/meetings/{id}", s.api(s.getMeeting))
	mux.HandleFunc("GET /api/v1/meetings/{id}/events", s.api(s.meetingEvents))
	mux.HandleFunc("POST /api/v1/meetings/{id}/guest-link", s.api(s.newGuestLink))
	mux.HandleFunc("DELETE /api/v1/meetings/{id}/guest-link", s.api(s.revokeGuestLink))
	mux.HandleFunc("GET /api/v1/meetings/{id}/commitments", s.api(s.meetingCommitments))
	mux.HandleFunc("GET /api/v1/meetings/{id}/recap", s.api(s.meetingRecap))
	mux.HandleFunc("GET /api/v1/meetings/{id}/export/{kind}", s.api(s.meetingExport))
	mux.HandleFunc("GET /api/v1/meetings/{id}/import", s.api(s.importCursor))
	mux.HandleFunc("POST /api/v1/meetings/{id}/import", s.api(s.importEvents))
	mux.HandleFunc("GET /api/v1/search", s.api(s.search))
	mux.HandleFunc("GET /api/v1/orgs", s.api(s.listOrgs))
	mux.HandleFunc("GET /api/v1/me", s.api(s.whoAmI))
	mux.HandleFunc("POST /api/v1/orgs", s.api(s.createOrg))
	mux.HandleFunc("GET /api/v1/tokens", s.api(s.listTokens))
	mux.HandleFunc("POST /api/v1/tokens", s.api(s.createToken))
	mux.HandleFunc("DELETE /api/v1/tokens/{id}", s.api(s.revokeToken))
	mux.HandleFunc("POST /api/v1/invites", s.api(s.createInvite))
	mux.HandleFunc("GET /api/v1/deals", s.api(s.listDeals))
	mux.HandleFunc("POST /api/v1/deals", s.api(s.createDeal))
	mux.HandleFunc("POST /api/v1/deals/{id}/shares", s.api(s.shareDeal))
	mux.HandleFunc("PUT /api/v1/deals/{id}/crm", s.api(s.setDealCRM))
	mux.HandleFunc("GET /api/v1/orgs/{id}/crm", s.api(s.getOrgCRM))
	mux.HandleFunc("PUT /api/v1/orgs/{id}/crm", s.api(s.setOrgCRM))
	mux.HandleFunc("GET /api/v1/bots", s.api(s.listBots))
	mux.HandleFunc("POST /api/v1/bots", s.api(s.createBot))
	mux.HandleFunc("GET /api/v1/bots/{id}", s.api(s.getBot))
	mux.HandleFunc("DELETE /api/v1/bots/{id}", s.api(s.deleteBot))
	mux.HandleFunc("GET /api/v1/calendars", s.api(s.listCalendars))
	mux.HandleFunc("POST /api/v1/calendars", s.api(s.createCalendar))
	mux.HandleFunc("DELETE /api/v1/calendars/{id}", s.api(s.deleteCalendar))
	mux.HandleFunc("PUT /api/v1/orgs/{id}/domains", s.api(s.setOrgDomains))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such API endpoint: see /api/v1/openapi.json"})
	})
}

// api authenticates a request, checks that a change made from a browser comes from this server's
// pages, and answers what fn returns.
func (s *Server) api(fn apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		switch {
		case errors.Is(err, errNoCredentials):
			s.fail(w, r, failf(http.StatusUnauthorized, "send an API token (Authorization: Bearer TOKEN), or sign in with an invite link"))
			return
		case errors.Is(err, errBadCredentials):
			s.fail(w, r, failf(http.StatusUnauthorized, "%v: ask your administrator for a new one", err))
			return
		case err != nil:
			s.fail(w, r, err)
			return
		}
		if changes(r) {
			if err := s.checkCSRF(r, p); err != nil {
				s.fail(w, r, failf(http.StatusForbidden, "%v", err))
				return
			}
		}
		if err := fn(w, r, p); err != nil {
			s.fail(w, r, err)
		}
	}
}

// serveAssistant serves an AI assistant's request over the Model Context Protocol as p: its tools
// ask the access rule with p's reader, and record the edits they make under p's name.
func (s *Server) serveAssistant(w http.ResponseWriter, r *http.Request, p principal) error {
	name := p.cred.Name
	if name == "" {
		name = p.cred.ID
	}
	s.assistants.ServeHTTP(w, r.WithContext(mcpserver.WithCaller(r.Context(), mcpserver.Caller{Reader: p.reader(), Name: name})))
	return nil
}

// checkName trims a name or title and checks it: 1-maxNameLen characters of text.
func checkName(field, v string) (string, error) { return checkText(field, v, false) }

// checkText is checkName for a name that may be left empty.
func checkText(field, v string, allowEmpty bool) (string, error) {
	v, err := server.CheckText(field, v, maxNameLen, allowEmpty)
	var te *server.TextError
	if errors.As(err, &te) {
		return "", failf(http.StatusBadRequest, "%s", te.Message())
	}
	return v, nil
}

// newID returns an ID for a record: its kind, then 80 random bits in lowercase base32.
func newID(kind string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return kind + "_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
