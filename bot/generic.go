package bot

import "net/url"

// GenericOptions adapt the generic adapter to a web meeting page it does not know.
type GenericOptions struct {
	// JoinText is the text of the button that asks to join; empty: the usual ones.
	JoinText string
	// NameSelector is the CSS of the name field; empty: the usual ones.
	NameSelector string
}

// generic joins any other web meeting page by the conventions most share: a name field, a join
// button, a leave button, participant tiles marked with data attributes.
type generic struct{ opts GenericOptions }

func newGeneric(opts GenericOptions) generic { return generic{opts: opts} }

func (generic) Platform() string { return "generic" }

// Match is false: the generic adapter is chosen, never recognised.
func (generic) Match(*url.URL) bool { return false }

func (generic) PageURL(u *url.URL) (string, error) { return u.String(), nil }

func (g generic) Spec() Spec {
	join := texts("Ask to join", "Join now", "Join meeting", "Join")
	if g.opts.JoinText != "" {
		join = texts(g.opts.JoinText)
	}
	name := `input[autocomplete="name"], input[name="name"], input[placeholder*="name" i], input[aria-label*="name" i]`
	if g.opts.NameSelector != "" {
		name = g.opts.NameSelector
	}
	leave := []Target{{CSS: `[aria-label="Leave call"]`}, {CSS: `[aria-label="Leave meeting"]`}, {Text: "Leave call"},
		{Text: "Leave meeting"}, {Text: "Hang up"}}
	return Spec{
		NameInput: name,
		Join:      join,
		Waiting: said("asking to join", "waiting for the host to let you in", "someone lets you in", "someone will let you in",
			"let you in soon", "in the waiting room", "in the lobby"),
		InCall: leave,
		Failures: map[Failure][]Match{
			PageCaptcha:    {{CSS: `iframe[src*="recaptcha"], iframe[src*="hcaptcha"]`}, {Text: "verify you are human"}},
			PageSignIn:     said("sign in to join", "log in to join", "please sign in"),
			PageInvalid:    said("check your meeting code", "meeting link is invalid", "invalid meeting", "meeting not found"),
			PageNotStarted: said("has not started", "hasn't started", "not started yet"),
			PageDenied:     said("denied your request", "request to join was denied", "request to join was declined", "denied access"),
			PageRemoved:    said("removed from the meeting", "removed from the call", "removed you from"),
			PageEnded:      said("meeting has ended", "call has ended", "meeting ended", "you left the meeting", "you left the call"),
		},
		Participant:   `[data-participant-name], [data-participant-id]`,
		NameAttribute: "data-participant-name",
		Speaking:      `[data-speaking="true"], .speaking, .active-speaker`,
		ChatInput:     `textarea[name="chat"], [aria-label^="Send a message"], [contenteditable="true"][aria-label*="message" i]`,
		ChatSend:      texts("Send"),
		ChatMessage:   `[data-from], .chat-message`,
		ChatText:      `.text`,
		Leave:         leave,
		Signals:       SignalsAuto,
		Notes: []string{
			"joins any web meeting page with a name field and a join button; --join-text and --name-selector name them when the usual ones do not fit",
			"participants are read from elements with data-participant-name (or data-participant-id), speaking ones marked data-speaking=\"true\", .speaking or .active-speaker",
		},
	}
}
