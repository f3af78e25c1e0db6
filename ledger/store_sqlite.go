package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLiteStore is a Store in one SQLite file, for a laptop that records its own meetings.
//
// Concurrency: all methods are safe for concurrent use. Writes go through one connection and one
// lock (SQLite serialises writers anyway); the lock is held from the start of an append's
// transaction until its event is published, so subscribers see events in Seq order. Reads (Since
// and the record queries) use a pool of read-only connections and never wait for a writer: in WAL
// mode a reader sees the last committed state. One process at a time should own a database file.
//
// Durability: an appended event is on disk (fsynced) before Append returns and before any
// subscriber receives it, so whatever a viewer has seen survives a crash of the process or of the
// machine.
type SQLiteStore struct {
	path string
	now  func() time.Time
	w    *sql.DB // one connection, the only writer
	r    *sql.DB // read-only pool

	closed atomic.Bool // set under mu; read without it by readers

	mu   sync.Mutex       // serialises appends, publishes and Close; taken before fan.mu
	seqs map[string]int64 // last Seq per meeting, as committed
	fan  fanout
}

var (
	_ Log   = (*SQLiteStore)(nil)
	_ Store = (*SQLiteStore)(nil)
)

// SQLiteOption configures a SQLiteStore.
type SQLiteOption func(*sqliteConfig)

type sqliteConfig struct {
	now         func() time.Time
	busyTimeout time.Duration
	readConns   int
}

// WithSQLiteClock sets the wall clock that stamps Event.At and record times (default time.Now).
func WithSQLiteClock(now func() time.Time) SQLiteOption {
	return func(c *sqliteConfig) {
		if now != nil {
			c.now = now
		}
	}
}

// WithBusyTimeout sets how long a statement waits for a lock held by another connection before it
// fails (default 5s).
func WithBusyTimeout(d time.Duration) SQLiteOption {
	return func(c *sqliteConfig) {
		if d > 0 {
			c.busyTimeout = d
		}
	}
}

// OpenSQLite opens the database at path, creating it (and its directory, private to the user) when
// missing, and brings its schema up to date. A database written by a newer Ledgerline is refused
// with ErrSchemaTooNew.
func OpenSQLite(path string, opts ...SQLiteOption) (*SQLiteStore, error) {
	cfg := sqliteConfig{now: time.Now, busyTimeout: 5 * time.Second, readConns: 4}
	for _, o := range opts {
		o(&cfg)
	}
	if path == "" {
		return nil, errors.New("ledger: open store: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("ledger: open store: %w", err)
	}
	// Create the file private to the user before SQLite does: transcripts are confidential, and
	// SQLite gives its -wal and -shm files the permissions of the database file.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("ledger: open store: %w", err)
	} else if err := f.Close(); err != nil {
		return nil, fmt.Errorf("ledger: open store: %w", err)
	}

	busy := fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds())
	// The writer. journal_mode=WAL lets readers work while a meeting is being written.
	// synchronous=FULL because a final segment or a ledger change must be durable when the event
	// carrying it is sent: in WAL mode, FULL fsyncs the log at every commit, so Append returns (and
	// publishes) only once the event is on disk. NORMAL would fsync only at checkpoints: safe if
	// the process is killed, but a power cut or an OS crash could lose events viewers had already
	// seen. fullfsync asks macOS to flush the drive's cache too (plain fsync there does not); other
	// systems ignore it. The cost is one fsync per event, a few per second in a meeting.
	// _txlock=immediate takes the write lock when a transaction begins rather than on its first
	// write, so two openers of one file wait for each other instead of failing with SQLITE_BUSY.
	w, err := sql.Open("sqlite", sqliteDSN(path, "_txlock=immediate", busy, "foreign_keys(1)",
		"journal_mode(WAL)", "synchronous(FULL)", "fullfsync(1)"))
	if err != nil {
		return nil, fmt.Errorf("ledger: open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &SQLiteStore{path: path, now: cfg.now, w: w, seqs: make(map[string]int64)}
	ctx := context.Background()
	if err := s.checkWriter(ctx); err != nil {
		return nil, errors.Join(err, w.Close())
	}
	if err := migrate(ctx, w, s.now().UTC()); err != nil {
		return nil, errors.Join(fmt.Errorf("%w (database %s)", err, path), w.Close())
	}

	r, err := sql.Open("sqlite", sqliteDSN(path, busy, "query_only(1)"))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("ledger: open store %s: %w", path, err), w.Close())
	}
	r.SetMaxOpenConns(cfg.readConns)
	r.SetMaxIdleConns(cfg.readConns)
	if err := r.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("ledger: open store %s: %w", path, err), r.Close(), w.Close())
	}
	s.r = r
	return s, nil
}

// sqliteDSN builds a SQLite URI for path with the driver's pragmas, which every new connection of
// the pool runs. Characters SQLite would take for URI syntax are escaped in the path.
func sqliteDSN(path string, params ...string) string {
	p := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(filepath.ToSlash(path))
	var q []string
	for _, v := range params {
		if k, val, ok := strings.Cut(v, "="); ok {
			q = append(q, k+"="+url.QueryEscape(val))
		} else {
			q = append(q, "_pragma="+url.QueryEscape(v))
		}
	}
	return "file:" + p + "?" + strings.Join(q, "&")
}

// checkWriter makes sure the writer connection got the settings durability depends on.
func (s *SQLiteStore) checkWriter(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return fmt.Errorf("ledger: open store %s: %w", s.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("ledger: open store %s: journal mode is %q, want wal", s.path, mode)
	}
	var syncMode int
	if err := s.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&syncMode); err != nil {
		return fmt.Errorf("ledger: open store %s: %w", s.path, err)
	}
	if syncMode < 2 { // 2 is FULL
		return fmt.Errorf("ledger: open store %s: synchronous is %d, want FULL (2)", s.path, syncMode)
	}
	return nil
}

// Path returns the file the store was opened on.
func (s *SQLiteStore) Path() string { return s.path }

// Append implements Log. The event row and the projection rows it changes (segments,
// participants, commitments, the meeting's state) are written in one transaction, committed and
// fsynced before the event is published. A meeting the store has no record of is recorded with
// its ID and the time of its first event.
//
// Once begun, an append runs to its end even if ctx is cancelled, so that a caller never has to
// guess whether a cancelled append was stored.
func (s *SQLiteStore) Append(ctx context.Context, e Event) (Event, error) {
	e, err := prepareAppend(ctx, e)
	if err != nil {
		return Event{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(ctx, e, actorFrom(ctx))
}

// EditCommitment applies a person's edit (by names them) to a commitment as it stands in the store
// and appends the result, with nothing appended in between: edits made side by side each keep the
// other's changes. It returns the stored event, or an error wrapping ErrNotFound.
func (s *SQLiteStore) EditCommitment(ctx context.Context, meeting, id string, edit CommitmentEdit, by string) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.Commitment(ctx, meeting, id)
	if err != nil {
		return Event{}, err
	}
	info := rec.CommitmentInfo
	edit.Apply(&info)
	e, err := prepareAppend(ctx, Event{Type: TypeCommitmentUpsert, Meeting: meeting, Commitment: &info, By: by})
	if err != nil {
		return Event{}, err
	}
	return s.appendLocked(ctx, e, by)
}

// appendLocked stores and publishes a prepared event. The caller holds s.mu.
func (s *SQLiteStore) appendLocked(ctx context.Context, e Event, actor string) (Event, error) {
	if s.closed.Load() {
		return Event{}, fmt.Errorf("ledger: append to meeting %q: %w", e.Meeting, ErrLogClosed)
	}
	e.At = s.now().UTC()
	stored, err := s.store(context.WithoutCancel(ctx), e, actor)
	if err != nil {
		return Event{}, fmt.Errorf("ledger: append %s to meeting %q: %w", e.Type, e.Meeting, err)
	}
	s.seqs[e.Meeting] = stored.Seq
	s.fan.publish(stored) // published second, still in Seq order
	return stored, nil
}

// store writes e in one transaction and returns it with its Seq. The caller holds s.mu.
func (s *SQLiteStore) store(ctx context.Context, e Event, actor string) (Event, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return Event{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	at := formatTime(e.At)
	if _, err := tx.ExecContext(ctx, `INSERT INTO meetings (id, started_at, created_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, e.Meeting, at, at); err != nil {
		return Event{}, fmt.Errorf("record meeting: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `UPDATE meetings SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq`,
		e.Meeting).Scan(&e.Seq); err != nil {
		return Event{}, fmt.Errorf("next seq: %w", err)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return Event{}, fmt.Errorf("encode: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (meeting_id, seq, type, at, json) VALUES (?, ?, ?, ?, ?)`,
		e.Meeting, e.Seq, string(e.Type), at, string(body)); err != nil {
		return Event{}, fmt.Errorf("insert event %d: %w", e.Seq, err)
	}
	if err := project(ctx, tx, e, actor); err != nil {
		return Event{}, err
	}
	if err := tx.Commit(); err != nil {
		return Event{}, fmt.Errorf("commit: %w", err)
	}
	return e, nil
}

// project applies e to the projection tables inside the transaction that stores it.
func project(ctx context.Context, tx *sql.Tx, e Event, actor string) error {
	at := formatTime(e.At)
	switch e.Type {
	case TypeSegmentFinal:
		g := e.Segment
		if _, err := tx.ExecContext(ctx, `INSERT INTO segments
			(meeting_id, seq, segment_id, channel, speaker, organisation, role, start_ms, end_ms, text, language)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (meeting_id, segment_id) DO UPDATE SET
				seq = excluded.seq, channel = excluded.channel, speaker = excluded.speaker,
				organisation = excluded.organisation, role = excluded.role, start_ms = excluded.start_ms,
				end_ms = excluded.end_ms, text = excluded.text, language = excluded.language`,
			e.Meeting, e.Seq, g.ID, g.Channel, g.Speaker, g.Org, string(g.Role), g.StartMS, g.EndMS, g.Text, g.Language); err != nil {
			return fmt.Errorf("project segment %q: %w", g.ID, err)
		}
	case TypeSpeakerUpdate:
		p := e.Speaker
		role := p.Role
		if role == "" {
			// Stated by no event before roles were: guessed from the organisation, as it always was.
			var err error
			if role, err = roleOf(ctx, tx, e.Meeting, p.Org); err != nil {
				return fmt.Errorf("project speaker %q: %w", p.ID, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO participants
			(meeting_id, speaker_id, channel, name, organisation, role, stated_role, consent, seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (meeting_id, speaker_id) DO UPDATE SET
				channel = excluded.channel, name = excluded.name, organisation = excluded.organisation,
				role = excluded.role, stated_role = excluded.stated_role, consent = excluded.consent, seq = excluded.seq`,
			e.Meeting, p.ID, p.Channel, p.Name, p.Org, string(role), string(p.Role), p.Consent, e.Seq); err != nil {
			return fmt.Errorf("project speaker %q: %w", p.ID, err)
		}
	case TypeCommitmentUpsert:
		c := e.Commitment
		ids, err := json.Marshal(nonNil(c.SegmentIDs))
		if err != nil {
			return fmt.Errorf("project commitment %q: %w", c.ID, err)
		}
		edited, err := json.Marshal(nonNil(c.Edited))
		if err != nil {
			return fmt.Errorf("project commitment %q: %w", c.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO commitments
			(meeting_id, id, what, owner, owner_org, beneficiary, due, due_phrase, status, confidence, quote,
			 segment_ids, start_ms, seq, updated_at, updated_by, edited)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (meeting_id, id) DO UPDATE SET
				what = excluded.what, owner = excluded.owner, owner_org = excluded.owner_org,
				beneficiary = excluded.beneficiary, due = excluded.due, due_phrase = excluded.due_phrase,
				status = excluded.status, confidence = excluded.confidence, quote = excluded.quote,
				segment_ids = excluded.segment_ids, start_ms = excluded.start_ms, seq = excluded.seq,
				updated_at = excluded.updated_at, updated_by = excluded.updated_by, edited = excluded.edited`,
			e.Meeting, c.ID, c.What, c.Owner, c.OwnerOrg, c.Beneficiary, c.Due, c.DuePhrase, c.Status,
			c.Confidence, c.Quote, string(ids), c.StartMS, e.Seq, at, actor, string(edited)); err != nil {
			return fmt.Errorf("project commitment %q: %w", c.ID, err)
		}
	case TypeMeetingState:
		run := 0
		if e.State == MeetingRecording && e.Reason == ReasonStarted {
			run = 1
		}
		if _, err := tx.ExecContext(ctx, `UPDATE meetings SET state = ?, state_reason = ?, state_seq = ?, runs = runs + ?
			WHERE id = ?`, string(e.State), e.Reason, e.Seq, run, e.Meeting); err != nil {
			return fmt.Errorf("project meeting state: %w", err)
		}
	}
	return nil
}

// roleOf guesses a participant's side from their organisation and the meeting's deal.
func roleOf(ctx context.Context, tx *sql.Tx, meeting, org string) (Role, error) {
	var d Deal
	err := tx.QueryRowContext(ctx, `SELECT d.account, d.vendor, d.partner
		FROM meetings m JOIN deals d ON d.id = m.deal_id WHERE m.id = ?`, meeting).Scan(&d.Account, &d.Vendor, &d.Partner)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	return d.RoleOf(org), nil
}

// Publish implements Log. Only segment.partial events may be published.
func (s *SQLiteStore) Publish(e Event) error {
	e, err := preparePublish(e)
	if err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return fmt.Errorf("ledger: publish to meeting %q: %w", e.Meeting, ErrLogClosed)
	}
	seq, ok := s.seqs[e.Meeting]
	if !ok {
		// First event of this meeting since the store was opened: read where its log stands.
		// No append can run meanwhile, s.mu is held.
		err := s.r.QueryRowContext(context.Background(), `SELECT last_seq FROM meetings WHERE id = ?`, e.Meeting).Scan(&seq)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("ledger: publish to meeting %q: read seq: %w", e.Meeting, err)
		}
		s.seqs[e.Meeting] = seq
	}
	e.Seq = seq
	e.At = s.now().UTC()
	s.fan.publish(e)
	return nil
}

// Since implements Log. An unknown meeting has no events.
func (s *SQLiteStore) Since(ctx context.Context, meeting string, seq int64) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ledger: read meeting %q: %w", meeting, err)
	}
	if s.closed.Load() {
		return nil, fmt.Errorf("ledger: read meeting %q: %w", meeting, ErrLogClosed)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, json FROM events WHERE meeting_id = ? AND seq > ? ORDER BY seq`,
		meeting, max(seq, 0))
	if err != nil {
		return nil, s.readErr(fmt.Sprintf("read meeting %q", meeting), err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var (
			n    int64
			body []byte
		)
		if err := rows.Scan(&n, &body); err != nil {
			return nil, s.readErr(fmt.Sprintf("read meeting %q", meeting), err)
		}
		var e Event
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, fmt.Errorf("ledger: read meeting %q: event %d: %w", meeting, n, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(fmt.Sprintf("read meeting %q", meeting), err)
	}
	return out, nil
}

// Subscribe implements Log. On a closed store the subscription comes back closed, with ErrLogClosed.
func (s *SQLiteStore) Subscribe(meeting string, buffer int) *Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.fan.subscribe(meeting, buffer)
	if s.closed.Load() {
		s.fan.remove(sub, ErrLogClosed)
	}
	return sub
}

// Close implements Store. It waits for an append in progress to finish. Closing twice returns nil.
func (s *SQLiteStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil
	}
	s.closed.Store(true)
	s.fan.closeAll(ErrLogClosed)
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ledger: close store %s: %w", s.path, err)
	}
	return nil
}

// readErr wraps an error of a read, reporting ErrLogClosed when the store was closed meanwhile.
func (s *SQLiteStore) readErr(what string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	return fmt.Errorf("ledger: %s: %w", what, err)
}

// constraint reports the extended SQLite constraint code of err, or 0.
func constraint(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		return se.Code()
	}
	return 0
}

// formatTime is how times are stored: RFC 3339 in UTC, to the nanosecond.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}
