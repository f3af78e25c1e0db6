package recap

import (
	"bufio"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/ledger"
)

// icsMaxLine is the longest content line RFC 5545 allows, in octets, without its CRLF.
const icsMaxLine = 75

// writeICS writes the commitments as an iCalendar (RFC 5545) calendar: one VTODO each (a task, due
// on its date when one was said) and, for each with a due date, an all-day VEVENT on that date as
// well, since Google Calendar and Outlook show events and ignore tasks. Each has a UID stable across
// exports, so a calendar that imports the file again updates rather than duplicates.
func writeICS(w io.Writer, d MeetingData, opts ExportOptions) error {
	iw := &icsWriter{w: bufio.NewWriter(w)}
	title := d.Meeting.Title
	if title == "" {
		title = d.Meeting.ID
	}
	stamp := opts.Now.UTC().Format("20060102T150405Z")
	iw.line("BEGIN", "VCALENDAR")
	iw.line("VERSION", "2.0")
	iw.line("PRODID", "-//Ledgerline//Ledgerline commitments//EN")
	iw.line("CALSCALE", "GREGORIAN")
	iw.line("METHOD", "PUBLISH")
	iw.line("X-WR-CALNAME", icsText("Commitments: "+title))
	for _, c := range d.Commitments {
		due, err := time.Parse(time.DateOnly, c.Due)
		hasDue := err == nil // else no due date said, or not one a calendar can place
		owner := OwnerLabel(c.CommitmentInfo)
		summary := c.What
		var desc []string
		if owner != "" {
			summary = owner + ": " + c.What
			desc = append(desc, "Owner: "+owner)
		}
		if f := ForLabel(c.CommitmentInfo); f != "" {
			desc = append(desc, "For: "+strings.TrimPrefix(f, "for "))
		}
		if c.DuePhrase != "" {
			desc = append(desc, "Due as said: "+c.DuePhrase)
		}
		for _, ev := range detect.EvidenceOf(c.CommitmentInfo, nil) {
			if ev.Quote != "" {
				desc = append(desc, "“"+ev.Quote+"”")
			}
		}
		desc = append(desc, "Said at "+detect.FormatClock(c.StartMS)+" in "+title+".")
		if hasDue {
			iw.event(icsUID(d.Meeting.ID, c.ID+".due"), stamp, due, summary, desc, c.Status)
		}
		status := "NEEDS-ACTION"
		switch c.Status {
		case ledger.StatusDone:
			status = "COMPLETED"
		case ledger.StatusDropped:
			status = "CANCELLED"
		}
		iw.line("BEGIN", "VTODO")
		iw.line("UID", icsUID(d.Meeting.ID, c.ID))
		iw.line("DTSTAMP", stamp)
		if hasDue {
			iw.line("DUE;VALUE=DATE", due.Format("20060102"))
		}
		iw.line("SUMMARY", icsText(summary))
		iw.line("DESCRIPTION", icsText(strings.Join(desc, "\n")))
		iw.line("STATUS", status)
		iw.line("END", "VTODO")
	}
	iw.line("END", "VCALENDAR")
	if iw.err != nil {
		return iw.err
	}
	return iw.w.Flush()
}

// event writes a commitment's due date as an all-day event: cancelled once dropped, marked done.
func (iw *icsWriter) event(uid, stamp string, due time.Time, summary string, desc []string, st string) {
	status := "CONFIRMED"
	switch st {
	case ledger.StatusDropped:
		status = "CANCELLED"
	case ledger.StatusDone:
		summary = "Done: " + summary
	}
	iw.line("BEGIN", "VEVENT")
	iw.line("UID", uid)
	iw.line("DTSTAMP", stamp)
	iw.line("DTSTART;VALUE=DATE", due.Format("20060102"))
	iw.line("DTEND;VALUE=DATE", due.AddDate(0, 0, 1).Format("20060102"))
	iw.line("SUMMARY", icsText(summary))
	iw.line("DESCRIPTION", icsText(strings.Join(desc, "\n")))
	iw.line("STATUS", status)
	iw.line("TRANSP", "TRANSPARENT")
	iw.line("END", "VEVENT")
}

// icsWriter writes content lines folded at 75 octets with CRLF line ends, remembering the first error.
type icsWriter struct {
	w   *bufio.Writer
	err error
}

func (iw *icsWriter) line(name, value string) {
	if iw.err != nil {
		return
	}
	_, iw.err = iw.w.WriteString(foldICS(name + ":" + value))
}

// foldICS folds a content line: no line longer than 75 octets, each continuation starting with a
// space, never inside a UTF-8 sequence. The result ends with CRLF.
func foldICS(line string) string {
	var b strings.Builder
	limit := icsMaxLine
	n := 0
	for _, r := range line {
		size := utf8.RuneLen(r)
		if n+size > limit {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteRune(r)
		n += size
	}
	b.WriteString("\r\n")
	return b.String()
}

// icsEscaper escapes TEXT values (RFC 5545 section 3.3.11).
var icsEscaper = strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)

// icsText escapes a TEXT value and drops the control characters iCalendar does not allow.
func icsText(s string) string {
	s = icsEscaper.Replace(s)
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// icsUID makes a commitment's UID from its meeting and ID: the same in every export.
func icsUID(meeting, id string) string {
	safe := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
				return r
			}
			return '_'
		}, s)
	}
	return safe(id) + "." + safe(meeting) + "@ledgerline"
}
