package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// The team records of SQLiteStore and PostgresStore (Team): one code over both databases, as the
// rest of sqlStore.

var (
	_ Team = (*SQLiteStore)(nil)
	_ Team = (*PostgresStore)(nil)
)

// CreateOrg implements Team.
func (s *sqlStore) CreateOrg(ctx context.Context, o Org) error {
	if o.ID == "" || o.Name == "" {
		return fmt.Errorf("ledger: %w: an organisation needs an ID and a name", ErrInvalidRecord)
	}
	if err := storableRecord("organisation", o.ID, o.ID, o.Name); err != nil {
		return err
	}
	what := fmt.Sprintf("create organisation %q", o.ID)
	if s.closed.Load() {
		return fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	_, err := s.w.exec(ctx, `INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)`, o.ID, o.Name, s.now().UTC())
	switch {
	case errors.Is(err, errUniqueViolation):
		return fmt.Errorf("ledger: %s: %w: its ID or name %q is taken", what, ErrExists, o.Name)
	case err != nil:
		return s.readErr(what, err)
	}
	return nil
}

// Org implements Team.
func (s *sqlStore) Org(ctx context.Context, id string) (Org, error) {
	return s.org(ctx, fmt.Sprintf("organisation %q", id), `WHERE id = ?`, id)
}

// OrgByName implements Team.
func (s *sqlStore) OrgByName(ctx context.Context, name string) (Org, error) {
	return s.org(ctx, fmt.Sprintf("organisation named %q", name), `WHERE name = ?`, name)
}

func (s *sqlStore) org(ctx context.Context, what, where string, arg string) (Org, error) {
	found, err := s.orgs(ctx, what, where, arg)
	if err != nil {
		return Org{}, err
	}
	if len(found) == 0 {
		return Org{}, fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return found[0], nil
}

// Orgs implements Team. Names are in byte order, as in both databases' keys.
func (s *sqlStore) Orgs(ctx context.Context) ([]Org, error) {
	return s.orgs(ctx, "organisations", `ORDER BY name`)
}

func (s *sqlStore) orgs(ctx context.Context, what, where string, args ...any) ([]Org, error) {
	return readRows(ctx, s, s.r, what, `SELECT id, name, created_at FROM orgs `+where, args, func(rows sqlRows) (Org, error) {
		var (
			o       Org
			created dbTime
		)
		err := rows.Scan(&o.ID, &o.Name, &created)
		o.CreatedAt = created.Time
		return o, err
	})
}

// AddCredential implements Team. ID and Digest are required, the digest as lowercase hex, so that
// a secret handed over by mistake in its place is refused rather than kept.
func (s *sqlStore) AddCredential(ctx context.Context, c Credential) error {
	if err := checkCredential(c); err != nil {
		return err
	}
	what := fmt.Sprintf("add credential %q", c.ID)
	if s.closed.Load() {
		return fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	return s.insertCredential(ctx, s.w, what, c)
}

// checkCredential refuses a credential that misses a required field or holds a bad one.
func checkCredential(c Credential) error {
	if c.ID == "" || !isDigest(c.Digest) {
		return fmt.Errorf("ledger: %w: credential %q: want an ID and the lowercase hex SHA-256 of its secret", ErrInvalidRecord, c.ID)
	}
	switch c.Kind {
	case CredentialToken, CredentialInvite, CredentialSession:
	default:
		return fmt.Errorf("ledger: %w: credential %q: kind %q, want token, invite or session", ErrInvalidRecord, c.ID, c.Kind)
	}
	switch c.Role {
	case MemberAdmin, MemberMember:
	default:
		return fmt.Errorf("ledger: %w: credential %q: role %q, want admin or member", ErrInvalidRecord, c.ID, c.Role)
	}
	return storableRecord("credential", c.ID, c.ID, c.OrgID, c.Name)
}

// isDigest reports whether d is a SHA-256 digest in lowercase hex.
func isDigest(d string) bool {
	return len(d) == 64 && strings.Trim(d, "0123456789abcdef") == ""
}

// insertCredential stores c, created now, through tx: the writer, or a transaction.
func (s *sqlStore) insertCredential(ctx context.Context, tx sqlConn, what string, c Credential) error {
	_, err := tx.exec(ctx, `INSERT INTO credentials
		(id, digest, kind, org_id, role, name, created_at, expires_at, used_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Digest, string(c.Kind), nullable(c.OrgID), string(c.Role), c.Name, s.now().UTC(),
		nullTime(c.ExpiresAt), nullTime(c.UsedAt), nullTime(c.RevokedAt))
	switch {
	case errors.Is(err, errForeignKeyViolation):
		return fmt.Errorf("ledger: %s: organisation %q: %w", what, c.OrgID, ErrNotFound)
	case errors.Is(err, errUniqueViolation):
		return fmt.Errorf("ledger: %s: %w: its ID or digest is taken", what, ErrExists)
	case err != nil:
		return s.readErr(what, err)
	}
	return nil
}

const credentialColumns = `id, digest, kind, org_id, role, name, created_at, expires_at, used_at, revoked_at`

func scanCredential(rows rowScanner) (Credential, error) {
	var (
		c                      Credential
		org                    sql.NullString
		created                dbTime
		expires, used, revoked nullDBTime
	)
	err := rows.Scan(&c.ID, &c.Digest, &c.Kind, &org, &c.Role, &c.Name, &created, &expires, &used, &revoked)
	c.OrgID, c.CreatedAt, c.ExpiresAt, c.UsedAt, c.RevokedAt = org.String, created.Time, expires.Time, used.Time, revoked.Time
	return c, err
}

// CredentialByDigest implements Team.
func (s *sqlStore) CredentialByDigest(ctx context.Context, digest string) (Credential, error) {
	const what = "credential by digest" // never the digest: it stands for the secret
	cs, err := readRows(ctx, s, s.r, what, `SELECT `+credentialColumns+` FROM credentials WHERE digest = ?`,
		[]any{digest}, func(rows sqlRows) (Credential, error) { return scanCredential(rows) })
	if err != nil {
		return Credential{}, err
	}
	if len(cs) == 0 {
		return Credential{}, fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return cs[0], nil
}

// Credentials implements Team, ordered by CreatedAt then ID.
func (s *sqlStore) Credentials(ctx context.Context, orgID string, kind CredentialKind) ([]Credential, error) {
	what := fmt.Sprintf("%s credentials of organisation %q", kind, orgID)
	where, args := `org_id = ?`, []any{orgID, string(kind)}
	if orgID == "" {
		what = fmt.Sprintf("%s credentials of the administrator", kind)
		where, args = `org_id IS NULL`, args[1:]
	}
	cs, err := readRows(ctx, s, s.r, what, `SELECT `+credentialColumns+` FROM credentials WHERE `+where+` AND kind = ?`,
		args, func(rows sqlRows) (Credential, error) { return scanCredential(rows) })
	// Sorted here: SQLite keeps times as RFC 3339 text, whose order is not the times' when their
	// fractions of a second differ in length.
	slices.SortStableFunc(cs, func(a, b Credential) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return cs, err
}

// RevokeCredential implements Team. A credential revoked twice keeps the time of the first.
func (s *sqlStore) RevokeCredential(ctx context.Context, id string) error {
	return s.updateOne(ctx, fmt.Sprintf("revoke credential %q", id), []string{id},
		`UPDATE credentials SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, s.now().UTC(), id)
}

// updateOne runs an update of one record, named by keys: ErrNotFound when a key cannot be stored
// or the update matched nothing. A unique or foreign-key violation is returned as the error the
// caller names (errUniqueViolation, errForeignKeyViolation), with what it was doing.
func (s *sqlStore) updateOne(ctx context.Context, what string, keys []string, q string, args ...any) error {
	for _, k := range keys {
		if !storable(k) {
			return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
		}
	}
	if s.closed.Load() {
		return fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	n, err := s.w.exec(ctx, q, args...)
	switch {
	case errors.Is(err, errUniqueViolation), errors.Is(err, errForeignKeyViolation):
		return err
	case err != nil:
		return s.readErr(what, err)
	case n == 0:
		return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return nil
}

// RedeemInvite implements Team. The invite is marked used by one update whose condition is its
// being unused: of two redeemers at once, the second finds it used (PostgreSQL re-reads the row
// once the first commits; SQLite runs one writer at a time). Its expiry is checked in Go, where
// times compare as times.
func (s *sqlStore) RedeemInvite(ctx context.Context, inviteDigest string, session Credential) (Credential, error) {
	const what = "redeem invite" // never the digest: it stands for the secret
	if session.Kind == "" {
		session.Kind = CredentialSession
	}
	if session.Kind != CredentialSession {
		return Credential{}, fmt.Errorf("ledger: %w: %s: credential %q is a %s, want a session", ErrInvalidRecord, what, session.ID, session.Kind)
	}
	session.Role = MemberMember // checked now, replaced by the invite's below
	if err := checkCredential(session); err != nil {
		return Credential{}, err
	}
	if !isDigest(inviteDigest) {
		return Credential{}, fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	now := s.now().UTC()
	err := s.writeTx(ctx, what, func(tx sqlConn) error {
		var (
			org     sql.NullString
			role    string
			expires nullDBTime
		)
		err := tx.queryRow(ctx, `UPDATE credentials SET used_at = ?
			WHERE digest = ? AND kind = ? AND used_at IS NULL AND revoked_at IS NULL
			RETURNING org_id, role, expires_at`, now, inviteDigest, string(CredentialInvite)).Scan(&org, &role, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("ledger: %s: %w: unknown, used or revoked", what, ErrNotFound)
		case err != nil:
			return s.readErr(what, err)
		case !expires.IsZero() && !now.Before(expires.Time):
			return fmt.Errorf("ledger: %s: %w: expired", what, ErrNotFound) // rolled back: it stays unused
		}
		session.OrgID, session.Role = org.String, MemberRole(role)
		return s.insertCredential(ctx, tx, fmt.Sprintf("%s: add session %q", what, session.ID), session)
	})
	if err != nil {
		return Credential{}, err
	}
	// As stored: times to the microsecond, as PostgreSQL keeps them.
	return s.CredentialByDigest(ctx, session.Digest)
}

// HasAdmin implements Team. Expiry is checked in Go, where times compare as times.
func (s *sqlStore) HasAdmin(ctx context.Context) (bool, error) {
	expiries, err := readRows(ctx, s, s.r, "find an administrator's credential",
		`SELECT expires_at FROM credentials WHERE org_id IS NULL AND kind = ? AND revoked_at IS NULL`,
		[]any{string(CredentialToken)}, func(rows sqlRows) (nullDBTime, error) {
			var t nullDBTime
			return t, rows.Scan(&t)
		})
	now := s.now()
	return slices.ContainsFunc(expiries, func(t nullDBTime) bool { return t.IsZero() || now.Before(t.Time) }), err
}

// SetDealOwner implements Team. orgID "" leaves the deal without an owner.
func (s *sqlStore) SetDealOwner(ctx context.Context, dealID, orgID string) error {
	return s.setOrg(ctx, fmt.Sprintf("set owner of deal %q", dealID), `UPDATE deals SET owner_org = ? WHERE id = ?`, dealID, orgID)
}

// SetMeetingOrg implements Team. orgID "" leaves the meeting without an organisation; an unknown
// meeting or organisation fails with ErrNotFound.
func (s *sqlStore) SetMeetingOrg(ctx context.Context, meetingID, orgID string) error {
	return s.setOrg(ctx, fmt.Sprintf("set organisation of meeting %q", meetingID), `UPDATE meetings SET org_id = ? WHERE id = ?`, meetingID, orgID)
}

// SetMeetingToken implements Team. The token is the meeting's guest link: replacing it, or
// clearing it with "", makes the old link fail at once.
func (s *sqlStore) SetMeetingToken(ctx context.Context, meetingID, token string) error {
	what := fmt.Sprintf("set the guest token of meeting %q", meetingID)
	err := s.updateOne(ctx, what, []string{meetingID, token}, `UPDATE meetings SET token = ? WHERE id = ?`, nullable(token), meetingID)
	if errors.Is(err, errUniqueViolation) {
		return fmt.Errorf("ledger: %s: %w: the token is taken", what, ErrExists)
	}
	return err
}

// setOrg runs update, which sets the organisation (its first argument) of a record (its second).
func (s *sqlStore) setOrg(ctx context.Context, what, update, id, orgID string) error {
	err := s.updateOne(ctx, what, []string{id, orgID}, update, nullable(orgID), id)
	if errors.Is(err, errForeignKeyViolation) {
		return fmt.Errorf("ledger: %s: organisation %q: %w", what, orgID, ErrNotFound)
	}
	return err
}

// ShareDeal implements Team. An unknown deal or organisation fails with ErrNotFound, a level other
// than ShareView and ShareEdit with ErrInvalidRecord.
func (s *sqlStore) ShareDeal(ctx context.Context, sh DealShare) error {
	what := fmt.Sprintf("share deal %q with organisation %q", sh.DealID, sh.OrgID)
	if sh.DealID == "" || sh.OrgID == "" || (sh.Level != ShareView && sh.Level != ShareEdit) {
		return fmt.Errorf("ledger: %w: %s: want a deal, an organisation and the level view or edit, not %q", ErrInvalidRecord, what, sh.Level)
	}
	if !storableArgs([]any{sh.DealID, sh.OrgID}) {
		return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	if s.closed.Load() {
		return fmt.Errorf("ledger: %s: %w", what, ErrLogClosed)
	}
	_, err := s.w.exec(ctx, `INSERT INTO deal_shares (deal_id, org_id, level) VALUES (?, ?, ?)
		ON CONFLICT (deal_id, org_id) DO UPDATE SET level = excluded.level`, sh.DealID, sh.OrgID, string(sh.Level))
	switch {
	case errors.Is(err, errForeignKeyViolation):
		return fmt.Errorf("ledger: %s: %w: no such deal or organisation", what, ErrNotFound)
	case err != nil:
		return s.readErr(what, err)
	}
	return nil
}

// DealShares implements Team.
func (s *sqlStore) DealShares(ctx context.Context, dealID string) ([]DealShare, error) {
	return readRows(ctx, s, s.r, fmt.Sprintf("shares of deal %q", dealID),
		`SELECT org_id, level FROM deal_shares WHERE deal_id = ? ORDER BY org_id`, []any{dealID},
		func(rows sqlRows) (DealShare, error) {
			sh := DealShare{DealID: dealID}
			return sh, rows.Scan(&sh.OrgID, &sh.Level)
		})
}

// The access rule, written once: the level, 'edit' or 'view', at which a reader may reach a deal
// or a meeting, or NULL where it may not. Access, DealAccess, VisibleMeetings, VisibleDeals and
// Search all ask it, with the arguments that dealAccessArgs and meetingAccessArgs give. A reader
// acting for no organisation passes NULL for it, which equals nothing: without All it reaches
// nothing.
const (
	// dealLevel is the reader's level on deal d: 'edit' for its owner, the share's level for an
	// organisation it is shared with. Arguments: the reader's organisation, twice.
	dealLevel = `CASE WHEN d.owner_org = ? THEN 'edit'
		ELSE (SELECT sh.level FROM deal_shares sh WHERE sh.deal_id = d.id AND sh.org_id = ?) END`
	// dealAccess is the reader's level on deal d. Arguments: dealAccessArgs.
	dealAccess = `CASE WHEN ? THEN 'edit' ELSE ` + dealLevel + ` END`
	// meetingAccess is the reader's level on meeting m: 'edit' for the administrator and the
	// meeting's own organisation, else the level on its deal. Arguments: meetingAccessArgs.
	meetingAccess = `CASE WHEN ? THEN 'edit' WHEN m.org_id = ? THEN 'edit'
		ELSE (SELECT ` + dealLevel + ` FROM deals d WHERE d.id = m.deal_id) END`
)

// readerOrg is the reader's organisation as the access rule takes it: NULL for none.
func readerOrg(r Reader) any {
	if r.OrgID == "" {
		return nil
	}
	return r.OrgID
}

func dealAccessArgs(r Reader) []any {
	org := readerOrg(r)
	return []any{r.All, org, org}
}

func meetingAccessArgs(r Reader) []any {
	org := readerOrg(r)
	return []any{r.All, org, org, org}
}

// Access implements Team.
func (s *sqlStore) Access(ctx context.Context, r Reader, meetingID string) (ShareLevel, error) {
	return s.level(ctx, fmt.Sprintf("meeting %q", meetingID),
		`SELECT `+meetingAccess+` FROM meetings m WHERE m.id = ?`, append(meetingAccessArgs(r), meetingID))
}

// DealAccess implements Team.
func (s *sqlStore) DealAccess(ctx context.Context, r Reader, dealID string) (ShareLevel, error) {
	return s.level(ctx, fmt.Sprintf("deal %q", dealID), `SELECT `+dealAccess+` FROM deals d WHERE d.id = ?`,
		append(dealAccessArgs(r), dealID))
}

// level reads a level from the access rule: ErrNotFound for a record missing or out of reach alike.
func (s *sqlStore) level(ctx context.Context, what, q string, args []any) (ShareLevel, error) {
	var level sql.NullString
	if err := s.row(ctx, what, q, args, &level); err != nil {
		return "", err
	}
	if !level.Valid {
		return "", fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
	}
	return ShareLevel(level.String), nil
}

// VisibleMeetings implements Team.
func (s *sqlStore) VisibleMeetings(ctx context.Context, r Reader) ([]Meeting, error) {
	ms, err := s.meetings(ctx, "visible meetings", `WHERE (`+meetingAccess+`) IS NOT NULL`, meetingAccessArgs(r)...)
	// Sorted here: SQLite keeps times as RFC 3339 text, whose order is not the times' when their
	// fractions of a second differ in length.
	slices.SortStableFunc(ms, func(a, b Meeting) int {
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return ms, err
}

// VisibleDeals implements Team. Names are in byte order, as in both databases' keys.
func (s *sqlStore) VisibleDeals(ctx context.Context, r Reader) ([]Deal, error) {
	ds, err := s.deals(ctx, "visible deals", `WHERE (`+dealAccess+`) IS NOT NULL`, dealAccessArgs(r)...)
	// Sorted here: PostgreSQL orders deals' names by the database's locale.
	slices.SortStableFunc(ds, func(a, b Deal) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ds, err
}

// searchDialect is what the adapter of a database knows of its full-text search. Its reads (the
// store's r) implement it.
type searchDialect interface {
	// searchHits returns common table expressions that end with hits (meeting_id, kind, item_id,
	// score): the items whose text holds every one of words, the last one as a prefix, with a
	// score that is lower the better the item matches; and their arguments.
	searchHits(words []string) (cte string, args []any)
}

// searchHits implements searchDialect with SQLite's FTS5 (migration 0006). The query quotes each
// word as a string, so that nothing in it is FTS5 syntax; strings side by side must all match.
func (sqliteConn) searchHits(words []string) (string, []any) {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = `"` + w + `"` // words hold letters, marks and digits only: no quote to escape
	}
	return `hits (meeting_id, kind, item_id, score) AS (
			SELECT i.meeting_id, i.kind, i.item_id, search_text.rank
			FROM search_text JOIN search_items i ON i.id = search_text.rowid
			WHERE search_text MATCH ?)`,
		[]any{strings.Join(quoted, " ") + "*"}
}

// searchHits implements searchDialect with PostgreSQL's text search (migration 00003), on the very
// expressions its indexes hold. The query quotes each word as a lexeme, so that nothing in it is
// tsquery syntax.
func (pgConn) searchHits(words []string) (string, []any) {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = `'` + w + `'` // words hold letters, marks and digits only: no quote to escape
	}
	q := strings.Join(quoted, " & ") + ":*"
	return `hits (meeting_id, kind, item_id, score) AS (
			SELECT meeting_id, 'segment', segment_id, -ts_rank(to_tsvector('simple', text), to_tsquery('simple', ?))
			FROM segments WHERE to_tsvector('simple', text) @@ to_tsquery('simple', ?)
			UNION ALL
			SELECT meeting_id, 'commitment', id, -ts_rank(to_tsvector('simple', what || ' ' || quote), to_tsquery('simple', ?))
			FROM commitments WHERE to_tsvector('simple', what || ' ' || quote) @@ to_tsquery('simple', ?)
			UNION ALL
			SELECT meeting_id, 'speaker', speaker_id, -ts_rank(to_tsvector('simple', name), to_tsquery('simple', ?))
			FROM participants WHERE to_tsvector('simple', name) @@ to_tsquery('simple', ?))`,
		[]any{q, q, q, q, q, q}
}

// searchWords splits a search into its words: runs of letters, marks and digits, as both
// databases' tokenizers see words. Anything else separates words, quotes and operators included,
// so that no input is ever a query's syntax.
func searchWords(q string) []string {
	return strings.FieldsFunc(q, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
}

// maxSearchWords bounds the words of a search that are looked for: more only slow it down.
const maxSearchWords = 32

// Search implements Team. A hit in a segment says who said it by the name their speaker.update
// gave, or else by speaker ID; a hit in a commitment gives its What and its owner; a hit on a
// speaker gives their name, and where they first spoke.
func (s *sqlStore) Search(ctx context.Context, r Reader, q string, limit int) ([]SearchHit, error) {
	const what = "search"
	words := searchWords(q)
	if len(words) == 0 || limit <= 0 {
		return nil, s.readable(ctx, what)
	}
	d, ok := s.r.(searchDialect)
	if !ok {
		return nil, fmt.Errorf("ledger: %s: this store has no full-text search", what)
	}
	cte, args := d.searchHits(words[:min(len(words), maxSearchWords)])
	args = append(append(args, meetingAccessArgs(r)...), limit)
	return readRows(ctx, s, s.r, what, `WITH `+cte+`
		SELECT h.meeting_id, m.title, m.deal_id, m.started_at, h.kind, h.item_id,
			CASE h.kind WHEN 'segment' THEN COALESCE(NULLIF(gp.name, ''), g.speaker)
				WHEN 'commitment' THEN c.owner ELSE p.name END,
			CASE h.kind WHEN 'segment' THEN g.text WHEN 'commitment' THEN c.what ELSE p.name END,
			CASE h.kind WHEN 'segment' THEN g.start_ms WHEN 'commitment' THEN c.start_ms
				ELSE COALESCE((SELECT MIN(ps.start_ms) FROM segments ps
					WHERE ps.meeting_id = p.meeting_id AND ps.speaker = p.speaker_id), 0) END
		FROM hits h
		JOIN meetings m ON m.id = h.meeting_id
		LEFT JOIN segments g ON h.kind = 'segment' AND g.meeting_id = h.meeting_id AND g.segment_id = h.item_id
		LEFT JOIN participants gp ON gp.meeting_id = g.meeting_id AND gp.speaker_id = g.speaker
		LEFT JOIN commitments c ON h.kind = 'commitment' AND c.meeting_id = h.meeting_id AND c.id = h.item_id
		LEFT JOIN participants p ON h.kind = 'speaker' AND p.meeting_id = h.meeting_id AND p.speaker_id = h.item_id
		WHERE (`+meetingAccess+`) IS NOT NULL
		ORDER BY h.score, m.started_at DESC, m.id DESC, h.kind, h.item_id
		LIMIT ?`, args, func(rows sqlRows) (SearchHit, error) {
		var (
			h       SearchHit
			deal    sql.NullString
			started dbTime
		)
		err := rows.Scan(&h.MeetingID, &h.Title, &deal, &started, &h.Kind, &h.ItemID, &h.Speaker, &h.Text, &h.StartMS)
		h.DealID, h.StartedAt = deal.String, started.Time
		return h, err
	})
}

// Import implements Team. A batch is stored in one transaction, all of it or none: the ack it
// returns is exact, and a batch costs one commit (one fsync on SQLite) however many events it
// holds. Events are checked as Append checks them, and must belong to meeting and follow after in
// increasing origin Seq; the actor of their changes is their By, or else ctx's (WithActor).
func (s *sqlStore) Import(ctx context.Context, meeting, origin string, after int64, batch []Event) (int64, error) {
	what := fmt.Sprintf("import into meeting %q from %q", meeting, origin)
	if meeting == "" || origin == "" || !storableArgs([]any{meeting, origin}) || after < 0 {
		return 0, fmt.Errorf("ledger: %w: %s: want a meeting, an origin and a Seq after of 0 or more", ErrInvalidRecord, what)
	}
	events := make([]Event, len(batch))
	prev := after
	for i, e := range batch {
		if e.Seq <= prev {
			return 0, fmt.Errorf("ledger: %w: %s: event %d of the batch has origin seq %d, want more than %d",
				ErrInvalidRecord, what, i, e.Seq, prev)
		}
		prev = e.Seq
		var err error
		if events[i], err = importable(e, meeting); err != nil {
			return 0, fmt.Errorf("%w (%s, origin seq %d)", err, what, e.Seq)
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("ledger: %s: %w", what, err)
	}
	var acked int64
	_, err := s.write(ctx, meeting, what, func(ctx context.Context, tx sqlConn, recorded bool) ([]Event, error) {
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
// from (0: the meeting's first event).
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
	if _, err := s.w.exec(ctx, `INSERT INTO uploads (meeting_id, server, origin, deal_id, acked, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (meeting_id, server) DO NOTHING`, u.MeetingID, u.Server, u.Origin, u.DealID, u.Acked, s.now().UTC()); err != nil {
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

// writeTx runs fn in a write transaction and commits it. fn's errors say what failed, "ledger: "
// and all, and are returned as they are.
func (s *sqlStore) writeTx(ctx context.Context, what string, fn func(tx sqlConn) error) error {
	s.closing.RLock()
	defer s.closing.RUnlock()
	if err := s.readable(ctx, what); err != nil {
		return err
	}
	tx, err := s.w.begin(ctx)
	if err != nil {
		return s.readErr(what+": begin", err)
	}
	defer tx.rollback(ctx) //nolint:errcheck // a no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.commit(ctx); err != nil {
		return s.readErr(what+": commit", err)
	}
	return nil
}

// nullDBTime scans a stored time that may be NULL, read back as the zero time.
type nullDBTime struct{ dbTime }

func (t *nullDBTime) Scan(v any) error {
	if v == nil {
		t.Time = time.Time{}
		return nil
	}
	return t.dbTime.Scan(v)
}
