package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// A team server sends meeting bots into web calls: a person asks for one (now, or at a time), or
// an organisation's calendar schedules one for each of its events with a meeting link. The store
// keeps each request until a process of the server claims it, so that schedules survive a restart
// and a due one starts once, whichever replica claims it first. Calendars (calendars.go) are the
// feeds bots are scheduled from.

// BotStatus is where a bot request stands in the store. What the bot does once started is in the
// meeting's log (bot.state events).
type BotStatus string

// The bot request statuses.
const (
	BotScheduled BotStatus = "scheduled" // waiting for its time
	BotStarted   BotStatus = "started"   // claimed by a process, which started the bot
	BotCancelled BotStatus = "cancelled" // a person cancelled it, or asked the bot to leave
	// BotWithdrawn: its calendar event was cancelled, or is gone from the feed; it is scheduled
	// again should the event come back.
	BotWithdrawn BotStatus = "withdrawn"
)

// BotRequest is one bot asked for, as stored.
type BotRequest struct {
	ID         string
	OrgID      string // the organisation it records for
	MeetingURL string
	Platform   string // as the link was recognised
	Title      string // the meeting's title
	DealID     string // "" for none
	JoinAt     time.Time
	// MeetingID is the hosted meeting it records into, made when the bot starts.
	MeetingID string
	Status    BotStatus
	StartedBy string // the process that claimed it
	CreatedBy string // the credential that asked for it; "" for a calendar's
	CreatedAt time.Time
	// CalendarID and EventKey name the calendar event it was scheduled for ("" for none).
	CalendarID, EventKey string
}

// Bots keeps the bot requests of a team server. SQLiteStore and PostgresStore implement it.
type Bots interface {
	// AddBot stores a request; Status and CreatedAt are set by the store (scheduled, now). ID,
	// OrgID, MeetingURL, Platform and MeetingID are required; a taken ID fails with ErrExists, an
	// unknown organisation or deal with ErrNotFound.
	AddBot(ctx context.Context, b BotRequest) error
	// Bot returns a request, or ErrNotFound.
	Bot(ctx context.Context, id string) (BotRequest, error)
	// OrgBots lists an organisation's requests ("" with all: every organisation's), the latest
	// JoinAt first, at most limit.
	OrgBots(ctx context.Context, orgID string, all bool, limit int) ([]BotRequest, error)
	// DueBots lists scheduled requests whose JoinAt is not after now, oldest first, at most limit.
	DueBots(ctx context.Context, now time.Time, limit int) ([]BotRequest, error)
	// ClaimBot marks a scheduled request that is due at now started by the process named by, in
	// one conditional update: of two processes claiming one request, one gets true.
	ClaimBot(ctx context.Context, id, by string, now time.Time) (bool, error)
	// CancelBot marks a request cancelled, unless it was already; it returns the request as it was
	// before. ErrNotFound for an unknown ID.
	CancelBot(ctx context.Context, id string) (BotRequest, error)
	// LatestBotState returns the last bot.state event of a meeting's log, or ErrNotFound when it
	// has none.
	LatestBotState(ctx context.Context, meetingID string) (Event, error)
}

var (
	_ Bots = (*SQLiteStore)(nil)
	_ Bots = (*PostgresStore)(nil)
)

const botColumns = `id, org_id, meeting_url, platform, title, deal_id, join_at_ms, meeting_id, status, started_by,
	created_by, created_at, calendar_id, event_key`

func scanBot(rows rowScanner) (BotRequest, error) {
	var (
		b              BotRequest
		deal, cal, key sql.NullString
		joinAt         int64
		created        dbTime
		status         string
	)
	err := rows.Scan(&b.ID, &b.OrgID, &b.MeetingURL, &b.Platform, &b.Title, &deal, &joinAt, &b.MeetingID, &status,
		&b.StartedBy, &b.CreatedBy, &created, &cal, &key)
	b.DealID, b.CalendarID, b.EventKey = deal.String, cal.String, key.String
	b.JoinAt, b.CreatedAt, b.Status = time.UnixMilli(joinAt).UTC(), created.Time, BotStatus(status)
	return b, err
}

func checkBot(b BotRequest) error {
	if b.ID == "" || b.OrgID == "" || b.MeetingURL == "" || b.Platform == "" || b.MeetingID == "" {
		return fmt.Errorf("ledger: %w: bot %q: want an ID, organisation, meeting link, platform and meeting", ErrInvalidRecord, b.ID)
	}
	return storableRecord("bot", b.ID, b.ID, b.OrgID, b.MeetingURL, b.Platform, b.Title, b.DealID, b.MeetingID,
		b.CreatedBy, b.CalendarID, b.EventKey)
}

// AddBot implements Bots.
func (s *sqlStore) AddBot(ctx context.Context, b BotRequest) error {
	if err := checkBot(b); err != nil {
		return err
	}
	what := fmt.Sprintf("add bot %q", b.ID)
	if s.closed.Load() {
		return fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	return s.insertBot(ctx, s.w, what, b)
}

func (s *sqlStore) insertBot(ctx context.Context, tx sqlConn, what string, b BotRequest) error {
	_, err := tx.exec(ctx, `INSERT INTO bots (id, org_id, meeting_url, platform, title, deal_id, join_at_ms, meeting_id,
		status, created_by, created_at, calendar_id, event_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.OrgID, b.MeetingURL, b.Platform, b.Title, nullable(b.DealID), b.JoinAt.UnixMilli(), b.MeetingID,
		string(BotScheduled), b.CreatedBy, s.now().UTC(), nullable(b.CalendarID), nullable(b.EventKey))
	switch {
	case errors.Is(err, errForeignKeyViolation):
		return fmt.Errorf("ledger: %s: its organisation, deal or calendar: %w", what, ErrNotFound)
	case errors.Is(err, errUniqueViolation):
		return fmt.Errorf("ledger: %s: %w", what, ErrExists)
	case err != nil:
		return s.readErr(what, err)
	}
	return nil
}

// Bot implements Bots.
func (s *sqlStore) Bot(ctx context.Context, id string) (BotRequest, error) {
	what := fmt.Sprintf("bot %q", id)
	bs, err := readRows(ctx, s, s.r, what, `SELECT `+botColumns+` FROM bots WHERE id = ?`, []any{id}, scanBotRows)
	if err != nil {
		return BotRequest{}, err
	}
	if len(bs) == 0 {
		return BotRequest{}, fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return bs[0], nil
}

func scanBotRows(rows sqlRows) (BotRequest, error) { return scanBot(rows) }

// OrgBots implements Bots.
func (s *sqlStore) OrgBots(ctx context.Context, orgID string, all bool, limit int) ([]BotRequest, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("ledger: %w: bots: a limit of %d", ErrInvalidRecord, limit)
	}
	return readRows(ctx, s, s.r, fmt.Sprintf("bots of %q", orgID),
		`SELECT `+botColumns+` FROM bots WHERE (? OR org_id = ?) ORDER BY join_at_ms DESC, id DESC LIMIT ?`,
		[]any{all, orgID, limit}, scanBotRows)
}

// DueBots implements Bots.
func (s *sqlStore) DueBots(ctx context.Context, now time.Time, limit int) ([]BotRequest, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("ledger: %w: due bots: a limit of %d", ErrInvalidRecord, limit)
	}
	return readRows(ctx, s, s.r, "due bots",
		`SELECT `+botColumns+` FROM bots WHERE status = 'scheduled' AND join_at_ms <= ? ORDER BY join_at_ms, id LIMIT ?`,
		[]any{now.UnixMilli(), limit}, scanBotRows)
}

// ClaimBot implements Bots: one conditional update, so that the database decides between two
// processes.
func (s *sqlStore) ClaimBot(ctx context.Context, id, by string, now time.Time) (bool, error) {
	err := s.updateOne(ctx, fmt.Sprintf("claim bot %q", id), []string{id, by},
		`UPDATE bots SET status = 'started', started_by = ? WHERE id = ? AND status = 'scheduled' AND join_at_ms <= ?`,
		by, id, now.UnixMilli())
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// CancelBot implements Bots.
func (s *sqlStore) CancelBot(ctx context.Context, id string) (BotRequest, error) {
	var before BotRequest
	what := fmt.Sprintf("cancel bot %q", id)
	if !storable(id) {
		return before, fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	err := s.writeTx(ctx, what, func(tx sqlConn) error {
		var err error
		if before, err = scanBot(tx.queryRow(ctx, `SELECT `+botColumns+` FROM bots WHERE id = ?`, id)); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
			}
			return s.readErr(what, err)
		}
		if _, err := tx.exec(ctx, `UPDATE bots SET status = 'cancelled' WHERE id = ?`, id); err != nil {
			return s.readErr(what, err)
		}
		return nil
	})
	return before, err
}

// LatestBotState implements Bots.
func (s *sqlStore) LatestBotState(ctx context.Context, meetingID string) (Event, error) {
	var body []byte
	var e Event
	err := s.row(ctx, fmt.Sprintf("bot state of meeting %q", meetingID),
		`SELECT json FROM events WHERE meeting_id = ? AND type = ? ORDER BY seq DESC LIMIT 1`,
		[]any{meetingID, string(TypeBotState)}, &body)
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("ledger: bot state of meeting %q: %w", meetingID, err)
	}
	return e, nil
}
