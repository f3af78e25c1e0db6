package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// CreateDeal implements Store. ID and Name are required.
func (s *sqlStore) CreateDeal(ctx context.Context, d Deal) error {
	if d.ID == "" || d.Name == "" {
		return fmt.Errorf("ledger: %w: a deal needs an ID and a name", ErrInvalidRecord)
	}
	if err := storableRecord("deal", d.ID, d.ID, d.Name, d.Account, d.Vendor, d.Partner, d.Token); err != nil {
		return err
	}
	what := fmt.Sprintf("create deal %q", d.ID)
	if s.closed.Load() {
		return fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	_, err := s.w.exec(ctx, `INSERT INTO deals (id, name, account, vendor, partner, token, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Name, d.Account, d.Vendor, d.Partner, nullable(d.Token), s.now().UTC())
	switch {
	case errors.Is(err, errUniqueViolation):
		return fmt.Errorf("ledger: %s: %w: its ID or token is taken", what, ErrExists)
	case err != nil:
		return s.readErr(what, err)
	}
	return nil
}

// Deal implements Store.
func (s *sqlStore) Deal(ctx context.Context, id string) (Deal, error) {
	return s.deal(ctx, fmt.Sprintf("deal %q", id), `WHERE id = ?`, id)
}

// DealByToken implements Store. An empty token matches no deal.
func (s *sqlStore) DealByToken(ctx context.Context, token string) (Deal, error) {
	if token == "" {
		return Deal{}, fmt.Errorf("ledger: deal by token: %w", ErrNotFound)
	}
	return s.deal(ctx, "deal by token", `WHERE token = ?`, token)
}

func (s *sqlStore) deal(ctx context.Context, what, where string, arg any) (Deal, error) {
	ds, err := s.deals(ctx, what, where, arg)
	if err != nil {
		return Deal{}, err
	}
	if len(ds) == 0 {
		return Deal{}, fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return ds[0], nil
}

// deals reads the deals that where selects from deals, named d.
func (s *sqlStore) deals(ctx context.Context, what, where string, args ...any) ([]Deal, error) {
	return readRows(ctx, s, s.r, what, `SELECT d.id, d.name, d.account, d.vendor, d.partner, d.token, d.created_at, d.owner_org
		FROM deals d `+where, args, func(rows sqlRows) (Deal, error) {
		var (
			d            Deal
			token, owner sql.NullString
			created      dbTime
		)
		err := rows.Scan(&d.ID, &d.Name, &d.Account, &d.Vendor, &d.Partner, &token, &created, &owner)
		d.Token, d.CreatedAt, d.OwnerOrg = token.String, created.Time, owner.String
		return d, err
	})
}

// CreateMeeting implements Store. ID is required; Timezone, when set, must be a known IANA name.
func (s *sqlStore) CreateMeeting(ctx context.Context, m Meeting) error {
	if m.ID == "" {
		return fmt.Errorf("ledger: %w: a meeting needs an ID", ErrInvalidRecord)
	}
	if err := storableRecord("meeting", m.ID, m.ID, m.DealID, m.Title, m.Timezone, m.Language, m.Token); err != nil {
		return err
	}
	if m.Timezone != "" {
		if _, err := time.LoadLocation(m.Timezone); err != nil {
			return fmt.Errorf("ledger: %w: meeting %q: timezone: %w", ErrInvalidRecord, m.ID, err)
		}
	}
	what := fmt.Sprintf("create meeting %q", m.ID)
	if s.closed.Load() {
		return fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	now := s.now().UTC()
	startedOrNow := now
	if !m.StartedAt.IsZero() {
		startedOrNow = m.StartedAt
	}
	tx, err := s.w.begin(ctx)
	if err != nil {
		return s.readErr(what, err)
	}
	defer tx.rollback(ctx) //nolint:errcheck // a no-op after commit

	// A meeting first seen through its log holds only its ID, its first event's time and its log
	// (not described); creating it fills in the rest once.
	n, err := tx.exec(ctx, `INSERT INTO meetings
		(id, deal_id, title, started_at, timezone, language, token, org_id, hosted, described, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, ?)
		ON CONFLICT (id) DO UPDATE SET
			deal_id = excluded.deal_id, title = excluded.title, started_at = COALESCE(?, meetings.started_at),
			timezone = excluded.timezone, language = excluded.language, token = excluded.token,
			org_id = COALESCE(excluded.org_id, meetings.org_id), hosted = excluded.hosted, described = TRUE
		WHERE NOT meetings.described`,
		m.ID, nullable(m.DealID), m.Title, startedOrNow, m.Timezone, m.Language, nullable(m.Token),
		nullable(m.OrgID), m.Hosted, now, nullTime(m.StartedAt))
	switch {
	case errors.Is(err, errForeignKeyViolation):
		return fmt.Errorf("ledger: %s: deal %q or organisation %q: %w", what, m.DealID, m.OrgID, ErrNotFound)
	case errors.Is(err, errUniqueViolation):
		return fmt.Errorf("ledger: %s: %w: its token is taken", what, ErrExists)
	case err != nil:
		return s.readErr(what, err)
	case n == 0:
		return fmt.Errorf("ledger: %s: %w", what, ErrExists)
	}
	if m.DealID != "" {
		if err := recomputeRoles(ctx, tx, m.ID); err != nil {
			return fmt.Errorf("ledger: %s: %w", what, err)
		}
	}
	if err := tx.commit(ctx); err != nil {
		return s.readErr(what, err)
	}
	return nil
}

// storableRecord refuses a record with text that a store cannot keep as it was given.
func storableRecord(kind, id string, fields ...string) error {
	for _, f := range fields {
		if !storable(f) {
			return fmt.Errorf("ledger: %w: %s %q: text must be UTF-8 without NUL characters", ErrInvalidRecord, kind, id)
		}
	}
	return nil
}

// recomputeRoles sets the roles of the participants a meeting had before it joined its deal, where
// they were guessed from the organisation: a stated role stays as stated.
func recomputeRoles(ctx context.Context, tx sqlConn, meeting string) error {
	rows, err := tx.query(ctx, `SELECT speaker_id, organisation FROM participants
		WHERE meeting_id = ? AND stated_role = ''`, meeting)
	if err != nil {
		return fmt.Errorf("participants: %w", err)
	}
	orgs := map[string]string{}
	for rows.Next() {
		var id, org string
		if err := rows.Scan(&id, &org); err != nil {
			rows.Close()
			return fmt.Errorf("participants: %w", err)
		}
		orgs[id] = org
	}
	// Closed before the updates: a PostgreSQL transaction runs one statement at a time.
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return fmt.Errorf("participants: %w", err)
	}
	for id, org := range orgs {
		role, err := roleOf(ctx, tx, meeting, org)
		if err != nil {
			return fmt.Errorf("role of %q: %w", id, err)
		}
		if _, err := tx.exec(ctx, `UPDATE participants SET role = ? WHERE meeting_id = ? AND speaker_id = ?`,
			string(role), meeting, id); err != nil {
			return fmt.Errorf("role of %q: %w", id, err)
		}
	}
	return nil
}

const meetingColumns = `m.id, m.deal_id, m.title, m.started_at, m.timezone, m.language, m.token, m.state, m.last_seq, m.org_id, m.hosted`

// Meeting implements Store.
func (s *sqlStore) Meeting(ctx context.Context, id string) (Meeting, error) {
	return s.meeting(ctx, fmt.Sprintf("meeting %q", id), `WHERE id = ?`, id)
}

// MeetingByToken implements Store. An empty token matches no meeting.
func (s *sqlStore) MeetingByToken(ctx context.Context, token string) (Meeting, error) {
	if token == "" {
		return Meeting{}, fmt.Errorf("ledger: meeting by token: %w", ErrNotFound)
	}
	return s.meeting(ctx, "meeting by token", `WHERE token = ?`, token)
}

func (s *sqlStore) meeting(ctx context.Context, what, where string, arg any) (Meeting, error) {
	ms, err := s.meetings(ctx, what, where, arg)
	if err != nil {
		return Meeting{}, err
	}
	if len(ms) == 0 {
		return Meeting{}, fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return ms[0], nil
}

// Meetings implements Store.
func (s *sqlStore) Meetings(ctx context.Context, dealID string) ([]Meeting, error) {
	if dealID == "" {
		return s.meetings(ctx, "meetings of no deal", `WHERE deal_id IS NULL ORDER BY started_at, id`)
	}
	return s.meetings(ctx, fmt.Sprintf("meetings of deal %q", dealID), `WHERE deal_id = ? ORDER BY started_at, id`, dealID)
}

// Unstopped implements Team.
func (s *sqlStore) Unstopped(ctx context.Context) ([]Meeting, error) {
	return s.meetings(ctx, "hosted meetings not stopped", `WHERE m.hosted AND m.state IN (?, ?) ORDER BY started_at, id`,
		string(MeetingRecording), string(MeetingPaused))
}

// meetings reads the meetings that where selects from meetings, named m.
func (s *sqlStore) meetings(ctx context.Context, what, where string, args ...any) ([]Meeting, error) {
	return readRows(ctx, s, s.r, what, `SELECT `+meetingColumns+` FROM meetings m `+where, args, func(rows sqlRows) (Meeting, error) {
		var (
			m                Meeting
			deal, token, org sql.NullString
			started          dbTime
			state            string
		)
		err := rows.Scan(&m.ID, &deal, &m.Title, &started, &m.Timezone, &m.Language, &token, &state, &m.LastSeq, &org, &m.Hosted)
		m.DealID, m.Token, m.State, m.StartedAt, m.OrgID = deal.String, token.String, MeetingState(state), started.Time, org.String
		return m, err
	})
}

// Participants implements Store.
func (s *sqlStore) Participants(ctx context.Context, meetingID string) ([]Participant, error) {
	return readRows(ctx, s, s.r, fmt.Sprintf("participants of meeting %q", meetingID),
		`SELECT speaker_id, channel, name, organisation, role, stated_role, consent, seq
		FROM participants WHERE meeting_id = ? ORDER BY speaker_id`, []any{meetingID},
		func(rows sqlRows) (Participant, error) {
			p := Participant{MeetingID: meetingID}
			return p, rows.Scan(&p.SpeakerID, &p.Channel, &p.Name, &p.Org, &p.Role, &p.StatedRole, &p.Consent, &p.Seq)
		})
}

// Segments implements Store.
func (s *sqlStore) Segments(ctx context.Context, meetingID string) ([]Segment, error) {
	return readRows(ctx, s, s.r, fmt.Sprintf("segments of meeting %q", meetingID),
		`SELECT seq, segment_id, channel, speaker, organisation, role, start_ms, end_ms, text, language
		FROM segments WHERE meeting_id = ? ORDER BY start_ms, seq`, []any{meetingID},
		func(rows sqlRows) (Segment, error) {
			g := Segment{MeetingID: meetingID}
			return g, rows.Scan(&g.Seq, &g.ID, &g.Channel, &g.Speaker, &g.Org, &g.Role, &g.StartMS, &g.EndMS, &g.Text, &g.Language)
		})
}

// Commitments implements Store.
func (s *sqlStore) Commitments(ctx context.Context, meetingID string) ([]CommitmentRecord, error) {
	return s.commitments(ctx, s.r, fmt.Sprintf("commitments of meeting %q", meetingID), meetingID,
		`WHERE meeting_id = ? ORDER BY start_ms, id`, meetingID)
}

// Commitment returns the current state of one commitment of a meeting, or ErrNotFound.
func (s *sqlStore) Commitment(ctx context.Context, meetingID, id string) (CommitmentRecord, error) {
	return s.commitment(ctx, s.r, meetingID, id)
}

// commitment reads one commitment through conn: the read pool, or the transaction of an append.
func (s *sqlStore) commitment(ctx context.Context, conn sqlConn, meetingID, id string) (CommitmentRecord, error) {
	what := fmt.Sprintf("commitment %q of meeting %q", id, meetingID)
	cs, err := s.commitments(ctx, conn, what, meetingID, `WHERE meeting_id = ? AND id = ?`, meetingID, id)
	if err != nil {
		return CommitmentRecord{}, err
	}
	if len(cs) == 0 {
		return CommitmentRecord{}, fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return cs[0], nil
}

func (s *sqlStore) commitments(ctx context.Context, conn sqlConn, what, meetingID, where string, args ...any) ([]CommitmentRecord, error) {
	return readRows(ctx, s, conn, what, `SELECT id, what, owner, owner_org, contact, beneficiary, beneficiary_org, due, due_phrase, status,
			confidence, quote, segment_ids, start_ms, seq, updated_at, updated_by, edited
		FROM commitments `+where, args, func(rows sqlRows) (CommitmentRecord, error) {
		c := CommitmentRecord{MeetingID: meetingID}
		var (
			ids, edited string
			updated     dbTime
		)
		if err := rows.Scan(&c.ID, &c.What, &c.Owner, &c.OwnerOrg, &c.Contact, &c.Beneficiary, &c.BeneficiaryOrg, &c.Due, &c.DuePhrase, &c.Status,
			&c.Confidence, &c.Quote, &ids, &c.StartMS, &c.Seq, &updated, &c.UpdatedBy, &edited); err != nil {
			return c, err
		}
		c.UpdatedAt = updated.Time
		if err := json.Unmarshal([]byte(ids), &c.SegmentIDs); err != nil {
			return c, fmt.Errorf("commitment %q: segment IDs: %w", c.ID, err)
		}
		if err := json.Unmarshal([]byte(edited), &c.Edited); err != nil {
			return c, fmt.Errorf("commitment %q: edited fields: %w", c.ID, err)
		}
		// As the event carried them: omitted when empty.
		if len(c.SegmentIDs) == 0 {
			c.SegmentIDs = nil
		}
		if len(c.Edited) == 0 {
			c.Edited = nil
		}
		return c, nil
	})
}

// Speaker returns what a meeting knows of a speaker: as its latest speaker.update named it, or,
// for a voice never named, the channel, organisation and role of its latest final segment (no
// name). Its role is the one stated, never a guess. A speaker neither named nor heard is ErrNotFound.
func (s *sqlStore) Speaker(ctx context.Context, meetingID, id string) (SpeakerInfo, error) {
	what := fmt.Sprintf("speaker %q of meeting %q", id, meetingID)
	sp := SpeakerInfo{ID: id}
	args := []any{meetingID, id}
	err := s.row(ctx, what, `SELECT channel, name, organisation, stated_role, consent FROM participants
		WHERE meeting_id = ? AND speaker_id = ?`, args, &sp.Channel, &sp.Name, &sp.Org, &sp.Role, &sp.Consent)
	if errors.Is(err, ErrNotFound) {
		err = s.row(ctx, what, `SELECT channel, organisation, role FROM segments
			WHERE meeting_id = ? AND speaker = ? ORDER BY seq DESC LIMIT 1`, args, &sp.Channel, &sp.Org, &sp.Role)
	}
	if err != nil {
		return SpeakerInfo{}, err
	}
	return sp, nil
}

// ReasonStarted is the reason of the meeting.state (recording) a run records first: the store
// counts a meeting's runs by it.
const ReasonStarted = "started"

// Runs returns how many runs have recorded a meeting: its meeting.state events with
// ReasonStarted. A meeting the store does not hold has had none.
func (s *sqlStore) Runs(ctx context.Context, meetingID string) (int, error) {
	var runs int
	err := s.row(ctx, fmt.Sprintf("runs of meeting %q", meetingID), `SELECT runs FROM meetings WHERE id = ?`,
		[]any{meetingID}, &runs)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return runs, err
}

// LastState returns a meeting's last meeting.state event, the state it stands in; ErrNotFound
// before any.
func (s *sqlStore) LastState(ctx context.Context, meetingID string) (Event, error) {
	what := fmt.Sprintf("state of meeting %q", meetingID)
	var body []byte
	if err := s.row(ctx, what, `SELECT e.json FROM meetings m JOIN events e ON e.meeting_id = m.id AND e.seq = m.state_seq
		WHERE m.id = ?`, []any{meetingID}, &body); err != nil {
		return Event{}, err
	}
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return Event{}, fmt.Errorf("ledger: %s: %w", what, err)
	}
	return e, nil
}

// ClockReached returns the furthest meeting time a meeting's record reaches: the end of its last
// segment, or a loss of audio recorded after it (speech dropped at the end of a run is meeting
// time too); 0 for a meeting with neither. A later run of the meeting continues its clock from
// there.
func (s *sqlStore) ClockReached(ctx context.Context, meetingID string) (time.Duration, error) {
	what := fmt.Sprintf("clock of meeting %q", meetingID)
	var end int64
	err := s.row(ctx, what, `SELECT COALESCE(MAX(end_ms), 0) FROM segments WHERE meeting_id = ?`, []any{meetingID}, &end)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	// Losses are not projected: they are read from the log, once, when a meeting is continued.
	losses, err := eventsOfType(ctx, s, meetingID, TypeChannelLoss, what)
	if err != nil {
		return 0, err
	}
	for _, e := range losses {
		if e.Loss == nil {
			return 0, fmt.Errorf("ledger: %s: event %d: a channel.loss without its loss", what, e.Seq)
		}
		end = max(end, e.Loss.AtMS)
	}
	return time.Duration(end) * time.Millisecond, nil
}

// CaptureHealth returns a meeting's capture.health events in log order: each channel's capture
// problems as they began, and their ends (an empty Problem).
func (s *sqlStore) CaptureHealth(ctx context.Context, meetingID string) ([]CaptureInfo, error) {
	what := fmt.Sprintf("capture health of meeting %q", meetingID)
	events, err := eventsOfType(ctx, s, meetingID, TypeCaptureHealth, what)
	if err != nil {
		return nil, err
	}
	out := make([]CaptureInfo, 0, len(events))
	for _, e := range events {
		if e.Capture == nil {
			return nil, fmt.Errorf("ledger: %s: event %d: a capture.health without its capture", what, e.Seq)
		}
		out = append(out, *e.Capture)
	}
	return out, nil
}

// eventsOfType reads a meeting's events of one type from the log, in order: those that are not
// projected into tables of their own.
func eventsOfType(ctx context.Context, s *sqlStore, meetingID string, t EventType, what string) ([]Event, error) {
	return readRows(ctx, s, s.r, what, `SELECT seq, json FROM events WHERE meeting_id = ? AND type = ? ORDER BY seq`,
		[]any{meetingID, string(t)}, func(rows sqlRows) (Event, error) {
			var (
				seq  int64
				body []byte
				e    Event
			)
			if err := rows.Scan(&seq, &body); err != nil {
				return e, err
			}
			if err := json.Unmarshal(body, &e); err != nil {
				return e, fmt.Errorf("event %d: %w", seq, err)
			}
			e.Seq = seq
			return e, nil
		})
}
