package bot

import "time"

// State is where a bot stands on its way into and out of a call. The values are those of the
// meeting log's bot.state events (ledger.BotState).
type State string

// The states, in the order a bot goes through them; a bot ends in Ended or Failed.
const (
	Requested State = "requested"
	Launching State = "launching"
	Joining   State = "joining"
	Waiting   State = "waiting"
	InCall    State = "in_call"
	Leaving   State = "leaving"
	Ended     State = "ended"
	Failed    State = "failed"
)

// Reason says why a bot failed, or why it left. The values are those of the meeting log
// (ledger.BotReason).
type Reason string

// The reasons a bot fails.
const (
	InvalidLink      Reason = "invalid_link"
	NotStarted       Reason = "not_started"
	Denied           Reason = "admission_denied"
	AdmissionTimeout Reason = "admission_timeout"
	SignInRequired   Reason = "sign_in_required"
	Captcha          Reason = "captcha"
	Removed          Reason = "removed_by_host"
	Unrecognised     Reason = "page_not_recognised"
	BrowserFailed    Reason = "browser_failed"
	NoCapacity       Reason = "no_capacity"
)

// The reasons a bot leaves.
const (
	Asked      Reason = "asked_to_leave"
	MeetingEnd Reason = "meeting_ended"
	Alone      Reason = "alone"
	TimeLimit  Reason = "time_limit"
)

// Status is a bot's state as it changes: what OnState receives and Run returns.
type Status struct {
	State  State
	Reason Reason // Failed: why; Leaving, Ended: why, when known
	Detail string // words for people: what the page said, what failed
	At     time.Time
}

// Final reports whether s is one a bot ends in.
func (s Status) Final() bool { return s.State == Ended || s.State == Failed }

// Err returns nil for a bot that ended, and an error saying why for one that failed.
func (s Status) Err() error {
	if s.State != Failed {
		return nil
	}
	return &FailedError{Reason: s.Reason, Detail: s.Detail}
}

// FailedError is a bot's failure.
type FailedError struct {
	Reason Reason
	Detail string
}

func (e *FailedError) Error() string {
	msg := "the bot " + e.Reason.Words()
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Words says the reason in a few words, after "the bot".
func (r Reason) Words() string {
	switch r {
	case InvalidLink:
		return "found no meeting at the link"
	case NotStarted:
		return "found the meeting not started"
	case Denied:
		return "was refused entry to the call"
	case AdmissionTimeout:
		return "was not admitted in time"
	case SignInRequired:
		return "cannot join: the meeting admits signed-in accounts only"
	case Captcha:
		return "was asked to prove it is a person (captcha)"
	case Removed:
		return "was removed from the call by the host"
	case Unrecognised:
		return "did not recognise the meeting page"
	case BrowserFailed:
		return "lost its browser"
	case NoCapacity:
		return "found no capacity on this machine"
	case Asked:
		return "was asked to leave"
	case MeetingEnd:
		return "saw the meeting end"
	case Alone:
		return "was left alone in the call"
	case TimeLimit:
		return "stayed as long as it may"
	}
	return string(r)
}

// failures maps the page's failure states to reasons.
var failures = map[string]Reason{
	string(PageCaptcha):    Captcha,
	string(PageSignIn):     SignInRequired,
	string(PageInvalid):    InvalidLink,
	string(PageNotStarted): NotStarted,
	string(PageDenied):     Denied,
	string(PageRemoved):    Removed,
}
