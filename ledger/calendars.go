package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Calendar is an organisation's calendar feed (ICS), which a team server reads to send bots to
// the meetings in it.
type Calendar struct {
	ID    string
	OrgID string
	// URL is the feed's secret address: whoever holds it reads the calendar. It is kept to poll
	// the feed and never shown whole.
	URL       string
	SendBot   bool          // schedule a bot for each event with a meeting link
	Lead      time.Duration // how long before an event its bot joins, in whole seconds
	CreatedBy string
	CreatedAt time.Time
	ETag      string    // of the feed as last read whole
	PolledAt  time.Time // when it was last read whole; zero before
	PollError string    // why the last poll failed; "" when it did not
}

// Calendars keeps the calendar feeds of a team server, and schedules their events' bots.
// SQLiteStore and PostgresStore implement it.
type Calendars interface {
	// AddCalendar stores a calendar; CreatedAt is set by the store. ID, OrgID and URL are required;
	// an unknown organisation fails with ErrNotFound.
	AddCalendar(ctx context.Context, c Calendar) error
	// Calendar returns a calendar, or ErrNotFound.
	Calendar(ctx context.Context, id string) (Calendar, error)
	// OrgCalendars lists an organisation's calendars (all: every organisation's), oldest first.
	OrgCalendars(ctx context.Context, orgID string, all bool) ([]Calendar, error)
	// DeleteCalendar removes a calendar and withdraws the bots it scheduled that have not
	// started. ErrNotFound for an unknown ID.
	DeleteCalendar(ctx context.Context, id string) error
	// ClaimCalendarPolls returns up to limit calendars due for a poll at now and makes them due
	// again at next, each in one conditional update: a calendar is claimed by one process at a time.
	ClaimCalendarPolls(ctx context.Context, now, next time.Time, limit int) ([]Calendar, error)
	// CalendarPolled records a poll's outcome: whether the feed was read whole (then its ETag and
	// the time are kept), and why the poll failed ("" when it did not).
	CalendarPolled(ctx context.Context, id string, read bool, etag, pollErr string) error
	// ScheduleEventBot schedules the bot of a calendar event (b.CalendarID, b.EventKey): it adds
	// b when the event has none; moves a scheduled or withdrawn one to b's link, time, title and
	// deal (scheduled again); and leaves one that started or was cancelled by a person as it is.
	// It reports whether the event's bot is now scheduled as b says.
	ScheduleEventBot(ctx context.Context, b BotRequest) (bool, error)
	// WithdrawEventBots withdraws a calendar's scheduled bots whose events are not in keep (their
	// events were cancelled or are gone), and returns how many.
	WithdrawEventBots(ctx context.Context, calendarID string, keep []string) (int, error)
	// SetOrgDomains replaces the email domains of an organisation's people (lower case).
	// ErrNotFound for an unknown organisation.
	SetOrgDomains(ctx context.Context, orgID string, domains []string) error
	// OrgDomains returns them.
	OrgDomains(ctx context.Context, orgID string) ([]string, error)
}

var (
	_ Calendars = (*SQLiteStore)(nil)
	_ Calendars = (*PostgresStore)(nil)
)

const calendarColumns = `id, org_id, url, send_bot, lead_seconds, created_by, created_at, etag, polled_at, poll_error`

func scanCalendar(rows sqlRows) (Calendar, error) {
	var (
		c       Calendar
		lead    int64
		created dbTime
		polled  nullDBTime
	)
	err := rows.Scan(&c.ID, &c.OrgID, &c.URL, &c.SendBot, &lead, &c.CreatedBy, &created, &c.ETag, &polled, &c.PollError)
	c.Lead, c.CreatedAt, c.PolledAt = time.Duration(lead)*time.Second, created.Time, polled.Time
	return c, err
}

// AddCalendar implements Calendars.
func (s *sqlStore) AddCalendar(ctx context.Context, c Calendar) error {
	if c.ID == "" || c.OrgID == "" || c.URL == "" || c.Lead < 0 {
		return fmt.Errorf("ledger: %w: calendar %q: want an ID, organisation, URL and a lead of 0 or more", ErrInvalidRecord, c.ID)
	}
	if err := storableRecord("calendar", c.ID, c.ID, c.OrgID, c.URL, c.CreatedBy); err != nil {
		return err
	}
	what := fmt.Sprintf("add calendar %q", c.ID) // never its URL: a secret
	if s.closed.Load() {
		return fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	_, err := s.w.exec(ctx, `INSERT INTO calendars (id, org_id, url, send_bot, lead_seconds, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, c.OrgID, c.URL, c.SendBot, int64(c.Lead/time.Second), c.CreatedBy, s.now().UTC())
	switch {
	case errors.Is(err, errForeignKeyViolation):
		return fmt.Errorf("ledger: %s: organisation %q: %w", what, c.OrgID, ErrNotFound)
	case errors.Is(err, errUniqueViolation):
		return fmt.Errorf("ledger: %s: %w", what, ErrExists)
	case err != nil:
		return s.readErr(what, err)
	}
	return nil
}

// Calendar implements Calendars.
func (s *sqlStore) Calendar(ctx context.Context, id string) (Calendar, error) {
	what := fmt.Sprintf("calendar %q", id)
	cs, err := readRows(ctx, s, s.r, what, `SELECT `+calendarColumns+` FROM calendars WHERE id = ?`, []any{id}, scanCalendar)
	if err != nil {
		return Calendar{}, err
	}
	if len(cs) == 0 {
		return Calendar{}, fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return cs[0], nil
}

// OrgCalendars implements Calendars.
func (s *sqlStore) OrgCalendars(ctx context.Context, orgID string, all bool) ([]Calendar, error) {
	return readRows(ctx, s, s.r, fmt.Sprintf("calendars of %q", orgID),
		`SELECT `+calendarColumns+` FROM calendars WHERE (? OR org_id = ?) ORDER BY created_at, id`, []any{all, orgID}, scanCalendar)
}

// DeleteCalendar implements Calendars. Its bots keep their rows, without the calendar.
func (s *sqlStore) DeleteCalendar(ctx context.Context, id string) error {
	what := fmt.Sprintf("delete calendar %q", id)
	if !storable(id) {
		return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return s.writeTx(ctx, what, func(tx sqlConn) error {
		if _, err := tx.exec(ctx, `UPDATE bots SET status = 'withdrawn' WHERE calendar_id = ? AND status = 'scheduled'`, id); err != nil {
			return s.readErr(what, err)
		}
		if _, err := tx.exec(ctx, `UPDATE bots SET calendar_id = NULL, event_key = NULL WHERE calendar_id = ?`, id); err != nil {
			return s.readErr(what, err)
		}
		n, err := tx.exec(ctx, `DELETE FROM calendars WHERE id = ?`, id)
		if err != nil {
			return s.readErr(what, err)
		}
		if n == 0 {
			return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
		}
		return nil
	})
}

// ClaimCalendarPolls implements Calendars.
func (s *sqlStore) ClaimCalendarPolls(ctx context.Context, now, next time.Time, limit int) ([]Calendar, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("ledger: %w: calendars to poll: a limit of %d", ErrInvalidRecord, limit)
	}
	due, err := readRows(ctx, s, s.r, "calendars to poll",
		`SELECT `+calendarColumns+` FROM calendars WHERE next_poll_ms <= ? ORDER BY next_poll_ms, id LIMIT ?`,
		[]any{now.UnixMilli(), limit}, scanCalendar)
	if err != nil {
		return nil, err
	}
	var claimed []Calendar
	for _, c := range due {
		err := s.updateOne(ctx, fmt.Sprintf("claim calendar %q", c.ID), []string{c.ID},
			`UPDATE calendars SET next_poll_ms = ? WHERE id = ? AND next_poll_ms <= ?`, next.UnixMilli(), c.ID, now.UnixMilli())
		switch {
		case errors.Is(err, ErrNotFound): // another process claimed it, or it was deleted
		case err != nil:
			return claimed, err
		default:
			claimed = append(claimed, c)
		}
	}
	return claimed, nil
}

// CalendarPolled implements Calendars.
func (s *sqlStore) CalendarPolled(ctx context.Context, id string, read bool, etag, pollErr string) error {
	what := fmt.Sprintf("calendar %q polled", id)
	if !read {
		return s.updateOne(ctx, what, []string{id, pollErr}, `UPDATE calendars SET poll_error = ? WHERE id = ?`, pollErr, id)
	}
	return s.updateOne(ctx, what, []string{id, etag, pollErr},
		`UPDATE calendars SET etag = ?, polled_at = ?, poll_error = ? WHERE id = ?`, etag, s.now().UTC(), pollErr, id)
}

// ScheduleEventBot implements Calendars: an insert, or else one conditional update of the event's
// row, so that processes polling one calendar at once agree.
func (s *sqlStore) ScheduleEventBot(ctx context.Context, b BotRequest) (bool, error) {
	if b.CalendarID == "" || b.EventKey == "" {
		return false, fmt.Errorf("ledger: %w: bot %q: a calendar's bot names its calendar and event", ErrInvalidRecord, b.ID)
	}
	if err := checkBot(b); err != nil {
		return false, err
	}
	what := fmt.Sprintf("schedule the bot of calendar %q's event", b.CalendarID)
	if s.closed.Load() {
		return false, fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	n, err := s.w.exec(ctx, `UPDATE bots SET meeting_url = ?, platform = ?, title = ?, deal_id = ?, join_at_ms = ?,
		status = 'scheduled' WHERE calendar_id = ? AND event_key = ? AND status IN ('scheduled', 'withdrawn')`,
		b.MeetingURL, b.Platform, b.Title, nullable(b.DealID), b.JoinAt.UnixMilli(), b.CalendarID, b.EventKey)
	switch {
	case errors.Is(err, errForeignKeyViolation):
		return false, fmt.Errorf("ledger: %s: deal %q: %w", what, b.DealID, ErrNotFound)
	case err != nil:
		return false, s.readErr(what, err)
	case n > 0:
		return true, nil
	}
	err = s.insertBot(ctx, s.w, what, b)
	if errors.Is(err, ErrExists) {
		return false, nil // the event's bot started, or a person cancelled it
	}
	return err == nil, err
}

// WithdrawEventBots implements Calendars.
func (s *sqlStore) WithdrawEventBots(ctx context.Context, calendarID string, keep []string) (int, error) {
	what := fmt.Sprintf("withdraw calendar %q's bots", calendarID)
	keys, err := readRows(ctx, s, s.r, what, `SELECT event_key FROM bots WHERE calendar_id = ? AND status = 'scheduled'`,
		[]any{calendarID}, func(rows sqlRows) (string, error) {
			var k string
			return k, rows.Scan(&k)
		})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		if slices.Contains(keep, k) {
			continue
		}
		err := s.updateOne(ctx, what, []string{calendarID, k},
			`UPDATE bots SET status = 'withdrawn' WHERE calendar_id = ? AND event_key = ? AND status = 'scheduled'`, calendarID, k)
		switch {
		case errors.Is(err, ErrNotFound): // started meanwhile
		case err != nil:
			return n, err
		default:
			n++
		}
	}
	return n, nil
}

// SetOrgDomains implements Calendars.
func (s *sqlStore) SetOrgDomains(ctx context.Context, orgID string, domains []string) error {
	clean := make([]string, 0, len(domains))
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" || strings.ContainsAny(d, " \t\r\n@/") || !storable(d) {
			return fmt.Errorf("ledger: %w: organisation %q: domain %q: give a plain domain such as example.com", ErrInvalidRecord, orgID, d)
		}
		if !slices.Contains(clean, d) {
			clean = append(clean, d)
		}
	}
	return s.updateOne(ctx, fmt.Sprintf("set organisation %q's domains", orgID), []string{orgID},
		`UPDATE orgs SET domains = ? WHERE id = ?`, strings.Join(clean, " "), orgID)
}

// OrgDomains implements Calendars.
func (s *sqlStore) OrgDomains(ctx context.Context, orgID string) ([]string, error) {
	var v string
	if err := s.row(ctx, fmt.Sprintf("organisation %q's domains", orgID), `SELECT domains FROM orgs WHERE id = ?`, []any{orgID}, &v); err != nil {
		return nil, err
	}
	return strings.Fields(v), nil
}
