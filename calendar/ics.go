package calendar

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	ical "github.com/emersion/go-ical"
)

// Occurrence is one meeting of a calendar feed: an event, or one instance of a recurring one.
type Occurrence struct {
	// Key names it across polls: the event's UID, and for an instance of a recurring event the
	// instance's original start, so that a moved instance keeps its key.
	Key   string
	Title string
	Start time.Time
	// Links are the web addresses the event gives, where a meeting link is looked for: its
	// conference data first, then URL, LOCATION and DESCRIPTION.
	Links []string
	// Domains are the attendees' email domains, lower case.
	Domains   []string
	Cancelled bool
}

// linkPattern finds web addresses in free text.
var linkPattern = regexp.MustCompile(`https?://[^\s<>"'()\\,;]+`)

// Occurrences reads an ICS feed and returns the occurrences that start in [from, to): single
// events, and recurring events expanded by their RRULE (RDATE and EXDATE too) in their own time
// zone, with instances that a RECURRENCE-ID overrides replaced by the override (moved, retitled or
// cancelled).
func Occurrences(r io.Reader, from, to time.Time) ([]Occurrence, error) {
	cal, err := ical.NewDecoder(r).Decode()
	if err != nil {
		return nil, fmt.Errorf("calendar: read the feed: %w", err)
	}
	// Overrides by UID and original start (UTC, RFC 3339), and the masters they override.
	overrides := map[string]map[string]ical.Event{}
	var masters []ical.Event
	for _, ev := range cal.Events() {
		if rid := ev.Props.Get(ical.PropRecurrenceID); rid != nil {
			uid := propText(ev.Component, ical.PropUID)
			at, err := rid.DateTime(time.UTC)
			if err != nil {
				continue
			}
			if overrides[uid] == nil {
				overrides[uid] = map[string]ical.Event{}
			}
			overrides[uid][instanceKey(at)] = ev
			continue
		}
		masters = append(masters, ev)
	}
	var out []Occurrence
	for _, ev := range masters {
		uid := propText(ev.Component, ical.PropUID)
		if uid == "" {
			continue // nothing to keep it apart from others by
		}
		start, err := ev.DateTimeStart(time.UTC)
		if err != nil {
			continue
		}
		set, err := ev.RecurrenceSet(time.UTC)
		if err != nil {
			continue
		}
		if set == nil {
			if !start.Before(from) && start.Before(to) {
				out = append(out, occurrence(ev, uid, start))
			}
			continue
		}
		// Instances are found from the earliest a moved one may have started: an override may
		// move an instance of before from into the window, or out of it.
		for _, at := range set.Between(from.Add(-30*24*time.Hour), to, true) {
			key := instanceKey(at)
			o := occurrence(ev, uid+"/"+key, at)
			if ov, ok := overrides[uid][key]; ok {
				if ovStart, err := ov.DateTimeStart(time.UTC); err == nil {
					// An override that leaves out the links or attendees keeps the series'.
					moved := occurrence(ov, uid+"/"+key, ovStart)
					if len(moved.Links) == 0 {
						moved.Links = o.Links
					}
					if len(moved.Domains) == 0 {
						moved.Domains = o.Domains
					}
					o = moved
				}
			}
			if !o.Start.Before(from) && o.Start.Before(to) {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

func instanceKey(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// occurrence reads what the bot needs of an event that starts at start.
func occurrence(ev ical.Event, key string, start time.Time) Occurrence {
	o := Occurrence{Key: key, Title: propText(ev.Component, ical.PropSummary), Start: start.UTC()}
	if st, err := ev.Status(); err == nil && st == ical.EventCancelled {
		o.Cancelled = true
	}
	for _, name := range []string{"X-GOOGLE-CONFERENCE", ical.PropURL, ical.PropLocation, ical.PropDescription} {
		for _, p := range ev.Props.Values(name) {
			v := p.Value
			if t, err := p.Text(); err == nil {
				v = t
			}
			for _, l := range linkPattern.FindAllString(v, -1) {
				l = strings.TrimRight(l, ".")
				if !slices.Contains(o.Links, l) {
					o.Links = append(o.Links, l)
				}
			}
		}
	}
	for _, p := range ev.Props.Values(ical.PropAttendee) {
		addr, ok := strings.CutPrefix(strings.ToLower(p.Value), "mailto:")
		if !ok {
			continue
		}
		if _, domain, ok := strings.Cut(addr, "@"); ok && domain != "" && !slices.Contains(o.Domains, domain) {
			o.Domains = append(o.Domains, domain)
		}
	}
	return o
}

// propText is a text property's value, "" when it has none.
func propText(c *ical.Component, name string) string {
	p := c.Props.Get(name)
	if p == nil {
		return ""
	}
	if t, err := p.Text(); err == nil {
		return strings.TrimSpace(t)
	}
	return strings.TrimSpace(p.Value)
}
