package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FollowUp is what one stop of a meeting owes once it is recorded: its recap sent to the
// webhooks. The store writes one in the transaction that appends a meeting.state "stopped" event,
// so that no crash between the stop and the follow-up loses it.
type FollowUp struct {
	Meeting string
	Seq     int64     // the stopped event's Seq: a meeting stopped twice owes two
	Due     time.Time // the stopped event's time, in UTC
}

// ID names the follow-up in one string, the same wherever it is made: a job's ID.
func (f FollowUp) ID() string { return f.Meeting + "/" + strconv.FormatInt(f.Seq, 10) }

// ParseFollowUpID reads FollowUp.ID back into the follow-up's meeting and Seq.
func ParseFollowUpID(id string) (FollowUp, error) {
	i := strings.LastIndexByte(id, '/')
	if i <= 0 {
		return FollowUp{}, fmt.Errorf("ledger: %w: follow-up %q: want MEETING/SEQ", ErrInvalidRecord, id)
	}
	seq, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil || seq <= 0 {
		return FollowUp{}, fmt.Errorf("ledger: %w: follow-up %q: want MEETING/SEQ", ErrInvalidRecord, id)
	}
	return FollowUp{Meeting: id[:i], Seq: seq}, nil
}

// FollowUps keeps the follow-ups that stopped meetings owe, for whoever carries them out: one
// process, or several replicas that share the work over a queue. The store only remembers what is
// pending and what is done; carrying a follow-up out is the caller's.
type FollowUps interface {
	// PendingFollowUps returns up to limit follow-ups not yet done, oldest first.
	PendingFollowUps(ctx context.Context, limit int) ([]FollowUp, error)
	// FollowUpDone reports whether the follow-up was done; ErrNotFound if the store owes none such.
	FollowUpDone(ctx context.Context, f FollowUp) (bool, error)
	// FinishFollowUp marks it done. It reports false when it was done already: of two callers
	// finishing one follow-up, one gets true. ErrNotFound if the store owes none such.
	FinishFollowUp(ctx context.Context, f FollowUp) (bool, error)
}

var (
	_ FollowUps = (*SQLiteStore)(nil)
	_ FollowUps = (*PostgresStore)(nil)
)

// PendingFollowUps implements FollowUps.
func (s *sqlStore) PendingFollowUps(ctx context.Context, limit int) ([]FollowUp, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("ledger: %w: pending follow-ups: a limit of %d", ErrInvalidRecord, limit)
	}
	return readRows(ctx, s, s.r, "pending follow-ups",
		`SELECT meeting_id, state_seq, due_at FROM followups WHERE done_at IS NULL ORDER BY due_at, meeting_id, state_seq LIMIT ?`,
		[]any{limit}, func(rows sqlRows) (FollowUp, error) {
			var f FollowUp
			var due dbTime
			err := rows.Scan(&f.Meeting, &f.Seq, &due)
			f.Due = due.UTC()
			return f, err
		})
}

// FollowUpDone implements FollowUps.
func (s *sqlStore) FollowUpDone(ctx context.Context, f FollowUp) (bool, error) {
	var done nullDBTime
	err := s.row(ctx, fmt.Sprintf("follow-up %s", f.ID()), `SELECT done_at FROM followups WHERE meeting_id = ? AND state_seq = ?`,
		[]any{f.Meeting, f.Seq}, &done)
	return !done.IsZero(), err
}

// FinishFollowUp implements FollowUps: one conditional update, so that the database decides
// between two callers.
func (s *sqlStore) FinishFollowUp(ctx context.Context, f FollowUp) (bool, error) {
	what := fmt.Sprintf("finish follow-up %s", f.ID())
	err := s.updateOne(ctx, what, []string{f.Meeting},
		`UPDATE followups SET done_at = ? WHERE meeting_id = ? AND state_seq = ? AND done_at IS NULL`, s.now().UTC(), f.Meeting, f.Seq)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	if _, derr := s.FollowUpDone(ctx, f); derr != nil {
		return false, derr // ErrNotFound: none such
	}
	return false, nil
}
