package team

import (
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// Limits of a laptop's upload.
const (
	// MaxImportEvents is how many events one import batch may hold.
	MaxImportEvents = 500
	// MaxImportBytes is how large one import batch may be.
	MaxImportBytes = 4 << 20
)

// originPattern is what an origin may be called: it is stored with every event it sent.
var originPattern = regexp.MustCompile(`^[A-Za-z0-9._:~-]{1,128}$`)

// importBatch is the body of POST /api/v1/meetings/{id}/import: events recorded elsewhere (their
// seq is the origin's), following origin seq After, and the meeting they belong to.
type importBatch struct {
	Origin  string         `json:"origin"`
	After   int64          `json:"after"`
	Meeting importMeeting  `json:"meeting"`
	Events  []ledger.Event `json:"events"`
}

// importMeeting is the origin's record of the meeting, from which the server makes its own the
// first time it hears of it.
type importMeeting struct {
	Title     string    `json:"title"`
	Deal      string    `json:"deal"`
	StartedAt time.Time `json:"started_at"`
	Timezone  string    `json:"timezone"`
	Language  string    `json:"language"`
}

func (s *Server) importCursor(w http.ResponseWriter, r *http.Request, p principal) error {
	id, origin := r.PathValue("id"), r.URL.Query().Get("origin")
	if !originPattern.MatchString(origin) {
		return failf(http.StatusBadRequest, "origin must be 1-128 letters, digits or '.', '_', ':', '~', '-'")
	}
	if !server.ValidID(id) {
		return failf(http.StatusNotFound, "no such meeting %q", id)
	}
	// A meeting the server has not heard of yet holds nothing from anyone.
	if _, err := s.store.Meeting(r.Context(), id); errors.Is(err, ledger.ErrNotFound) {
		writeJSON(w, http.StatusOK, map[string]int64{"acked": 0})
		return nil
	}
	if _, err := s.visibleMeeting(r, p, true); err != nil {
		return err
	}
	acked, err := s.store.ImportCursor(r.Context(), id, origin)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int64{"acked": acked})
	return nil
}

// importEvents takes a batch of a laptop's events. The first batch of a meeting makes the
// server's record of it, owned by the sender's organisation and filed under its deal (which the
// sender must be allowed to edit); later ones need edit access to the meeting.
func (s *Server) importEvents(w http.ResponseWriter, r *http.Request, p principal) error {
	id := r.PathValue("id")
	if !server.ValidID(id) {
		return failf(http.StatusNotFound, "no such meeting %q", id)
	}
	var b importBatch
	if err := decodeJSON(w, r, MaxImportBytes, &b); err != nil {
		return err
	}
	switch {
	case !originPattern.MatchString(b.Origin):
		return failf(http.StatusBadRequest, "origin must be 1-128 letters, digits or '.', '_', ':', '~', '-'")
	case b.After < 0:
		return failf(http.StatusBadRequest, "after must be the origin seq the batch follows, ≥ 0")
	case len(b.Events) > MaxImportEvents:
		return failf(http.StatusRequestEntityTooLarge, "a batch may hold at most %d events; send the rest in the next", MaxImportEvents)
	}
	// A batch refused leaves nothing behind: not even the record of a meeting it would have made.
	if err := ledger.CheckImport(id, b.Origin, b.After, b.Events); err != nil {
		return importError(err)
	}
	if err := s.describe(r, p, id, &b); err != nil {
		return err
	}
	acked, err := s.store.Import(r.Context(), id, b.Origin, b.After, b.Events)
	if err != nil {
		return importError(err)
	}
	writeJSON(w, http.StatusOK, map[string]int64{"acked": acked})
	return nil
}

// importError answers a batch the store refused: 409 with how far the origin is stored when the
// batch does not follow it, 400 when it is not valid.
func importError(err error) error {
	var gap *ledger.OriginGapError
	switch {
	case errors.As(err, &gap):
		return &apiError{code: http.StatusConflict, msg: gap.Error(), extra: map[string]any{"acked": gap.Acked}}
	case errors.Is(err, ledger.ErrInvalidEvent), errors.Is(err, ledger.ErrInvalidRecord):
		return failf(http.StatusBadRequest, "%v", err)
	}
	return err
}

// describe makes the server's record of a meeting it has not heard of, for a batch from the
// origin's first event, or checks that p may add to the one it has.
func (s *Server) describe(r *http.Request, p principal, id string, b *importBatch) error {
	ctx, m := r.Context(), b.Meeting
	rec, err := s.store.Meeting(ctx, id)
	if err == nil {
		if _, err := s.visibleMeeting(r, p, true); err != nil {
			return err
		}
		if rec.Hosted {
			return failf(http.StatusConflict, "meeting %s is recorded by the server itself: it takes no events from elsewhere", id)
		}
		return nil
	}
	if !errors.Is(err, ledger.ErrNotFound) {
		return err
	}
	if b.After > 0 {
		return importError(&ledger.OriginGapError{Meeting: id, Origin: b.Origin, Acked: 0, After: b.After})
	}
	title, err := server.CheckText("meeting title", m.Title, maxNameLen, true)
	if err != nil {
		return failf(http.StatusBadRequest, "%v", err)
	}
	if m.Deal != "" {
		if err := s.mayFileUnder(r, p, m.Deal); err != nil {
			return err
		}
	}
	rec = ledger.Meeting{ID: id, DealID: m.Deal, Title: title, StartedAt: m.StartedAt, Timezone: m.Timezone,
		Language: m.Language, Token: server.NewToken(), OrgID: p.cred.OrgID}
	err = s.store.CreateMeeting(ctx, rec)
	switch {
	case errors.Is(err, ledger.ErrExists):
		// Another batch made it meanwhile: it must be one p may add to.
		_, err = s.visibleMeeting(r, p, true)
		return err
	case errors.Is(err, ledger.ErrInvalidRecord):
		return failf(http.StatusBadRequest, "%v", err)
	case err != nil:
		return err
	}
	s.log.Info("meeting received", "meeting", id, "org", p.cred.OrgID, "deal", m.Deal, "by", p.cred.ID)
	return nil
}
