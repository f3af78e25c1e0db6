package server

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ledgerline/ledgerline/recap"
)

// DealPath returns the path of a deal's page, token included: the link to give someone joining the deal.
func DealPath(id, token string) string {
	return "/d/" + url.PathEscape(id) + "?t=" + url.QueryEscape(token)
}

// serveDeal serves a deal's page: every meeting of the deal, the open commitments by owner,
// objections and open questions, and who from each company was in which call.
func (s *Server) serveDeal(w http.ResponseWriter, r *http.Request) {
	d, ok := s.authorizeDeal(w, r)
	if !ok {
		return
	}
	sum, err := recap.DealReport(r.Context(), s.cfg.Records, d.ID, false)
	if err != nil {
		s.recordError(w, "cannot build a deal report", "deal", d.ID, err)
		return
	}
	// Someone signed in reaches each meeting's recap, and its downloads, with their session; a
	// deal link opens the deal's page only, so it links to no meeting. The links are relative to
	// the page (/d/ID), so that they hold behind a reverse proxy serving under a path of its own.
	if r.URL.Query().Get("t") == "" {
		for i := range sum.Meetings {
			sum.Meetings[i].Recap = "../m/" + url.PathEscape(sum.Meetings[i].ID) + "/recap"
		}
	}
	var buf bytes.Buffer
	if err := sum.WriteHTML(&buf); err != nil {
		s.recordError(w, "cannot write a deal page", "deal", d.ID, err)
		return
	}
	h := w.Header()
	setRecordHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", recordCSP())
	_, _ = w.Write(buf.Bytes())
}

// serveDealAPI serves a deal's report as JSON; ?open=true keeps only the open commitments.
func (s *Server) serveDealAPI(w http.ResponseWriter, r *http.Request) {
	d, ok := s.authorizeDeal(w, r)
	if !ok {
		return
	}
	openOnly := false
	if v := r.URL.Query().Get("open"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			plainError(w, http.StatusBadRequest, "open must be true or false.")
			return
		}
		openOnly = b
	}
	sum, err := recap.DealReport(r.Context(), s.cfg.Records, d.ID, openOnly)
	if err != nil {
		s.recordError(w, "cannot build a deal report", "deal", d.ID, err)
		return
	}
	var buf bytes.Buffer
	if err := sum.WriteJSON(&buf); err != nil {
		s.recordError(w, "cannot write a deal report", "deal", d.ID, err)
		return
	}
	h := w.Header()
	setRecordHeaders(h)
	h.Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
