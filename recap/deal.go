package recap

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/ledger"
)

// DealSource is what a deal report reads. Every Store implements it.
type DealSource interface {
	MeetingSource
	Meetings(ctx context.Context, dealID string) ([]ledger.Meeting, error)
}

var _ DealSource = ledger.Store(nil)

// DealSummary is a deal across its meetings: what a partnership lead reviews and what someone
// joining the deal late reads first. It holds no access token.
type DealSummary struct {
	Deal          DealInfo         `json:"deal"`
	OpenOnly      bool             `json:"open_only"` // Commitments holds only the open ones
	Meetings      []DealMeeting    `json:"meetings"`
	Orgs          []DealOrg        `json:"organisations"`
	People        []DealPerson     `json:"people"`
	Commitments   []DealCommitment `json:"commitments"`
	OpenQuestions []Raised         `json:"open_questions"`
	Objections    []Raised         `json:"objections"`
}

// DealInfo describes a deal.
type DealInfo struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Account string `json:"account,omitempty"`
	Vendor  string `json:"vendor,omitempty"`
	Partner string `json:"partner,omitempty"`
}

// DealMeeting is one meeting of a deal.
type DealMeeting struct {
	ID          string              `json:"id"`
	Title       string              `json:"title,omitempty"`
	StartedAt   time.Time           `json:"started_at"`
	State       ledger.MeetingState `json:"state,omitempty"`
	DurationMS  int64               `json:"duration_ms"`
	Commitments int                 `json:"commitments"` // made in this meeting
	Orgs        []string            `json:"organisations"`
	// Recap is the link the deal page gives to the meeting's recap, set by whoever serves it (the
	// link must carry access the reader has); none on a page saved from the command line.
	Recap string `json:"-"`
}

// DealOrg is one organisation's record across a deal: commitments it made and kept, and talk time.
// Made counts every commitment the organisation owns, whatever OpenOnly says.
type DealOrg struct {
	Org       string      `json:"org"`
	Role      ledger.Role `json:"role"`
	Made      int         `json:"made"`
	Kept      int         `json:"kept"` // done
	Open      int         `json:"open"`
	Dropped   int         `json:"dropped"`
	TalkMS    int64       `json:"talk_ms"`
	TalkShare float64     `json:"talk_share"` // 0..1 of the deal's talk time
}

// DealPerson is someone heard or named in a deal's meetings, and the meetings they were in.
type DealPerson struct {
	Name     string      `json:"name"`
	Org      string      `json:"org,omitempty"`
	Role     ledger.Role `json:"role"`
	Meetings []string    `json:"meetings"` // meeting IDs, in meeting order
	// Declined are the meetings of Meetings they were in but refused to be recorded in.
	Declined []string `json:"declined,omitempty"`
}

// DealCommitment is one promise across a deal's meetings: the same owner making a similar promise in
// several meetings counts once. Status is done when any meeting marked it done, otherwise the status
// of its last mention.
type DealCommitment struct {
	ID             string   `json:"id"` // the first mention's commitment ID
	What           string   `json:"what"`
	Owner          string   `json:"owner"`
	OwnerOrg       string   `json:"owner_org,omitempty"` // the owner's organisation, from the deal when not said
	Contact        string   `json:"contact,omitempty"`   // who speaks for an organisation that owns it
	Beneficiary    string   `json:"beneficiary,omitempty"`
	BeneficiaryOrg string   `json:"beneficiary_org,omitempty"`
	Due            string   `json:"due,omitempty"` // the last due date said
	DuePhrase      string   `json:"due_phrase,omitempty"`
	Status         string   `json:"status"`
	Quote          string   `json:"quote,omitempty"` // the first evidence
	Meetings       []string `json:"meetings"`        // every meeting it came up in, first first

	FirstMeeting   string `json:"first_meeting"`
	FirstRaisedBy  string `json:"first_raised_by"` // who said the first evidence
	FirstRaisedOrg string `json:"first_raised_org,omitempty"`
	FirstStartMS   int64  `json:"first_start_ms"`
}

// DealReport reads every meeting of a deal from src and sums them up. With openOnly, Commitments
// holds only the open commitments; the organisations' counts still cover all of them. An unknown
// deal fails with ErrNotFound.
func DealReport(ctx context.Context, src DealSource, dealID string, openOnly bool) (DealSummary, error) {
	deal, err := src.Deal(ctx, dealID)
	if err != nil {
		return DealSummary{}, fmt.Errorf("recap: deal report: %w", err)
	}
	meetings, err := src.Meetings(ctx, dealID)
	if err != nil {
		return DealSummary{}, fmt.Errorf("recap: deal report %q: %w", dealID, err)
	}
	data := make([]MeetingData, 0, len(meetings))
	for _, m := range meetings {
		d, err := LoadMeeting(ctx, src, m.ID)
		if err != nil {
			return DealSummary{}, fmt.Errorf("recap: deal report %q: %w", dealID, err)
		}
		data = append(data, d)
	}
	return NewDealSummary(deal, data, openOnly), nil
}

// NewDealSummary sums up a deal's loaded meetings, given in the order they happened.
func NewDealSummary(deal ledger.Deal, meetings []MeetingData, openOnly bool) DealSummary {
	s := DealSummary{
		Deal:     DealInfo{ID: deal.ID, Name: deal.Name, Account: deal.Account, Vendor: deal.Vendor, Partner: deal.Partner},
		OpenOnly: openOnly,
	}
	orgs := map[string]*DealOrg{}
	org := func(name string) *DealOrg {
		key := strings.ToLower(name)
		o := orgs[key]
		if o == nil {
			o = &DealOrg{Org: name, Role: deal.RoleOf(name)}
			orgs[key] = o
		}
		return o
	}
	for _, name := range []string{deal.Vendor, deal.Partner, deal.Account} {
		if name != "" {
			org(name)
		}
	}
	people := map[string]*DealPerson{}
	var personOrder []string
	attend := func(name, orgName, meeting string, refused bool) {
		key := strings.ToLower(orgName) + "\x00" + name
		p := people[key]
		if p == nil {
			p = &DealPerson{Name: name, Org: orgName, Role: deal.RoleOf(orgName)}
			people[key] = p
			personOrder = append(personOrder, key)
		}
		if !slices.Contains(p.Meetings, meeting) {
			p.Meetings = append(p.Meetings, meeting)
		}
		if refused && !slices.Contains(p.Declined, meeting) {
			p.Declined = append(p.Declined, meeting)
		}
	}

	var groups []*DealCommitment
	var total int64
	for _, d := range meetings {
		m := d.Meeting
		dm := DealMeeting{ID: m.ID, Title: m.Title, StartedAt: m.StartedAt, State: m.State, DurationMS: d.DurationMS(),
			Commitments: len(d.Commitments)}
		speakers := d.roster()
		orgsIn := map[string]bool{}
		for _, p := range d.Participants {
			name := p.Name
			if name == "" {
				name = p.SpeakerID
			}
			attend(name, speakers.orgOf(p), m.ID, declined(p))
			orgsIn[orgName(speakers.orgOf(p))] = true
		}
		segByID := map[string]ledger.SegmentInfo{}
		for _, g := range d.Segments {
			segByID[g.ID] = g.SegmentInfo
			name, o := speakers.who(g.SegmentInfo)
			attend(name, o, m.ID, false)
			orgsIn[orgName(o)] = true
			talk := max(g.EndMS-g.StartMS, 0)
			org(o).TalkMS += talk
			total += talk
		}
		for o := range orgsIn {
			dm.Orgs = append(dm.Orgs, o)
		}
		slices.Sort(dm.Orgs)
		s.Meetings = append(s.Meetings, dm)

		for _, c := range d.Commitments {
			groups = addDealCommitment(groups, deal, d, c.CommitmentInfo, speakers, segByID)
		}
		open, objections := raised(d, speakers, DefaultAnswerWindow)
		for _, q := range open {
			q.Meeting = m.ID
			s.OpenQuestions = append(s.OpenQuestions, q)
		}
		for _, q := range objections {
			q.Meeting = m.ID
			s.Objections = append(s.Objections, q)
		}
	}
	for _, g := range groups {
		o := org(g.OwnerOrg)
		o.Made++
		switch g.Status {
		case ledger.StatusDone:
			o.Kept++
		case ledger.StatusDropped:
			o.Dropped++
		default:
			o.Open++
		}
		if !openOnly || g.Status == ledger.StatusOpen {
			s.Commitments = append(s.Commitments, *g)
		}
	}
	for _, o := range orgs {
		if total > 0 {
			o.TalkShare = float64(o.TalkMS) / float64(total)
		}
		if o.Org == "" && o.Made == 0 && o.TalkMS == 0 {
			continue
		}
		s.Orgs = append(s.Orgs, *o)
	}
	slices.SortFunc(s.Orgs, func(a, b DealOrg) int {
		if c := cmp.Compare(roleRank(a.Role), roleRank(b.Role)); c != 0 {
			return c
		}
		return strings.Compare(a.Org, b.Org)
	})
	for _, k := range personOrder {
		s.People = append(s.People, *people[k])
	}
	slices.SortStableFunc(s.People, func(a, b DealPerson) int {
		if c := cmp.Compare(roleRank(a.Role), roleRank(b.Role)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Org, b.Org); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return s
}

func roleRank(r ledger.Role) int {
	switch r {
	case ledger.RoleVendor:
		return 0
	case ledger.RolePartner:
		return 1
	case ledger.RoleBuyer:
		return 2
	}
	return 3
}

// addDealCommitment adds one meeting's commitment to the deal's list, as a new promise or as another
// mention of one made before.
func addDealCommitment(groups []*DealCommitment, deal ledger.Deal, d MeetingData, c ledger.CommitmentInfo,
	speakers roster, segs map[string]ledger.SegmentInfo) []*DealCommitment {
	owner := c.OwnerOrg
	if owner == "" {
		for _, p := range d.Participants {
			if strings.EqualFold(p.Name, c.Owner) {
				owner = speakers.orgOf(p)
				break
			}
		}
	}
	if owner == "" && deal.RoleOf(c.Owner) != ledger.RoleOther {
		owner = c.Owner
	}
	for _, g := range groups {
		if g.Status == ledger.StatusDropped || !detect.SameAction(g.Owner, g.What, c.Owner, c.What) {
			continue
		}
		if !slices.Contains(g.Meetings, d.Meeting.ID) {
			g.Meetings = append(g.Meetings, d.Meeting.ID)
		}
		if g.Status != ledger.StatusDone {
			g.Status = c.Status
		}
		if c.Due != "" {
			g.Due, g.DuePhrase = c.Due, c.DuePhrase
		}
		if g.OwnerOrg == "" {
			g.OwnerOrg = owner
		}
		return groups
	}
	g := &DealCommitment{
		ID: c.ID, What: c.What, Owner: c.Owner, OwnerOrg: owner, Contact: c.Contact, Beneficiary: c.Beneficiary,
		BeneficiaryOrg: c.BeneficiaryOrg, Due: c.Due, DuePhrase: c.DuePhrase, Status: c.Status, Meetings: []string{d.Meeting.ID},
		FirstMeeting: d.Meeting.ID, FirstStartMS: c.StartMS,
	}
	ev := detect.EvidenceOf(c, segs)
	if len(ev) > 0 {
		g.Quote, g.FirstStartMS = ev[0].Quote, ev[0].StartMS
		if seg, ok := segs[ev[0].SegmentID]; ok {
			g.FirstRaisedBy, g.FirstRaisedOrg = speakers.who(seg)
		}
	}
	if g.FirstRaisedBy == "" {
		g.FirstRaisedBy, g.FirstRaisedOrg = c.Owner, owner
	}
	return append(groups, g)
}

// WriteJSON writes the summary as indented JSON.
func (s DealSummary) WriteJSON(w io.Writer) error {
	// An empty list is [], never null: a program reading the report need not tell the two apart.
	s.Meetings, s.Orgs, s.People = orEmpty(s.Meetings), orEmpty(s.Orgs), orEmpty(s.People)
	s.Commitments, s.OpenQuestions, s.Objections = orEmpty(s.Commitments), orEmpty(s.OpenQuestions), orEmpty(s.Objections)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("recap: write deal %q as JSON: %w", s.Deal.ID, err)
	}
	return nil
}

// WriteTable writes the summary as aligned text tables: meetings, organisations, commitments.
func (s DealSummary) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	p("Deal %s (%s)\n\n", s.Deal.Name, s.Deal.ID)
	p("MEETING\tSTARTED\tDURATION\tCOMMITMENTS\tORGANISATIONS\n")
	for _, m := range s.Meetings {
		title := m.ID
		if m.Title != "" {
			title = m.Title + " (" + m.ID + ")"
		}
		p("%s\t%s\t%s\t%d\t%s\n", tabSafe(title), m.StartedAt.UTC().Format("2006-01-02 15:04"), detect.FormatClock(m.DurationMS),
			m.Commitments, tabSafe(strings.Join(m.Orgs, ", ")))
	}
	p("\nORGANISATION\tROLE\tMADE\tKEPT\tOPEN\tCANCELLED\tTALK TIME\tSHARE\n")
	for _, o := range s.Orgs {
		p("%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", tabSafe(orgName(o.Org)), o.Role, o.Made, o.Kept, o.Open, o.Dropped,
			detect.FormatClock(o.TalkMS), pct(o.TalkShare))
	}
	title := "COMMITMENTS"
	if s.OpenOnly {
		title = "OPEN COMMITMENTS"
	}
	p("\n%s\nOWNER\tWHAT\tDUE\tSTATUS\tFIRST RAISED BY\tFIRST MEETING\n", title)
	for _, c := range s.Commitments {
		owner := ownerLabel(c.Owner, c.OwnerOrg, c.Contact)
		what := c.What
		if f := forLabel(c.What, c.Beneficiary, c.BeneficiaryOrg); f != "" {
			what += " " + f
		}
		by := c.FirstRaisedBy
		if c.FirstRaisedOrg != "" {
			by += " (" + c.FirstRaisedOrg + ")"
		}
		due := c.Due
		if due == "" {
			due = "-"
		}
		p("%s\t%s\t%s\t%s\t%s\t%s %s\n", tabSafe(owner), tabSafe(what), due, c.Status, tabSafe(by), tabSafe(c.FirstMeeting),
			detect.FormatClock(c.FirstStartMS))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("recap: write deal %q as a table: %w", s.Deal.ID, err)
	}
	return nil
}

// tabSafe keeps text on one line and out of the table's columns.
func tabSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// ownerCommitments are the open commitments of one owner, for the deal page.
type ownerCommitments struct {
	Owner string // as OwnerLabel names them
	Items []DealCommitment
}

// WriteHTML writes the deal page: one self-contained screen with every meeting of the deal, the open
// commitments by owner, objections and open questions, and who from each company was in which call.
func (s DealSummary) WriteHTML(w io.Writer) error {
	var byOwner []ownerCommitments
	index := map[string]int{}
	for _, c := range s.Commitments {
		if c.Status != ledger.StatusOpen {
			continue
		}
		label := ownerLabel(c.Owner, c.OwnerOrg, c.Contact)
		key := strings.ToLower(label)
		i, ok := index[key]
		if !ok {
			i = len(byOwner)
			index[key] = i
			byOwner = append(byOwner, ownerCommitments{Owner: label})
		}
		byOwner[i].Items = append(byOwner[i].Items, c)
	}
	titles := map[string]string{}
	for _, m := range s.Meetings {
		titles[m.ID] = m.Title
		if m.Title == "" {
			titles[m.ID] = m.ID
		}
	}
	type row struct {
		Person   DealPerson
		Attended []string // per meeting: "yes", "declined" (there, not recorded) or "no"
	}
	rows := make([]row, len(s.People))
	for i, p := range s.People {
		rows[i].Person = p
		for _, m := range s.Meetings {
			was := "no"
			switch {
			case slices.Contains(p.Declined, m.ID):
				was = "declined"
			case slices.Contains(p.Meetings, m.ID):
				was = "yes"
			}
			rows[i].Attended = append(rows[i].Attended, was)
		}
	}
	view := struct {
		S       DealSummary
		CSS     template.CSS
		ByOwner []ownerCommitments
		Titles  map[string]string
		Rows    []row
	}{s, template.CSS(pageCSS), byOwner, titles, rows}
	if err := dealPage.Execute(w, view); err != nil {
		return fmt.Errorf("recap: write deal %q as HTML: %w", s.Deal.ID, err)
	}
	return nil
}

// orEmpty is list, or an empty list for none.
func orEmpty[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
