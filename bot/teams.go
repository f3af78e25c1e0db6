package bot

import (
	"fmt"
	"net/url"
	"strings"
)

// teams is Microsoft Teams in the browser: teams.microsoft.com/l/meetup-join/…,
// teams.microsoft.com/meet/ID?p=…, teams.live.com/meet/ID?p=….
type teams struct{}

func (teams) Platform() string { return "teams" }

func (teams) Match(u *url.URL) bool {
	return hostIs(u, "teams.microsoft.com") || hostIs(u, "teams.live.com")
}

func (teams) PageURL(u *url.URL) (string, error) {
	p := u.EscapedPath()
	switch {
	case strings.HasPrefix(p, "/l/meetup-join/") && len(p) > len("/l/meetup-join/"):
	case strings.HasPrefix(p, "/meet/") && len(p) > len("/meet/"):
	default:
		return "", fmt.Errorf("%w: a Teams meeting link starts https://teams.microsoft.com/l/meetup-join/ or …/meet/", ErrInvalidLink)
	}
	return u.String(), nil
}

// Spec: Microsoft Teams' selectors (its data-tid attributes) and texts, as its web client shows
// them in English. None has been tried against Teams itself.
func (teams) Spec() Spec {
	return Spec{
		Dismiss: texts("Continue on this browser", "Join on the web instead", "Continue without audio or video", "Dismiss"),
		NameInput: `input[data-tid="prejoin-display-name-input"], input[placeholder="Type your name"], ` +
			`input[placeholder="Enter name"]`,
		Join: []Target{{CSS: `button[data-tid="prejoin-join-button"]`}, {Text: "Join now"}},
		Waiting: said("Someone in the meeting should let you in soon", "we've let people in the meeting know you're waiting",
			"When the meeting starts, we'll let people know you're waiting"),
		InCall: []Target{{CSS: `button[data-tid="hangup-main-btn"]`}, {CSS: `#hangup-button`}},
		Failures: map[Failure][]Match{
			PageCaptcha:    {{CSS: `iframe[src*="captcha"]`}},
			PageSignIn:     {{URL: "login.microsoftonline.com"}, {URL: "login.live.com"}, {Text: "Sign in to join this meeting"}},
			PageInvalid:    said("We couldn't find this meeting", "This link is invalid"),
			PageNotStarted: said("When the meeting starts, we'll let people know you're waiting"),
			PageDenied:     said("you were denied access to the meeting", "Your request to join was declined"),
			PageRemoved:    said("You've been removed from this meeting", "removed you from the meeting"),
			PageEnded:      said("The meeting has ended", "You left the meeting", "This meeting has ended"),
		},
		Participant:   `[data-tid="video-tile"], [data-cid="calling-participant-stream"]`,
		NameAttribute: `aria-label`,
		Speaking:      `[data-tid="voice-level-stream-outline"][class*="vdi-frame-occlusion"], [data-is-speaking="true"]`,
		ChatOpen:      []Target{{CSS: `button[data-tid="chat-button"]`}, {Text: "Chat"}},
		ChatInput:     `[data-tid="ckeditor"], div[role="textbox"][contenteditable="true"]`,
		ChatSend:      []Target{{CSS: `button[data-tid="newMessageCommands-send"]`}, {Text: "Send"}},
		ChatMessage:   `[data-tid="chat-pane-message"]`,
		Leave:         []Target{{CSS: `button[data-tid="hangup-main-btn"]`}, {CSS: `#hangup-button`}},
		Signals:       SignalsAuto,
		Notes: []string{
			"audio: one mix made by the server, whose packets list the speaking participants as contributing sources (CSRC)",
			"names: a source is named by the tile Teams shows speaking while it alone is heard; the tile selectors are the least certain part",
			"anonymous guests wait in the lobby; tenants that forbid anonymous join end in sign_in_required",
		},
	}
}
