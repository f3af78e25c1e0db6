package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
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
