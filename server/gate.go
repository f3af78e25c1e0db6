package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// Gate lets in requests that hold no capability link: on a team server, people signed in and
// programs with API tokens, by the server's one access rule. The Server asks it only when the
// request's ?t= token, if any, does not open the meeting or deal by itself.
type Gate interface {
	// Meeting returns nil when the request may reach the meeting (edit: change it, or send it
	// audio). It returns an error wrapping ErrNoCredentials when the request carries no
	// credentials the Gate knows, ErrReadOnly when they allow reading only and edit was asked,
	// ledger.ErrNotFound when they do not reach the meeting (or it does not exist), and any other
	// error when it cannot tell.
	Meeting(r *http.Request, id string, edit bool) error
	// Deal is Meeting for a deal's page, which is read only.
	Deal(r *http.Request, id string) error
}

var (
	// ErrNoCredentials reports a request that carries no credentials a Gate knows.
	ErrNoCredentials = errors.New("server: no credentials")
	// ErrReadOnly reports credentials that may read a meeting but not change it.
	ErrReadOnly = errors.New("server: read-only access")
)

// DefaultIdleHub is how long the hub of a meeting opened through the Gate is kept with no viewer.
const DefaultIdleHub = time.Minute

// Messages of refusals, shared by every way in.
const (
	msgNoMeeting   = "No such meeting. Check the link you were given."
	msgNoDeal      = "No such deal. Check the link you were given."
	msgNeedToken   = "This meeting link needs its access token (?t=…). Ask the organiser for the full link."
	msgBadToken    = "This meeting link's access token is not valid. Ask the organiser for a new link."
	msgNeedDealTok = "This deal link needs its access token (?t=…). Ask the deal's owner for the full link."
	msgBadDealTok  = "This deal link's access token is not valid. Ask the deal's owner for a new link."
	msgSignIn      = "Sign in to this server (open the invite link you were sent), or use the meeting's full link."
	msgReadOnly    = "Your organisation may view this meeting but not change it. Ask the deal's owner for edit access."
	msgGateDown    = "Access to this meeting cannot be checked right now. Try again shortly."
)

// authorize finds the request's live meeting and checks that the request may reach it for need,
// answering 404, 401, 403 or 503 itself: by the token of its link (?t=), which opens it for its
// scope, or else by the Gate. A meeting the Gate lets in that is not registered here is opened on
// demand: its hub follows the log while it has viewers.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, need Scope) (*meeting, bool) {
	id := r.PathValue("meeting")
	token := r.URL.Query().Get("t")
	m, known, scope := s.checkToken(id, token)
	if !ValidID(id) {
		plainError(w, http.StatusNotFound, msgNoMeeting)
		return nil, false
	}
	if token != "" && scope == 0 && !known {
		// A meeting opened here on demand (or not at all) has no token of its own in this
		// process: its guest link is the one stored with its record.
		scope = s.storedScope(r.Context(), id, token)
	}
	switch {
	case scope >= need:
	case scope > 0:
		// A link of a narrower scope (a recap link may not watch, a watching one may not change),
		// unless its holder is signed in and may.
		if s.gateMeeting(r, id, need >= ScopeJoin) != nil {
			plainError(w, http.StatusForbidden, "This link does not allow that: it is a "+scope.String()+" link. Ask the organiser for the link you need.")
			return nil, false
		}
	default:
		if !s.admit(w, r, s.gateMeeting(r, id, need >= ScopeJoin), known || scope > 0, token, msgNoMeeting, msgNeedToken, msgBadToken) {
			return nil, false
		}
	}
	if m != nil {
		return m, true
	}
	m, err := s.openMeeting(id)
	if err != nil {
		plainError(w, http.StatusServiceUnavailable, "The server is stopping. Try again shortly.")
		return nil, false
	}
	return m, true
}

// authorizeRecord finds a stored meeting and checks that the request may read it: by the token
// stored with the meeting, the one it was registered with here, or the Gate. It answers errors
// itself.
func (s *Server) authorizeRecord(w http.ResponseWriter, r *http.Request) (ledger.Meeting, bool) {
	store := s.cfg.Records
	id := r.PathValue("meeting")
	if store == nil || !ValidID(id) {
		plainError(w, http.StatusNotFound, msgNoMeeting)
		return ledger.Meeting{}, false
	}
	m, err := store.Meeting(r.Context(), id)
	if errors.Is(err, ledger.ErrNotFound) {
		plainError(w, http.StatusNotFound, msgNoMeeting)
		return ledger.Meeting{}, false
	}
	if err != nil {
		s.log.Error("cannot read a meeting", "meeting", id, "err", err)
		plainError(w, http.StatusInternalServerError, "The meeting's records cannot be read right now. Try again shortly.")
		return ledger.Meeting{}, false
	}
	token := r.URL.Query().Get("t")
	_, _, registered := s.checkToken(id, token)
	if registered >= ScopeRecap || TokenScope(m.Token, token) >= ScopeRecap {
		return m, true
	}
	return m, s.admit(w, r, s.gateMeeting(r, id, false), true, token, msgNoMeeting, msgNeedToken, msgBadToken)
}

// authorizeDeal finds a deal and checks that the request may read it: by the deal's token, or the
// Gate.
func (s *Server) authorizeDeal(w http.ResponseWriter, r *http.Request) (ledger.Deal, bool) {
	store := s.cfg.Records
	id := r.PathValue("deal")
	if store == nil || !ValidID(id) {
		plainError(w, http.StatusNotFound, msgNoDeal)
		return ledger.Deal{}, false
	}
	d, err := store.Deal(r.Context(), id)
	if errors.Is(err, ledger.ErrNotFound) {
		plainError(w, http.StatusNotFound, msgNoDeal)
		return ledger.Deal{}, false
	}
	if err != nil {
		s.log.Error("cannot read a deal", "deal", id, "err", err)
		plainError(w, http.StatusInternalServerError, "The deal's records cannot be read right now. Try again shortly.")
		return ledger.Deal{}, false
	}
	token := r.URL.Query().Get("t")
	if tokenMatches(token, sha256.Sum256([]byte(d.Token)), d.Token != "") {
		return d, true
	}
	gate := ErrNoCredentials
	if s.cfg.Gate != nil {
		gate = s.cfg.Gate.Deal(r, id)
	}
	return d, s.admit(w, r, gate, true, token, msgNoDeal, msgNeedDealTok, msgBadDealTok)
}

// gateMeeting asks the Gate, when there is one.
func (s *Server) gateMeeting(r *http.Request, id string, edit bool) error {
	if s.cfg.Gate == nil {
		return ErrNoCredentials
	}
	return s.cfg.Gate.Meeting(r, id, edit)
}

// admit turns the Gate's answer into the request's fate, answering refusals itself. Without
// credentials, what the token says decides, as on a server with no Gate: 404 for a meeting this
// server does not know, 401 without a token, 403 with a wrong one. On a server with a Gate,
// where meetings are many and their IDs must not be probed, a wrong token is a 404 too.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, gate error, known bool, token, notFound, needToken, badToken string) bool {
	switch {
	case gate == nil:
		return true
	case errors.Is(gate, ErrReadOnly):
		plainError(w, http.StatusForbidden, msgReadOnly)
		return false
	case errors.Is(gate, ledger.ErrNotFound):
		plainError(w, http.StatusNotFound, notFound)
		return false
	case !errors.Is(gate, ErrNoCredentials):
		s.log.Error("cannot check access", "path", r.URL.Path, "err", gate)
		plainError(w, http.StatusServiceUnavailable, msgGateDown)
		return false
	case token == "" && s.cfg.Gate != nil:
		plainError(w, http.StatusUnauthorized, msgSignIn)
		return false
	case !known || (s.cfg.Gate != nil && token != ""):
		if token != "" {
			s.warn.warn("refused a wrong access token", r.PathValue("meeting")+r.PathValue("deal"), r.RemoteAddr)
		}
		plainError(w, http.StatusNotFound, notFound)
		return false
	case token == "":
		plainError(w, http.StatusUnauthorized, needToken)
		return false
	default:
		s.warn.warn("refused a wrong access token", r.PathValue("meeting")+r.PathValue("deal"), r.RemoteAddr)
		plainError(w, http.StatusForbidden, badToken)
		return false
	}
}

// storedScope returns the scope token opens of the meeting by the token stored with its record: a
// guest link that outlives the process that made it.
func (s *Server) storedScope(ctx context.Context, id, token string) Scope {
	if s.cfg.Records == nil {
		return 0
	}
	m, err := s.cfg.Records.Meeting(ctx, id)
	if err != nil {
		return 0
	}
	return TokenScope(m.Token, token)
}

// openMeeting returns the meeting registered under id, registering it on demand (with no token of
// its own) when it is not: its hub is stopped once it has had no viewer for IdleHub.
func (s *Server) openMeeting(id string) (*meeting, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if m := s.meetings[id]; m != nil {
		return m, nil
	}
	m := s.addHubLocked(id)
	m.onDemand = true
	if !s.sweeping {
		s.sweeping = true
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.sweepIdle()
		}()
	}
	return m, nil
}

// sweepIdle stops the hubs of meetings opened on demand that have had no viewer for IdleHub,
// until the server closes.
func (s *Server) sweepIdle() {
	tick := time.NewTicker(s.cfg.IdleHub / 2)
	defer tick.Stop()
	idle := make(map[*meeting]time.Time)
	for {
		select {
		case <-s.quit:
			return
		case now := <-tick.C:
			s.mu.Lock()
			var open []*meeting
			for _, m := range s.meetings {
				if m.onDemand {
					open = append(open, m)
				}
			}
			s.mu.Unlock()
			for _, m := range open {
				if m.hub.count() > 0 {
					delete(idle, m)
					continue
				}
				since, seen := idle[m]
				if !seen {
					idle[m] = now
					continue
				}
				if now.Sub(since) >= s.cfg.IdleHub {
					delete(idle, m)
					s.removeIf(m)
				}
			}
		}
	}
}

// removeIf forgets m and stops its hub if it is still the meeting registered under its ID.
func (s *Server) removeIf(m *meeting) {
	s.mu.Lock()
	if s.meetings[m.id] != m {
		s.mu.Unlock()
		return
	}
	delete(s.meetings, m.id)
	s.mu.Unlock()
	m.hub.stop()
}
