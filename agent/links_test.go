package agent

import (
	"context"
	"strings"
	"testing"
)

func TestPublicBase(t *testing.T) {
	for raw, want := range map[string]string{
		"https://meet.example.com":          "https://meet.example.com",
		"https://meet.example.com/":         "https://meet.example.com",
		"HTTPS://meet.example.com:8443/ll/": "https://meet.example.com:8443/ll",
		"http://10.0.0.5:8080/a%20b":        "http://10.0.0.5:8080/a%20b",
	} {
		if got, err := PublicBase(raw); err != nil || got != want {
			t.Errorf("PublicBase(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, bad := range []string{"", "meet.example.com", "/ll", "ws://meet.example.com", "https:meet.example.com",
		"https://meet.example.com/?x=1", "https://meet.example.com/?", "https://meet.example.com/#", "https://u:p@meet.example.com"} {
		if got, err := PublicBase(bad); err == nil {
			t.Errorf("PublicBase(%q) = %q, want an error", bad, got)
		}
	}
}

func TestMeetingLinksUsePublicURL(t *testing.T) {
	m := startTestMeeting(t, openMeetingStore(t), MeetingConfig{PublicURL: "https://meet.example.com/ll/"})
	for name, link := range map[string]string{"overlay": m.OverlayURL(), "join": m.JoinURL()} {
		if !strings.HasPrefix(link, "https://meet.example.com/ll/m/"+m.ID()) {
			t.Errorf("%s link %s is not under the public URL", name, link)
		}
	}
	if _, err := StartMeeting(context.Background(), MeetingConfig{Store: openMeetingStore(t), Listen: "127.0.0.1:0",
		PublicURL: "meet.example.com"}); err == nil || !strings.Contains(err.Error(), "public URL") {
		t.Errorf("StartMeeting with a public URL that is no URL: %v, want it refused", err)
	}
}
