package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/meetingfixture"
	"github.com/ledgerline/ledgerline/ledger"
)

// postJSON posts body to the team server with a bearer token, checks the status and returns the
// response's Retry-After and JSON body.
func postJSON(t *testing.T, u, token string, body any, want int, out any) string {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d, want %d: %s", u, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("POST %s: %v: %s", u, err, data)
		}
	}
	return resp.Header.Get("Retry-After")
}

// A calendar an organisation subscribes sends the server's bot into the meeting of its event: the
// feed is read from a local server, the event's link is the test meeting platform's (named a
// generic web meeting with --bot-platform), and the bot joins it a lead before the event, is
// admitted, records the call into a meeting the server hosts, titled as the event, and leaves when
// told to. While it runs, the machine's one bot slot is taken: another bot is refused with 503 and
// Retry-After.
func TestServeSendsBotFromCalendar(t *testing.T) {
	needChromium(t)
	t.Setenv("LEDGERLINE_CHROMIUM", chromiumPath)
	fx := meetingPlatform(t)
	people, lines := sampleLines(t, 2)
	link := fx.AddRoom("abc-defg-hij", meetingfixture.Room{Participants: people, Script: lines,
		Admission: meetingfixture.Admit, AdmitAfter: time.Second})
	begins := time.Now().Add(2 * time.Minute).UTC()
	ics := strings.ReplaceAll(fmt.Sprintf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Ledgerline test//EN
BEGIN:VEVENT
UID:pricing-call@example.com
DTSTART:%s
SUMMARY:Pricing call
LOCATION:%s
ATTENDEE:mailto:pat@partner.example
END:VEVENT
END:VCALENDAR
`, begins.Format("20060102T150405Z"), link), "\n", "\r\n")
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/calendar")
		_, _ = io.WriteString(w, ics)
	}))
	defer feed.Close()

	db := filepath.Join(t.TempDir(), "server.db")
	serve := start(t, "serve", "--db", db, "--listen", "127.0.0.1:0", "--model", testModel(t), "--idle-stop", "3s",
		"--max-bots", "1", "--bot-platform", "127.0.0.1=generic")
	adminTok := serve.await(`^admin token: (\S+)$`)
	base := serve.await(`serving the team server on (http://\S+),`)
	org := admin(t, base, adminTok, "org", "create", "Acme")
	member := admin(t, base, adminTok, "token", "create", "--org", org, "--name", "calendar")

	// The whole lead: the event's bot is due at once.
	postJSON(t, base+"/api/v1/calendars", member, map[string]any{"url": feed.URL + "/private-0123/basic.ics", "send_bot": true,
		"lead_seconds": 120}, http.StatusCreated, nil)
	var bot struct {
		ID, Title, Platform, Status, Meeting string
		State                                *ledger.BotInfo
	}
	waitFor(t, "the calendar's bot to be in the call", func() bool {
		var bots []json.RawMessage
		api(t, http.MethodGet, base+"/api/v1/bots", member, http.StatusOK, &bots)
		if len(bots) != 1 {
			return false
		}
		if err := json.Unmarshal(bots[0], &bot); err != nil {
			t.Fatal(err)
		}
		if bot.State != nil && bot.State.State == ledger.BotFailed {
			t.Fatalf("the bot failed: %+v\n%s", bot.State, serve.output())
		}
		return bot.State != nil && bot.State.State == ledger.BotInCall
	})
	if bot.Title != "Pricing call" || bot.Platform != "generic" || bot.Status != "started" {
		t.Errorf("the calendar's bot = %+v", bot)
	}
	if retry := postJSON(t, base+"/api/v1/bots", member, map[string]string{"meeting_url": fx.URL("another-room")},
		http.StatusServiceUnavailable, nil); retry == "" {
		t.Error("a bot past the machine's capacity was refused without Retry-After")
	}

	// The meeting hears who speaks from the bot: a final goes to a participant the page named.
	waitFor(t, "a final attributed to a participant by name", func() bool {
		var events []ledger.Event
		api(t, http.MethodGet, base+"/api/v1/meetings/"+bot.Meeting+"/events", member, http.StatusOK, &events)
		names := map[string]string{}
		for _, e := range events {
			switch {
			case e.Type == ledger.TypeSpeakerUpdate:
				names[e.Speaker.ID] = e.Speaker.Name
			case e.Type == ledger.TypeSegmentFinal && slices.Contains(people, names[e.Segment.Speaker]):
				return true
			}
		}
		return false
	})

	// Told to leave, it leaves the call, and the meeting stops once nobody sends it audio.
	waitFor(t, "the platform to play the call to the bot", func() bool { return len(fx.Played("abc-defg-hij")) > 0 })
	api(t, http.MethodDelete, base+"/api/v1/bots/"+bot.ID, member, http.StatusNoContent, nil)
	var m struct{ State, Title string }
	waitFor(t, "the bot's meeting to stop once the bot left", func() bool {
		api(t, http.MethodGet, base+"/api/v1/meetings/"+bot.Meeting, member, http.StatusOK, &m)
		return m.State == "stopped"
	})
	if m.Title != "Pricing call" {
		t.Errorf("the bot's meeting is titled %q, want the event's", m.Title)
	}
	var events []ledger.Event
	api(t, http.MethodGet, base+"/api/v1/meetings/"+bot.Meeting+"/events", member, http.StatusOK, &events)
	var states []string
	recorded := false
	for _, e := range events {
		switch {
		case e.Type == ledger.TypeBotState:
			states = append(states, string(e.Bot.State)+"("+string(e.Bot.Reason)+")")
		case e.Type == ledger.TypeMeetingState && e.State == ledger.MeetingRecording:
			recorded = true // its pipeline ran: the bot published to the meeting's WHIP endpoint
		}
	}
	for _, want := range []string{"requested()", "joining()", "waiting()", "in_call()", "ended(asked_to_leave)"} {
		if !slices.Contains(states, want) {
			t.Errorf("bot states %v lack %s", states, want)
		}
	}
	if !recorded {
		t.Errorf("the meeting never recorded: %d events", len(events))
	}
	if strings.Contains(serve.output(), "private-0123") {
		t.Errorf("the server logged the calendar's secret address:\n%s", serve.output())
	}
}
