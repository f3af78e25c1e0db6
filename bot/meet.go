package bot

import (
	"fmt"
	"net/url"
	"regexp"
)

// meet is Google Meet: meet.google.com/abc-defg-hij.
type meet struct{}

var meetCode = regexp.MustCompile(`^/[a-z]{3}-[a-z]{4}-[a-z]{3}/?$`)

func (meet) Platform() string { return "meet" }

func (meet) Match(u *url.URL) bool { return hostIs(u, "meet.google.com") }

func (meet) PageURL(u *url.URL) (string, error) {
	if !meetCode.MatchString(u.Path) {
		return "", fmt.Errorf("%w: a Google Meet link looks like https://meet.google.com/abc-defg-hij", ErrInvalidLink)
	}
	return "https://meet.google.com" + u.Path + query(u, "authuser", "hs", "pli"), nil
}

// Spec: Google Meet's selectors and texts, as its pages show them in English (the bot's browser
// is pinned to en-US). None has been tried against Meet itself.
func (meet) Spec() Spec {
	return Spec{
		Dismiss:   texts("Continue without microphone and camera", "Got it", "Dismiss"),
		NameInput: `input[aria-label="Your name"], input[placeholder="Your name"]`,
		Join:      texts("Ask to join", "Join now", "Join anyway"),
		Waiting: said("Asking to be let in", "Asking to join", "You'll join the call when someone lets you in",
			"Please wait until a meeting host brings you into the call"),
		InCall: []Target{{CSS: `button[aria-label="Leave call"]`}},
		Failures: map[Failure][]Match{
			PageCaptcha:    {{CSS: `iframe[src*="recaptcha"]`}, {Text: "unusual traffic"}},
			PageSignIn:     {{URL: "accounts.google.com"}, {Text: "Sign in with your Google Account"}, {Text: "Sign in to join"}},
			PageInvalid:    said("Check your meeting code", "Invalid video call name"),
			PageNotStarted: said("hasn't started", "has not started"),
			PageDenied:     said("denied your request to join", "You can't join this call", "Your request to join was declined"),
			PageRemoved:    said("You've been removed from the meeting", "removed you from the meeting", "removed from the call"),
			PageEnded:      said("The call has ended", "The meeting has ended", "You left the meeting", "You've left the call"),
		},
		Participant:     `[data-participant-id]`,
		ParticipantName: `[data-self-name], .notranslate`,
		Speaking:        `[data-audio-level]:not([data-audio-level="0"]), [data-is-speaking="true"]`,
		ChatOpen:        []Target{{CSS: `button[aria-label^="Chat with everyone"]`}, {Text: "Chat with everyone"}},
		ChatInput:       `textarea[aria-label^="Send a message"]`,
		ChatSend:        []Target{{CSS: `button[aria-label^="Send a message"]`}},
		ChatMessage:     `[data-message-id]`,
		Leave:           []Target{{CSS: `button[aria-label="Leave call"]`}},
		Signals:         SignalsAuto,
		Notes: []string{
			"audio: three virtual streams whose packets name the speaking participant as their contributing source (CSRC)",
			"names: a source is named by the tile Meet shows speaking while it alone is heard; Meet's tile and speaking-indicator selectors are the least certain part",
			"guests need a host to admit them; meetings of organisations that admit only their own accounts end in sign_in_required",
		},
	}
}

// query keeps only the named parameters of u's query, as "?a=b…" or "".
func query(u *url.URL, keep ...string) string {
	q := url.Values{}
	for _, k := range keep {
		if v, ok := u.Query()[k]; ok {
			q[k] = v
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}
