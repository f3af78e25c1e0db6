package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/ledger"
)

// About is what the overlay and join pages show of a meeting besides its events: its title and
// deal, the deal's organisations for a participant to pick theirs, links to its recap and deal
// page that the request's access opens, and the languages commitments are detected in.
type About struct {
	ID    string     `json:"id"`
	Title string     `json:"title,omitempty"`
	Deal  *AboutDeal `json:"deal,omitempty"`
	// Recap is the path of the meeting's recap page, with the link's own token.
	Recap string `json:"recap,omitempty"`
	// CommitmentLanguages are the ISO 639-1 codes of the languages commitments are found in: in
	// any other, the page says so rather than show an empty ledger.
	CommitmentLanguages []string `json:"commitment_languages"`
}

// AboutDeal is a meeting's deal as its pages show it.
type AboutDeal struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Organisations are the deal's organisations, each with its side: what a participant picks.
	Organisations []AboutOrg `json:"organisations"`
	// Page is the path of the deal's page, when the request's access opens it: a signed-in
	// person's session, or the meeting's own link (whoever holds it owns the meeting); "" else.
	Page string `json:"page,omitempty"`
}

// AboutOrg is one organisation of a deal and its side.
type AboutOrg struct {
	Org  string      `json:"org"`
	Role ledger.Role `json:"role"`
}

// serveAbout answers GET /m/{meeting}/about with the meeting's About as JSON.
func (s *Server) serveAbout(w http.ResponseWriter, r *http.Request) {
	m, ok := s.authorize(w, r, ScopeWatch)
	if !ok {
		return
	}
	token := r.URL.Query().Get("t")
	a := About{ID: m.id, CommitmentLanguages: detect.Languages()}
	if s.cfg.Records != nil {
		rec, err := s.cfg.Records.Meeting(r.Context(), m.id)
		switch {
		case errors.Is(err, ledger.ErrNotFound): // known only to the log so far
		case err != nil:
			s.recordError(w, "cannot read a meeting", "meeting", m.id, err)
			return
		default:
			a.Title = rec.Title
			a.Recap = "/m/" + url.PathEscape(m.id) + "/recap"
			if token != "" {
				a.Recap += "?t=" + url.QueryEscape(token)
			}
			if a.Deal, err = s.aboutDeal(r, rec.DealID, token); err != nil {
				s.recordError(w, "cannot read a meeting's deal", "meeting", m.id, err)
				return
			}
		}
	}
	body, err := json.Marshal(a)
	if err != nil {
		s.recordError(w, "cannot encode a meeting's description", "meeting", m.id, err)
		return
	}
	writeJSON(w, body)
}

// aboutDeal describes a meeting's deal; nil when it has none.
func (s *Server) aboutDeal(r *http.Request, dealID, token string) (*AboutDeal, error) {
	if dealID == "" {
		return nil, nil
	}
	d, err := s.cfg.Records.Deal(r.Context(), dealID)
	if err != nil {
		return nil, err
	}
	out := &AboutDeal{ID: d.ID, Name: d.Name, Organisations: []AboutOrg{}}
	for _, role := range []ledger.Role{ledger.RoleVendor, ledger.RolePartner, ledger.RoleBuyer} {
		if org := d.OrgOf(role); org != "" {
			out.Organisations = append(out.Organisations, AboutOrg{Org: org, Role: role})
		}
	}
	_, _, scope := s.checkToken(r.PathValue("meeting"), token)
	// The deal's own link goes to those whose meeting link may control; someone signed in whom the
	// Gate lets see the deal gets its page, whichever link brought them to the meeting.
	switch {
	case scope >= ScopeControl && d.Token != "":
		out.Page = DealPath(d.ID, d.Token)
	case s.cfg.Gate != nil && s.cfg.Gate.Deal(r, d.ID) == nil:
		out.Page = "/d/" + url.PathEscape(d.ID)
	}
	return out, nil
}
