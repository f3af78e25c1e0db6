package crm

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/recap"
)

// maxTitle is the longest subject or title both CRMs take (Salesforce's Subject and Title: 255).
const maxTitle = 255

// dueHour is the hour of its due date, in the meeting's timezone, that a task falls due.
const dueHour = 17

// items are what a meeting pushes to a record: its recap, then each commitment that is asserted
// (a possible one waits for a person to confirm it), in the recap's order.
func items(r recap.Recap, record, link string) []item {
	loc := time.UTC
	if l, err := time.LoadLocation(r.Timezone); err == nil && r.Timezone != "" {
		loc = l
	}
	started := r.StartedAt.In(loc)
	meeting := fmt.Sprintf("%s, %s", r.Name(), started.Format("Mon 2 Jan 2006 15:04 MST"))
	note := Object{Kind: Note, Ref: ref(r.MeetingID, record, "recap"), At: r.StartedAt,
		Title: cut(fmt.Sprintf("Recap: %s (%s)", r.Name(), started.Format("2 Jan 2006"))), Lines: noteLines(r, meeting, link)}
	note.Lines = append(note.Lines, "Ledgerline reference: "+note.Ref)
	out := []item{{name: "recap", obj: note}}
	for _, c := range r.Commitments {
		if c.Possible() {
			continue
		}
		name := "commitment/" + c.ID
		o := Object{Kind: Task, Ref: ref(r.MeetingID, record, name), Title: cut(c.What), At: r.StartedAt, Status: c.Status}
		if d, err := time.ParseInLocation(time.DateOnly, c.Due, loc); err == nil {
			o.Due, o.At = c.Due, d.Add(dueHour*time.Hour)
		}
		o.Lines = taskLines(c.CommitmentInfo, meeting, link)
		o.Lines = append(o.Lines, "Ledgerline reference: "+o.Ref)
		out = append(out, item{name: name, obj: o})
	}
	return out
}

func noteLines(r recap.Recap, meeting, link string) []string {
	lines := []string{fmt.Sprintf("Meeting: %s (%d min)", meeting, (r.DurationMS+59_999)/60_000)}
	if r.Deal != "" {
		lines = append(lines, "Deal: "+r.Deal)
	}
	for _, o := range r.Orgs {
		if len(o.People) > 0 {
			lines = append(lines, fmt.Sprintf("%s: %s", ledger.OrgOrRole(o.Org, o.Role), strings.Join(o.People, ", ")))
		}
	}
	if len(r.Commitments) > 0 {
		lines = append(lines, "Commitments:")
		for _, c := range r.Commitments {
			lines = append(lines, "• "+commitmentLine(c.CommitmentInfo))
		}
	}
	for _, list := range []struct {
		title string
		items []recap.Raised
	}{{"Open questions:", r.OpenQuestions}, {"Objections:", r.Objections}} {
		if len(list.items) == 0 {
			continue
		}
		lines = append(lines, list.title)
		for _, q := range list.items {
			lines = append(lines, fmt.Sprintf("• %s: %s", q.Speaker, q.Text))
		}
	}
	if link != "" {
		lines = append(lines, "Full recap and transcript: "+link)
	}
	return lines
}

func commitmentLine(c ledger.CommitmentInfo) string {
	s := owner(c) + ": " + c.What
	if c.Due != "" {
		s += " — due " + c.Due
	}
	if c.Status != ledger.StatusOpen {
		s += " (" + c.Status + ")"
	}
	if c.Possible() {
		s += " (possible, unconfirmed)"
	}
	return s
}

func owner(c ledger.CommitmentInfo) string {
	s := c.Owner
	if c.OwnerOrg != "" && c.OwnerOrg != c.Owner {
		s += " (" + c.OwnerOrg + ")"
	}
	return s
}

func taskLines(c ledger.CommitmentInfo, meeting, link string) []string {
	lines := []string{"Owed by: " + owner(c)}
	if c.Contact != "" {
		lines = append(lines, "Contact: "+c.Contact)
	}
	if c.Beneficiary != "" {
		to := c.Beneficiary
		if c.BeneficiaryOrg != "" && c.BeneficiaryOrg != c.Beneficiary {
			to += " (" + c.BeneficiaryOrg + ")"
		}
		lines = append(lines, "To: "+to)
	}
	if c.DuePhrase != "" {
		lines = append(lines, fmt.Sprintf("Due: %s (“%s”)", c.Due, c.DuePhrase))
	}
	if c.Quote != "" {
		lines = append(lines, fmt.Sprintf("Said: “%s”", c.Quote))
	}
	if c.Status == ledger.StatusDropped {
		lines = append(lines, "Dropped: no longer owed.")
	}
	lines = append(lines, "Promised in: "+meeting)
	if link != "" {
		lines = append(lines, "Recap: "+link)
	}
	return lines
}

// cut shortens s to maxTitle characters.
func cut(s string) string {
	if utf8.RuneCountInString(s) <= maxTitle {
		return s
	}
	r := []rune(s)
	return string(r[:maxTitle-1]) + "…"
}
