package bot_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/bot"
	"github.com/ledgerline/ledgerline/diarize"
	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/internal/meetingfixture"
)

// Each way into a call and out of it ends in its state, with its typed reason: the host denies
// the bot, never answers, or has not started the meeting; the link leads nowhere, or to a page
// that is no meeting; the host removes the bot, ends the meeting, or everyone leaves; someone
// asks it to leave in the chat, or its user does.
func TestLobbyOutcomes(t *testing.T) {
	needBrowser(t)
	leaktest.Check(t)
	people, lines := sampleCall(t, 1)
	fx := fixture(t)
	blank := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "<!doctype html><title>Welcome</title><p>Nothing to join here.</p>")
	}))
	defer blank.Close()
	short := bot.Config{AdmissionTimeout: 3 * time.Second, AloneAfter: time.Second, PageTimeout: 3 * time.Second,
		Consent: "This call is recorded. Send \"ledgerline leave\" to stop it."}
	// admitted rooms admit the bot once it is seen waiting, so that every run waits.
	admitted := meetingfixture.Room{Admission: meetingfixture.Ignore}
	for _, tc := range []struct {
		name   string
		room   *meetingfixture.Room // nil: link is used as it is
		link   string
		inCall func(room string) // run once the bot is in the call
		stop   bool              // cancel the bot's context once it is in the call
		deny   bool              // the host denies the bot once it waits
		want   []bot.State       // the states after joining
		reason bot.Reason
	}{
		{name: "denied", room: &meetingfixture.Room{Admission: meetingfixture.Ignore}, deny: true,
			want: []bot.State{bot.Waiting, bot.Failed}, reason: bot.Denied},
		{name: "never admitted", room: &meetingfixture.Room{Admission: meetingfixture.Ignore},
			want: []bot.State{bot.Waiting, bot.Failed}, reason: bot.AdmissionTimeout},
		{name: "not started", room: &meetingfixture.Room{NotStarted: true},
			want: []bot.State{bot.Waiting, bot.Failed}, reason: bot.NotStarted},
		{name: "invalid link", link: fx.URL("no-such-room"), want: []bot.State{bot.Failed}, reason: bot.InvalidLink},
		{name: "not a meeting", link: blank.URL, want: []bot.State{bot.Failed}, reason: bot.Unrecognised},
		{name: "removed", room: with(admitted, func(r *meetingfixture.Room) { r.Script, r.RemoveAfter = lines, 500*time.Millisecond }),
			want: []bot.State{bot.Waiting, bot.InCall, bot.Failed}, reason: bot.Removed},
		{name: "meeting ended", room: &meetingfixture.Room{Admission: meetingfixture.Open, Script: lines, EndAfter: 500 * time.Millisecond},
			want: []bot.State{bot.InCall, bot.Ended}, reason: bot.MeetingEnd},
		{name: "alone", room: with(admitted, func(r *meetingfixture.Room) { r.Script, r.LeaveAfter = lines, 500*time.Millisecond }),
			want: []bot.State{bot.Waiting, bot.InCall, bot.Leaving, bot.Ended}, reason: bot.Alone},
		{name: "asked in the chat", room: with(admitted, func(r *meetingfixture.Room) { r.Script = lines }),
			inCall: func(room string) { fx.SayAfter(room, "This call is recorded", people[0], "Ledgerline leave") },
			want:   []bot.State{bot.Waiting, bot.InCall, bot.Leaving, bot.Ended}, reason: bot.Asked},
		{name: "stopped by its user", room: with(admitted, func(r *meetingfixture.Room) { r.Script = lines }), stop: true,
			want: []bot.State{bot.Waiting, bot.InCall, bot.Leaving, bot.Ended}, reason: bot.Asked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			link, room := tc.link, "room-"+tc.name
			if tc.room != nil {
				r := *tc.room
				r.Participants = people
				link = fx.AddRoom(room, r)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cfg := short
			cfg.OnState = func(st bot.Status) {
				switch {
				case st.State == bot.Waiting && tc.deny:
					fx.Deny(room)
				case st.State == bot.Waiting && tc.room != nil && tc.room.Admission == meetingfixture.Ignore && tc.want[1] == bot.InCall:
					fx.Admit(room)
				}
				if st.State != bot.InCall {
					return
				}
				if tc.inCall != nil {
					tc.inCall(room)
				}
				if tc.stop {
					cancel()
				}
			}
			st, seen := run(t, ctx, link, newEndpoint(t), diarize.NewTimeline(), cfg)
			got := seen.list()
			want := append([]bot.State{bot.Requested, bot.Launching, bot.Joining}, tc.want...)
			if !slices.Equal(got, want) || st.Reason != tc.reason {
				t.Errorf("states %v ending %q (%s), want %v ending %q", got, st.Reason, st.Detail, want, tc.reason)
			}
			if tc.room != nil {
				// The platform sees the guest's page close a moment after the bot has ended.
				for deadline := time.Now().Add(30 * time.Second); fx.Guests(room) != 0 && time.Now().Before(deadline); {
					time.Sleep(50 * time.Millisecond)
				}
				if n := fx.Guests(room); n != 0 {
					t.Errorf("%d guests still in the call 30 s after the bot ended", n)
				}
			}
		})
	}
}

// with returns a copy of r changed by change.
func with(r meetingfixture.Room, change func(*meetingfixture.Room)) *meetingfixture.Room {
	change(&r)
	return &r
}
