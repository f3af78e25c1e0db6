package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/ledgerline/ledgerline/ledger"
)

// The join page lets a participant send their own audio to a meeting from a browser: a display name,
// their side of the deal, a recording notice they must consent to, then their microphone (and optionally a
// shared tab's audio) over WebRTC to the meeting's WHIP endpoint, with the page's token as the Bearer
// token. It is served only by a server that takes audio (Config.Ingest set).

// joinCSP is the overlay's policy plus the overlay itself in a frame, both from this server only.
const joinCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

// ConsentDeclined is SpeakerInfo.Consent of a participant who refused to be recorded.
const ConsentDeclined = "declined"

// defaultDecliner names a participant who declined before typing a name.
const defaultDecliner = "A participant"

// JoinPath returns the path of a meeting's join page with a join-scoped token derived from the
// meeting's token: the link to send participants, which lets them send audio and watch, not change
// the meeting.
func JoinPath(id, token string) string {
	return "/m/" + url.PathEscape(id) + "/join?t=" + url.QueryEscape(ScopedToken(token, ScopeJoin))
}

func (s *Server) registerJoin(mux *http.ServeMux) {
	mux.HandleFunc("GET /m/{meeting}/join", s.serveJoin)
	mux.HandleFunc("POST /m/{meeting}/join/decline", s.controlHandler(ScopeJoin, s.decline))
}

// serveJoin serves the join page of an authorised meeting. The page reads the token from its own URL.
func (s *Server) serveJoin(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorize(w, r, ScopeJoin); !ok {
		return
	}
	if s.cfg.Ingest == nil {
		plainError(w, http.StatusNotFound, "This server does not take participants' audio, so there is nothing to join. Open the overlay link to follow the meeting.")
		return
	}
	page, err := web.ReadFile("web/join.html")
	if err != nil {
		s.log.Error("join page missing from the binary", "err", err)
		plainError(w, http.StatusInternalServerError, "The join page is missing from this build.")
		return
	}
	h := w.Header()
	setPageHeaders(h)
	h.Set("Content-Security-Policy", joinCSP)
	h.Set("Permissions-Policy", "microphone=(self), display-capture=(self), camera=()")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

// declineRequest is the body of POST /m/{meeting}/join/decline. Both fields may be empty.
type declineRequest struct {
	Name string `json:"name"`
	Org  string `json:"org"` // the side of the deal, as the WHIP endpoint's org parameter
}

// decline records that a participant refused to be recorded: a speaker.update whose consent is
// "declined", so that everyone following the meeting knows that person's words are not in the
// record. Nothing of theirs is ever sent; the speaker has an ID of its own ("declined-" and their
// name) and no channel.
func (s *Server) decline(ctx context.Context, m *meeting, r *http.Request) (ledger.Event, error) {
	var req declineRequest
	if err := decode(r, &req); err != nil {
		return ledger.Event{}, err
	}
	name, err := text("name", req.Name, MaxNameLen, true)
	if err != nil {
		return ledger.Event{}, err
	}
	if name == "" {
		name = defaultDecliner
	}
	org, err := text("org", req.Org, MaxNameLen, true)
	if err != nil {
		return ledger.Event{}, err
	}
	sp := ledger.SpeakerInfo{ID: "declined-" + slug(name), Name: name, Consent: ConsentDeclined}
	if org != "" {
		if sp.Role, err = parseRole("org", org); err != nil {
			return ledger.Event{}, err
		}
		if sp.Org, err = s.dealOrg(ctx, m.id, sp.Role); err != nil {
			return ledger.Event{}, err
		}
	}
	ctl := s.consentLog()
	if ctl == nil {
		return ledger.Event{}, fail(http.StatusNotImplemented, "This server cannot record that you declined; nothing of yours is recorded either way.")
	}
	return s.appendEdit(ctx, ctl, ledger.Event{Type: ledger.TypeSpeakerUpdate, Meeting: m.id, Speaker: &sp, By: name})
}

// consentLog is where refusals are recorded: Config.Control, or else the event log itself when it
// can append. A refusal is part of the record even on a server whose viewers may not edit it.
func (s *Server) consentLog() Appender {
	if s.cfg.Control != nil {
		return s.cfg.Control
	}
	if a, ok := s.cfg.Log.(Appender); ok {
		return a
	}
	return nil
}

// slug turns a display name into letters, digits and dashes, as the join page names channels.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 56 {
			break
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if out == "" {
		return "participant"
	}
	return out
}
