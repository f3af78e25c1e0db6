package bot

import (
	"errors"
	"strings"
	"testing"
)

func TestRecognise(t *testing.T) {
	for _, tc := range []struct {
		link, platform string
		want           string // the adapter's platform
		page           string // the page opened
		err            error
	}{
		{link: "https://meet.google.com/abc-defg-hij", want: "meet", page: "https://meet.google.com/abc-defg-hij"},
		{link: "https://MEET.google.com/abc-defg-hij?authuser=2&utm=x", want: "meet", page: "https://meet.google.com/abc-defg-hij?authuser=2"},
		{link: "https://meet.google.com/new", err: ErrInvalidLink},
		{link: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=%7b%22Tid%22%3a%22x%22%7d", want: "teams",
			page: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=%7b%22Tid%22%3a%22x%22%7d"},
		{link: "https://teams.microsoft.com/meet/123456789?p=abc", want: "teams", page: "https://teams.microsoft.com/meet/123456789?p=abc"},
		{link: "https://teams.live.com/meet/9370000000000?p=xyz", want: "teams", page: "https://teams.live.com/meet/9370000000000?p=xyz"},
		{link: "https://teams.microsoft.com/_#/calendarv2", err: ErrInvalidLink},
		{link: "https://zoom.us/j/81234567890?pwd=abc&from=addon", want: "zoom", page: "https://zoom.us/wc/join/81234567890?pwd=abc"},
		{link: "https://us06web.zoom.us/wc/join/81234567890", want: "zoom", page: "https://us06web.zoom.us/wc/join/81234567890"},
		{link: "https://us06web.zoom.us/wc/81234567890/join?pwd=p", want: "zoom", page: "https://us06web.zoom.us/wc/join/81234567890?pwd=p"},
		{link: "https://zoom.us/my/someone", err: ErrInvalidLink},
		{link: "https://meet.jit.si/OurWeekly", want: "jitsi", page: "https://meet.jit.si/OurWeekly#config.prejoinConfig.enabled=true&config.startWithAudioMuted=true&config.startWithVideoMuted=true&config.disableDeepLinking=true"},
		{link: "https://meet.jit.si/", err: ErrInvalidLink},
		{link: "https://video.example.org/standup#userInfo.displayName=%22x%22", platform: "jitsi", want: "jitsi",
			page: "https://video.example.org/standup#userInfo.displayName=%22x%22&config.prejoinConfig.enabled=true"},
		{link: "https://calls.example.com/room/1", platform: "generic", want: "generic", page: "https://calls.example.com/room/1"},
		{link: "https://calls.example.com/room/1", err: ErrNotRecognised},
		{link: "https://evil.example.com/meet.google.com/abc-defg-hij", err: ErrNotRecognised},
		{link: "https://meet.google.com.evil.example/abc-defg-hij", err: ErrNotRecognised},
		{link: "meet.google.com/abc-defg-hij", err: ErrInvalidLink},
		{link: "javascript:alert(1)", err: ErrInvalidLink},
	} {
		a, page, err := Recognise(tc.link, tc.platform, GenericOptions{})
		switch {
		case tc.err != nil:
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: %v, want %v", tc.link, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.link, err)
		case a.Platform() != tc.want || !strings.HasPrefix(page, tc.page):
			t.Errorf("%s: %s %s, want %s %s", tc.link, a.Platform(), page, tc.want, tc.page)
		}
	}
}

// Every adapter says how to join, how to tell it is in the call and how to leave, and what it
// knows of each way of failing; everything it names is valid for the page driver.
func TestAdapterSpecs(t *testing.T) {
	all := append([]Adapter{}, adapters...)
	all = append(all, newGeneric(GenericOptions{JoinText: "Knock", NameSelector: "#nick"}))
	for _, a := range all {
		s := a.Spec()
		if len(s.Join) == 0 || len(s.InCall) == 0 || len(s.Leave) == 0 || len(s.Waiting) == 0 || s.NameInput == "" {
			t.Errorf("%s: a spec without a way in, the call's sign or a way out: %+v", a.Platform(), s)
		}
		for f := range s.Failures {
			switch f {
			case PageCaptcha, PageSignIn, PageInvalid, PageNotStarted, PageDenied, PageRemoved, PageEnded:
			default:
				t.Errorf("%s: failure %q the page driver does not look for", a.Platform(), f)
			}
		}
		if s.Failures[PageEnded] == nil || s.Failures[PageRemoved] == nil || s.Failures[PageDenied] == nil {
			t.Errorf("%s: no sign of the call ending, of removal or of denial", a.Platform())
		}
		if s.Signals != SignalsAuto && s.Signals != SignalsPage {
			t.Errorf("%s: signals %q", a.Platform(), s.Signals)
		}
		if len(s.Notes) == 0 {
			t.Errorf("%s: no notes for dry-run", a.Platform())
		}
	}
	g := newGeneric(GenericOptions{JoinText: "Knock", NameSelector: "#nick"}).Spec()
	if g.NameInput != "#nick" || len(g.Join) != 1 || g.Join[0].Text != "Knock" {
		t.Errorf("generic options not applied: %+v %+v", g.NameInput, g.Join)
	}
}

func TestCapacity(t *testing.T) {
	c := Capacity{Max: 2, Dir: t.TempDir()}
	a, err := c.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Acquire(); !errors.Is(err, ErrNoCapacity) || !strings.Contains(err.Error(), "--max-bots") {
		t.Fatalf("a third: %v, want no capacity, saying how to raise it", err)
	}
	a.Release()
	c2, err := c.Acquire()
	if err != nil {
		t.Fatalf("after one left: %v", err)
	}
	b.Release()
	c2.Release()
	c2.Release() // twice is harmless
}
