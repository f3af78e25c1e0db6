package team

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// Limits of calendars.
const (
	defaultLead = 60 * time.Second
	maxLead     = 24 * time.Hour
	maxDomains  = 50
)

// calendarJSON is a calendar as the API shows it: never its whole address, which is a secret.
type calendarJSON struct {
	ID          string     `json:"id"`
	Org         string     `json:"org"`
	Feed        string     `json:"feed"` // the address's scheme and host only
	SendBot     bool       `json:"send_bot"`
	LeadSeconds int64      `json:"lead_seconds"`
	CreatedAt   time.Time  `json:"created_at"`
	ReadAt      *time.Time `json:"read_at,omitempty"`
	Error       string     `json:"error,omitempty"`
}

func calendarOut(c ledger.Calendar) calendarJSON {
	out := calendarJSON{ID: c.ID, Org: c.OrgID, Feed: feedHint(c.URL), SendBot: c.SendBot,
		LeadSeconds: int64(c.Lead / time.Second), CreatedAt: c.CreatedAt, Error: c.PollError}
	if !c.PolledAt.IsZero() {
		out.ReadAt = &c.PolledAt
	}
	return out
}

// feedHint is what may be shown of a feed's secret address: enough to tell calendars apart.
func feedHint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "…"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// createCalendar subscribes p's organisation to a calendar feed.
func (s *Server) createCalendar(w http.ResponseWriter, r *http.Request, p principal) error {
	if _, err := s.launcher(); err != nil {
		return err
	}
	if p.administrator() {
		return failf(http.StatusForbidden, "the server's administrator has no calendar: add it with a token or session of the organisation it belongs to")
	}
	var req struct {
		URL         string `json:"url"`
		SendBot     bool   `json:"send_bot"`
		LeadSeconds *int64 `json:"lead_seconds"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	u, err := url.Parse(strings.TrimSpace(req.URL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(req.URL) > maxBotLink {
		return failf(http.StatusBadRequest, "url: give the calendar's secret address in iCal format (https://…/basic.ics from Google Calendar's settings, or an Outlook published calendar's ICS link)")
	}
	lead := defaultLead
	if req.LeadSeconds != nil {
		lead = time.Duration(*req.LeadSeconds) * time.Second
		if lead < 0 || lead > maxLead {
			return failf(http.StatusBadRequest, "lead_seconds: give 0 to %d seconds before each meeting", int64(maxLead/time.Second))
		}
	}
	c := ledger.Calendar{ID: newID("cal"), OrgID: p.cred.OrgID, URL: u.String(), SendBot: req.SendBot, Lead: lead, CreatedBy: p.cred.ID}
	if err := s.store.AddCalendar(r.Context(), c); err != nil {
		return err
	}
	s.log.Info("calendar added", "calendar", c.ID, "org", c.OrgID, "send_bot", c.SendBot, "by", p.cred.ID) // never its URL
	c, err = s.store.Calendar(r.Context(), c.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, calendarOut(c))
	return nil
}

func (s *Server) listCalendars(w http.ResponseWriter, r *http.Request, p principal) error {
	cs, err := s.store.OrgCalendars(r.Context(), p.cred.OrgID, p.administrator())
	if err != nil {
		return err
	}
	out := make([]calendarJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, calendarOut(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deleteCalendar stops reading a calendar; the bots it scheduled that have not started are
// withdrawn.
func (s *Server) deleteCalendar(w http.ResponseWriter, r *http.Request, p principal) error {
	id := r.PathValue("id")
	notFound := failf(http.StatusNotFound, "no calendar %q (or it is not your organisation's)", id)
	if !server.ValidID(id) {
		return notFound
	}
	c, err := s.store.Calendar(r.Context(), id)
	if errors.Is(err, ledger.ErrNotFound) || (err == nil && !p.administrator() && c.OrgID != p.cred.OrgID) {
		return notFound
	}
	if err != nil {
		return err
	}
	if err := s.store.DeleteCalendar(r.Context(), id); err != nil {
		return err
	}
	s.log.Info("calendar removed", "calendar", id, "org", c.OrgID, "by", p.cred.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setOrgDomains sets the email domains of an organisation's people, which pick the deal a
// calendar event's meeting is filed under.
func (s *Server) setOrgDomains(w http.ResponseWriter, r *http.Request, p principal) error {
	o, err := s.managedOrg(r, p, "id", r.PathValue("id"))
	if err != nil {
		return err
	}
	var req struct {
		Domains []string `json:"domains"`
	}
	if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	if len(req.Domains) > maxDomains {
		return failf(http.StatusBadRequest, "domains: give at most %d", maxDomains)
	}
	if err := s.store.SetOrgDomains(r.Context(), o.ID, req.Domains); err != nil {
		return err
	}
	ds, err := s.store.OrgDomains(r.Context(), o.ID)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []string{}
	}
	s.log.Info("organisation's domains set", "org", o.ID, "domains", len(ds), "by", p.cred.ID)
	writeJSON(w, http.StatusOK, map[string]any{"org": o.ID, "domains": ds})
	return nil
}
