package ledger

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// SchemaVersion is the version of the event JSON schema written in Event.V (see docs/events.md).
const SchemaVersion = 1

// EventType names what an Event reports.
type EventType string

// The event types. Only TypeSegmentPartial is published without being stored.
const (
	TypeSegmentPartial   EventType = "segment.partial"   // provisional text of a segment still being spoken
	TypeSegmentFinal     EventType = "segment.final"     // a segment's final, attributed text
	TypeSpeakerUpdate    EventType = "speaker.update"    // a speaker's name, organisation or role was set or changed
	TypeCommitmentUpsert EventType = "commitment.upsert" // a commitment was found or edited
	TypeMeetingState     EventType = "meeting.state"     // the meeting started recording, paused or stopped
	TypeChannelLoss      EventType = "channel.loss"      // audio of a channel was lost in capture or left undecoded
	TypeBotState         EventType = "bot.state"         // a meeting bot moved on its way into or out of a call
	TypeCaptureLevel     EventType = "capture.level"     // a channel's audio level now, for a live meter
	TypeCaptureHealth    EventType = "capture.health"    // a channel's capture began or stopped failing
	TypeCRMPush          EventType = "crm.push"          // the meeting was pushed to a CRM, or its push failed
)

// Stored reports whether events of type t are appended to the log (and so replayed on resume).
// Partials and levels are published only.
func (t EventType) Stored() bool {
	switch t {
	case TypeSegmentFinal, TypeSpeakerUpdate, TypeCommitmentUpsert, TypeMeetingState, TypeChannelLoss, TypeBotState,
		TypeCaptureHealth, TypeCRMPush:
		return true
	}
	return false
}

// Known reports whether t is one of the event types of this schema version.
func (t EventType) Known() bool {
	return t == TypeSegmentPartial || t == TypeCaptureLevel || t.Stored()
}

// MeetingState is the recording state carried by a meeting.state event.
type MeetingState string

// The meeting states.
const (
	MeetingRecording MeetingState = "recording"
	MeetingPaused    MeetingState = "paused"
	MeetingStopped   MeetingState = "stopped"
)

// Commitment statuses carried in CommitmentInfo.Status.
const (
	StatusOpen    = "open"
	StatusDone    = "done"
	StatusDropped = "dropped"
)

// Event is one change in a meeting, as stored in its log and sent to viewers, one per WebSocket message.
// Exactly one of Segment, Speaker, Commitment, State, Loss, Bot, Capture or CRM is set, matching Type.
//
// Events are values shared between subscribers once appended or published: receivers must not modify
// what the pointer fields point to.
type Event struct {
	V       int       `json:"v"`       // SchemaVersion
	Type    EventType `json:"type"`    // what happened
	Seq     int64     `json:"seq"`     // position in the meeting's log; a partial carries the current one
	Meeting string    `json:"meeting"` // the meeting's ID
	At      time.Time `json:"at"`      // wall-clock time the log accepted the event (RFC 3339)

	Segment    *SegmentInfo    `json:"segment,omitempty"`    // segment.partial, segment.final
	Speaker    *SpeakerInfo    `json:"speaker,omitempty"`    // speaker.update
	Commitment *CommitmentInfo `json:"commitment,omitempty"` // commitment.upsert
	State      MeetingState    `json:"state,omitempty"`      // meeting.state
	Loss       *LossInfo       `json:"loss,omitempty"`       // channel.loss
	Bot        *BotInfo        `json:"bot,omitempty"`        // bot.state
	Capture    *CaptureInfo    `json:"capture,omitempty"`    // capture.level, capture.health
	CRM        *CRMPush        `json:"crm,omitempty"`        // crm.push
	Reason     string          `json:"reason,omitempty"`     // meeting.state: why, when known ("user", "source ended")
	By         string          `json:"by,omitempty"`         // who made a change from a page ("Dana", "viewer"); "" for the pipeline

	// Origin names the log an event was imported from (a laptop's, by Import; a team server's, on a
	// laptop); "" for one appended to this log. A store's own bookkeeping, not part of the envelope
	// viewers receive: it tells a laptop which events it made itself and must send.
	Origin string `json:"-"`
}

// SegmentInfo is a stretch of one channel's speech. StartMS and EndMS are on the meeting clock
// (milliseconds since the meeting started).
type SegmentInfo struct {
	ID       string `json:"id"`                 // stable across the partials and the final of one segment
	Channel  string `json:"channel"`            // the audio channel: "mic", "system", a track ID
	Speaker  string `json:"speaker,omitempty"`  // the speaker's ID (see SpeakerInfo)
	Org      string `json:"org,omitempty"`      // the speaker's organisation, when known
	Role     Role   `json:"role,omitempty"`     // the speaker's role in the deal, when known
	StartMS  int64  `json:"start_ms"`           // meeting clock
	EndMS    int64  `json:"end_ms"`             // meeting clock
	Text     string `json:"text"`               // the words
	Language string `json:"language,omitempty"` // ISO 639-1 code
	// Overlap marks words said while someone else on the same channel was talking too: the speaker
	// is the likelier one, not a certainty.
	Overlap bool `json:"overlap,omitempty"`
}

// SpeakerInfo names a speaker of a channel.
type SpeakerInfo struct {
	ID      string `json:"id"`             // what SegmentInfo.Speaker refers to
	Channel string `json:"channel"`        // the channel the speaker is heard on
	Name    string `json:"name"`           // display name
	Org     string `json:"org,omitempty"`  // organisation (a company's name), when known
	Role    Role   `json:"role,omitempty"` // role in the deal, when known
	// Consent is "declined" for a participant who refused to be recorded: nothing of theirs is in
	// the record. Empty otherwise.
	Consent string `json:"consent,omitempty"`
}

// LossInfo tells how much of a channel's audio never reached the transcript, so that viewers know
// the record has a hole there rather than silence. Both figures are totals since the channel
// started: each channel.loss event replaces the previous one of its channel.
type LossInfo struct {
	Channel string `json:"channel"`
	// CaptureMS is audio the capture device lost before the meeting got it (an input overflow);
	// the channel's clock skips it, so later speech keeps its place on the meeting clock.
	CaptureMS int64 `json:"capture_ms"`
	// UndecodedMS is speech dropped unheard because decoding fell behind by more than the
	// channel's buffer.
	UndecodedMS int64 `json:"undecoded_ms"`
	// AtMS is the meeting time of the latest loss.
	AtMS int64 `json:"at_ms"`
}

// CaptureInfo is how one channel's capture is going. A capture.level event carries the level only;
// a capture.health event carries the problem the channel has from AtMS on, or none when it is over.
type CaptureInfo struct {
	Channel string `json:"channel"`
	// LevelDB is the loudness of the latest stretch of audio in dBFS (0 is full scale; silence is
	// about -90), and PeakDB its loudest sample.
	LevelDB float64 `json:"level_db"`
	PeakDB  float64 `json:"peak_db"`
	// Problem names what is wrong (CaptureSilent…); "" when the channel is well again.
	Problem CaptureProblem `json:"problem,omitempty"`
	// Message says it in words, with what to do: "No call audio for 60 s — is the meeting playing
	// through another device?"
	Message string `json:"message,omitempty"`
	AtMS    int64  `json:"at_ms"` // meeting clock
}

// CaptureProblem is what is wrong with a channel's capture.
type CaptureProblem string

// The capture problems.
const (
	CaptureSilent   CaptureProblem = "silent"   // nothing but silence for a long while
	CaptureClipping CaptureProblem = "clipping" // the input is too loud: samples hit full scale
	CaptureOverflow CaptureProblem = "overflow" // the device lost audio because the machine fell behind
	CaptureStalled  CaptureProblem = "stalled"  // the device stopped sending audio at all
)

// BotState is where a meeting bot stands on its way into and out of a call, as a bot.state event
// carries it. A bot goes through them in this order, skipping some (a call without a lobby has no
// waiting), and ends in BotEnded or BotFailed.
type BotState string

// The bot states.
const (
	BotRequested BotState = "requested" // asked to join; nothing started yet
	BotLaunching BotState = "launching" // its browser is starting
	BotJoining   BotState = "joining"   // the meeting page is open and the bot is asking to join
	BotWaiting   BotState = "waiting"   // waiting for someone in the call to admit it
	BotInCall    BotState = "in_call"   // in the call, hearing it
	BotLeaving   BotState = "leaving"   // leaving the call
	BotEnded     BotState = "ended"     // out of the call, as asked or as the call ended
	BotFailed    BotState = "failed"    // did not get in, or was put out: Reason says why
)

// BotReason says why a bot failed, or why it left. Failures carry one of the first group; a bot
// that left carries one of the second.
type BotReason string

// The bot reasons.
const (
	BotInvalidLink      BotReason = "invalid_link"        // the link leads to no meeting
	BotNotStarted       BotReason = "not_started"         // the meeting has not started, and the page will not wait
	BotDenied           BotReason = "admission_denied"    // someone in the call refused it
	BotAdmissionTimeout BotReason = "admission_timeout"   // nobody admitted it in time
	BotSignInRequired   BotReason = "sign_in_required"    // the meeting admits signed-in accounts only
	BotCaptcha          BotReason = "captcha"             // the platform asked to prove it is a person
	BotRemoved          BotReason = "removed_by_host"     // the host removed it from the call
	BotUnrecognised     BotReason = "page_not_recognised" // the page is not one the platform's adapter knows
	BotBrowserFailed    BotReason = "browser_failed"      // its browser did not start, or stopped
	BotNoCapacity       BotReason = "no_capacity"         // this machine runs as many bots as it may

	BotAsked      BotReason = "asked_to_leave" // told to leave (by its user, or in the call's chat)
	BotMeetingEnd BotReason = "meeting_ended"  // the call ended
	BotAlone      BotReason = "alone"          // nobody else was left in the call
	BotTimeLimit  BotReason = "time_limit"     // it stayed as long as it may
)

// BotInfo is a meeting bot's state, as a bot.state event carries it.
type BotInfo struct {
	State    BotState  `json:"state"`
	Reason   BotReason `json:"reason,omitempty"`   // failed: why (always); leaving, ended: why, when known
	Platform string    `json:"platform,omitempty"` // the meeting platform: meet, teams, zoom, jitsi, generic
	Name     string    `json:"name,omitempty"`     // the display name it joins the call with
	Detail   string    `json:"detail,omitempty"`   // more words for people, such as what the page said
}

// Valid reports whether b has a known state, and a known reason where it has one: a failure
// always has one.
func (b BotInfo) Valid() bool {
	switch b.State {
	case BotRequested, BotLaunching, BotJoining, BotWaiting, BotInCall, BotLeaving, BotEnded:
		return b.Reason == "" || b.Reason.known()
	case BotFailed:
		return b.Reason.known()
	}
	return false
}

func (r BotReason) known() bool {
	switch r {
	case BotInvalidLink, BotNotStarted, BotDenied, BotAdmissionTimeout, BotSignInRequired, BotCaptcha,
		BotRemoved, BotUnrecognised, BotBrowserFailed, BotNoCapacity, BotAsked, BotMeetingEnd, BotAlone, BotTimeLimit:
		return true
	}
	return false
}

// CommitmentInfo is the current state of one commitment in the meeting's ledger. An upsert replaces
// every field of the commitment with the same ID.
type CommitmentInfo struct {
	ID       string `json:"id"`
	What     string `json:"what"`                // the action: "send the integration architecture"
	Owner    string `json:"owner"`               // who must act: a person, or an organisation for "we"
	OwnerOrg string `json:"owner_org,omitempty"` // the owner's organisation, when known
	// Contact is the person who speaks for the owner when the owner is an organisation ("we will
	// share the checklist" said by Ravi Menon of Northwind: owner Northwind, contact Ravi Menon).
	Contact        string   `json:"contact,omitempty"`
	Beneficiary    string   `json:"beneficiary,omitempty"`     // to whom, when said: a person or an organisation, never "you"
	BeneficiaryOrg string   `json:"beneficiary_org,omitempty"` // the beneficiary's organisation, when known
	Due            string   `json:"due,omitempty"`             // due date as YYYY-MM-DD in the meeting's timezone
	DuePhrase      string   `json:"due_phrase,omitempty"`      // the words said: "by Thursday"
	Status         string   `json:"status"`                    // StatusOpen, StatusDone or StatusDropped
	Confidence     float64  `json:"confidence"`                // 0..1
	Quote          string   `json:"quote,omitempty"`           // the evidence, as said
	SegmentIDs     []string `json:"segment_ids,omitempty"`     // the segments the quote comes from
	StartMS        int64    `json:"start_ms"`                  // meeting clock of the first of those segments
	// Edited names the fields a person set (EditStatus, EditOwner…): whatever the pipeline
	// hears later adds evidence but leaves those fields as the person left them.
	Edited []string `json:"edited,omitempty"`
}

// PossibleBelow is the confidence under which a commitment is shown as "possible", for a person to
// confirm or dismiss, rather than asserted.
const PossibleBelow = 0.6

// Possible reports whether c is only a possible commitment: unsure, and not yet set by a person.
func (c CommitmentInfo) Possible() bool { return c.Confidence < PossibleBelow && len(c.Edited) == 0 }

// The fields of a commitment a person can edit, as named in CommitmentInfo.Edited.
const (
	EditStatus   = "status"
	EditOwner    = "owner"
	EditOwnerOrg = "owner_org"
	EditWhat     = "what"
	EditDue      = "due"
)

// EditedBy reports whether a person set field (EditStatus, EditOwner…) of c.
func (c CommitmentInfo) EditedBy(field string) bool { return slices.Contains(c.Edited, field) }

// CommitmentEdit is a change a person makes to a commitment: the fields set change, the others stay
// as they are when the edit is applied, so that an edit made against an older view of the
// commitment keeps the evidence gathered since.
type CommitmentEdit struct {
	Status   *string
	Owner    *string
	OwnerOrg *string
	What     *string
	Due      *string // a date (YYYY-MM-DD), or "" for none
	// Rename, when set, is a speaker renamed: wherever the commitment names the old name as a
	// person (its owner, contact or beneficiary, unless that is the organisation, and the words of
	// its action: "send the report to Laura Chen") it names the new one; and, when their
	// organisation changed, the organisations that were theirs follow. It marks no field as a
	// person's: the person named is the same, and later evidence may still change who owns it.
	Rename *Rename
}

// Rename is a person's name changed from From to To, and their organisation (or, not knowing it,
// their side: see OrgOrRole) from FromOrg to ToOrg; the same on both sides when unchanged.
type Rename struct{ From, To, FromOrg, ToOrg string }

// Empty reports whether the edit changes nothing.
func (e CommitmentEdit) Empty() bool {
	return e.Status == nil && e.Owner == nil && e.OwnerOrg == nil && e.What == nil && e.Due == nil && e.Rename == nil
}

// Names reports whether c names name (case aside) as a person: its owner, contact or beneficiary,
// where that is not the organisation itself, or in the words of its action (see Rename).
func (c CommitmentInfo) Names(name string) bool {
	return slices.ContainsFunc(c.people(), func(p *string) bool { return strings.EqualFold(*p, name) }) ||
		c.whatNames(name) != nil
}

// whatNames returns a pattern of name as whole words (case aside, groups 1 and 2 the characters
// around it) when c's action says it, else nil. An organisation's name in the action is the
// organisation's: a speaker who bore it is not.
func (c CommitmentInfo) whatNames(name string) *regexp.Regexp {
	if name == "" || strings.EqualFold(name, c.OwnerOrg) || strings.EqualFold(name, c.BeneficiaryOrg) {
		return nil
	}
	re := regexp.MustCompile(`(?i)(^|[^\pL\pN])` + regexp.QuoteMeta(name) + `($|[^\pL\pN])`)
	if !re.MatchString(c.What) {
		return nil
	}
	return re
}

// people are the fields of c that name a person: the owner and beneficiary unless they are their
// organisation ("we" said by Northwind's speaker makes Northwind the owner), and the contact.
func (c *CommitmentInfo) people() []*string {
	out := []*string{&c.Contact}
	if !strings.EqualFold(c.Owner, c.OwnerOrg) {
		out = append(out, &c.Owner)
	}
	if !strings.EqualFold(c.Beneficiary, c.BeneficiaryOrg) {
		out = append(out, &c.Beneficiary)
	}
	return slices.DeleteFunc(out, func(p *string) bool { return *p == "" })
}

// Apply changes c and marks each field it sets as a person's.
func (e CommitmentEdit) Apply(c *CommitmentInfo) {
	set := func(field string, dst *string, v *string) {
		if v == nil {
			return
		}
		*dst = *v
		if !c.EditedBy(field) {
			c.Edited = append(c.Edited, field)
		}
	}
	set(EditStatus, &c.Status, e.Status)
	set(EditOwner, &c.Owner, e.Owner)
	set(EditOwnerOrg, &c.OwnerOrg, e.OwnerOrg)
	set(EditWhat, &c.What, e.What)
	if e.Due != nil && *e.Due == "" {
		c.DuePhrase = "" // no due date: the words said no longer stand for one either
	}
	set(EditDue, &c.Due, e.Due)
	if r := e.Rename; r != nil && r.From != "" && r.To != "" {
		r.moveOrg(c)
		// The action first: whether the old name is the organisation's reads the fields as they were.
		// An action that says the new name already ("Laura" renamed "Laura Chen") is left as it is.
		if re := c.whatNames(r.From); re != nil && !strings.Contains(strings.ToLower(c.What), strings.ToLower(r.To)) {
			c.What = re.ReplaceAllString(c.What, "${1}"+strings.ReplaceAll(r.To, "$", "$$")+"${2}")
		}
		for _, name := range c.people() {
			if strings.EqualFold(*name, r.From) {
				*name = r.To
			}
		}
	}
}

// moveOrg carries the person's new organisation into c where it was theirs: the owner's
// organisation of a commitment they own or are the contact of (and the owner itself when it was
// the organisation: "we will…"), the beneficiary's when they are the beneficiary. An organisation
// a person set stays.
func (r Rename) moveOrg(c *CommitmentInfo) {
	if r.ToOrg == "" || strings.EqualFold(r.FromOrg, r.ToOrg) {
		return
	}
	was := func(org string) bool { return org == "" || strings.EqualFold(org, r.FromOrg) }
	theirs := strings.EqualFold(c.Contact, r.From) || strings.EqualFold(c.Owner, r.From)
	if theirs && was(c.OwnerOrg) && !c.EditedBy(EditOwnerOrg) {
		if c.OwnerOrg != "" && strings.EqualFold(c.Owner, c.OwnerOrg) && !c.EditedBy(EditOwner) {
			c.Owner = r.ToOrg
		}
		c.OwnerOrg = r.ToOrg
	}
	if strings.EqualFold(c.Beneficiary, r.From) && was(c.BeneficiaryOrg) {
		c.BeneficiaryOrg = r.ToOrg
	}
}

// ErrInvalidEvent reports an event that does not follow the schema; the wrapped text says which rule.
var ErrInvalidEvent = errors.New("invalid event")

// Validate checks the parts of e a producer sets: a known type, a meeting ID in UTF-8, a supported
// version (0 means the current one), the payload that matches the type, and text without NUL
// characters. Seq and At are the log's to set.
func (e Event) Validate() error {
	if e.V != 0 && e.V != SchemaVersion {
		return fmt.Errorf("ledger: %w: version %d, want %d", ErrInvalidEvent, e.V, SchemaVersion)
	}
	if !e.Type.Known() {
		return fmt.Errorf("ledger: %w: unknown type %q", ErrInvalidEvent, e.Type)
	}
	if e.Meeting == "" {
		return fmt.Errorf("ledger: %w: %s without a meeting ID", ErrInvalidEvent, e.Type)
	}
	if !utf8.ValidString(e.Meeting) {
		return fmt.Errorf("ledger: %w: %s with a meeting ID that is not UTF-8", ErrInvalidEvent, e.Type)
	}
	if e.hasNUL() {
		return fmt.Errorf("ledger: %w: %s with a NUL character in its text", ErrInvalidEvent, e.Type)
	}
	switch e.Type {
	case TypeSegmentPartial, TypeSegmentFinal:
		if e.Segment == nil || e.Segment.ID == "" {
			return fmt.Errorf("ledger: %w: %s needs a segment with an id", ErrInvalidEvent, e.Type)
		}
		return validRole(e.Type, e.Segment.Role)
	case TypeSpeakerUpdate:
		if e.Speaker == nil || e.Speaker.ID == "" {
			return fmt.Errorf("ledger: %w: %s needs a speaker with an id", ErrInvalidEvent, e.Type)
		}
		return validRole(e.Type, e.Speaker.Role)
	case TypeCommitmentUpsert:
		if e.Commitment == nil || e.Commitment.ID == "" {
			return fmt.Errorf("ledger: %w: %s needs a commitment with an id", ErrInvalidEvent, e.Type)
		}
	case TypeChannelLoss:
		if e.Loss == nil || e.Loss.Channel == "" {
			return fmt.Errorf("ledger: %w: %s needs a loss with a channel", ErrInvalidEvent, e.Type)
		}
	case TypeCaptureLevel, TypeCaptureHealth:
		if e.Capture == nil || e.Capture.Channel == "" {
			return fmt.Errorf("ledger: %w: %s needs a capture with a channel", ErrInvalidEvent, e.Type)
		}
	case TypeCRMPush:
		return e.CRM.validate(e.Type)
	case TypeBotState:
		if e.Bot == nil || !e.Bot.Valid() {
			return fmt.Errorf("ledger: %w: %s needs a bot with a known state, and a known reason for a failure", ErrInvalidEvent, e.Type)
		}
	case TypeMeetingState:
		switch e.State {
		case MeetingRecording, MeetingPaused, MeetingStopped:
		default:
			return fmt.Errorf("ledger: %w: %s with state %q", ErrInvalidEvent, e.Type, e.State)
		}
	}
	return nil
}

// hasNUL reports whether any text of e holds a NUL character. PostgreSQL's text cannot hold one,
// so that no log takes such an event: every log refuses the same events.
func (e Event) hasNUL() bool {
	text := []string{e.Meeting, e.Reason, e.By}
	if g := e.Segment; g != nil {
		text = append(text, g.ID, g.Channel, g.Speaker, g.Org, string(g.Role), g.Text, g.Language)
	}
	if p := e.Speaker; p != nil {
		text = append(text, p.ID, p.Channel, p.Name, p.Org, string(p.Role), p.Consent)
	}
	if c := e.Commitment; c != nil {
		text = append(text, c.ID, c.What, c.Owner, c.OwnerOrg, c.Contact, c.Beneficiary, c.BeneficiaryOrg, c.Due, c.DuePhrase,
			c.Status, c.Quote)
		text = append(text, c.SegmentIDs...)
		text = append(text, c.Edited...)
	}
	if l := e.Loss; l != nil {
		text = append(text, l.Channel)
	}
	if b := e.Bot; b != nil {
		text = append(text, string(b.State), string(b.Reason), b.Platform, b.Name, b.Detail)
	}
	if c := e.Capture; c != nil {
		text = append(text, c.Channel, string(c.Problem), c.Message)
	}
	if c := e.CRM; c != nil {
		text = append(text, c.texts()...)
	}
	return slices.ContainsFunc(text, func(s string) bool { return strings.IndexByte(s, 0) >= 0 })
}

// validRole checks a role an event carries: none, or one of the roles as ParseRole gives it.
func validRole(t EventType, r Role) error {
	if r == "" {
		return nil
	}
	if p, err := ParseRole(string(r)); err != nil || p != r {
		return fmt.Errorf("ledger: %w: %s with role %q, want %s", ErrInvalidEvent, t, r, RoleChoices)
	}
	return nil
}

// clone returns a copy of e that shares no memory with it, so that a producer may reuse its values
// after handing them to a log.
func (e Event) clone() Event {
	if e.Segment != nil {
		s := *e.Segment
		e.Segment = &s
	}
	if e.Speaker != nil {
		s := *e.Speaker
		e.Speaker = &s
	}
	if e.Commitment != nil {
		c := *e.Commitment
		c.SegmentIDs = append([]string(nil), c.SegmentIDs...)
		c.Edited = append([]string(nil), c.Edited...)
		e.Commitment = &c
	}
	if e.Loss != nil {
		l := *e.Loss
		e.Loss = &l
	}
	if e.Bot != nil {
		b := *e.Bot
		e.Bot = &b
	}
	if e.Capture != nil {
		c := *e.Capture
		e.Capture = &c
	}
	if e.CRM != nil {
		c := *e.CRM
		e.CRM = &c
	}
	return e
}

// Log is a meeting event log: the single source of truth for what viewers see. Every implementation
// follows the same rules:
//
//   - Append stores an event before any subscriber sees it, so a reader that subscribes, then reads
//     Since, misses nothing: each stored event is either in the Since result or arrives on the
//     subscription (possibly both; skip by Seq).
//   - Seq starts at 1 for each meeting and increases by one per appended event. A published partial
//     carries the Seq of the last appended event of its meeting (0 before the first).
//   - Subscribers of one meeting receive its events in the order they were appended or published.
//   - The log never waits for a subscriber: one whose buffer is full is dropped (see Subscription).
//   - All methods are safe for concurrent use.
type Log interface {
	// Append validates e, assigns the meeting's next Seq and the wall-clock time, stores it and then
	// publishes it. It returns the event as stored. Partials are refused: use Publish.
	Append(ctx context.Context, e Event) (Event, error)
	// Publish sends a partial to the meeting's subscribers without storing it.
	Publish(e Event) error
	// Since returns the stored events of a meeting with Seq greater than seq, in order.
	Since(ctx context.Context, meeting string, seq int64) ([]Event, error)
	// Subscribe follows a meeting's events from now on, with room for buffer undelivered events.
	Subscribe(meeting string, buffer int) *Subscription
}
