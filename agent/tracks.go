package agent

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// newWHIP takes participants' audio over WebRTC: each track becomes a channel of the pipeline,
// named after its publisher.
func (m *Meeting) newWHIP() (*ingest.WHIP, error) {
	host, _, _ := net.SplitHostPort(m.cfg.Listen)
	ip := net.ParseIP(host)
	api, err := ingest.NewAPI(ingest.APIConfig{Loopback: host == "localhost" || ip != nil && ip.IsLoopback()})
	if err != nil {
		return nil, err
	}
	return ingest.NewWHIP(ingest.WHIPConfig{
		API:          api,
		Logger:       m.cfg.Logger,
		MeetingStart: func(string) time.Time { return m.started },
		Authorize:    m.authorize,
		OnTrack:      m.onTrack,
	})
}

// authorize lets in publishers with a token that lets them join (the join link's, or the meeting's
// own) while it takes their audio.
func (m *Meeting) authorize(r *http.Request, meeting string) error {
	token, _ := ingest.BearerToken(r)
	known, ok := m.srv.CheckToken(meeting, token, server.ScopeJoin)
	if !ok && m.host != nil {
		// A hosted meeting on a team server: its access rule may let this member or API token in,
		// or say that it reaches no such meeting, or may only watch it.
		switch err := m.host.admit(r, meeting); {
		case err == nil:
			known, ok = true, true
		case !errors.Is(err, ingest.ErrUnauthorized):
			return err
		}
	}
	switch {
	case !known:
		return ingest.ErrUnknownMeeting
	case !ok:
		return ingest.ErrUnauthorized
	case r.Method != http.MethodPost:
		return nil
	}
	if _, err := m.participant(r.URL.Query()); err != nil {
		var te *server.TextError
		if errors.As(err, &te) {
			return ingest.Refuse(te.Message())
		}
		return ingest.Refuse(fmt.Sprintf("org %q is not a side of the deal: use %s", r.URL.Query().Get("org"), ledger.RoleChoices))
	}
	ch := r.URL.Query().Get("channel")
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.taking && m.local[ch]:
		return ingest.Refuse(fmt.Sprintf("channel %q is this meeting's own audio: publish under another name", ch))
	case m.taking:
		return nil
	case m.session != nil:
		return ingest.Refuse(ownAudioOnly)
	}
	return ingest.Refuse(notTranscribed)
}

// onTrack hands a participant's track on without waiting: to the running pipeline, or to the
// queue of those waiting for it while its engine loads.
func (m *Meeting) onTrack(_ string, t *ingest.Track) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case !m.taking || m.local[t.Channel()]:
		// Authorize turned such publishers away, unless the meeting stopped taking audio since.
		m.log.Warn("refused a track", "channel", t.Channel(), "reason", "the meeting takes no audio now")
		t.Close()
	case m.session == nil:
		m.waiting = append(m.waiting, t)
	default:
		// Joining records who is heard on the track: a write to the store, which the WHIP
		// endpoint's reader must not wait for.
		s := m.session
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.join(s, t)
		}()
	}
}

// participant is who a publisher announces themselves as in their query: their name, and their
// side of the deal (org), with the organisation on that side when the meeting has a deal. Both
// are checked as the overlay checks what viewers type (a *server.TextError says what is wrong):
// a name that hides characters to show as another's, or to reorder the text after it, is refused.
func (m *Meeting) participant(q url.Values) (Speaker, error) {
	name, err := server.CheckText("name", q.Get("name"), server.MaxNameLen, true)
	if err != nil {
		return Speaker{}, err
	}
	org, err := server.CheckText("org", q.Get("org"), server.MaxNameLen, true)
	if err != nil {
		return Speaker{}, err
	}
	sp := Speaker{Name: name}
	if org != "" {
		role, err := ledger.ParseRole(org)
		if err != nil {
			return Speaker{}, fmt.Errorf("agent: %w", err)
		}
		sp.Role, sp.Org = role, m.deal.OrgOf(role)
	}
	return sp, nil
}

// withOrgs gives each speaker of a known side with no organisation the deal's organisation on
// that side.
func (m *Meeting) withOrgs(speakers map[string]Speaker) map[string]Speaker {
	out := make(map[string]Speaker, len(speakers))
	for ch, sp := range speakers {
		if sp.Org == "" {
			sp.Org = m.deal.OrgOf(sp.Role)
		}
		out[ch] = sp
	}
	return out
}

// join adds a participant's track to the pipeline, named as its publisher announced themselves.
func (m *Meeting) join(s *Session, t *ingest.Track) {
	sp, err := m.participant(t.Query())
	if err != nil { // authorize refused such publishers
		m.log.Warn("refused a track", "channel", t.Channel(), "err", err)
		t.Close()
		return
	}
	if sp.Name == "" {
		sp.Name = t.Channel()
	}
	if err := s.AddSource(t, map[string]Speaker{t.Channel(): sp}); err != nil {
		m.log.Warn("refused a track", "channel", t.Channel(), "err", err)
		t.Close()
	}
}
