package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ledgerline/ledgerline/ledger"
)

// newCommitment is the body of POST /m/{meeting}/commitments: a commitment the detector missed,
// pointed at the segment where it was said. what and owner are required; status is open when
// left out.
type newCommitment struct {
	commitmentEdit
	Segment string `json:"segment"`
}

// addCommitment records a commitment a viewer adds: a commitment.upsert of a new ID, quoting the
// segment pointed at, with every field the viewer gave marked as theirs. It goes through
// Control's Append, so that the commitments' owner (the running pipeline) merges the same
// promise said later into it.
func (s *Server) addCommitment(ctx context.Context, m *meeting, r *http.Request) (ledger.Event, error) {
	ctl, err := s.control()
	if err != nil {
		return ledger.Event{}, err
	}
	var req newCommitment
	if err := decode(r, &req); err != nil {
		return ledger.Event{}, err
	}
	if req.What == nil || req.Owner == nil {
		return ledger.Event{}, fail(http.StatusBadRequest, "Give what was promised (what) and who owns it (owner).")
	}
	edit, err := req.check()
	if err != nil {
		return ledger.Event{}, err
	}
	who, err := s.by(r, req.By)
	if err != nil {
		return ledger.Event{}, err
	}
	seg, err := s.segment(ctx, m.id, req.Segment)
	if err != nil {
		return ledger.Event{}, err
	}
	id, err := addedID()
	if err != nil {
		return ledger.Event{}, err
	}
	info := ledger.CommitmentInfo{ID: id, Status: ledger.StatusOpen, Confidence: 1, Quote: seg.Text,
		SegmentIDs: []string{seg.ID}, StartMS: seg.StartMS}
	edit.Apply(&info)
	if edit.OwnerOrg == nil {
		// Owned by who said it: theirs is the organisation, as for a commitment detected.
		if sp, err := ctl.Speaker(ctx, m.id, seg.Speaker); err == nil && strings.EqualFold(sp.Name, info.Owner) {
			info.OwnerOrg = ledger.OrgOrRole(sp.Org, sp.Role)
		}
	}
	return s.appendEdit(ctx, ctl, ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: m.id, Commitment: &info, By: who})
}

// segment finds a final segment of a meeting by ID, answering 400 or 404 for one it cannot quote.
func (s *Server) segment(ctx context.Context, meeting, id string) (ledger.Segment, error) {
	if id == "" || len(id) > maxIDLen {
		return ledger.Segment{}, fail(http.StatusBadRequest, "Point at the segment where it was said (segment: its ID).")
	}
	if s.cfg.Records == nil {
		return ledger.Segment{}, fail(http.StatusNotImplemented, "This server cannot quote its meetings' transcripts, so it cannot add commitments.")
	}
	segs, err := s.cfg.Records.Segments(ctx, meeting)
	if err != nil {
		return ledger.Segment{}, fmt.Errorf("read the transcript: %w", err)
	}
	for _, g := range segs {
		if g.ID == id {
			return g, nil
		}
	}
	return ledger.Segment{}, fail(http.StatusNotFound, "No segment %q in this meeting's transcript.", id)
}

// addedID names a commitment a person added: apart from the detector's IDs, unguessable so that
// two viewers adding at once never collide.
func addedID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make a commitment ID: %w", err)
	}
	return "added-" + hex.EncodeToString(b[:]), nil
}

// renameInCommitments carries a speaker's new name and organisation into the commitments that
// name them by their old name (as owner, contact or beneficiary): each is an edit the commitments'
// owner applies to the commitment as it stands, so the log stays the one record of it. A failure
// is logged: the change of the speaker itself stands.
func (s *Server) renameInCommitments(ctx context.Context, ctl Control, meeting string, rename ledger.Rename, by string) {
	from := rename.From
	if s.cfg.Records == nil || from == "" || strings.EqualFold(from, rename.To) && strings.EqualFold(rename.FromOrg, rename.ToOrg) {
		return
	}
	cs, err := s.cfg.Records.Commitments(ctx, meeting)
	if err != nil {
		s.log.Warn("cannot rename a speaker in the commitments", "meeting", meeting, "err", err)
		return
	}
	edit := ledger.CommitmentEdit{Rename: &rename}
	for _, c := range cs {
		if !c.Names(from) {
			continue
		}
		e, err := ctl.EditCommitment(ledger.WithActor(ctx, by), meeting, c.ID, edit, by)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			s.log.Warn("cannot rename a speaker in a commitment", "meeting", meeting, "commitment", c.ID, "err", err)
			continue
		}
		if err == nil {
			s.log.Info("viewer changed the meeting", "meeting", meeting, "type", string(e.Type), "seq", e.Seq)
		}
	}
}
