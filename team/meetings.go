package team

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/recap"
	"github.com/ledgerline/ledgerline/server"
)

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
	if !server.ValidID(id) {
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
