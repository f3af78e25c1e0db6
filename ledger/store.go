package ledger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Store keeps meetings durably: the event log of each meeting, the records of deals and meetings,
// and the projections of the log that pages read (transcript, participants, commitments). It is
// what the rest of the product needs from storage: SQLiteStore implements it for one machine,
// PostgresStore for a team server, and both also give the reads of current state and the edit
// that a live meeting's controls need (Speaker, Commitment, EditCommitment, Runs, LastState).
//
// A Store follows every rule of Log. In addition, an event and the projection rows it changes are
// stored together: a reader never sees one without the other. Records are refused with
// ErrInvalidRecord, and lookups match nothing, where their text is not UTF-8 or holds a NUL
// character, which PostgreSQL cannot store; an event's text that is not UTF-8 is stored, and
// returned, as its JSON encoding has it (with U+FFFD).
type Store interface {
	Log

	// CreateDeal records a new deal. An existing ID or token fails with ErrExists.
	CreateDeal(ctx context.Context, d Deal) error
	// Deal returns the deal with the given ID, or ErrNotFound.
	Deal(ctx context.Context, id string) (Deal, error)
	// DealByToken returns the deal whose page token is token, or ErrNotFound.
	DealByToken(ctx context.Context, token string) (Deal, error)

	// CreateMeeting records a new meeting. An ID already described, or a token in use, fails with
	// ErrExists; an unknown DealID fails with ErrNotFound. A meeting first seen through its log
	// (appended to before it was created) may still be described once.
	CreateMeeting(ctx context.Context, m Meeting) error
	// Meeting returns the meeting with the given ID, or ErrNotFound.
	Meeting(ctx context.Context, id string) (Meeting, error)
	// MeetingByToken returns the meeting whose page token is token, or ErrNotFound.
	MeetingByToken(ctx context.Context, token string) (Meeting, error)
	// Meetings returns the meetings of a deal by start time; dealID "" returns those of no deal.
	Meetings(ctx context.Context, dealID string) ([]Meeting, error)

	// Participants returns the speakers named in a meeting, by speaker ID.
	Participants(ctx context.Context, meetingID string) ([]Participant, error)
	// Segments returns a meeting's final segments in transcript order (start time, then Seq).
	Segments(ctx context.Context, meetingID string) ([]Segment, error)
	// Commitments returns the current state of a meeting's commitments, by start time then ID.
	Commitments(ctx context.Context, meetingID string) ([]CommitmentRecord, error)
	// CaptureHealth returns what the meeting's capture.health events said, in log order.
	CaptureHealth(ctx context.Context, meetingID string) ([]CaptureInfo, error)

	// Close ends every subscription with ErrLogClosed and releases the storage; later calls fail
	// with ErrLogClosed.
	Close() error
}

var (
	// ErrNotFound reports a deal or meeting that the store does not hold.
	ErrNotFound = errors.New("not found")
	// ErrExists reports a record whose ID or token is already taken.
	ErrExists = errors.New("already exists")
	// ErrInvalidRecord reports a deal or meeting that misses a required field or holds a bad one.
	ErrInvalidRecord = errors.New("invalid record")
	// ErrUnavailable reports a store that cannot be reached now: its database is down, restarting
	// or cut off from this process. Nothing was stored by the call that failed; try again later.
	ErrUnavailable = errors.New("ledger: the store cannot be reached")
	// ErrSchemaTooNew reports a database written by a newer Ledgerline than this one.
	ErrSchemaTooNew = errors.New("ledger: database schema is newer than this build of Ledgerline")
)

// Role is the side a participant of a co-selling call is on: apart from their organisation, which
// is a company's name.
type Role string

// The roles. A participant states theirs when they join; for one recorded before roles were stated,
// it follows from their organisation and the meeting's deal (Deal.RoleOf).
const (
	RoleVendor  Role = "vendor"
	RolePartner Role = "partner"
	RoleBuyer   Role = "buyer"
	RoleOther   Role = "other"
)

// RoleChoices names the roles as people are asked to pick one.
const RoleChoices = "vendor, partner, buyer or other"

// ParseRole reads a role as a person gives it (a flag, a form, a query parameter), in any case.
// It is where every entry point checks one, so that all of them accept and refuse the same.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleVendor, RolePartner, RoleBuyer, RoleOther:
		return r, nil
	}
	return "", fmt.Errorf("ledger: unknown role %q: use %s", s, RoleChoices)
}

// OrgOrRole is what is shown of a speaker's organisation, and what talk time is summed by: the
// organisation's name when known, else the speaker's role in the deal ("partner"), else "".
func OrgOrRole(org string, role Role) string {
	if org != "" {
		return org
	}
	return string(role)
}

// Deal is an account and opportunity that a vendor and a partner work on together.
type Deal struct {
	ID        string
	Name      string
	Account   string // the buyer's organisation
	Vendor    string // the vendor's organisation
	Partner   string // the partner's organisation
	Token     string // grants access to the deal page; "" for none
	CreatedAt time.Time

	// OwnerOrg is the Org that owns the deal on a team server (its vendor); "" for none. Set by
	// SetDealOwner, ignored by CreateDeal.
	OwnerOrg string
}

// Meeting is one recorded call, on its own or as part of a deal.
type Meeting struct {
	ID        string
	DealID    string // "" when the meeting belongs to no deal
	Title     string
	StartedAt time.Time // wall clock of meeting time 0, read back in UTC; now when zero at creation
	Timezone  string    // IANA name ("Europe/Madrid"); due dates resolve in it
	Language  string    // ISO 639-1 code of the main language
	Token     string    // grants access to the meeting page; "" for none
	// OrgID is the Org that recorded the meeting on a team server; "" for none. CreateMeeting
	// records it with the meeting, so that a meeting is never stored without its owner; an
	// unknown organisation fails with ErrNotFound. SetMeetingOrg changes it.
	OrgID string
	// Hosted marks a meeting that a team server records itself, from the audio its participants
	// send over WebRTC; a laptop's meeting is recorded there and sent in.
	Hosted bool

	// Set by the log, ignored by CreateMeeting.
	State   MeetingState // the last meeting.state; "" before any
	LastSeq int64        // Seq of the meeting's last event
}

// Participant is a speaker named in a meeting by a speaker.update event.
type Participant struct {
	MeetingID string
	SpeakerID string
	Channel   string
	Name      string
	Org       string
	// Role is the speaker's role in the deal: the one their speaker.update stated, or, when it
	// stated none (recorded before roles were), the one Org has in the meeting's deal
	// (Deal.RoleOf); RoleOther when neither tells.
	Role Role
	// StatedRole is the role the speaker.update stated; "" when it stated none.
	StatedRole Role
	// Consent is "declined" for a participant who refused to be recorded (SpeakerInfo.Consent).
	Consent string
	Seq     int64 // the event that last set it
}

// Segment is a final segment of a meeting's transcript.
type Segment struct {
	MeetingID string
	Seq       int64 // the segment.final event that carried it
	SegmentInfo
}

// CommitmentRecord is the current state of one commitment of a meeting's ledger.
type CommitmentRecord struct {
	MeetingID string
	CommitmentInfo
	Seq       int64     // the commitment.upsert event that last set it
	UpdatedAt time.Time // when that event was appended
	UpdatedBy string    // who appended it, from WithActor; "" when not said
}

type actorKey struct{}

// WithActor returns a context that names who appends the events made with it ("detector",
// "user:ana@example.com"). A store records the actor of the last change to each commitment.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

// DefaultPath returns where Ledgerline keeps its database for the current user:
// $XDG_DATA_HOME/ledgerline/ledgerline.db when XDG_DATA_HOME is set; otherwise
// ~/.local/share/ledgerline/ledgerline.db on Linux and other Unix systems, and the user's
// configuration directory (~/Library/Application Support, %AppData%) on macOS and Windows.
func DefaultPath() (string, error) {
	const dir, file = "ledgerline", "ledgerline.db"
	if x := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, dir, file), nil
	}
	switch runtime.GOOS {
	case "darwin", "windows", "ios":
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("ledger: default database path: %w", err)
		}
		return filepath.Join(base, dir, file), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("ledger: default database path: %w", err)
	}
	return filepath.Join(home, ".local", "share", dir, file), nil
}

// OrgName is the organisation someone belongs to, by which every report groups them: the name
// they gave, unless it is only a side of the deal ("partner", as the join page and --org once
// offered) or missing, in which case it is the deal's organisation on their side (role). Without
// a deal that names it, the side itself stands in ("partner"), or nothing.
func OrgName(d *Deal, org string, role Role) string {
	if d != nil {
		side := role
		if named, err := ParseRole(org); err == nil {
			side = named
		} else if org != "" {
			return org
		}
		if o := d.OrgOf(side); o != "" {
			return o
		}
	}
	return OrgOrRole(org, role)
}

// NameSides names the organisations of a commitment as its meeting's deal d names them (nil: no
// deal, nothing changes), by the rule people's follow (OrgName): a side ("partner") recorded before
// the meeting joined the deal, or said by someone who gave only their side, stands for the deal's
// organisation on that side, so that every report, page and export groups a company's commitments
// under its name once.
func NameSides(d *Deal, c *CommitmentInfo) {
	if d == nil {
		return
	}
	if _, err := ParseRole(c.Owner); err == nil && strings.EqualFold(c.Owner, c.OwnerOrg) {
		c.Owner = OrgName(d, c.Owner, "") // "we" of a side: the organisation owns it
	}
	c.OwnerOrg = OrgName(d, c.OwnerOrg, "")
	c.BeneficiaryOrg = OrgName(d, c.BeneficiaryOrg, "")
}

// OrgOf returns the organisation on a side of the deal: the vendor's, the partner's, or the
// account's for the buyer; "" for RoleOther, or a side the deal does not name.
func (d Deal) OrgOf(r Role) string {
	switch r {
	case RoleVendor:
		return d.Vendor
	case RolePartner:
		return d.Partner
	case RoleBuyer:
		return d.Account
	}
	return ""
}

// RoleOf tells an organisation's side in the deal. A side's own name
// ("vendor", "partner", "buyer"), as a participant may pick it when joining,
// counts as that side.
func (d Deal) RoleOf(org string) Role {
	switch {
	case org == "":
		return RoleOther
	case strings.EqualFold(org, string(RoleVendor)):
		return RoleVendor
	case strings.EqualFold(org, string(RolePartner)):
		return RolePartner
	case strings.EqualFold(org, string(RoleBuyer)):
		return RoleBuyer
	case d.Vendor != "" && strings.EqualFold(org, d.Vendor):
		return RoleVendor
	case d.Partner != "" && strings.EqualFold(org, d.Partner):
		return RolePartner
	case d.Account != "" && strings.EqualFold(org, d.Account):
		return RoleBuyer
	}
	return RoleOther
}

// unavailableError marks an error of a store that cannot be reached (see ErrUnavailable).
type unavailableError struct{ err error }

func (e *unavailableError) Error() string        { return e.err.Error() }
func (e *unavailableError) Unwrap() error        { return e.err }
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }

// markUnavailable marks err as ErrUnavailable when it says that the database could not be reached
// (a refused or broken connection, a server shutting down), so that callers can tell "try again
// later" from a fault of theirs or of the data.
func markUnavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) || !unreachable(err) {
		return err
	}
	return &unavailableError{err}
}
