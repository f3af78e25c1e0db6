package team

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/base32"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/recap"
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

// idPattern is what IDs of deals and meetings may be: they travel in links.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,128}$`)

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
	mux.HandleFunc("POST /api/v1/orgs", s.api(s.createOrg))
	mux.HandleFunc("GET /api/v1/tokens", s.api(s.listTokens))
	mux.HandleFunc("POST /api/v1/tokens", s.api(s.createToken))
	mux.HandleFunc("DELETE /api/v1/tokens/{id}", s.api(s.revokeToken))
	mux.HandleFunc("POST /api/v1/invites", s.api(s.createInvite))
	mux.HandleFunc("GET /api/v1/deals", s.api(s.listDeals))
	mux.HandleFunc("POST /api/v1/deals", s.api(s.createDeal))
	mux.HandleFunc("POST /api/v1/deals/{id}/shares", s.api(s.shareDeal))
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

// meetingJSON is a meeting as the API shows it.
type meetingJSON struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Deal      string    `json:"deal"`
	Org       string    `json:"org"`
	StartedAt time.Time `json:"started_at"`
	Timezone  string    `json:"timezone,omitempty"`
	Language  string    `json:"language,omitempty"`
	State     string    `json:"state"`
	LastSeq   int64     `json:"last_seq"`
	Overlay   string    `json:"overlay"`
	Recap     string    `json:"recap"`
}

func (s *Server) meetingJSON(r *http.Request, m ledger.Meeting) meetingJSON {
	base := s.base(r) + "/m/" + url.PathEscape(m.ID)
	return meetingJSON{ID: m.ID, Title: m.Title, Deal: m.DealID, Org: m.OrgID, StartedAt: m.StartedAt,
		Timezone: m.Timezone, Language: m.Language, State: string(m.State), LastSeq: m.LastSeq,
		Overlay: base, Recap: base + "/recap"}
}

func (s *Server) listMeetings(w http.ResponseWriter, r *http.Request, p principal) error {
	ms, err := s.store.VisibleMeetings(r.Context(), p.reader())
	if err != nil {
		return err
	}
	out := make([]meetingJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, s.meetingJSON(r, m))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// visibleMeeting returns the meeting of the request's path if p may reach it (edit: change it).
func (s *Server) visibleMeeting(r *http.Request, p principal, edit bool) (ledger.Meeting, error) {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return ledger.Meeting{}, failf(http.StatusNotFound, "no such meeting %q", id)
	}
	if err := s.allow(r.Context(), p, id, edit); err != nil {
		if errors.Is(err, server.ErrReadOnly) {
			return ledger.Meeting{}, failf(http.StatusForbidden, "your organisation may view meeting %s but not change it", id)
		}
		if errors.Is(err, ledger.ErrNotFound) {
			return ledger.Meeting{}, failf(http.StatusNotFound, "no meeting %s (or it is not shared with your organisation)", id)
		}
		return ledger.Meeting{}, err
	}
	return s.store.Meeting(r.Context(), id)
}

// createMeeting makes a meeting the server records itself: its participants join with the join
// link (or push audio to the WHIP link with the meeting's token), and its pipeline runs while they
// send audio. It belongs to the caller's organisation and, when given, a deal the caller may edit.
func (s *Server) createMeeting(w http.ResponseWriter, r *http.Request, p principal) error {
	if s.cfg.Server.Ingest == nil {
		return failf(http.StatusNotImplemented, "this server does not record meetings itself: record them with `ledgerline run --server` on a laptop")
	}
	var req struct {
		Title    string `json:"title"`
		Deal     string `json:"deal"`
		Timezone string `json:"timezone"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	title, err := checkName("title", req.Title)
	if err != nil {
		return err
	}
	if req.Timezone != "" {
		if _, err := time.LoadLocation(req.Timezone); err != nil {
			return failf(http.StatusBadRequest, "timezone %q: give an IANA name such as Europe/Madrid", req.Timezone)
		}
	}
	if req.Deal != "" {
		if err := s.mayFileUnder(r, p, req.Deal); err != nil {
			return err
		}
	}
	rec := ledger.Meeting{ID: uuid.Must(uuid.NewV7()).String(), DealID: req.Deal, Title: title, StartedAt: s.now(),
		Timezone: req.Timezone, Token: server.NewToken(), OrgID: p.cred.OrgID, Hosted: true}
	if err := s.store.CreateMeeting(r.Context(), rec); err != nil {
		return err
	}
	s.log.Info("meeting created", "meeting", rec.ID, "org", rec.OrgID, "deal", rec.DealID, "by", p.cred.ID)
	base := s.base(r)
	writeJSON(w, http.StatusCreated, map[string]string{"id": rec.ID, "title": rec.Title, "deal": rec.DealID,
		"overlay": base + server.PagePath(rec.ID, rec.Token), "join": base + server.JoinPath(rec.ID, rec.Token),
		"whip": base + "/whip/" + url.PathEscape(rec.ID), "recap": base + server.RecapPath(rec.ID, rec.Token)})
	return nil
}

// newGuestLink gives a meeting a new guest link (its capability token: the overlay, recap and join
// page without an account) and makes the old one fail at once.
func (s *Server) newGuestLink(w http.ResponseWriter, r *http.Request, p principal) error {
	m, err := s.visibleMeeting(r, p, true)
	if err != nil {
		return err
	}
	token := server.NewToken()
	if err := s.store.SetMeetingToken(r.Context(), m.ID, token); err != nil {
		return err
	}
	s.overlay.ReplaceToken(m.ID, token)
	s.log.Info("guest link replaced", "meeting", m.ID, "by", p.cred.ID)
	base := s.base(r)
	writeJSON(w, http.StatusOK, map[string]string{"overlay": base + server.PagePath(m.ID, server.ScopedToken(token, server.ScopeWatch)),
		"recap": base + server.RecapPath(m.ID, token), "join": base + server.JoinPath(m.ID, token)})
	return nil
}

// revokeGuestLink leaves a meeting with no guest link: only people of the organisations that may
// see it reach it, signed in.
func (s *Server) revokeGuestLink(w http.ResponseWriter, r *http.Request, p principal) error {
	m, err := s.visibleMeeting(r, p, true)
	if err != nil {
		return err
	}
	if err := s.store.SetMeetingToken(r.Context(), m.ID, ""); err != nil {
		return err
	}
	s.overlay.ReplaceToken(m.ID, "")
	s.log.Info("guest link revoked", "meeting", m.ID, "by", p.cred.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// mayFileUnder checks that p may add meetings to a deal: edit access to it.
func (s *Server) mayFileUnder(r *http.Request, p principal, deal string) error {
	level, err := s.store.DealAccess(r.Context(), p.reader(), deal)
	if errors.Is(err, ledger.ErrNotFound) {
		return failf(http.StatusNotFound, "no deal %q (or it is not shared with your organisation): create it with `ledgerline admin deal create`, or leave the deal out", deal)
	}
	if err != nil {
		return err
	}
	if !level.Covers(ledger.ShareEdit) {
		return failf(http.StatusForbidden, "your organisation may view deal %q but not add meetings to it", deal)
	}
	return nil
}

func (s *Server) getMeeting(w http.ResponseWriter, r *http.Request, p principal) error {
	m, err := s.visibleMeeting(r, p, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.meetingJSON(r, m))
	return nil
}

func (s *Server) meetingEvents(w http.ResponseWriter, r *http.Request, p principal) error {
	m, err := s.visibleMeeting(r, p, false)
	if err != nil {
		return err
	}
	var since int64
	if v := r.URL.Query().Get("since"); v != "" {
		if since, err = strconv.ParseInt(v, 10, 64); err != nil || since < 0 {
			return failf(http.StatusBadRequest, "since must be the last seq seen, a whole number ≥ 0")
		}
	}
	limit := MaxEventsPage
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxEventsPage {
			return failf(http.StatusBadRequest, "limit must be a whole number from 1 to %d", MaxEventsPage)
		}
		limit = n
	}
	// A laptop that follows the changes made here leaves out what it sent itself (not_from: its
	// origin); they keep their seqs, so it resumes from the last seq it saw either way.
	notFrom := r.URL.Query().Get("not_from")
	events, err := s.store.Since(r.Context(), m.ID, since)
	if err != nil {
		return err
	}
	out := make([]ledger.Event, 0, min(len(events), limit))
	for _, e := range events {
		if len(out) == limit {
			break
		}
		if notFrom == "" || e.Origin != notFrom {
			out = append(out, e)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) meetingCommitments(w http.ResponseWriter, r *http.Request, p principal) error {
	m, err := s.visibleMeeting(r, p, false)
	if err != nil {
		return err
	}
	cs, err := s.store.Commitments(r.Context(), m.ID)
	if err != nil {
		return err
	}
	out := make([]ledger.CommitmentInfo, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.CommitmentInfo)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) meetingRecap(w http.ResponseWriter, r *http.Request, p principal) error {
	m, err := s.visibleMeeting(r, p, false)
	if err != nil {
		return err
	}
	rc, err := recap.Build(r.Context(), s.store, m.ID)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := rc.WriteMarkdown(&buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
	return nil
}

func (s *Server) meetingExport(w http.ResponseWriter, r *http.Request, p principal) error {
	m, err := s.visibleMeeting(r, p, false)
	if err != nil {
		return err
	}
	f, err := recap.LookupExport(r.PathValue("kind"))
	if err != nil {
		return failf(http.StatusNotFound, "%v", err)
	}
	data, err := recap.LoadMeeting(r.Context(), s.store, m.ID)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := f.Export(&buf, data, recap.ExportOptions{}); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.FileName(m.ID)}))
	_, _ = w.Write(buf.Bytes())
	return nil
}

// hitJSON is a search hit as the API shows it.
type hitJSON struct {
	Meeting string `json:"meeting"`
	Title   string `json:"title"`
	Deal    string `json:"deal"`
	Kind    string `json:"kind"`
	Item    string `json:"item"`
	Speaker string `json:"speaker"`
	Text    string `json:"text"`
	StartMS int64  `json:"start_ms"`
	Link    string `json:"link"`
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, p principal) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		return failf(http.StatusBadRequest, "give the words to search for in q")
	}
	limit := defaultHits
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHits {
			return failf(http.StatusBadRequest, "limit must be a whole number from 1 to %d", maxHits)
		}
		limit = n
	}
	hits, err := s.find(r, p, q, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, hits)
	return nil
}

// find runs a search for p and links each hit to its moment in the meeting's recap.
func (s *Server) find(r *http.Request, p principal, q string, limit int) ([]hitJSON, error) {
	if len(q) > maxSearchLength {
		return nil, failf(http.StatusBadRequest, "the search is longer than %d characters", maxSearchLength)
	}
	hits, err := s.store.Search(r.Context(), p.reader(), q, limit)
	if err != nil {
		return nil, err
	}
	out := make([]hitJSON, 0, len(hits))
	for _, h := range hits {
		link := s.base(r) + "/m/" + url.PathEscape(h.MeetingID) + "/recap"
		switch h.Kind {
		case "segment":
			link += "#" + recap.SegmentAnchor(h.ItemID)
		case "commitment":
			link += "#commitments"
		}
		out = append(out, hitJSON{Meeting: h.MeetingID, Title: h.Title, Deal: h.DealID, Kind: h.Kind, Item: h.ItemID,
			Speaker: h.Speaker, Text: h.Text, StartMS: h.StartMS, Link: link})
	}
	return out, nil
}

// orgJSON is an organisation as the API shows it.
type orgJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request, p principal) error {
	var orgs []ledger.Org
	if p.administrator() {
		var err error
		if orgs, err = s.store.Orgs(r.Context()); err != nil {
			return err
		}
	} else {
		o, err := s.store.Org(r.Context(), p.cred.OrgID)
		if err != nil {
			return err
		}
		orgs = []ledger.Org{o}
	}
	out := make([]orgJSON, 0, len(orgs))
	for _, o := range orgs {
		out = append(out, orgJSON{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request, p principal) error {
	if !p.administrator() {
		return failf(http.StatusForbidden, "only the server's administrator may create organisations")
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	name, err := checkName("name", req.Name)
	if err != nil {
		return err
	}
	o := ledger.Org{ID: newID("org"), Name: name}
	if err := s.store.CreateOrg(r.Context(), o); err != nil {
		if errors.Is(err, ledger.ErrExists) {
			return failf(http.StatusConflict, "an organisation named %q exists already", name)
		}
		return err
	}
	o, err = s.store.Org(r.Context(), o.ID)
	if err != nil {
		return err
	}
	s.log.Info("organisation created", "org", o.ID, "by", p.cred.ID)
	writeJSON(w, http.StatusCreated, orgJSON{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt})
	return nil
}

// orgFor resolves an organisation given by ID or name, and checks that p may manage it.
func (s *Server) orgFor(r *http.Request, p principal, field, ref string) (ledger.Org, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ledger.Org{}, failf(http.StatusBadRequest, "give the organisation's id or name in %q", field)
	}
	o, err := s.store.Org(r.Context(), ref)
	if errors.Is(err, ledger.ErrNotFound) {
		o, err = s.store.OrgByName(r.Context(), ref)
	}
	if errors.Is(err, ledger.ErrNotFound) {
		return ledger.Org{}, failf(http.StatusNotFound, "no organisation %q: see `ledgerline admin org list`", ref)
	}
	if err != nil {
		return ledger.Org{}, err
	}
	return o, nil
}

// managedOrg is orgFor for an organisation p manages.
func (s *Server) managedOrg(r *http.Request, p principal, field, ref string) (ledger.Org, error) {
	o, err := s.orgFor(r, p, field, ref)
	if err != nil {
		return o, err
	}
	if !p.manages(o.ID) {
		return ledger.Org{}, failf(http.StatusForbidden, "you may not manage organisation %q: ask its administrator or the server's", o.Name)
	}
	return o, nil
}

// tokenJSON is a credential as the API shows it; Token only when it is made.
type tokenJSON struct {
	ID        string     `json:"id"`
	Token     string     `json:"token,omitempty"`
	Org       string     `json:"org"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func parseMemberRole(v string) (ledger.MemberRole, error) {
	switch r := ledger.MemberRole(strings.ToLower(strings.TrimSpace(v))); r {
	case "":
		return ledger.MemberMember, nil
	case ledger.MemberAdmin, ledger.MemberMember:
		return r, nil
	}
	return "", failf(http.StatusBadRequest, "role %q: use admin or member", v)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p principal) error {
	var req struct {
		Org  string `json:"org"`
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	o, err := s.managedOrg(r, p, "org", req.Org)
	if err != nil {
		return err
	}
	name, err := checkName("name", req.Name)
	if err != nil {
		return err
	}
	role, err := parseMemberRole(req.Role)
	if err != nil {
		return err
	}
	secret := newSecret()
	c := ledger.Credential{ID: newID("tok"), Digest: digest(secret), Kind: ledger.CredentialToken, OrgID: o.ID, Role: role, Name: name}
	if err := s.store.AddCredential(r.Context(), c); err != nil {
		return err
	}
	s.log.Info("API token created", "token", c.ID, "org", o.ID, "by", p.cred.ID)
	writeJSON(w, http.StatusCreated, tokenJSON{ID: c.ID, Token: secret, Org: o.ID, Name: name, Role: string(role), CreatedAt: s.now().UTC()})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p principal) error {
	ref := r.URL.Query().Get("org")
	if ref == "" {
		ref = p.cred.OrgID
	}
	orgID := ""
	if ref != "" {
		o, err := s.managedOrg(r, p, "org", ref)
		if err != nil {
			return err
		}
		orgID = o.ID
	} else if !p.administrator() {
		return failf(http.StatusBadRequest, "give the organisation in org")
	}
	cs, err := s.store.Credentials(r.Context(), orgID, ledger.CredentialToken)
	if err != nil {
		return err
	}
	out := make([]tokenJSON, 0, len(cs))
	for _, c := range cs {
		t := tokenJSON{ID: c.ID, Org: c.OrgID, Name: c.Name, Role: string(c.Role), CreatedAt: c.CreatedAt}
		if !c.RevokedAt.IsZero() {
			t.RevokedAt = &c.RevokedAt
		}
		out = append(out, t)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p principal) error {
	id := r.PathValue("id")
	// Only tokens of an organisation the caller manages are found: others are not shown to exist.
	orgs := []string{p.cred.OrgID}
	if p.administrator() {
		all, err := s.store.Orgs(r.Context())
		if err != nil {
			return err
		}
		for _, o := range all {
			orgs = append(orgs, o.ID)
		}
	}
	for _, org := range orgs {
		if !p.manages(org) {
			continue
		}
		cs, err := s.store.Credentials(r.Context(), org, ledger.CredentialToken)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.ID == id {
				if err := s.store.RevokeCredential(r.Context(), id); err != nil {
					return err
				}
				s.log.Info("API token revoked", "token", id, "by", p.cred.ID)
				w.WriteHeader(http.StatusNoContent)
				return nil
			}
		}
	}
	return failf(http.StatusNotFound, "no token %q among those you manage: see `ledgerline admin token list`", id)
}

func (s *Server) createInvite(w http.ResponseWriter, r *http.Request, p principal) error {
	var req struct {
		Org       string `json:"org"`
		Role      string `json:"role"`
		ExpiresIn string `json:"expires_in"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	o, err := s.managedOrg(r, p, "org", req.Org)
	if err != nil {
		return err
	}
	role, err := parseMemberRole(req.Role)
	if err != nil {
		return err
	}
	life := DefaultInviteLifetime
	if req.ExpiresIn != "" {
		if life, err = time.ParseDuration(req.ExpiresIn); err != nil || life <= 0 || life > MaxInviteLifetime {
			return failf(http.StatusBadRequest, "expires_in %q: give a duration such as 72h, at most %s", req.ExpiresIn, MaxInviteLifetime)
		}
	}
	secret := newSecret()
	expires := s.now().Add(life).UTC()
	c := ledger.Credential{ID: newID("inv"), Digest: digest(secret), Kind: ledger.CredentialInvite, OrgID: o.ID, Role: role,
		Name: "invite", ExpiresAt: expires}
	if err := s.store.AddCredential(r.Context(), c); err != nil {
		return err
	}
	s.log.Info("invite created", "invite", c.ID, "org", o.ID, "role", string(role), "by", p.cred.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"id": c.ID, "link": s.base(r) + "/invite/" + secret, "org": o.ID,
		"role": string(role), "expires_at": expires})
	return nil
}

// dealJSON is a deal as the API shows it.
type dealJSON struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Account  string      `json:"account"`
	Vendor   string      `json:"vendor"`
	Partner  string      `json:"partner"`
	OwnerOrg string      `json:"owner_org"`
	Shares   []shareJSON `json:"shares"`
	Page     string      `json:"page"`
}

type shareJSON struct {
	Org   string `json:"org"`
	Level string `json:"level"`
}

func (s *Server) dealJSON(r *http.Request, d ledger.Deal) (dealJSON, error) {
	shares, err := s.store.DealShares(r.Context(), d.ID)
	if err != nil {
		return dealJSON{}, err
	}
	out := dealJSON{ID: d.ID, Name: d.Name, Account: d.Account, Vendor: d.Vendor, Partner: d.Partner, OwnerOrg: d.OwnerOrg,
		Shares: make([]shareJSON, 0, len(shares)), Page: s.base(r) + "/d/" + url.PathEscape(d.ID)}
	for _, sh := range shares {
		out.Shares = append(out.Shares, shareJSON{Org: sh.OrgID, Level: string(sh.Level)})
	}
	return out, nil
}

func (s *Server) listDeals(w http.ResponseWriter, r *http.Request, p principal) error {
	ds, err := s.store.VisibleDeals(r.Context(), p.reader())
	if err != nil {
		return err
	}
	out := make([]dealJSON, 0, len(ds))
	for _, d := range ds {
		j, err := s.dealJSON(r, d)
		if err != nil {
			return err
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func parseLevel(v string) (ledger.ShareLevel, error) {
	switch l := ledger.ShareLevel(strings.ToLower(strings.TrimSpace(v))); l {
	case "":
		return ledger.ShareEdit, nil
	case ledger.ShareView, ledger.ShareEdit:
		return l, nil
	}
	return "", failf(http.StatusBadRequest, "level %q: use view or edit", v)
}

func (s *Server) createDeal(w http.ResponseWriter, r *http.Request, p principal) error {
	var req struct {
		ID           string `json:"id"`
		Name         string `json:"name"`
		Account      string `json:"account"`
		VendorOrg    string `json:"vendor_org"`
		PartnerOrg   string `json:"partner_org"`
		PartnerLevel string `json:"partner_level"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	if !idPattern.MatchString(req.ID) {
		return failf(http.StatusBadRequest, "deal id %q: use 1-128 letters, digits, '.', '_', '~' or '-'", req.ID)
	}
	name, err := checkName("name", req.Name)
	if err != nil {
		return err
	}
	if req.VendorOrg == "" {
		req.VendorOrg = p.cred.OrgID
	}
	vendor, err := s.managedOrg(r, p, "vendor_org", req.VendorOrg)
	if err != nil {
		return err
	}
	var partner ledger.Org
	if req.PartnerOrg != "" {
		if partner, err = s.orgFor(r, p, "partner_org", req.PartnerOrg); err != nil {
			return err
		}
	}
	level, err := parseLevel(req.PartnerLevel)
	if err != nil {
		return err
	}
	d := ledger.Deal{ID: req.ID, Name: name, Account: strings.TrimSpace(req.Account), Vendor: vendor.Name, Partner: partner.Name}
	if err := s.store.CreateDeal(r.Context(), d); err != nil {
		if errors.Is(err, ledger.ErrExists) {
			return failf(http.StatusConflict, "a deal with id %q exists already", d.ID)
		}
		return err
	}
	if err := s.store.SetDealOwner(r.Context(), d.ID, vendor.ID); err != nil {
		return err
	}
	if partner.ID != "" {
		if err := s.store.ShareDeal(r.Context(), ledger.DealShare{DealID: d.ID, OrgID: partner.ID, Level: level}); err != nil {
			return err
		}
	}
	s.log.Info("deal created", "deal", d.ID, "owner", vendor.ID, "partner", partner.ID, "by", p.cred.ID)
	return s.answerDeal(w, r, http.StatusCreated, d.ID)
}

func (s *Server) shareDeal(w http.ResponseWriter, r *http.Request, p principal) error {
	var req struct {
		Org   string `json:"org"`
		Level string `json:"level"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	d, err := s.store.Deal(r.Context(), id)
	if err != nil || !p.manages(d.OwnerOrg) || d.OwnerOrg == "" && !p.administrator() {
		if err == nil || errors.Is(err, ledger.ErrNotFound) {
			return failf(http.StatusNotFound, "no deal %q that your organisation owns", id)
		}
		return err
	}
	o, err := s.orgFor(r, p, "org", req.Org)
	if err != nil {
		return err
	}
	level, err := parseLevel(req.Level)
	if err != nil {
		return err
	}
	if err := s.store.ShareDeal(r.Context(), ledger.DealShare{DealID: d.ID, OrgID: o.ID, Level: level}); err != nil {
		return err
	}
	s.log.Info("deal shared", "deal", d.ID, "org", o.ID, "level", string(level), "by", p.cred.ID)
	return s.answerDeal(w, r, http.StatusOK, d.ID)
}

func (s *Server) answerDeal(w http.ResponseWriter, r *http.Request, code int, id string) error {
	d, err := s.store.Deal(r.Context(), id)
	if err != nil {
		return err
	}
	j, err := s.dealJSON(r, d)
	if err != nil {
		return err
	}
	writeJSON(w, code, j)
	return nil
}

// checkName trims a name or title and checks it: 1-maxNameLen characters of text.
func checkName(field, v string) (string, error) {
	v, err := server.CheckText(field, v, maxNameLen, false)
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
