package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// The SQLite and PostgreSQL stores are one store over two databases: the queries (written with ?
// placeholders), the projections, the decoding of rows and the rules of order below are the same
// code, so that both keep and return the same record. Each store brings its connections, its
// schema, and an adapter (sqlDB) that speaks its driver: placeholders, stored times, errors.

// sqlConn is a database or a transaction, as the store's queries use it.
type sqlConn interface {
	exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	queryRow(ctx context.Context, query string, args ...any) rowScanner
	query(ctx context.Context, query string, args ...any) (sqlRows, error)
}

// sqlDB is a database, which also begins transactions.
type sqlDB interface {
	sqlConn
	begin(ctx context.Context) (sqlTx, error)
}

type sqlTx interface {
	sqlConn
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
}

// rowScanner is one row of a result; Scan returns an error matching sql.ErrNoRows when there is none.
type rowScanner interface{ Scan(dest ...any) error }

type sqlRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// The constraint violations the store tells apart. An adapter's exec wraps its driver's error in
// one of them, so that the store maps both databases' errors to ErrExists and ErrNotFound alike.
var (
	errUniqueViolation     = errors.New("unique constraint violated")
	errForeignKeyViolation = errors.New("foreign key constraint violated")
)

// sqlStore is what SQLiteStore and PostgresStore share: Log and Store over a sqlDB.
//
// Appends to one meeting are serialised by the meeting's lock (meetingLog.mu) from the start of
// their transaction until their event is published, so that subscribers see the meeting's events in
// Seq order; appends to different meetings do not wait for each other here. The Seq itself comes
// from the counter on the meeting's row, inside the append's transaction: the database orders
// appends to one meeting even from several processes, commits them in Seq order and leaves no gap.
type sqlStore struct {
	w   sqlDB   // writes
	r   sqlConn // reads, which never wait for a writer
	now func() time.Time

	closing sync.RWMutex // held shared by appends, publishes and Subscribe, exclusively by Close
	closed  atomic.Bool  // set under closing; read without it by readers

	mu   sync.Mutex             // guards logs; never held while waiting for a meeting's lock
	logs map[string]*meetingLog // one per meeting appended or published to since the store was opened

	fan fanout
	bus *busState // nil without a bus (WithBus): the fan-out is this process's alone
}

// meetingLog is the process's side of one meeting's log.
type meetingLog struct {
	mu    sync.Mutex // held from the start of an append's transaction until its event is published; taken before fan.mu
	seq   int64      // Seq of the meeting's last event, as committed; valid when known
	known bool
	// The meeting's row exists, as an append of this process found or made it. Rows of meetings are
	// never deleted, so later appends skip the statement that records the meeting.
	recorded bool
	// With a bus, while the meeting has subscribers here: its follower (see follow.go), and the Seq
	// of the last stored event handed to the fan-out.
	fol       *follower
	delivered int64
}

func (s *sqlStore) init(w sqlDB, r sqlConn, now func() time.Time) {
	s.w, s.r, s.now, s.logs = w, r, now, make(map[string]*meetingLog)
}

// lock returns the meeting's entry, locked; the caller unlocks it.
func (s *sqlStore) lock(meeting string) *meetingLog {
	s.mu.Lock()
	m := s.logs[meeting]
	if m == nil {
		m = &meetingLog{}
		s.logs[meeting] = m
	}
	s.mu.Unlock()
	m.mu.Lock()
	return m
}

// Append implements Log. The event row and the projection rows it changes (segments,
// participants, commitments, the meeting's state) are written in one transaction, which also takes
// the meeting's next Seq; the event is published once that transaction has committed. A meeting the
// store has no record of is recorded with its ID and the time of its first event.
//
// Once begun, an append runs to its end even if ctx is cancelled, so that a caller never has to
// guess whether a cancelled append was stored.
func (s *sqlStore) Append(ctx context.Context, e Event) (Event, error) {
	e, err := prepareAppend(ctx, e)
	if err != nil {
		return Event{}, err
	}
	return s.append(ctx, e.Meeting, actorFrom(ctx), func(context.Context, sqlConn) (Event, error) { return e, nil })
}

// EditCommitment applies a person's edit (by names them) to a commitment as it stands in the store
// and appends the result, in the transaction that takes the meeting's next Seq: no other append to
// the meeting comes in between, from this process or another, so edits made side by side each keep
// the other's changes. It returns the stored event, or an error wrapping ErrNotFound.
func (s *sqlStore) EditCommitment(ctx context.Context, meeting, id string, edit CommitmentEdit, by string) (Event, error) {
	if !storable(meeting) || !storable(id) {
		return Event{}, fmt.Errorf("ledger: commitment %q of meeting %q: %w", id, meeting, ErrNotFound)
	}
	return s.append(ctx, meeting, by, func(ctx context.Context, tx sqlConn) (Event, error) {
		rec, err := s.commitment(ctx, tx, meeting, id)
		if err != nil {
			return Event{}, err
		}
		info := rec.CommitmentInfo
		edit.Apply(&info)
		return prepareAppend(ctx, Event{Type: TypeCommitmentUpsert, Meeting: meeting, Commitment: &info, By: by})
	})
}

// append stores the event that build returns and publishes it. build runs inside the append's
// transaction once the meeting's row is locked, so what it reads through tx stays as it read it
// until the event is stored; an error from build is returned as it is.
func (s *sqlStore) append(ctx context.Context, meeting, actor string, build func(ctx context.Context, tx sqlConn) (Event, error)) (Event, error) {
	events, err := s.write(ctx, meeting, fmt.Sprintf("append to meeting %q", meeting), func(ctx context.Context, tx sqlConn, recorded bool) ([]Event, error) {
		fail := func(step string, err error) ([]Event, error) {
			return nil, fmt.Errorf("ledger: append to meeting %q: %s: %w", meeting, step, err)
		}
		// Stamped under the meeting's lock, so that the meeting's times follow its Seqs.
		at := s.now().UTC()
		if !recorded {
			if err := recordMeeting(ctx, tx, meeting, at, at); err != nil {
				return fail("record meeting", err)
			}
		}
		seq, err := nextSeq(ctx, tx, meeting)
		if err != nil {
			return fail("next seq", err)
		}
		e, err := build(ctx, tx)
		if err != nil {
			return nil, err
		}
		e.Seq, e.At = seq, at
		stored, err := insertEvent(ctx, tx, meeting, e, actor, eventOrigin{})
		if err != nil {
			return nil, fmt.Errorf("ledger: append %s to meeting %q: %w", e.Type, meeting, err)
		}
		return []Event{stored}, nil
	})
	if err != nil {
		return Event{}, err
	}
	return events[0], nil
}

// write runs fn in one transaction while it holds the meeting's lock, and once that transaction
// has committed publishes the events fn returns, which it stored, in their order. recorded tells
// fn that the meeting's row exists; an error from fn is returned as it is, and others say what was
// being written. Append stores one event this way, Import a batch.
//
// Once begun, a write runs to its end even if ctx is cancelled, so that a caller never has to
// guess whether a cancelled write was stored.
func (s *sqlStore) write(ctx context.Context, meeting, what string, fn func(ctx context.Context, tx sqlConn, recorded bool) ([]Event, error)) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ledger: append: %w", err)
	}
	s.closing.RLock()
	defer s.closing.RUnlock()
	if s.closed.Load() {
		return nil, fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	m := s.lock(meeting)
	defer m.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	tx, err := s.w.begin(ctx)
	if err != nil {
		return nil, markUnavailable(fmt.Errorf("ledger: %s: begin: %w", what, err))
	}
	defer tx.rollback(ctx) //nolint:errcheck // a no-op after commit
	events, err := fn(ctx, tx, m.recorded)
	if err != nil {
		return nil, markUnavailable(err)
	}
	if err := tx.commit(ctx); err != nil {
		return nil, markUnavailable(fmt.Errorf("ledger: %s: commit: %w", what, err))
	}
	if n := len(events); n > 0 {
		// A write that stored an event found or made the meeting's row.
		m.seq, m.known, m.recorded = events[n-1].Seq, true, true
	}
	for _, e := range events {
		s.deliverLocked(m, e) // published second, in Seq order: the meeting's lock is held
		s.publishBus(e)
	}
	return events, nil
}

// recordMeeting records a meeting the store has no record of, with its ID and the time of its
// first event, at now.
func recordMeeting(ctx context.Context, tx sqlConn, meeting string, first, now time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO meetings (id, started_at, created_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, meeting, first, now)
	return err
}

// nextSeq counts the meeting's next Seq on its row. The row stays locked until the transaction
// ends: the next append to the meeting waits here and then counts on from this one's Seq, once it
// is committed.
func nextSeq(ctx context.Context, tx sqlConn, meeting string) (int64, error) {
	var seq int64
	err := tx.queryRow(ctx, `UPDATE meetings SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq`,
		meeting).Scan(&seq)
	return seq, err
}

// eventOrigin is the log an imported event was first recorded in and its Seq there; zero for an
// event appended here.
type eventOrigin struct {
	name string
	seq  int64
}

// insertEvent stores e, its Seq and time set, in tx with the projection rows it changes, actor
// being who made it, and returns it as stored.
func insertEvent(ctx context.Context, tx sqlConn, meeting string, e Event, actor string, o eventOrigin) (Event, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return Event{}, fmt.Errorf("encode: %w", err)
	}
	// The event as stored is what its JSON says (text that is not UTF-8 reads back with U+FFFD):
	// it is what Since returns, so it is also what is projected, published and returned.
	var stored Event
	if err := json.Unmarshal(body, &stored); err != nil {
		return Event{}, fmt.Errorf("decode: %w", err)
	}
	originSeq := sql.NullInt64{Int64: o.seq, Valid: o.name != ""}
	if _, err := tx.exec(ctx, `INSERT INTO events (meeting_id, seq, type, at, json, origin, origin_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		meeting, e.Seq, string(e.Type), e.At, string(body), nullable(o.name), originSeq); err != nil {
		return Event{}, fmt.Errorf("insert event %d: %w", e.Seq, err)
	}
	if err := project(ctx, tx, stored, storableText(actor)); err != nil {
		return Event{}, fmt.Errorf("project: %w", err)
	}
	stored.Origin = o.name
	return stored, nil
}

// project applies e to the projection tables inside the transaction that stores it.
func project(ctx context.Context, tx sqlConn, e Event, actor string) error {
	switch e.Type {
	case TypeSegmentFinal:
		g := e.Segment
		if _, err := tx.exec(ctx, `INSERT INTO segments
			(meeting_id, seq, segment_id, channel, speaker, organisation, role, start_ms, end_ms, text, language)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (meeting_id, segment_id) DO UPDATE SET
				seq = excluded.seq, channel = excluded.channel, speaker = excluded.speaker,
				organisation = excluded.organisation, role = excluded.role, start_ms = excluded.start_ms,
				end_ms = excluded.end_ms, text = excluded.text, language = excluded.language`,
			e.Meeting, e.Seq, g.ID, g.Channel, g.Speaker, g.Org, string(g.Role), g.StartMS, g.EndMS, g.Text, g.Language); err != nil {
			return fmt.Errorf("segment %q: %w", g.ID, err)
		}
	case TypeSpeakerUpdate:
		p := e.Speaker
		role := p.Role
		if role == "" {
			// Stated by no event before roles were: guessed from the organisation, as it always was.
			var err error
			if role, err = roleOf(ctx, tx, e.Meeting, p.Org); err != nil {
				return fmt.Errorf("speaker %q: %w", p.ID, err)
			}
		}
		if _, err := tx.exec(ctx, `INSERT INTO participants
			(meeting_id, speaker_id, channel, name, organisation, role, stated_role, consent, seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (meeting_id, speaker_id) DO UPDATE SET
				channel = excluded.channel, name = excluded.name, organisation = excluded.organisation,
				role = excluded.role, stated_role = excluded.stated_role, consent = excluded.consent, seq = excluded.seq`,
			e.Meeting, p.ID, p.Channel, p.Name, p.Org, string(role), string(p.Role), p.Consent, e.Seq); err != nil {
			return fmt.Errorf("speaker %q: %w", p.ID, err)
		}
	case TypeCommitmentUpsert:
		c := e.Commitment
		ids, err := json.Marshal(nonNil(c.SegmentIDs))
		if err != nil {
			return fmt.Errorf("commitment %q: %w", c.ID, err)
		}
		edited, err := json.Marshal(nonNil(c.Edited))
		if err != nil {
			return fmt.Errorf("commitment %q: %w", c.ID, err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO commitments
			(meeting_id, id, what, owner, owner_org, contact, beneficiary, beneficiary_org, due, due_phrase, status,
			 confidence, quote, segment_ids, start_ms, seq, updated_at, updated_by, edited)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (meeting_id, id) DO UPDATE SET
				what = excluded.what, owner = excluded.owner, owner_org = excluded.owner_org, contact = excluded.contact,
				beneficiary = excluded.beneficiary, beneficiary_org = excluded.beneficiary_org, due = excluded.due, due_phrase = excluded.due_phrase,
				status = excluded.status, confidence = excluded.confidence, quote = excluded.quote,
				segment_ids = excluded.segment_ids, start_ms = excluded.start_ms, seq = excluded.seq,
				updated_at = excluded.updated_at, updated_by = excluded.updated_by, edited = excluded.edited`,
			e.Meeting, c.ID, c.What, c.Owner, c.OwnerOrg, c.Contact, c.Beneficiary, c.BeneficiaryOrg, c.Due, c.DuePhrase, c.Status,
			c.Confidence, c.Quote, string(ids), c.StartMS, e.Seq, e.At, actor, string(edited)); err != nil {
			return fmt.Errorf("commitment %q: %w", c.ID, err)
		}
	case TypeMeetingState:
		run := 0
		if e.State == MeetingRecording && e.Reason == ReasonStarted {
			run = 1
		}
		if _, err := tx.exec(ctx, `UPDATE meetings SET state = ?, state_reason = ?, state_seq = ?, runs = runs + ?
			WHERE id = ?`, string(e.State), e.Reason, e.Seq, run, e.Meeting); err != nil {
			return fmt.Errorf("meeting state: %w", err)
		}
		if e.State == MeetingStopped {
			if _, err := tx.exec(ctx, `INSERT INTO followups (meeting_id, state_seq, due_at) VALUES (?, ?, ?)
				ON CONFLICT (meeting_id, state_seq) DO NOTHING`, e.Meeting, e.Seq, e.At); err != nil {
				return fmt.Errorf("meeting state: follow-up: %w", err)
			}
		}
	}
	return nil
}

// roleOf guesses a participant's side from their organisation and the meeting's deal.
func roleOf(ctx context.Context, tx sqlConn, meeting, org string) (Role, error) {
	var d Deal
	err := tx.queryRow(ctx, `SELECT d.account, d.vendor, d.partner
		FROM meetings m JOIN deals d ON d.id = m.deal_id WHERE m.id = ?`, meeting).Scan(&d.Account, &d.Vendor, &d.Partner)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	return d.RoleOf(org), nil
}

// Publish implements Log. Only segment.partial events may be published.
func (s *sqlStore) Publish(e Event) error {
	e, err := preparePublish(e)
	if err != nil {
		return err
	}
	s.closing.RLock()
	defer s.closing.RUnlock()
	if s.closed.Load() {
		return fmt.Errorf("ledger: publish to meeting %q: %w", e.Meeting, ErrLogClosed)
	}
	m := s.lock(e.Meeting)
	defer m.mu.Unlock()
	if !m.known {
		// First event of this meeting since the store was opened: read where its log stands. No
		// append of this process can run meanwhile, the meeting's lock is held.
		what := fmt.Sprintf("publish to meeting %q: read seq", e.Meeting)
		err := s.row(context.Background(), what, `SELECT last_seq FROM meetings WHERE id = ?`, []any{e.Meeting}, &m.seq)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		m.known = true
	}
	e.Seq = m.seq
	if m.fol != nil {
		e.Seq = max(e.Seq, m.delivered)
	}
	e.At = s.now().UTC()
	if m.fol != nil {
		s.deliverPartialLocked(m, e)
	} else {
		s.fan.publish(e)
	}
	s.publishBus(e)
	return nil
}

// Since implements Log. An unknown meeting has no events.
func (s *sqlStore) Since(ctx context.Context, meeting string, seq int64) ([]Event, error) {
	return readRows(ctx, s, s.r, fmt.Sprintf("read meeting %q", meeting),
		`SELECT seq, json, origin FROM events WHERE meeting_id = ? AND seq > ? ORDER BY seq`, []any{meeting, max(seq, 0)},
		func(rows sqlRows) (Event, error) {
			var (
				n      int64
				body   []byte
				origin sql.NullString
				e      Event
			)
			if err := rows.Scan(&n, &body, &origin); err != nil {
				return e, err
			}
			if err := json.Unmarshal(body, &e); err != nil {
				return e, fmt.Errorf("event %d: %w", n, err)
			}
			e.Origin = origin.String
			return e, nil
		})
}

// Subscribe implements Log. On a closed store the subscription comes back closed, with ErrLogClosed.
// With a bus, the meeting's first subscriber starts its follower, which reads where the meeting's
// log stands: should that read fail, the subscription comes back closed with its error.
func (s *sqlStore) Subscribe(meeting string, buffer int) *Subscription {
	s.closing.RLock()
	defer s.closing.RUnlock()
	if s.bus == nil || s.closed.Load() {
		sub := s.fan.subscribe(meeting, buffer)
		if s.closed.Load() {
			s.fan.remove(sub, ErrLogClosed)
		}
		return sub
	}
	m := s.lock(meeting)
	defer m.mu.Unlock()
	sub := s.fan.subscribe(meeting, buffer)
	if m.fol == nil {
		if err := s.followLocked(meeting, m); err != nil {
			s.fan.remove(sub, err)
		}
	}
	return sub
}

// close ends every subscription with ErrLogClosed, once no append or publish is in progress, and
// then releases the storage. Closing twice returns nil.
func (s *sqlStore) close(release func() error) error {
	s.stopFollowing()
	s.closing.Lock()
	defer s.closing.Unlock()
	if s.closed.Load() {
		return nil
	}
	s.closed.Store(true)
	s.fan.closeAll(ErrLogClosed)
	return release()
}

// readRows runs a read through conn and decodes each row with scan. A key that no record can hold
// (see storable) matches nothing.
func readRows[T any](ctx context.Context, s *sqlStore, conn sqlConn, what, q string, args []any, scan func(sqlRows) (T, error)) ([]T, error) {
	if err := s.readable(ctx, what); err != nil {
		return nil, err
	}
	if !storableArgs(args) {
		return nil, nil
	}
	rows, err := conn.query(ctx, q, args...)
	if err != nil {
		return nil, s.readErr(what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.readErr(what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(what, err)
	}
	return out, nil
}

// row runs a read of one row into dest: ErrNotFound when there is none.
func (s *sqlStore) row(ctx context.Context, what, q string, args []any, dest ...any) error {
	if err := s.readable(ctx, what); err != nil {
		return err
	}
	if !storableArgs(args) {
		return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	err := s.r.queryRow(ctx, q, args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	if err != nil {
		return s.readErr(what, err)
	}
	return nil
}

func (s *sqlStore) readable(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ledger: %s: %w", what, err)
	}
	if s.closed.Load() {
		return fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	return nil
}

// readErr wraps an error of a read, reporting ErrLogClosed when the store was closed meanwhile.
func (s *sqlStore) readErr(what string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	return markUnavailable(fmt.Errorf("ledger: %s: %w", what, err))
}

// storable reports whether s can be stored as text by both stores: valid UTF-8 without NUL
// characters, which PostgreSQL's text cannot hold.
func storable(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// storableText is s with what a store cannot keep replaced by U+FFFD, for text that comes with an
// event but not in it (the actor of WithActor).
func storableText(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}

func storableArgs(args []any) bool {
	for _, a := range args {
		if v, ok := a.(string); ok && !storable(v) {
			return false
		}
	}
	return true
}

// dbTime scans a stored time, read back in UTC: RFC 3339 text from SQLite, a timestamp from
// PostgreSQL.
type dbTime struct{ time.Time }

func (t *dbTime) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		var err error
		t.Time, err = parseTime(v)
		return err
	}
	return fmt.Errorf("stored time: unexpected %T", v)
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// nullable stores "" as NULL, for optional references and tokens.
func nullable(v string) sql.NullString { return sql.NullString{String: v, Valid: v != ""} }

func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}
