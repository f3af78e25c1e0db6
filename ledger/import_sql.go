package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// CheckImport checks a batch as Import does before it stores anything, with the same errors
// (ErrInvalidRecord, ErrInvalidEvent): a server that makes a meeting's record for its first
// batch checks the batch first, so that a batch refused leaves nothing behind.
func CheckImport(meeting, origin string, after int64, batch []Event) error {
	_, err := importBatch(meeting, origin, after, batch)
	return err
}

// importBatch checks a batch for Import and returns its events as they are to be stored.
func importBatch(meeting, origin string, after int64, batch []Event) ([]Event, error) {
	what := fmt.Sprintf("import into meeting %q from %q", meeting, origin)
	if meeting == "" || origin == "" || !storableArgs([]any{meeting, origin}) || after < 0 {
		return nil, fmt.Errorf("ledger: %w: %s: want a meeting, an origin and a Seq after of 0 or more", ErrInvalidRecord, what)
	}
	events := make([]Event, len(batch))
	prev := after
	for i, e := range batch {
		if e.Seq <= prev {
			return nil, fmt.Errorf("ledger: %w: %s: event %d of the batch has origin seq %d, want more than %d",
				ErrInvalidRecord, what, i, e.Seq, prev)
		}
		prev = e.Seq
		var err error
		if events[i], err = importable(e, meeting); err != nil {
			return nil, fmt.Errorf("%w (%s, origin seq %d)", err, what, e.Seq)
		}
	}
	return events, nil
}

// Import implements Team. A batch is stored in one transaction, all of it or none: the ack it
// returns is exact, and a batch costs one commit (one fsync on SQLite) however many events it
// holds. Events are checked as Append checks them, and must belong to meeting and follow after in
// increasing origin Seq; the actor of their changes is their By, or else ctx's (WithActor).
func (s *sqlStore) Import(ctx context.Context, meeting, origin string, after int64, batch []Event) (int64, error) {
	what := fmt.Sprintf("import into meeting %q from %q", meeting, origin)
	events, err := importBatch(meeting, origin, after, batch)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("ledger: %s: %w", what, err)
	}
	var acked int64
	_, err = s.write(ctx, meeting, what, func(ctx context.Context, tx sqlConn, recorded bool) ([]Event, error) {
		fail := func(step string, err error) ([]Event, error) {
			return nil, fmt.Errorf("ledger: %s: %s: %w", what, step, err)
		}
		if !recorded && len(events) > 0 {
			if err := recordMeeting(ctx, tx, meeting, events[0].At, s.now().UTC()); err != nil {
				return fail("record meeting", err)
			}
		}
		// Lock the meeting's row, as an append does, before reading how far the origin is stored:
		// an import or append to the meeting from another process waits until this one commits.
		var last int64
		if err := tx.queryRow(ctx, `UPDATE meetings SET last_seq = last_seq WHERE id = ? RETURNING last_seq`,
			meeting).Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fail("lock meeting", err)
		}
		if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(origin_seq), 0) FROM events WHERE meeting_id = ? AND origin = ?`,
			meeting, origin).Scan(&acked); err != nil {
			return fail("read cursor", err)
		}
		if after > acked {
			return nil, &OriginGapError{Meeting: meeting, Origin: origin, Acked: acked, After: after}
		}
		var stored []Event
		for _, e := range events {
			if e.Seq <= acked {
				continue // stored from an earlier batch
			}
			originSeq := e.Seq
			seq, err := nextSeq(ctx, tx, meeting)
			if err != nil {
				return fail("next seq", err)
			}
			e.Seq = seq
			actor := e.By
			if actor == "" {
				actor = actorFrom(ctx)
			}
			se, err := insertEvent(ctx, tx, meeting, e, actor, eventOrigin{name: origin, seq: originSeq})
			if err != nil {
				return fail(fmt.Sprintf("%s with origin seq %d", e.Type, originSeq), err)
			}
			stored, acked = append(stored, se), originSeq
		}
		return stored, nil
	})
	if err != nil {
		return 0, err
	}
	return acked, nil
}

// importable checks an event to import as Append checks one to append, and returns the copy to
// store, with its origin's time.
func importable(e Event, meeting string) (Event, error) {
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	switch {
	case !e.Type.Stored():
		return Event{}, fmt.Errorf("ledger: %w: %s is published, not stored: it cannot be imported", ErrInvalidEvent, e.Type)
	case e.Meeting != meeting:
		return Event{}, fmt.Errorf("ledger: %w: an event of meeting %q", ErrInvalidEvent, e.Meeting)
	case e.At.IsZero():
		return Event{}, fmt.Errorf("ledger: %w: %s without its time (at)", ErrInvalidEvent, e.Type)
	}
	e = e.clone()
	e.V, e.At = SchemaVersion, e.At.UTC()
	return e, nil
}

// ImportCursor implements Team.
func (s *sqlStore) ImportCursor(ctx context.Context, meeting, origin string) (int64, error) {
	var acked int64
	err := s.row(ctx, fmt.Sprintf("import cursor of meeting %q from %q", meeting, origin),
		`SELECT COALESCE(MAX(origin_seq), 0) FROM events WHERE meeting_id = ? AND origin = ?`, []any{meeting, origin}, &acked)
	if errors.Is(err, ErrNotFound) { // text no record can hold
		return 0, nil
	}
	return acked, err
}

// AddUpload implements Team. MeetingID and Server are required; Acked is where the upload starts
// from (0: the meeting's first event). A meeting sent before, to any server, keeps the origin it was
// sent under: a server named by another address (localhost for 127.0.0.1, a new DNS name) then
// answers how far it holds that log, rather than storing the meeting a second time.
func (s *sqlStore) AddUpload(ctx context.Context, u Upload) error {
	what := fmt.Sprintf("add upload of meeting %q to %s", u.MeetingID, u.Server)
	if u.MeetingID == "" || u.Server == "" || u.Origin == "" || u.Acked < 0 {
		return fmt.Errorf("ledger: %w: %s: want a meeting, a server and an origin", ErrInvalidRecord, what)
	}
	if err := storableRecord("upload of meeting", u.MeetingID, u.MeetingID, u.Server, u.DealID, u.Origin); err != nil {
		return err
	}
	if s.closed.Load() {
		return fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	if _, err := s.w.exec(ctx, `INSERT INTO uploads (meeting_id, server, origin, deal_id, acked, updated_at)
		VALUES (?, ?, COALESCE((SELECT MIN(origin) FROM uploads WHERE meeting_id = ?), ?), ?, ?, ?)
		ON CONFLICT (meeting_id, server) DO NOTHING`, u.MeetingID, u.Server, u.MeetingID, u.Origin, u.DealID, u.Acked, s.now().UTC()); err != nil {
		return s.readErr(what, err)
	}
	return nil
}

// Uploads implements Team, by meeting ID.
func (s *sqlStore) Uploads(ctx context.Context, server string) ([]Upload, error) {
	return readRows(ctx, s, s.r, fmt.Sprintf("uploads to %s", server),
		`SELECT meeting_id, origin, deal_id, acked FROM uploads WHERE server = ? ORDER BY meeting_id`, []any{server},
		func(rows sqlRows) (Upload, error) {
			u := Upload{Server: server}
			return u, rows.Scan(&u.MeetingID, &u.Origin, &u.DealID, &u.Acked)
		})
}

// SetUploaded implements Team. An upload never added fails with ErrNotFound.
func (s *sqlStore) SetUploaded(ctx context.Context, meetingID, server string, acked int64) error {
	// Never back: acknowledgements of one upload may arrive out of order.
	return s.updateOne(ctx, fmt.Sprintf("set upload of meeting %q to %s acknowledged", meetingID, server), []string{meetingID, server},
		`UPDATE uploads SET acked = CASE WHEN acked < ? THEN ? ELSE acked END, updated_at = ?
		WHERE meeting_id = ? AND server = ?`, acked, acked, s.now().UTC(), meetingID, server)
}
