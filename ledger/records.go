package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

// CreateDeal implements Store. ID and Name are required.
func (s *SQLiteStore) CreateDeal(ctx context.Context, d Deal) error {
	if d.ID == "" || d.Name == "" {
		return fmt.Errorf("%w: a deal needs an ID and a name", ErrInvalidRecord)
	}
	if s.closed.Load() {
		return fmt.Errorf("ledger: create deal %q: %w", d.ID, ErrLogClosed)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO deals (id, name, account, vendor, partner, token, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Name, d.Account, d.Vendor, d.Partner, nullable(d.Token), formatTime(s.now()))
	switch constraint(err) {
	case 0:
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fmt.Errorf("ledger: create deal %q: %w: its ID or token is taken", d.ID, ErrExists)
	}
	if err != nil {
		return s.readErr(fmt.Sprintf("create deal %q", d.ID), err)
	}
	return nil
}

// Deal implements Store.
func (s *SQLiteStore) Deal(ctx context.Context, id string) (Deal, error) {
	return s.deal(ctx, fmt.Sprintf("deal %q", id), `WHERE id = ?`, id)
}

// DealByToken implements Store. An empty token matches no deal.
func (s *SQLiteStore) DealByToken(ctx context.Context, token string) (Deal, error) {
	if token == "" {
		return Deal{}, fmt.Errorf("ledger: deal by token: %w", ErrNotFound)
	}
	return s.deal(ctx, "deal by token", `WHERE token = ?`, token)
}

func (s *SQLiteStore) deal(ctx context.Context, what, where string, arg any) (Deal, error) {
	if s.closed.Load() {
		return Deal{}, fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	var (
		d       Deal
		token   sql.NullString
		created string
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, name, account, vendor, partner, token, created_at FROM deals `+where, arg).
		Scan(&d.ID, &d.Name, &d.Account, &d.Vendor, &d.Partner, &token, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Deal{}, fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	if err != nil {
		return Deal{}, s.readErr(what, err)
	}
	d.Token = token.String
	if d.CreatedAt, err = parseTime(created); err != nil {
		return Deal{}, fmt.Errorf("ledger: %s: %w", what, err)
	}
	return d, nil
}

// CreateMeeting implements Store. ID is required; Timezone, when set, must be a known IANA name.
func (s *SQLiteStore) CreateMeeting(ctx context.Context, m Meeting) error {
	if m.ID == "" {
		return fmt.Errorf("%w: a meeting needs an ID", ErrInvalidRecord)
	}
	if m.Timezone != "" {
		if _, err := time.LoadLocation(m.Timezone); err != nil {
			return fmt.Errorf("%w: meeting %q: timezone: %w", ErrInvalidRecord, m.ID, err)
		}
	}
	if s.closed.Load() {
		return fmt.Errorf("ledger: create meeting %q: %w", m.ID, ErrLogClosed)
	}
	now := s.now()
	started := sql.NullString{String: formatTime(m.StartedAt), Valid: !m.StartedAt.IsZero()}
	startedOrNow := formatTime(now)
	if started.Valid {
		startedOrNow = started.String
	}
	what := fmt.Sprintf("create meeting %q", m.ID)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.readErr(what, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	// A meeting first seen through its log holds only its ID, its first event's time and its log
	// (described = 0); creating it fills in the rest once.
	res, err := tx.ExecContext(ctx, `INSERT INTO meetings
		(id, deal_id, title, started_at, timezone, language, token, described, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)
		ON CONFLICT (id) DO UPDATE SET
			deal_id = excluded.deal_id, title = excluded.title, started_at = COALESCE(?, started_at),
			timezone = excluded.timezone, language = excluded.language, token = excluded.token, described = 1
		WHERE described = 0`,
		m.ID, nullable(m.DealID), m.Title, startedOrNow, m.Timezone, m.Language, nullable(m.Token),
		formatTime(now), started)
	switch constraint(err) {
	case 0:
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("ledger: %s: deal %q: %w", what, m.DealID, ErrNotFound)
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fmt.Errorf("ledger: %s: %w: its token is taken", what, ErrExists)
	}
	if err != nil {
		return s.readErr(what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("ledger: %s: %w", what, err)
	} else if n == 0 {
		return fmt.Errorf("ledger: %s: %w", what, ErrExists)
	}
	if m.DealID != "" {
		if err := recomputeRoles(ctx, tx, m.ID); err != nil {
			return fmt.Errorf("ledger: %s: %w", what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.readErr(what, err)
	}
	return nil
}

// recomputeRoles sets the roles of the participants a meeting had before it joined its deal, where
// they were guessed from the organisation: a stated role stays as stated.
func recomputeRoles(ctx context.Context, tx *sql.Tx, meeting string) error {
	rows, err := tx.QueryContext(ctx, `SELECT speaker_id, organisation FROM participants
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
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("participants: %w", err)
	}
	for id, org := range orgs {
		role, err := roleOf(ctx, tx, meeting, org)
		if err != nil {
			return fmt.Errorf("role of %q: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE participants SET role = ? WHERE meeting_id = ? AND speaker_id = ?`,
			string(role), meeting, id); err != nil {
			return fmt.Errorf("role of %q: %w", id, err)
		}
	}
	return nil
}

const meetingColumns = `id, deal_id, title, started_at, timezone, language, token, state, last_seq`

// Meeting implements Store.
func (s *SQLiteStore) Meeting(ctx context.Context, id string) (Meeting, error) {
	return s.meeting(ctx, fmt.Sprintf("meeting %q", id), `WHERE id = ?`, id)
}

// MeetingByToken implements Store. An empty token matches no meeting.
func (s *SQLiteStore) MeetingByToken(ctx context.Context, token string) (Meeting, error) {
	if token == "" {
		return Meeting{}, fmt.Errorf("ledger: meeting by token: %w", ErrNotFound)
	}
	return s.meeting(ctx, "meeting by token", `WHERE token = ?`, token)
}

func (s *SQLiteStore) meeting(ctx context.Context, what, where string, arg any) (Meeting, error) {
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
func (s *SQLiteStore) Meetings(ctx context.Context, dealID string) ([]Meeting, error) {
	if dealID == "" {
		return s.meetings(ctx, "meetings of no deal", `WHERE deal_id IS NULL ORDER BY started_at, id`)
	}
	return s.meetings(ctx, fmt.Sprintf("meetings of deal %q", dealID), `WHERE deal_id = ? ORDER BY started_at, id`, dealID)
}

func (s *SQLiteStore) meetings(ctx context.Context, what, where string, args ...any) ([]Meeting, error) {
	rows, err := s.query(ctx, what, `SELECT `+meetingColumns+` FROM meetings `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Meeting
	for rows.Next() {
		var (
			m              Meeting
			deal, token    sql.NullString
			started, state string
		)
		if err := rows.Scan(&m.ID, &deal, &m.Title, &started, &m.Timezone, &m.Language, &token, &state, &m.LastSeq); err != nil {
			return nil, s.readErr(what, err)
		}
		m.DealID, m.Token, m.State = deal.String, token.String, MeetingState(state)
		if m.StartedAt, err = parseTime(started); err != nil {
			return nil, fmt.Errorf("ledger: %s: %w", what, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(what, err)
	}
	return out, nil
}

// Participants implements Store.
func (s *SQLiteStore) Participants(ctx context.Context, meetingID string) ([]Participant, error) {
	what := fmt.Sprintf("participants of meeting %q", meetingID)
	rows, err := s.query(ctx, what, `SELECT speaker_id, channel, name, organisation, role, stated_role, seq
		FROM participants WHERE meeting_id = ? ORDER BY speaker_id`, meetingID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Participant
	for rows.Next() {
		p := Participant{MeetingID: meetingID}
		if err := rows.Scan(&p.SpeakerID, &p.Channel, &p.Name, &p.Org, &p.Role, &p.StatedRole, &p.Seq); err != nil {
			return nil, s.readErr(what, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(what, err)
	}
	return out, nil
}

// Segments implements Store.
func (s *SQLiteStore) Segments(ctx context.Context, meetingID string) ([]Segment, error) {
	what := fmt.Sprintf("segments of meeting %q", meetingID)
	rows, err := s.query(ctx, what, `SELECT seq, segment_id, channel, speaker, organisation, role, start_ms, end_ms, text, language
		FROM segments WHERE meeting_id = ? ORDER BY start_ms, seq`, meetingID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Segment
	for rows.Next() {
		g := Segment{MeetingID: meetingID}
		if err := rows.Scan(&g.Seq, &g.ID, &g.Channel, &g.Speaker, &g.Org, &g.Role, &g.StartMS, &g.EndMS, &g.Text, &g.Language); err != nil {
			return nil, s.readErr(what, err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(what, err)
	}
	return out, nil
}

// Commitments implements Store.
func (s *SQLiteStore) Commitments(ctx context.Context, meetingID string) ([]CommitmentRecord, error) {
	return s.commitments(ctx, fmt.Sprintf("commitments of meeting %q", meetingID), meetingID,
		`WHERE meeting_id = ? ORDER BY start_ms, id`, meetingID)
}

// Commitment returns the current state of one commitment of a meeting, or ErrNotFound.
func (s *SQLiteStore) Commitment(ctx context.Context, meetingID, id string) (CommitmentRecord, error) {
	what := fmt.Sprintf("commitment %q of meeting %q", id, meetingID)
	cs, err := s.commitments(ctx, what, meetingID, `WHERE meeting_id = ? AND id = ?`, meetingID, id)
	if err != nil {
		return CommitmentRecord{}, err
	}
	if len(cs) == 0 {
		return CommitmentRecord{}, fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return cs[0], nil
}

func (s *SQLiteStore) commitments(ctx context.Context, what, meetingID, where string, args ...any) ([]CommitmentRecord, error) {
	rows, err := s.query(ctx, what, `SELECT id, what, owner, owner_org, beneficiary, due, due_phrase, status,
			confidence, quote, segment_ids, start_ms, seq, updated_at, updated_by, edited
		FROM commitments `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CommitmentRecord
	for rows.Next() {
		c := CommitmentRecord{MeetingID: meetingID}
		var ids, updated, edited string
		if err := rows.Scan(&c.ID, &c.What, &c.Owner, &c.OwnerOrg, &c.Beneficiary, &c.Due, &c.DuePhrase, &c.Status,
			&c.Confidence, &c.Quote, &ids, &c.StartMS, &c.Seq, &updated, &c.UpdatedBy, &edited); err != nil {
			return nil, s.readErr(what, err)
		}
		if err := json.Unmarshal([]byte(ids), &c.SegmentIDs); err != nil {
			return nil, fmt.Errorf("ledger: %s: commitment %q: segment IDs: %w", what, c.ID, err)
		}
		if err := json.Unmarshal([]byte(edited), &c.Edited); err != nil {
			return nil, fmt.Errorf("ledger: %s: commitment %q: edited fields: %w", what, c.ID, err)
		}
		// As the event carried them: omitted when empty.
		if len(c.SegmentIDs) == 0 {
			c.SegmentIDs = nil
		}
		if len(c.Edited) == 0 {
			c.Edited = nil
		}
		if c.UpdatedAt, err = parseTime(updated); err != nil {
			return nil, fmt.Errorf("ledger: %s: %w", what, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(what, err)
	}
	return out, nil
}

// Speaker returns what a meeting knows of a speaker: as its latest speaker.update named it, or,
// for a voice never named, the channel, organisation and role of its latest final segment (no
// name). Its role is the one stated, never a guess. A speaker neither named nor heard is ErrNotFound.
func (s *SQLiteStore) Speaker(ctx context.Context, meetingID, id string) (SpeakerInfo, error) {
	what := fmt.Sprintf("speaker %q of meeting %q", id, meetingID)
	sp := SpeakerInfo{ID: id}
	err := s.r.QueryRowContext(ctx, `SELECT channel, name, organisation, stated_role, consent FROM participants
		WHERE meeting_id = ? AND speaker_id = ?`, meetingID, id).Scan(&sp.Channel, &sp.Name, &sp.Org, &sp.Role, &sp.Consent)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.r.QueryRowContext(ctx, `SELECT channel, organisation, role FROM segments
			WHERE meeting_id = ? AND speaker = ? ORDER BY seq DESC LIMIT 1`, meetingID, id).Scan(&sp.Channel, &sp.Org, &sp.Role)
	}
	if err != nil {
		return SpeakerInfo{}, s.rowErr(what, err)
	}
	return sp, nil
}

// ReasonStarted is the reason of the meeting.state (recording) a run records first: the store
// counts a meeting's runs by it.
const ReasonStarted = "started"

// Runs returns how many runs have recorded a meeting: its meeting.state events with
// ReasonStarted. A meeting the store does not hold has had none.
func (s *SQLiteStore) Runs(ctx context.Context, meetingID string) (int, error) {
	what := fmt.Sprintf("runs of meeting %q", meetingID)
	var runs int
	err := s.r.QueryRowContext(ctx, `SELECT runs FROM meetings WHERE id = ?`, meetingID).Scan(&runs)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.readErr(what, err)
	}
	return runs, nil
}

// LastState returns a meeting's last meeting.state event, the state it stands in; ErrNotFound
// before any.
func (s *SQLiteStore) LastState(ctx context.Context, meetingID string) (Event, error) {
	what := fmt.Sprintf("state of meeting %q", meetingID)
	var body []byte
	err := s.r.QueryRowContext(ctx, `SELECT e.json FROM meetings m JOIN events e ON e.meeting_id = m.id AND e.seq = m.state_seq
		WHERE m.id = ?`, meetingID).Scan(&body)
	if err != nil {
		return Event{}, s.rowErr(what, err)
	}
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return Event{}, fmt.Errorf("ledger: %s: %w", what, err)
	}
	return e, nil
}

// rowErr wraps the error of a one-row read: ErrNotFound for no row.
func (s *SQLiteStore) rowErr(what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return s.readErr(what, err)
}

// query runs a read on the read pool.
func (s *SQLiteStore) query(ctx context.Context, what, q string, args ...any) (*sql.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ledger: %s: %w", what, err)
	}
	if s.closed.Load() {
		return nil, fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.readErr(what, err)
	}
	return rows, nil
}

// nullable stores "" as NULL, for optional references and tokens.
func nullable(v string) sql.NullString { return sql.NullString{String: v, Valid: v != ""} }
