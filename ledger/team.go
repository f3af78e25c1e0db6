package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A team server keeps, beside the record, who may read it: organisations, the credentials their
// people and programs present (API tokens, sign-in invites, browser sessions, each stored only as
// the SHA-256 digest of its secret), and which organisations each deal is shared with. Laptops that
// record on their own keep an outbox of the meetings they upload to a team server, and the server
// imports what they send exactly once, in their order. This file declares those records; the
// Stores implement them (team_sql.go).

// Org is an organisation with people on a team server: a vendor, a partner, or anyone a deal is
// shared with.
type Org struct {
	ID        string
	Name      string // unique on the server
	CreatedAt time.Time
}

// CredentialKind is what a credential is for.
type CredentialKind string

// The credential kinds.
const (
	// CredentialToken is an API token for a laptop agent or a script: `Authorization: Bearer …`.
	CredentialToken CredentialKind = "token"
	// CredentialInvite is a single-use sign-in link; redeeming it makes a session.
	CredentialInvite CredentialKind = "invite"
	// CredentialSession is a browser's sign-in, held in a cookie.
	CredentialSession CredentialKind = "session"
)

// MemberRole is what a credential may do within its organisation.
type MemberRole string

// The member roles.
const (
	// MemberAdmin may also invite people, make tokens, and create and share deals for its
	// organisation.
	MemberAdmin MemberRole = "admin"
	// MemberMember sees and edits what its organisation may.
	MemberMember MemberRole = "member"
)

// Credential is a secret someone presents to a team server, as stored: by the digest of the
// secret, never the secret.
type Credential struct {
	ID     string // public handle, used to list and revoke it; unique
	Digest string // lowercase hex SHA-256 of the secret; unique
	Kind   CredentialKind
	// OrgID is the organisation it acts for; "" for the server's administrator, who acts for none
	// and may see and manage everything.
	OrgID     string
	Role      MemberRole
	Name      string    // what it is for ("alice's laptop"), or who redeemed an invite
	CreatedAt time.Time // set by the store
	ExpiresAt time.Time // zero: never
	UsedAt    time.Time // when an invite was redeemed; zero before
	RevokedAt time.Time // zero while valid
}

// Valid reports whether the credential may be used at t: not revoked, not expired, and, for an
// invite, not yet redeemed.
func (c Credential) Valid(t time.Time) bool {
	return c.RevokedAt.IsZero() && (c.ExpiresAt.IsZero() || t.Before(c.ExpiresAt)) &&
		(c.Kind != CredentialInvite || c.UsedAt.IsZero())
}

// ShareLevel is what an organisation may do with a deal's meetings.
type ShareLevel string

// The share levels, from less to more.
const (
	ShareView ShareLevel = "view" // read pages, events, recaps, search
	ShareEdit ShareLevel = "edit" // also rename speakers, edit commitments, upload meetings
)

// Covers reports whether l allows what need asks for.
func (l ShareLevel) Covers(need ShareLevel) bool {
	return l == ShareEdit || (l == ShareView && need == ShareView)
}

// DealShare grants an organisation a level of access to every meeting of a deal.
type DealShare struct {
	DealID string
	OrgID  string
	Level  ShareLevel
}

// Reader says who asks to read the record, for the one access rule: the organisation a person or
// program acts for, or the server's administrator (All), who sees everything.
type Reader struct {
	OrgID string
	All   bool
}

// SearchHit is one place in a meeting that matches a search.
type SearchHit struct {
	MeetingID string
	Title     string // the meeting's title
	DealID    string
	StartedAt time.Time // the meeting's start
	Kind      string    // "segment", "commitment" or "speaker"
	ItemID    string    // the segment, commitment or speaker ID
	Speaker   string    // who said it (segment), who owes it (commitment)
	Text      string
	StartMS   int64 // where it is in the meeting
}

// Upload is a meeting a laptop sends to a team server, and how far the server has acknowledged it.
type Upload struct {
	MeetingID string
	Server    string // the server's base URL, as the user gave it
	DealID    string // the deal to file it under there; "" for none
	// Origin names this log to the server, which keeps each origin's events apart and in order:
	// chosen at random when the upload is first added and kept with it, so that it follows the
	// data (a restored or moved database resumes where it was) rather than the machine.
	Origin string
	Acked  int64 // the highest local Seq the server has acknowledged
}

// OriginGapError reports an import batch that does not follow on from what the store holds of its
// origin: the sender must resend from Acked+1.
type OriginGapError struct {
	Meeting, Origin string
	Acked           int64 // the highest origin Seq stored
	After           int64 // what the batch said it follows
}

func (e *OriginGapError) Error() string {
	return fmt.Sprintf("ledger: import into meeting %q from %q: batch follows seq %d but %d is the last stored: resend from %d",
		e.Meeting, e.Origin, e.After, e.Acked, e.Acked+1)
}

// Is makes errors.Is(err, ErrOriginGap) true.
func (e *OriginGapError) Is(target error) bool { return target == ErrOriginGap }

// ErrOriginGap reports an import batch that leaves a gap in its origin's events (*OriginGapError).
var ErrOriginGap = errors.New("ledger: import leaves a gap")

// Team is what a team server keeps beside the record. SQLiteStore and PostgresStore implement it.
type Team interface {
	// CreateOrg records an organisation. ID and Name are required; a taken ID or name fails
	// with ErrExists.
	CreateOrg(ctx context.Context, o Org) error
	// Org returns an organisation, or ErrNotFound.
	Org(ctx context.Context, id string) (Org, error)
	// OrgByName returns the organisation of that name, or ErrNotFound.
	OrgByName(ctx context.Context, name string) (Org, error)
	// Orgs lists the organisations by name.
	Orgs(ctx context.Context) ([]Org, error)

	// AddCredential stores a credential. A taken ID or digest fails with ErrExists; an OrgID that
	// names no organisation with ErrNotFound.
	AddCredential(ctx context.Context, c Credential) error
	// CredentialByDigest returns the credential with that digest, whatever its state, or
	// ErrNotFound.
	CredentialByDigest(ctx context.Context, digest string) (Credential, error)
	// Credentials lists the credentials of one kind acting for an organisation ("" for the
	// administrator's), oldest first.
	Credentials(ctx context.Context, orgID string, kind CredentialKind) ([]Credential, error)
	// RevokeCredential revokes the credential with that ID, at once; revoking twice is no error.
	// An unknown ID fails with ErrNotFound.
	RevokeCredential(ctx context.Context, id string) error
	// RedeemInvite marks the valid invite with digest inviteDigest used and stores session, with
	// the invite's OrgID and Role, in one transaction; two redeemers of one invite cannot both
	// succeed. An unknown, used, revoked or expired invite fails with ErrNotFound. It returns the
	// session as stored.
	RedeemInvite(ctx context.Context, inviteDigest string, session Credential) (Credential, error)
	// HasAdmin reports whether a valid administrator credential (OrgID "", kind token) exists:
	// false on a server's first start.
	HasAdmin(ctx context.Context) (bool, error)

	// SetDealOwner makes an organisation the owner of a deal (the vendor, who sees and edits all
	// its meetings). Unknown deal or organisation: ErrNotFound.
	SetDealOwner(ctx context.Context, dealID, orgID string) error
	// ShareDeal grants an organisation a level on a deal, replacing any earlier level. Unknown
	// deal or organisation: ErrNotFound.
	ShareDeal(ctx context.Context, s DealShare) error
	// DealShares lists the shares of a deal by organisation ID.
	DealShares(ctx context.Context, dealID string) ([]DealShare, error)
	// SetMeetingToken replaces a meeting's guest token (Meeting.Token), or clears it with "": the
	// old guest link stops working at once. An unknown meeting fails with ErrNotFound, a token in
	// use with ErrExists.
	SetMeetingToken(ctx context.Context, meetingID, token string) error
	// SetMeetingOrg makes an organisation the owner of a meeting (who recorded it). Unknown
	// meeting or organisation: ErrNotFound.
	SetMeetingOrg(ctx context.Context, meetingID, orgID string) error

	// Access is the one access rule. It returns the level at which r may reach a meeting:
	// ShareEdit for the administrator, for the meeting's own organisation and for the owner of its
	// deal; the deal's share level for an organisation the deal is shared with. A meeting r may
	// not reach fails with ErrNotFound, as one that does not exist does, so IDs cannot be probed.
	Access(ctx context.Context, r Reader, meetingID string) (ShareLevel, error)
	// DealAccess is Access for a deal: ShareEdit for the administrator and the deal's owner, the
	// share's level for an organisation it is shared with, else ErrNotFound.
	DealAccess(ctx context.Context, r Reader, dealID string) (ShareLevel, error)
	// VisibleMeetings lists the meetings r may reach, newest first (started_at, then ID, both
	// descending).
	VisibleMeetings(ctx context.Context, r Reader) ([]Meeting, error)
	// Unstopped returns the meetings the server records itself (Hosted) whose last meeting.state
	// is not stopped: being recorded by a process, or left so by one that died.
	Unstopped(ctx context.Context) ([]Meeting, error)
	// VisibleDeals lists the deals r may reach, by name.
	VisibleDeals(ctx context.Context, r Reader) ([]Deal, error)
	// Search finds the words of q in the transcripts, commitments and speaker names of the
	// meetings r may reach (full-text search: every word must match, in any order), best and
	// newest first, at most limit hits. An empty q finds nothing.
	Search(ctx context.Context, r Reader, q string, limit int) ([]SearchHit, error)

	// Import appends events recorded by another log (a laptop's), exactly once and in their
	// origin's order. batch holds events of one meeting in increasing origin Seq (their Seq field
	// is the origin's), following origin Seq after. Events already stored from origin are
	// skipped; a batch whose after is past the last one stored fails with *OriginGapError. Each new
	// event gets the meeting's next Seq here, keeps its origin time (At) and is projected and
	// published as an append is. A batch is stored whole or not at all, in one transaction. It
	// returns the highest origin Seq now stored (the ack).
	Import(ctx context.Context, meeting, origin string, after int64, batch []Event) (acked int64, err error)
	// ImportCursor returns the highest origin Seq stored for the meeting from origin; 0 for none.
	ImportCursor(ctx context.Context, meeting, origin string) (int64, error)

	// AddUpload records that a meeting is to be sent to a server, with u.Origin; adding it again
	// changes nothing (the stored Origin and DealID stay).
	AddUpload(ctx context.Context, u Upload) error
	// Uploads lists the meetings to be sent to server, with how far each is acknowledged.
	Uploads(ctx context.Context, server string) ([]Upload, error)
	// SetUploaded records that the server has acknowledged the meeting's events up to acked; a
	// smaller value than the one stored changes nothing. An upload never added: ErrNotFound.
	SetUploaded(ctx context.Context, meetingID, server string, acked int64) error
}
