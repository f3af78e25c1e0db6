package bot

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Sentinel errors of recognising a link.
var (
	// ErrNotRecognised: the link is on no platform an adapter knows (pick one with --platform).
	ErrNotRecognised = errors.New("not a meeting link of a known platform")
	// ErrInvalidLink: the link is on a known platform but leads to no meeting.
	ErrInvalidLink = errors.New("not a link to a meeting")
)

// Adapter is what the bot knows of one meeting platform: which links are its, the page to open
// for one, and how that page is driven (Spec). Everything else, the browser, the lobby's state
// machine, capture, forwarding and the speaker timeline, is shared by every platform.
type Adapter interface {
	// Platform names the platform: meet, teams, zoom, jitsi, generic.
	Platform() string
	// Match reports whether u is a link of this platform, by its address alone.
	Match(u *url.URL) bool
	// PageURL returns the page the browser opens to join the meeting u links to; an error
	// wrapping ErrInvalidLink when u is this platform's but names no meeting.
	PageURL(u *url.URL) (string, error)
	// Spec is how the page is driven.
	Spec() Spec
}

// Spec is how the shared page driver finds its way on one platform's meeting page. Selectors
// are CSS; a Target or Match may instead name text, matched case-insensitively against an
// element's text, aria-label or title (Target) or anywhere in the page's visible text (Match).
// Everything of one platform is in its adapter's Spec, in one place.
type Spec struct {
	// Dismiss are buttons clicked whenever they show before joining: cookie banners, "Continue
	// on this browser", "Continue without microphone and camera".
	Dismiss []Target `json:"dismiss"`
	// NameInput is the field the display name is typed into.
	NameInput string `json:"name_input"`
	// Join are the buttons that ask to join ("Ask to join", "Join now"); the first shown is
	// clicked.
	Join []Target `json:"join"`
	// Waiting shows that the bot waits in a lobby for someone to admit it.
	Waiting []Match `json:"waiting"`
	// InCall shows that the bot is in the call (typically its leave button).
	InCall []Target `json:"in_call"`
	// Failures show, for each reason, that the bot cannot get in or was put out, or (PageEnded)
	// that the call is over. They are looked for only when InCall is not shown. PageNotStarted
	// is waited out like a lobby, until the admission timeout.
	Failures map[Failure][]Match `json:"failures"`
	// Participant is a participant's tile or list entry; ParticipantName the element inside it
	// holding the name (empty: the tile's own text), or NameAttribute an attribute holding it.
	Participant     string `json:"participant"`
	ParticipantName string `json:"participant_name"`
	NameAttribute   string `json:"name_attribute"`
	// Speaking matches a participant's tile, or an element inside it, while they speak.
	Speaking string `json:"speaking"`
	// ChatOpen opens the chat panel when ChatInput is not shown; ChatInput is where a message
	// is typed; ChatSend sends it (none: Enter does); ChatMessage is one message in the panel,
	// ChatText the element inside it with its text (empty: the message's own text).
	ChatOpen    []Target `json:"chat_open"`
	ChatInput   string   `json:"chat_input"`
	ChatSend    []Target `json:"chat_send"`
	ChatMessage string   `json:"chat_message"`
	ChatText    string   `json:"chat_text"`
	// InCallClick are buttons clicked whenever they show in the call, such as "Join audio by
	// computer", without which some platforms send no audio.
	InCallClick []Target `json:"in_call_click"`
	// Leave is the button that leaves the call.
	Leave []Target `json:"leave"`
	// Signals says which of the platform's signals tell who speaks (see Signals).
	Signals Signals `json:"signals"`
	// Notes are said by dry-run: what is known of the platform's flow and what is not.
	Notes []string `json:"-"`
}

// Target is an element to act on: one matching CSS, or, when CSS is empty, a button or link whose
// text, aria-label or title starts with Text (case-insensitive).
type Target struct {
	CSS  string `json:"css,omitempty"`
	Text string `json:"text,omitempty"`
}

// Match shows a state of the page: an element matching CSS is shown, Text is part of the page's
// visible text (case-insensitive; curly apostrophes read as straight ones, chat messages left
// out), or URL is part of the page's address.
type Match struct {
	CSS  string `json:"css,omitempty"`
	Text string `json:"text,omitempty"`
	URL  string `json:"url,omitempty"`
}

// Failure is a page state that ends the bot's attempt, or its stay.
type Failure string

// The failures the page driver tells apart, in the order it looks for them.
const (
	PageCaptcha    Failure = "captcha"
	PageSignIn     Failure = "sign_in"
	PageInvalid    Failure = "invalid_link"
	PageNotStarted Failure = "not_started"
	PageDenied     Failure = "denied"
	PageRemoved    Failure = "removed"
	PageEnded      Failure = "ended"
)

// Signals picks how the bot tells who speaks on the platform's audio.
type Signals string

// The signals.
const (
	// SignalsAuto uses, on each track, the contributing sources (CSRC) where its packets carry
	// them, else the track's own source with its audio level, each named by the participant the
	// page shows speaking while it alone is heard; a single track without either is named by the
	// page's speaking indicators alone.
	SignalsAuto Signals = "auto"
	// SignalsPage names a mixed track's speech by the page's speaking indicators alone, while the
	// track carries sound (Zoom's web client: one mix, an active-speaker indicator).
	SignalsPage Signals = "page"
)

// Text shorthands for adapters.
func texts(ts ...string) []Target {
	out := make([]Target, len(ts))
	for i, t := range ts {
		out[i] = Target{Text: t}
	}
	return out
}

func said(ts ...string) []Match {
	out := make([]Match, len(ts))
	for i, t := range ts {
		out[i] = Match{Text: t}
	}
	return out
}

// adapters are the named platforms, in the order links are tried.
var adapters = []Adapter{meet{}, teams{}, zoom{}, jitsi{}}

// Platforms lists the platforms --platform takes.
func Platforms() []string {
	out := []string{}
	for _, a := range adapters {
		out = append(out, a.Platform())
	}
	return append(out, "generic")
}

// Recognise returns the adapter for a meeting link and the page to open: the platform's own when
// platform is "" (ErrNotRecognised when none knows the link), else the one named (jitsi for a
// self-hosted Jitsi Meet, generic for any other web meeting, with opts).
func Recognise(link, platform string, opts GenericOptions) (Adapter, string, error) {
	u, err := url.Parse(strings.TrimSpace(link))
	if err == nil {
		u.Host = strings.ToLower(u.Host)
	}
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, "", fmt.Errorf("%w: %q is not an http(s) link", ErrInvalidLink, link)
	}
	var a Adapter
	switch platform {
	case "":
		for _, c := range adapters {
			if c.Match(u) {
				a = c
				break
			}
		}
		if a == nil {
			return nil, "", fmt.Errorf("%w: %s (name the platform with --platform %s)", ErrNotRecognised, u.Host, strings.Join(Platforms(), "|"))
		}
	case "generic":
		a = newGeneric(opts)
	default:
		i := slices.IndexFunc(adapters, func(c Adapter) bool { return c.Platform() == platform })
		if i < 0 {
			return nil, "", fmt.Errorf("unknown platform %q: use %s", platform, strings.Join(Platforms(), ", "))
		}
		a = adapters[i]
	}
	page, err := a.PageURL(u)
	if err != nil {
		return nil, "", err
	}
	return a, page, nil
}

// hostIs reports whether host is domain or one of its subdomains.
func hostIs(u *url.URL, domain string) bool {
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	return host == domain || strings.HasSuffix(host, "."+domain)
}
