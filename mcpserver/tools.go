package mcpserver

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/recap"
)

// Limits of the tools.
const (
	defaultMeetings = 50
	maxMeetings     = 200
	defaultHits     = 50
	maxHits         = 200
	maxSearchLength = 500 // characters of a search, as the API's
	maxIDLength     = 128 // characters of a meeting, deal or commitment ID
)

// The statuses list_commitments filters by, beside those of a commitment.
const statusAll = "all"

func (s *Server) addTools() {
	read := &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: new(false)}
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "list_deals", Annotations: read,
		Description: "List the deals you may see: each an account (the buyer) that a vendor and a partner sell to together, by name."},
		tool(s, "list_deals", s.listDeals))
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "list_meetings", Annotations: read,
		Description: "List the recorded calls you may see, newest first, optionally of one deal or within dates."},
		tool(s, "list_meetings", s.listMeetings))
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "get_transcript", Annotations: read,
		Description: "Fetch a meeting's transcript: every final segment in order, with who said it, their organisation and where on the meeting's clock."},
		tool(s, "get_transcript", s.getTranscript))
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "get_recap", Annotations: read,
		Description: "Fetch a meeting's recap as Markdown: who took part, what was promised by whom and by when with the words said as evidence, open questions and objections."},
		tool(s, "get_recap", s.getRecap))
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "search", Annotations: read,
		Description: "Find words in the transcripts, commitments and speaker names of the meetings you may see (every word must match, in any order), best and newest first."},
		tool(s, "search", s.search))
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "list_commitments", Annotations: read,
		Description: "List commitments (who promised what, to whom, by when) across the meetings you may see: open ones unless a status is given, optionally of one deal or meeting, by an owner, or made within dates. Oldest meeting first."},
		tool(s, "list_commitments", s.listCommitments))
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "mark_commitment_done",
		Annotations: &mcp.ToolAnnotations{IdempotentHint: true, DestructiveHint: new(false), OpenWorldHint: new(false)},
		Description: "Mark a commitment done, when the person you assist says it was kept. The change is recorded in the meeting's record under the caller's name, and everyone who sees the meeting sees it."},
		tool(s, "mark_commitment_done", s.markDone))
}

// meetingOut is a meeting as the tools show it.
type meetingOut struct {
	ID        string    `json:"id" jsonschema:"the meeting's ID, which the other tools take"`
	Title     string    `json:"title"`
	Deal      string    `json:"deal,omitempty" jsonschema:"the ID of the deal it belongs to, if any"`
	StartedAt time.Time `json:"started_at" jsonschema:"when it started (RFC 3339)"`
	Timezone  string    `json:"timezone,omitempty" jsonschema:"the IANA zone its due dates resolve in"`
	Language  string    `json:"language,omitempty" jsonschema:"its main language (ISO 639-1)"`
	State     string    `json:"state,omitempty" jsonschema:"recording, paused or stopped"`
}

func toMeetingOut(m ledger.Meeting) meetingOut {
	return meetingOut{ID: m.ID, Title: m.Title, Deal: m.DealID, StartedAt: m.StartedAt, Timezone: m.Timezone,
		Language: m.Language, State: string(m.State)}
}

// meeting returns the meeting id if c may reach it, and, with edit, change it: one it may not
// reach answers as one that does not exist.
func (s *Server) meeting(ctx context.Context, c Caller, id string, edit bool) (ledger.Meeting, error) {
	if id == "" {
		return ledger.Meeting{}, failf("give the meeting's ID: list_meetings names the meetings you may see")
	}
	notFound := failf("no meeting %q that you may see: list_meetings names them", id)
	if len(id) > maxIDLength {
		return ledger.Meeting{}, notFound
	}
	level, err := s.store.Access(ctx, c.Reader, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return ledger.Meeting{}, notFound
	}
	if err != nil {
		return ledger.Meeting{}, err
	}
	if edit && !level.Covers(ledger.ShareEdit) {
		return ledger.Meeting{}, failf("you may view meeting %q but not change it: the deal is shared with your organisation to view only", id)
	}
	m, err := s.store.Meeting(ctx, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return ledger.Meeting{}, notFound
	}
	return m, err
}

// visibleDeal checks that c may see the deal id, so that a filter by a deal one may not see
// answers as one by a deal that does not exist.
func (s *Server) visibleDeal(ctx context.Context, c Caller, id string) error {
	notFound := failf("no deal %q that you may see: list_deals names them", id)
	if len(id) > maxIDLength {
		return notFound
	}
	_, err := s.store.DealAccess(ctx, c.Reader, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return notFound
	}
	return err
}

// between is a span of meeting start times, either end open when zero.
type between struct{ since, before time.Time }

// parseBetween reads the since and before of a tool's input: each a date (YYYY-MM-DD, its start
// in UTC) or an RFC 3339 time.
func parseBetween(since, before string) (between, error) {
	var b between
	for _, f := range []struct {
		name, v string
		dst     *time.Time
	}{{"since", since, &b.since}, {"before", before, &b.before}} {
		if f.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.v)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, f.v); err != nil {
				return b, failf("%s must be a date (YYYY-MM-DD) or an RFC 3339 time such as 2026-03-05T14:00:00Z", f.name)
			}
		}
		*f.dst = t
	}
	return b, nil
}

func (b between) holds(t time.Time) bool {
	return (b.since.IsZero() || !t.Before(b.since)) && (b.before.IsZero() || t.Before(b.before))
}

// dealOut is a deal as the tools show it.
type dealOut struct {
	ID      string `json:"id" jsonschema:"the deal's ID, which list_meetings and list_commitments filter by"`
	Name    string `json:"name"`
	Account string `json:"account,omitempty" jsonschema:"the buyer"`
	Vendor  string `json:"vendor,omitempty" jsonschema:"the vendor, which owns the deal"`
	Partner string `json:"partner,omitempty" jsonschema:"the partner the vendor sells with"`
}

type listDealsIn struct{}

type listDealsOut struct {
	Deals []dealOut `json:"deals"`
}

func (s *Server) listDeals(ctx context.Context, c Caller, _ listDealsIn) (listDealsOut, error) {
	ds, err := s.store.VisibleDeals(ctx, c.Reader)
	if err != nil {
		return listDealsOut{}, err
	}
	out := listDealsOut{Deals: make([]dealOut, 0, len(ds))}
	for _, d := range ds {
		out.Deals = append(out.Deals, dealOut{ID: d.ID, Name: d.Name, Account: d.Account, Vendor: d.Vendor, Partner: d.Partner})
	}
	return out, nil
}

type listMeetingsIn struct {
	Deal   string `json:"deal,omitempty" jsonschema:"only the meetings of this deal (its ID, from list_deals)"`
	Since  string `json:"since,omitempty" jsonschema:"only the meetings that started at or after this: a date (YYYY-MM-DD, from 00:00 UTC) or an RFC 3339 time"`
	Before string `json:"before,omitempty" jsonschema:"only the meetings that started before this: a date (YYYY-MM-DD, 00:00 UTC) or an RFC 3339 time"`
	Limit  int    `json:"limit,omitempty" jsonschema:"at most this many meetings, newest first: 1 to 200, 50 when left out"`
}

type listMeetingsOut struct {
	Meetings []meetingOut `json:"meetings"`
	More     bool         `json:"more,omitempty" jsonschema:"true when more meetings matched than were listed: narrow the dates or raise the limit"`
}

func (s *Server) listMeetings(ctx context.Context, c Caller, in listMeetingsIn) (listMeetingsOut, error) {
	limit, err := checkLimit(in.Limit, defaultMeetings, maxMeetings)
	if err != nil {
		return listMeetingsOut{}, err
	}
	span, err := parseBetween(in.Since, in.Before)
	if err != nil {
		return listMeetingsOut{}, err
	}
	if in.Deal != "" {
		if err := s.visibleDeal(ctx, c, in.Deal); err != nil {
			return listMeetingsOut{}, err
		}
	}
	ms, err := s.store.VisibleMeetings(ctx, c.Reader)
	if err != nil {
		return listMeetingsOut{}, err
	}
	out := listMeetingsOut{Meetings: []meetingOut{}}
	for _, m := range ms {
		if (in.Deal != "" && m.DealID != in.Deal) || !span.holds(m.StartedAt) {
			continue
		}
		if len(out.Meetings) == limit {
			out.More = true
			break
		}
		out.Meetings = append(out.Meetings, toMeetingOut(m))
	}
	return out, nil
}

func checkLimit(v, def, most int) (int, error) {
	switch {
	case v == 0:
		return def, nil
	case v < 1 || v > most:
		return 0, failf("limit must be a whole number from 1 to %d", most)
	}
	return v, nil
}

type meetingIn struct {
	Meeting string `json:"meeting" jsonschema:"the meeting's ID, from list_meetings or search"`
}

// segmentOut is one final segment of a transcript.
type segmentOut struct {
	ID      string `json:"id"`
	StartMS int64  `json:"start_ms" jsonschema:"where it starts on the meeting's clock, in milliseconds"`
	EndMS   int64  `json:"end_ms"`
	Speaker string `json:"speaker" jsonschema:"who said it: their name, or their speaker ID when never named"`
	Org     string `json:"org,omitempty" jsonschema:"the speaker's organisation, or their side of the deal when it is unknown"`
	Text    string `json:"text"`
}

type transcriptOut struct {
	Meeting  meetingOut   `json:"meeting"`
	Segments []segmentOut `json:"segments"`
}

func (s *Server) getTranscript(ctx context.Context, c Caller, in meetingIn) (transcriptOut, error) {
	m, err := s.meeting(ctx, c, in.Meeting, false)
	if err != nil {
		return transcriptOut{}, err
	}
	ps, err := s.store.Participants(ctx, m.ID)
	if err != nil {
		return transcriptOut{}, err
	}
	speakers := make(map[string]ledger.Participant, len(ps))
	for _, p := range ps {
		speakers[p.SpeakerID] = p
	}
	gs, err := s.store.Segments(ctx, m.ID)
	if err != nil {
		return transcriptOut{}, err
	}
	out := transcriptOut{Meeting: toMeetingOut(m), Segments: make([]segmentOut, 0, len(gs))}
	for _, g := range gs {
		p, named := speakers[g.Speaker]
		name, org := p.Name, ledger.OrgOrRole(g.Org, g.Role)
		if name == "" {
			name = g.Speaker
		}
		if org == "" && named {
			org = ledger.OrgOrRole(p.Org, p.Role)
		}
		out.Segments = append(out.Segments, segmentOut{ID: g.ID, StartMS: g.StartMS, EndMS: g.EndMS, Speaker: name, Org: org, Text: g.Text})
	}
	return out, nil
}

type recapOut struct {
	Meeting  meetingOut `json:"meeting"`
	Markdown string     `json:"markdown" jsonschema:"the recap, as the recap page and 'ledgerline recap' give it"`
}

func (s *Server) getRecap(ctx context.Context, c Caller, in meetingIn) (recapOut, error) {
	m, err := s.meeting(ctx, c, in.Meeting, false)
	if err != nil {
		return recapOut{}, err
	}
	rc, err := recap.Build(ctx, s.store, m.ID)
	if err != nil {
		return recapOut{}, err
	}
	var buf bytes.Buffer
	if err := rc.WriteMarkdown(&buf); err != nil {
		return recapOut{}, err
	}
	return recapOut{Meeting: toMeetingOut(m), Markdown: buf.String()}, nil
}

type searchIn struct {
	Query string `json:"query" jsonschema:"the words to find; every one must match, the last also as a prefix"`
	Limit int    `json:"limit,omitempty" jsonschema:"at most this many hits: 1 to 200, 50 when left out"`
}

// hitOut is one place in a meeting that matches a search.
type hitOut struct {
	Meeting   string    `json:"meeting" jsonschema:"the meeting's ID"`
	Title     string    `json:"title" jsonschema:"the meeting's title"`
	Deal      string    `json:"deal,omitempty"`
	StartedAt time.Time `json:"started_at" jsonschema:"when the meeting started"`
	Kind      string    `json:"kind" jsonschema:"segment (something said), commitment or speaker (a participant's name)"`
	Item      string    `json:"item" jsonschema:"the segment's, commitment's or speaker's ID"`
	Speaker   string    `json:"speaker,omitempty" jsonschema:"who said it (segment) or who owes it (commitment)"`
	Text      string    `json:"text"`
	StartMS   int64     `json:"start_ms" jsonschema:"where it is on the meeting's clock, in milliseconds"`
}

type searchOut struct {
	Hits []hitOut `json:"hits"`
}

func (s *Server) search(ctx context.Context, c Caller, in searchIn) (searchOut, error) {
	q := strings.TrimSpace(in.Query)
	if q == "" {
		return searchOut{}, failf("give the words to search for in query")
	}
	if len(q) > maxSearchLength {
		return searchOut{}, failf("the search is longer than %d characters", maxSearchLength)
	}
	limit, err := checkLimit(in.Limit, defaultHits, maxHits)
	if err != nil {
		return searchOut{}, err
	}
	hits, err := s.store.Search(ctx, c.Reader, q, limit)
	if err != nil {
		return searchOut{}, err
	}
	out := searchOut{Hits: make([]hitOut, 0, len(hits))}
	for _, h := range hits {
		out.Hits = append(out.Hits, hitOut{Meeting: h.MeetingID, Title: h.Title, Deal: h.DealID, StartedAt: h.StartedAt,
			Kind: h.Kind, Item: h.ItemID, Speaker: h.Speaker, Text: h.Text, StartMS: h.StartMS})
	}
	return out, nil
}

type listCommitmentsIn struct {
	Deal    string `json:"deal,omitempty" jsonschema:"only the commitments made in the meetings of this deal (its ID, from list_deals)"`
	Meeting string `json:"meeting,omitempty" jsonschema:"only the commitments made in this meeting"`
	Owner   string `json:"owner,omitempty" jsonschema:"only the commitments whose owner, the owner's organisation or its contact contains this text (any case)"`
	Status  string `json:"status,omitempty" jsonschema:"open (when left out), done, dropped or all"`
	Since   string `json:"since,omitempty" jsonschema:"only those made in meetings that started at or after this: a date (YYYY-MM-DD, from 00:00 UTC) or an RFC 3339 time"`
	Before  string `json:"before,omitempty" jsonschema:"only those made in meetings that started before this: a date (YYYY-MM-DD, 00:00 UTC) or an RFC 3339 time"`
}

// commitmentOut is a commitment as it stands, with the meeting it was made in.
type commitmentOut struct {
	Meeting          string    `json:"meeting" jsonschema:"the ID of the meeting it was made in"`
	MeetingTitle     string    `json:"meeting_title"`
	MeetingStartedAt time.Time `json:"meeting_started_at"`
	Deal             string    `json:"deal,omitempty"`
	ID               string    `json:"id" jsonschema:"the commitment's ID, which mark_commitment_done takes with the meeting's"`
	What             string    `json:"what" jsonschema:"what is to be done"`
	Owner            string    `json:"owner" jsonschema:"who must do it: a person, or an organisation for 'we'"`
	OwnerOrg         string    `json:"owner_org,omitempty" jsonschema:"the owner's organisation"`
	Contact          string    `json:"contact,omitempty" jsonschema:"who said it, for a commitment an organisation owns"`
	Beneficiary      string    `json:"beneficiary,omitempty" jsonschema:"to whom it was promised, when said"`
	BeneficiaryOrg   string    `json:"beneficiary_org,omitempty" jsonschema:"the beneficiary's organisation"`
	Due              string    `json:"due,omitempty" jsonschema:"the due date (YYYY-MM-DD) in the meeting's timezone"`
	DuePhrase        string    `json:"due_phrase,omitempty" jsonschema:"the words said for the due date"`
	Status           string    `json:"status" jsonschema:"open, done or dropped"`
	Quote            string    `json:"quote,omitempty" jsonschema:"the evidence: the words said"`
	StartMS          int64     `json:"start_ms" jsonschema:"where it was said on the meeting's clock, in milliseconds"`
	UpdatedBy        string    `json:"updated_by,omitempty" jsonschema:"who last changed it"`
}

// toCommitmentOut is a commitment of meeting m, its organisations named as m's deal (nil for none)
// names them, as recaps do.
func toCommitmentOut(m ledger.Meeting, deal *ledger.Deal, c ledger.CommitmentRecord) commitmentOut {
	ledger.NameSides(deal, &c.CommitmentInfo)
	return commitmentOut{Meeting: m.ID, MeetingTitle: m.Title, MeetingStartedAt: m.StartedAt, Deal: m.DealID,
		ID: c.ID, What: c.What, Owner: c.Owner, OwnerOrg: c.OwnerOrg, Contact: c.Contact, Beneficiary: c.Beneficiary,
		BeneficiaryOrg: c.BeneficiaryOrg, Due: c.Due, DuePhrase: c.DuePhrase, Status: c.Status, Quote: c.Quote,
		StartMS: c.StartMS, UpdatedBy: c.UpdatedBy}
}

// dealOf is the deal meeting m belongs to; nil for none.
func (s *Server) dealOf(ctx context.Context, m ledger.Meeting) (*ledger.Deal, error) {
	if m.DealID == "" {
		return nil, nil
	}
	d, err := s.store.Deal(ctx, m.DealID)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

type listCommitmentsOut struct {
	Commitments []commitmentOut `json:"commitments"`
}

func (s *Server) listCommitments(ctx context.Context, c Caller, in listCommitmentsIn) (listCommitmentsOut, error) {
	status := strings.ToLower(strings.TrimSpace(in.Status))
	switch status {
	case "":
		status = ledger.StatusOpen
	case ledger.StatusOpen, ledger.StatusDone, ledger.StatusDropped, statusAll:
	default:
		return listCommitmentsOut{}, failf("status must be open, done, dropped or all")
	}
	span, err := parseBetween(in.Since, in.Before)
	if err != nil {
		return listCommitmentsOut{}, err
	}
	var ms []ledger.Meeting
	if in.Meeting != "" {
		m, err := s.meeting(ctx, c, in.Meeting, false)
		if err != nil {
			return listCommitmentsOut{}, err
		}
		ms = []ledger.Meeting{m}
	} else if ms, err = s.store.VisibleMeetings(ctx, c.Reader); err != nil {
		return listCommitmentsOut{}, err
	}
	if in.Deal != "" {
		if err := s.visibleDeal(ctx, c, in.Deal); err != nil {
			return listCommitmentsOut{}, err
		}
	}
	owner := strings.ToLower(strings.TrimSpace(in.Owner))
	out := listCommitmentsOut{Commitments: []commitmentOut{}}
	for _, m := range slices.Backward(ms) { // oldest first: the order promises were made in
		if (in.Deal != "" && m.DealID != in.Deal) || !span.holds(m.StartedAt) {
			continue
		}
		cs, err := s.store.Commitments(ctx, m.ID)
		if err != nil {
			return listCommitmentsOut{}, err
		}
		deal, err := s.dealOf(ctx, m)
		if err != nil {
			return listCommitmentsOut{}, err
		}
		for _, cm := range cs {
			if status != statusAll && cm.Status != status {
				continue
			}
			co := toCommitmentOut(m, deal, cm)
			if owner != "" && !slices.ContainsFunc([]string{co.Owner, co.OwnerOrg, co.Contact}, func(v string) bool { return strings.Contains(strings.ToLower(v), owner) }) {
				continue
			}
			out.Commitments = append(out.Commitments, co)
		}
	}
	return out, nil
}

type markDoneIn struct {
	Meeting    string `json:"meeting" jsonschema:"the ID of the meeting the commitment was made in"`
	Commitment string `json:"commitment" jsonschema:"the commitment's ID, from list_commitments"`
}

type markDoneOut struct {
	Commitment commitmentOut `json:"commitment" jsonschema:"the commitment as it stands now"`
	Seq        int64         `json:"seq" jsonschema:"the meeting's event that records the change"`
}

func (s *Server) markDone(ctx context.Context, c Caller, in markDoneIn) (markDoneOut, error) {
	m, err := s.meeting(ctx, c, in.Meeting, true)
	if err != nil {
		return markDoneOut{}, err
	}
	notFound := failf("no commitment %q in meeting %q: list_commitments names them", in.Commitment, m.ID)
	if in.Commitment == "" || len(in.Commitment) > maxIDLength {
		return markDoneOut{}, notFound
	}
	done := ledger.StatusDone
	e, err := s.editor.EditCommitment(ledger.WithActor(ctx, c.Name), m.ID, in.Commitment, ledger.CommitmentEdit{Status: &done}, c.Name)
	if errors.Is(err, ledger.ErrNotFound) {
		return markDoneOut{}, notFound
	}
	if err != nil {
		return markDoneOut{}, err
	}
	if e.Commitment == nil {
		return markDoneOut{}, errors.New("mcpserver: the edit answered no commitment")
	}
	s.log.Info("assistant changed the meeting", "meeting", m.ID, "commitment", e.Commitment.ID, "status", done,
		"seq", e.Seq, "by", c.Name)
	rec := ledger.CommitmentRecord{MeetingID: m.ID, CommitmentInfo: *e.Commitment, Seq: e.Seq, UpdatedAt: e.At, UpdatedBy: c.Name}
	deal, err := s.dealOf(ctx, m)
	if err != nil {
		return markDoneOut{}, err
	}
	return markDoneOut{Commitment: toCommitmentOut(m, deal, rec), Seq: e.Seq}, nil
}
