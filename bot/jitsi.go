package bot

import (
	"fmt"
	"net/url"
	"strings"
)

// jitsi is Jitsi Meet: meet.jit.si/ROOM, 8x8.vc/…/ROOM, or a self-hosted instance named with
// --platform jitsi.
type jitsi struct{}

func (jitsi) Platform() string { return "jitsi" }

func (jitsi) Match(u *url.URL) bool { return hostIs(u, "meet.jit.si") || hostIs(u, "8x8.vc") }

// PageURL opens the room with Jitsi's documented URL settings: the prejoin page shown, the
// bot's microphone and camera muted, no prompt to open the app.
func (jitsi) PageURL(u *url.URL) (string, error) {
	room := strings.Trim(u.Path, "/")
	if room == "" {
		return "", fmt.Errorf("%w: a Jitsi Meet link names a room, such as https://meet.jit.si/YourRoom", ErrInvalidLink)
	}
	page := *u
	page.Fragment, page.RawFragment = "", ""
	settings := "config.prejoinConfig.enabled=true&config.startWithAudioMuted=true&config.startWithVideoMuted=true" +
		"&config.disableDeepLinking=true"
	if u.Fragment != "" {
		settings = u.EscapedFragment() + "&" + settings
	}
	return page.String() + "#" + settings, nil
}

// Spec: Jitsi Meet's selectors (its data-testid attributes and class names) and texts, in
// English. None has been tried against a Jitsi server.
func (jitsi) Spec() Spec {
	return Spec{
		NameInput: `#premeeting-name-input, input[placeholder="Enter your name"]`,
		Join: []Target{{CSS: `[data-testid="lobby.knockButton"]`}, {CSS: `[data-testid="prejoin.joinMeeting"]`},
			{Text: "Ask to join"}, {Text: "Join meeting"}},
		Waiting: said("Asking to join meeting", "You are in the lobby", "waiting for the moderator"),
		InCall:  []Target{{CSS: `[aria-label="Leave the meeting"]`}, {CSS: `.hangup-button`}},
		Failures: map[Failure][]Match{
			PageSignIn:     said("Authentication required"),
			PageNotStarted: said("has not yet started", "waiting for a moderator", "Waiting for the host"),
			PageDenied:     said("Your request to join was rejected", "denied your request"),
			PageRemoved:    said("You have been kicked", "removed from the meeting", "kicked you out"),
			PageEnded:      said("The meeting has been terminated", "The meeting has ended", "You have left the meeting"),
		},
		Participant:     `.videocontainer:not(#localVideoContainer)`,
		ParticipantName: `.displayname`,
		Speaking:        `.active-speaker, .videocontainer.active-speaker`,
		ChatOpen:        []Target{{CSS: `[aria-label="Open chat"]`}, {Text: "Open chat"}},
		ChatInput:       `#usermsg, textarea[name="chat"]`,
		ChatMessage:     `.chatmessage`,
		ChatText:        `.usermessage`,
		Leave:           []Target{{CSS: `[aria-label="Leave the meeting"]`}, {CSS: `.hangup-button`}},
		Signals:         SignalsAuto,
		Notes: []string{
			"audio: one track per participant, each with its audio level; a track is named by the tile Jitsi shows speaking while it alone is heard",
			"rooms with a lobby need a moderator to admit the bot; meet.jit.si may ask the first participant to sign in as moderator",
		},
	}
}
