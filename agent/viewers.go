package agent

import (
	"context"
	"errors"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// viewerChanges appends viewers' changes and tells the running pipeline about them: a renamed
// speaker's later words carry the new name, and a promise said again merges into the commitment
// as a viewer left it.
type viewerChanges struct{ m *Meeting }

var _ server.Control = viewerChanges{}

func (v viewerChanges) Append(ctx context.Context, e ledger.Event) (ledger.Event, error) {
	out, err := v.m.cfg.Store.Append(ctx, e)
	if err != nil {
		return out, err
	}
	v.m.Observe(out)
	return out, nil
}

// Observe tells the running pipeline about a change recorded outside it: one a viewer made here,
// or one made on a team server and brought back into this meeting's log. A renamed speaker's later
// words carry the new name, and a commitment's owner merges later evidence into it as changed.
// Events of other kinds, of other meetings, or that arrive when no pipeline runs change nothing.
func (m *Meeting) Observe(e ledger.Event) {
	s := m.running()
	if s == nil || e.Meeting != m.id {
		return
	}
	switch {
	case e.Type == ledger.TypeSpeakerUpdate && e.Speaker.Consent == "":
		s.Rename(e.Speaker.ID, Speaker{Name: e.Speaker.Name, Org: e.Speaker.Org, Role: e.Speaker.Role})
	case e.Type == ledger.TypeCommitmentUpsert:
		s.ObserveCommitment(*e.Commitment)
	}
}

func (v viewerChanges) Speaker(ctx context.Context, meeting, id string) (ledger.SpeakerInfo, error) {
	return v.m.cfg.Store.Speaker(ctx, meeting, id)
}

// EditCommitment gives a viewer's edit to the commitments' owner: the running pipeline, which
// holds the commitments it found, or else the store.
func (v viewerChanges) EditCommitment(ctx context.Context, meeting, id string, edit ledger.CommitmentEdit, by string) (ledger.Event, error) {
	s := v.m.running()
	if s != nil && meeting == v.m.id {
		e, err := s.EditCommitment(ctx, id, edit, by)
		if !errors.Is(err, ledger.ErrNotFound) {
			return e, err
		}
		// Found in an earlier run: the store holds it.
	}
	e, err := v.m.cfg.Store.EditCommitment(ctx, meeting, id, edit, by)
	if err == nil && s != nil && meeting == v.m.id {
		s.ObserveCommitment(*e.Commitment)
	}
	return e, err
}

// recorder lets viewers pause and resume the meeting while it is being transcribed.
type recorder struct{ m *Meeting }

var _ server.Recorder = recorder{}

func (r recorder) Pause(ctx context.Context, meeting string) (ledger.Event, error) {
	return r.set(ctx, meeting, (*Session).Pause)
}

func (r recorder) Resume(ctx context.Context, meeting string) (ledger.Event, error) {
	return r.set(ctx, meeting, (*Session).Resume)
}

func (r recorder) set(ctx context.Context, meeting string, change func(*Session) error) (ledger.Event, error) {
	s := r.m.running()
	if s == nil || meeting != r.m.id {
		return ledger.Event{}, errors.New("agent: this meeting is not being captured right now")
	}
	if err := change(s); err != nil {
		return ledger.Event{}, err
	}
	return r.m.cfg.Store.LastState(ctx, r.m.id)
}
