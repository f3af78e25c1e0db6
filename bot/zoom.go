package bot

import (
	"fmt"
	"net/url"
	"regexp"
)

// zoom is Zoom's web client: a link https://…zoom.us/j/ID?pwd=… is opened as
// https://…zoom.us/wc/join/ID?pwd=….
type zoom struct{}

var zoomMeeting = regexp.MustCompile(`^/(?:j|wc/join|w)/(\d{9,11})/?$|^/wc/(\d{9,11})/join/?$`)

func (zoom) Platform() string { return "zoom" }

func (zoom) Match(u *url.URL) bool { return hostIs(u, "zoom.us") || hostIs(u, "zoomgov.com") }

func (zoom) PageURL(u *url.URL) (string, error) {
	m := zoomMeeting.FindStringSubmatch(u.Path)
	if m == nil {
		return "", fmt.Errorf("%w: a Zoom meeting link looks like https://zoom.us/j/12345678901?pwd=…", ErrInvalidLink)
	}
	id := m[1] + m[2]
	return "https://" + u.Host + "/wc/join/" + id + query(u, "pwd"), nil
}

// Spec: Zoom web client's selectors and texts, in English. None has been tried against Zoom
// itself.
func (zoom) Spec() Spec {
	return Spec{
		Dismiss:     []Target{{CSS: `#onetrust-accept-btn-handler`}, {Text: "Continue without audio or video"}},
		NameInput:   `#input-for-name, input[placeholder="Your Name"]`,
		Join:        []Target{{CSS: `button.preview-join-button`}, {Text: "Join"}},
		Waiting:     said("Please wait, the meeting host will let you in soon", "Host has joined. We've let them know you're here"),
		InCall:      []Target{{CSS: `button.footer__leave-btn`}, {CSS: `button[aria-label="Leave"]`}},
		InCallClick: texts("Join Audio by Computer"),
		Failures: map[Failure][]Match{
			PageCaptcha:    {{CSS: `iframe[src*="recaptcha"]`}, {Text: "verify that you are human"}},
			PageSignIn:     {{URL: "zoom.us/signin"}, {Text: "Sign in to join this meeting"}},
			PageInvalid:    said("Invalid meeting ID", "This meeting link is invalid"),
			PageNotStarted: said("Waiting for the host to start this meeting", "The meeting has not started"),
			PageDenied:     said("removed you from the waiting room", "denied your request"),
			PageRemoved:    said("You have been removed", "The host has removed you from the meeting"),
			PageEnded:      said("This meeting has been ended by host", "The meeting has ended"),
		},
		Participant:     `.video-avatar__container, .speaker-active-container__video-frame`,
		ParticipantName: `.video-avatar__avatar-name`,
		Speaking:        `.speaker-active-container__video-frame, .video-avatar__container--active`,
		ChatOpen:        []Target{{CSS: `button[aria-label^="open the chat panel"]`}, {Text: "Chat"}},
		ChatInput:       `.chat-box__chat-textarea, [contenteditable="true"][aria-label*="message" i]`,
		ChatMessage:     `.chat-message__container`,
		Leave:           []Target{{CSS: `button.footer__leave-btn`}, {Text: "Leave"}},
		Signals:         SignalsPage,
		Notes: []string{
			"audio: one mix; its packets carry no contributing sources, so speech is named by Zoom's active-speaker indicator alone",
			"the web client must be allowed for the meeting (the host's account setting), and may ask guests to sign in",
			"after joining, the bot clicks \"Join Audio by Computer\", without which the web client sends no audio",
		},
	}
}
