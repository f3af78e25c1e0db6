package calendar

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// feed is a calendar as Google Calendar exports one: a weekly meeting in Madrid's time zone with
// one instance moved and one cancelled, a daily stand-up that ends, a one-off call, and an event
// without a meeting link.
const feed = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Google Inc//Google Calendar 70.9054//EN
BEGIN:VEVENT
UID:weekly@example.com
DTSTART;TZID=Europe/Madrid:20260302T100000
DTEND;TZID=Europe/Madrid:20260302T103000
RRULE:FREQ=WEEKLY;BYDAY=MO
EXDATE;TZID=Europe/Madrid:20260316T100000
SUMMARY:Weekly sync
LOCATION:https://meet.google.com/abc-defg-hij
ATTENDEE;CN=Pat:mailto:pat@Partner.example
ATTENDEE:mailto:dana@acme.example
END:VEVENT
BEGIN:VEVENT
UID:weekly@example.com
RECURRENCE-ID;TZID=Europe/Madrid:20260309T100000
DTSTART;TZID=Europe/Madrid:20260309T120000
DTEND;TZID=Europe/Madrid:20260309T123000
SUMMARY:Weekly sync (moved)
LOCATION:https://meet.google.com/abc-defg-hij
END:VEVENT
BEGIN:VEVENT
UID:weekly@example.com
RECURRENCE-ID;TZID=Europe/Madrid:20260323T100000
DTSTART;TZID=Europe/Madrid:20260323T100000
STATUS:CANCELLED
SUMMARY:Weekly sync
END:VEVENT
BEGIN:VEVENT
UID:standup@example.com
DTSTART:20260302T083000Z
RRULE:FREQ=DAILY;COUNT=3
SUMMARY:Stand-up
DESCRIPTION:Join Microsoft Teams Meeting\nhttps://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0 \nMeeting ID: 123
END:VEVENT
BEGIN:VEVENT
UID:oneoff@example.com
DTSTART:20260304T150000Z
SUMMARY:Pricing call
X-GOOGLE-CONFERENCE:https://meet.jit.si/PricingCall
END:VEVENT
BEGIN:VEVENT
UID:lunch@example.com
DTSTART:20260305T120000Z
SUMMARY:Lunch
LOCATION:Cafeteria
END:VEVENT
END:VCALENDAR
`

func TestOccurrences(t *testing.T) {
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	occ, err := Occurrences(strings.NewReader(strings.ReplaceAll(feed, "\n", "\r\n")), from, from.Add(28*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		key, title, start, link string
		cancelled               bool
	}
	var got []seen
	for _, o := range occ {
		link := ""
		if len(o.Links) > 0 {
			link = o.Links[0]
		}
		got = append(got, seen{o.Key, o.Title, o.Start.Format(time.RFC3339), link, o.Cancelled})
	}
	const meet, jitsi = "https://meet.google.com/abc-defg-hij", "https://meet.jit.si/PricingCall"
	const teams = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"
	want := []seen{
		// 10:00 in Madrid is 09:00 UTC in winter and 08:00 UTC after the clocks change (29 March).
		{"weekly@example.com/20260302T090000Z", "Weekly sync", "2026-03-02T09:00:00Z", meet, false},
		{"weekly@example.com/20260309T090000Z", "Weekly sync (moved)", "2026-03-09T11:00:00Z", meet, false},
		{"weekly@example.com/20260323T090000Z", "Weekly sync", "2026-03-23T09:00:00Z", meet, true},
		{"standup@example.com/20260302T083000Z", "Stand-up", "2026-03-02T08:30:00Z", teams, false},
		{"standup@example.com/20260303T083000Z", "Stand-up", "2026-03-03T08:30:00Z", teams, false},
		{"standup@example.com/20260304T083000Z", "Stand-up", "2026-03-04T08:30:00Z", teams, false},
		{"oneoff@example.com", "Pricing call", "2026-03-04T15:00:00Z", jitsi, false},
		{"lunch@example.com", "Lunch", "2026-03-05T12:00:00Z", "", false},
	}
	if !slices.Equal(got, want) {
		t.Errorf("occurrences:\n got %+v\nwant %+v", got, want)
	}
	for _, o := range occ {
		if o.Key == want[0].key && !slices.Equal(o.Domains, []string{"partner.example", "acme.example"}) {
			t.Errorf("attendees' domains = %v", o.Domains)
		}
	}
	if occ, err := Occurrences(strings.NewReader(feed), from.Add(30*24*time.Hour), from.Add(37*24*time.Hour)); err != nil ||
		len(occ) != 1 || occ[0].Start.Format(time.RFC3339) != "2026-04-06T08:00:00Z" {
		t.Errorf("the weekly meeting after the clocks changed = %+v, %v; want 08:00 UTC (10:00 in Madrid)", occ, err)
	}
	if _, err := Occurrences(strings.NewReader("not a calendar"), from, from.Add(time.Hour)); err == nil {
		t.Error("a feed that is no calendar was read")
	}
}
