package recap

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/summary"
)

// MeetingSource is what recaps and exports read of a meeting. Every Store implements it.
type MeetingSource interface {
	Meeting(ctx context.Context, id string) (ledger.Meeting, error)
	Deal(ctx context.Context, id string) (ledger.Deal, error)
	Participants(ctx context.Context, meetingID string) ([]ledger.Participant, error)
	Segments(ctx context.Context, meetingID string) ([]ledger.Segment, error)
	Commitments(ctx context.Context, meetingID string) ([]ledger.CommitmentRecord, error)
	CaptureHealth(ctx context.Context, meetingID string) ([]ledger.CaptureInfo, error)
}

var _ MeetingSource = ledger.Store(nil)

// MeetingData is everything stored about one meeting, read at once: what recaps and exports are
// made from.
type MeetingData struct {
	Meeting      ledger.Meeting
	Deal         *ledger.Deal // nil when the meeting belongs to no deal
	Participants []ledger.Participant
	Segments     []ledger.Segment
	Commitments  []ledger.CommitmentRecord
	Capture      []ledger.CaptureInfo // what its capture.health events said, in order
}

// LoadMeeting reads a meeting and its projections from src. An unknown meeting fails with ErrNotFound.
func LoadMeeting(ctx context.Context, src MeetingSource, id string) (MeetingData, error) {
	m, err := src.Meeting(ctx, id)
	if err != nil {
		return MeetingData{}, fmt.Errorf("recap: load meeting: %w", err)
	}
	d := MeetingData{Meeting: m}
	if m.DealID != "" {
		deal, err := src.Deal(ctx, m.DealID)
		if err != nil {
			return MeetingData{}, fmt.Errorf("recap: load meeting %q: %w", id, err)
		}
		d.Deal = &deal
	}
	if d.Participants, err = src.Participants(ctx, id); err != nil {
		return MeetingData{}, fmt.Errorf("recap: load meeting %q: %w", id, err)
	}
	if d.Segments, err = src.Segments(ctx, id); err != nil {
		return MeetingData{}, fmt.Errorf("recap: load meeting %q: %w", id, err)
	}
	if d.Commitments, err = src.Commitments(ctx, id); err != nil {
		return MeetingData{}, fmt.Errorf("recap: load meeting %q: %w", id, err)
	}
	if d.Capture, err = src.CaptureHealth(ctx, id); err != nil {
		return MeetingData{}, fmt.Errorf("recap: load meeting %q: %w", id, err)
	}
	d.nameSides()
	d.dropUnheardVoices()
	return d, nil
}

// dropUnheardVoices leaves out the voices told apart on a channel others speak on too that, once
// their words went to who said them, said nothing: a guess of the diarizer, not an attendee. A
// participant on a channel of their own (a laptop's mic, someone who joined) who said nothing was
// there all the same, and one who declined recording is shown as such.
func (d *MeetingData) dropUnheardVoices() {
	heard := map[string]bool{}
	for _, g := range d.Segments {
		heard[g.Speaker] = true
	}
	onChannel := map[string]int{}
	for _, p := range d.Participants {
		onChannel[p.Channel]++
	}
	d.Participants = slices.DeleteFunc(d.Participants, func(p ledger.Participant) bool {
		return !heard[p.SpeakerID] && onChannel[p.Channel] > 1 && !declined(p)
	})
}

// DurationMS returns the meeting clock of the end of its last segment.
func (d *MeetingData) DurationMS() int64 {
	var end int64
	for _, g := range d.Segments {
		end = max(end, g.EndMS)
	}
	return end
}

// DefaultAnswerWindow is how many segments after a question a recap looks for an answer from
// another organisation before it lists the question as open.
const DefaultAnswerWindow = 3

// Recap is what both companies of a call keep of it: the same for every party. Build it with Build.
type Recap struct {
	MeetingID  string              `json:"meeting"`
	Title      string              `json:"title,omitempty"`
	Deal       string              `json:"deal,omitempty"` // the deal's name
	StartedAt  time.Time           `json:"started_at"`
	Timezone   string              `json:"timezone,omitempty"`
	State      ledger.MeetingState `json:"state,omitempty"`
	DurationMS int64               `json:"duration_ms"`
	Languages  []string            `json:"languages,omitempty"` // by talk time, most spoken first

	// Summary is the few lines worth reading, each citing the segments it comes from.
	Summary       summary.Summary   `json:"summary"`
	Orgs          []OrgRecap        `json:"organisations"` // attendees and talk time, most talk first
	Commitments   []RecapCommitment `json:"commitments"`
	OpenQuestions []Raised          `json:"open_questions"`
	Objections    []Raised          `json:"objections"`
	// CaptureProblems are the stretches in which a channel's capture was failing.
	CaptureProblems []CaptureProblem `json:"capture_problems,omitempty"`
	Transcript      []TranscriptLine `json:"-"`

	// Downloads are the links the HTML page offers to the meeting's exports, set by whoever serves
	// it (the links carry its access); none on a page saved from the command line.
	Downloads []Download `json:"-"`
}

// Download is a link to one export of a meeting.
type Download struct {
	Kind string // the export's kind ("vtt")
	Href string // where it is served, relative to the page's site
}

// OrgRecap is one organisation's part in a meeting. Org is the organisation's name, or the role of
// speakers whose organisation is unknown ("partner"); "" gathers speakers of neither.
type OrgRecap struct {
	Org    string      `json:"org"`
	Role   ledger.Role `json:"role,omitempty"`
	People []string    `json:"people"`
	// Declined are the people who refused to be recorded: they were there, and nothing of theirs
	// is in the record.
	Declined  []string `json:"declined,omitempty"`
	TalkMS    int64    `json:"talk_ms"`
	TalkShare float64  `json:"talk_share"` // 0..1 of the meeting's talk time
}

// RecapCommitment is a commitment with its evidence split into quotes and times.
type RecapCommitment struct {
	ledger.CommitmentInfo
	Evidence []detect.Evidence `json:"evidence"`
}

// Raised is a question or objection someone raised, where it was said.
type Raised struct {
	Text      string `json:"text"`
	Speaker   string `json:"speaker"`
	Org       string `json:"org,omitempty"`
	SegmentID string `json:"segment_id"`
	StartMS   int64  `json:"start_ms"`
	Meeting   string `json:"meeting,omitempty"` // in deal reports: which meeting
}

// TranscriptLine is one final segment as a recap shows it.
type TranscriptLine struct {
	SegmentID string
	StartMS   int64
	EndMS     int64
	Speaker   string
	Org       string
	Text      string
	Language  string
}

// Build reads a meeting from src and makes its recap.
func Build(ctx context.Context, src MeetingSource, meetingID string) (Recap, error) {
	d, err := LoadMeeting(ctx, src, meetingID)
	if err != nil {
		return Recap{}, err
	}
	return New(d), nil
}

// New makes the recap of a loaded meeting.
func New(d MeetingData) Recap {
	r := Recap{
		MeetingID: d.Meeting.ID, Title: d.Meeting.Title, StartedAt: d.Meeting.StartedAt,
		Timezone: d.Meeting.Timezone, State: d.Meeting.State, DurationMS: d.DurationMS(),
	}
	if d.Deal != nil {
		r.Deal = d.Deal.Name
	}
	speakers := d.roster()
	segByID := make(map[string]ledger.SegmentInfo, len(d.Segments))
	for _, g := range d.Segments {
		segByID[g.ID] = g.SegmentInfo
		name, org := speakers.who(g.SegmentInfo)
		r.Transcript = append(r.Transcript, TranscriptLine{SegmentID: g.ID, StartMS: g.StartMS, EndMS: g.EndMS,
			Speaker: name, Org: org, Text: g.Text, Language: g.Language})
	}
	r.Orgs = orgRecaps(d, speakers)
	r.Languages = languages(d)
	for _, c := range d.Commitments {
		r.Commitments = append(r.Commitments, RecapCommitment{CommitmentInfo: c.CommitmentInfo, Evidence: detect.EvidenceOf(c.CommitmentInfo, segByID)})
	}
	r.OpenQuestions, r.Objections = raised(d, speakers, DefaultAnswerWindow)
	r.CaptureProblems = captureProblems(d.Capture)
	r.Summary = r.summarize()
	return r
}

func orgRecaps(d MeetingData, speakers roster) []OrgRecap {
	byOrg := map[string]*OrgRecap{}
	get := func(org string) *OrgRecap {
		key := strings.ToLower(org)
		o := byOrg[key]
		if o == nil {
			o = &OrgRecap{Org: org, Role: ledger.RoleOther}
			byOrg[key] = o
		}
		return o
	}
	people := map[string]bool{}
	addPerson := func(o *OrgRecap, name string) {
		if k := strings.ToLower(o.Org) + "\x00" + name; !people[k] {
			people[k] = true
			o.People = append(o.People, name)
		}
	}
	for _, p := range d.Participants {
		o := get(speakers.orgOf(p))
		if p.Role != "" && p.Role != ledger.RoleOther {
			o.Role = p.Role
		}
		name := p.Name
		if name == "" {
			name = p.SpeakerID
		}
		if declined(p) {
			o.Declined = append(o.Declined, name)
			continue
		}
		addPerson(o, name)
	}
	var total int64
	for _, g := range d.Segments {
		name, org := speakers.who(g.SegmentInfo)
		o := get(org)
		addPerson(o, name)
		talk := max(g.EndMS-g.StartMS, 0)
		o.TalkMS += talk
		total += talk
	}
	if d.Deal != nil {
		for _, o := range byOrg {
			if o.Role == ledger.RoleOther {
				o.Role = d.Deal.RoleOf(o.Org)
			}
		}
	}
	out := make([]OrgRecap, 0, len(byOrg))
	for _, o := range byOrg {
		if total > 0 {
			o.TalkShare = float64(o.TalkMS) / float64(total)
		}
		slices.Sort(o.People)
		slices.Sort(o.Declined)
		out = append(out, *o)
	}
	slices.SortFunc(out, func(a, b OrgRecap) int {
		if c := cmp.Compare(b.TalkMS, a.TalkMS); c != 0 {
			return c
		}
		return strings.Compare(a.Org, b.Org)
	})
	return out
}

func languages(d MeetingData) []string {
	talk := map[string]int64{}
	for _, g := range d.Segments {
		if g.Language != "" {
			talk[g.Language] += max(g.EndMS-g.StartMS, 1)
		}
	}
	if len(talk) == 0 && d.Meeting.Language != "" {
		return []string{d.Meeting.Language}
	}
	out := make([]string, 0, len(talk))
	for l := range talk {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(talk[b], talk[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return out
}

// raised finds the questions left without an answer and the objections of a meeting. A question is
// a sentence that ends with "?" (or opens with "¿"), or one that opens with an interrogative word of
// its language and ends without a full stop. It is answered when a speaker of another organisation
// (another speaker, when organisations are unknown) speaks within the next window segments.
func raised(d MeetingData, speakers roster, window int) (open, objections []Raised) {
	type said struct {
		name, org, speaker string
	}
	whos := make([]said, len(d.Segments))
	for i, g := range d.Segments {
		name, org := speakers.who(g.SegmentInfo)
		whos[i] = said{name, org, g.Speaker}
	}
	other := func(a, b said) bool {
		if a.org != "" && b.org != "" {
			return !strings.EqualFold(a.org, b.org)
		}
		return a.speaker != b.speaker || a.name != b.name
	}
	for i, g := range d.Segments {
		lang := g.Language
		if lang == "" {
			lang = detect.DetectLanguage(g.Text)
		}
		questions, objected := detect.Raised(g.Text, lang)
		for _, s := range objected {
			objections = append(objections, Raised{Text: s, Speaker: whos[i].name, Org: whos[i].org,
				SegmentID: g.ID, StartMS: g.StartMS})
		}
		if len(questions) == 0 {
			continue
		}
		answered := false
		for j := i + 1; j < len(d.Segments) && j <= i+window; j++ {
			if other(whos[i], whos[j]) {
				answered = true
				break
			}
		}
		if !answered {
			for _, q := range questions {
				open = append(open, Raised{Text: q, Speaker: whos[i].name, Org: whos[i].org, SegmentID: g.ID, StartMS: g.StartMS})
			}
		}
	}
	return open, objections
}
