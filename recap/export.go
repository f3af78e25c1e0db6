package recap

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/ledger"
)

// ErrUnknownExport reports an export kind this build does not write.
var ErrUnknownExport = errors.New("recap: unknown export kind")

// ExportFormat is one way to export a meeting.
type ExportFormat struct {
	Kind        string // what names it in links: "vtt"
	ContentType string // the MIME type to serve it as
	Ext         string // the file name extension, with its dot
	write       func(w io.Writer, d MeetingData, opts ExportOptions) error
}

// ExportOptions tune exports.
type ExportOptions struct {
	// Now stamps exports that record when they were made (ICS DTSTAMP); zero means time.Now.
	Now time.Time
}

// exportFormats lists the exports, by kind: the transcript as json, vtt (WebVTT), srt and txt;
// the commitments as csv and ics (iCalendar); who spoke when as rttm.
var exportFormats = []ExportFormat{
	{Kind: "json", ContentType: "application/json; charset=utf-8", Ext: ".json", write: writeTranscriptJSON},
	{Kind: "vtt", ContentType: "text/vtt; charset=utf-8", Ext: ".vtt", write: writeVTT},
	{Kind: "srt", ContentType: "application/x-subrip; charset=utf-8", Ext: ".srt", write: writeSRT},
	{Kind: "txt", ContentType: "text/plain; charset=utf-8", Ext: ".txt", write: writeText},
	{Kind: "csv", ContentType: "text/csv; charset=utf-8; header=present", Ext: ".csv", write: writeCSV},
	{Kind: "ics", ContentType: "text/calendar; charset=utf-8", Ext: ".ics", write: writeICS},
	{Kind: "rttm", ContentType: "text/plain; charset=utf-8", Ext: ".rttm", write: writeRTTM},
}

// ExportFormats returns the export formats this build writes.
func ExportFormats() []ExportFormat { return slices.Clone(exportFormats) }

// LookupExport returns the export format of a kind, or ErrUnknownExport.
func LookupExport(kind string) (ExportFormat, error) {
	for _, f := range exportFormats {
		if f.Kind == kind {
			return f, nil
		}
	}
	kinds := make([]string, len(exportFormats))
	for i, f := range exportFormats {
		kinds[i] = f.Kind
	}
	return ExportFormat{}, fmt.Errorf("%w %q (use one of %s)", ErrUnknownExport, kind, strings.Join(kinds, ", "))
}

// Export writes a meeting in the given format.
func (f ExportFormat) Export(w io.Writer, d MeetingData, opts ExportOptions) error {
	if f.write == nil {
		return fmt.Errorf("%w %q", ErrUnknownExport, f.Kind)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if err := f.write(w, d, opts); err != nil {
		return fmt.Errorf("recap: export meeting %q as %s: %w", d.Meeting.ID, f.Kind, err)
	}
	return nil
}

// FileName returns a file name for a meeting's export: the meeting ID with unsafe characters
// replaced, and the format's extension.
func (f ExportFormat) FileName(meetingID string) string {
	name := strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.') {
			return r
		}
		return '_'
	}, meetingID)
	if name == "" {
		name = "meeting"
	}
	suffix := ""
	switch f.Kind {
	case "csv", "ics":
		suffix = "-commitments"
	case "rttm":
		suffix = "-speakers"
	}
	return name + suffix + f.Ext
}

// transcriptLine is a segment with its speaker's name and organisation resolved.
type transcriptLine struct {
	ledger.Segment
	Name, Org string
}

func (d *MeetingData) lines() []transcriptLine {
	speakers := d.roster()
	out := make([]transcriptLine, len(d.Segments))
	for i, g := range d.Segments {
		name, org := speakers.who(g.SegmentInfo)
		out[i] = transcriptLine{Segment: g, Name: name, Org: org}
	}
	return out
}

// transcriptJSON is the JSON transcript export. It never holds a token.
type transcriptJSON struct {
	Meeting struct {
		ID        string    `json:"id"`
		Title     string    `json:"title,omitempty"`
		Deal      string    `json:"deal,omitempty"`
		StartedAt time.Time `json:"started_at"`
		Timezone  string    `json:"timezone,omitempty"`
		Language  string    `json:"language,omitempty"`
	} `json:"meeting"`
	Speakers []speakerJSON `json:"speakers"`
	Segments []segmentJSON `json:"segments"`
}

type speakerJSON struct {
	ID      string      `json:"id"`
	Channel string      `json:"channel,omitempty"`
	Name    string      `json:"name"`
	Org     string      `json:"org,omitempty"`
	Role    ledger.Role `json:"role,omitempty"`
}

type segmentJSON struct {
	ID       string `json:"id"`
	Channel  string `json:"channel"`
	Speaker  string `json:"speaker,omitempty"`
	Name     string `json:"name"`
	Org      string `json:"org,omitempty"`
	StartMS  int64  `json:"start_ms"`
	EndMS    int64  `json:"end_ms"`
	Text     string `json:"text"`
	Language string `json:"language,omitempty"`
}

func writeTranscriptJSON(w io.Writer, d MeetingData, _ ExportOptions) error {
	var t transcriptJSON
	t.Meeting.ID, t.Meeting.Title, t.Meeting.StartedAt = d.Meeting.ID, d.Meeting.Title, d.Meeting.StartedAt
	if d.Deal != nil {
		t.Meeting.Deal = d.Deal.Name
	}
	t.Meeting.Timezone, t.Meeting.Language = d.Meeting.Timezone, d.Meeting.Language
	t.Speakers = []speakerJSON{}
	for _, p := range d.Participants {
		t.Speakers = append(t.Speakers, speakerJSON{ID: p.SpeakerID, Channel: p.Channel, Name: p.Name, Org: p.Org, Role: p.Role})
	}
	t.Segments = []segmentJSON{}
	for _, l := range d.lines() {
		t.Segments = append(t.Segments, segmentJSON{ID: l.ID, Channel: l.Channel, Speaker: l.Speaker, Name: l.Name,
			Org: l.Org, StartMS: l.StartMS, EndMS: l.EndMS, Text: l.Text, Language: l.Language})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(t)
}

// cueTimes returns a segment's start and end for a subtitle cue: the end strictly after the start.
func cueTimes(g ledger.SegmentInfo) (int64, int64) {
	start := max(g.StartMS, 0)
	return start, max(g.EndMS, start+1)
}

// clockStamp writes ms as hh:mm:ss followed by sep and milliseconds.
func clockStamp(ms int64, sep byte) string {
	h, m, s, f := ms/3_600_000, ms/60_000%60, ms/1000%60, ms%1000
	return fmt.Sprintf("%02d:%02d:%02d%c%03d", h, m, s, sep, f)
}

// vttEscaper escapes cue text for WebVTT: &, < and > as character references.
var vttEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// writeVTT writes the transcript as WebVTT: a header, then one cue per segment with the segment ID
// as cue identifier and the speaker in a voice span.
func writeVTT(w io.Writer, d MeetingData, _ ExportOptions) error {
	b := bufio.NewWriter(w)
	b.WriteString("WEBVTT\n")
	for _, l := range d.lines() {
		start, end := cueTimes(l.SegmentInfo)
		b.WriteString("\n")
		if id := vttIdentifier(l.ID); id != "" {
			b.WriteString(id + "\n")
		}
		fmt.Fprintf(b, "%s --> %s\n", clockStamp(start, '.'), clockStamp(end, '.'))
		voice := oneLine(l.Name)
		if l.Org != "" {
			voice += " (" + oneLine(l.Org) + ")"
		}
		fmt.Fprintf(b, "<v %s>%s\n", vttEscaper.Replace(voice), vttEscaper.Replace(oneLine(l.Text)))
	}
	return b.Flush()
}

// vttIdentifier makes a segment ID a valid cue identifier: one line, without "-->".
func vttIdentifier(id string) string {
	return strings.ReplaceAll(oneLine(id), "-->", "--")
}

// writeSRT writes the transcript as SubRip: numbered cues, comma before the milliseconds, the
// speaker's name before the words.
func writeSRT(w io.Writer, d MeetingData, _ ExportOptions) error {
	b := bufio.NewWriter(w)
	for i, l := range d.lines() {
		start, end := cueTimes(l.SegmentInfo)
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "%d\n%s --> %s\n%s: %s\n", i+1, clockStamp(start, ','), clockStamp(end, ','),
			oneLine(l.Name), oneLine(l.Text))
	}
	return b.Flush()
}

// writeText writes the transcript as plain text, one line per segment: [h:mm:ss] Name (Org): words.
func writeText(w io.Writer, d MeetingData, _ ExportOptions) error {
	b := bufio.NewWriter(w)
	title := d.Meeting.Title
	if title == "" {
		title = d.Meeting.ID
	}
	fmt.Fprintf(b, "%s\n", oneLine(title))
	if !d.Meeting.StartedAt.IsZero() {
		fmt.Fprintf(b, "%s\n", d.Meeting.StartedAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	b.WriteString("\n")
	for _, l := range d.lines() {
		who := oneLine(l.Name)
		if l.Org != "" {
			who += " (" + oneLine(l.Org) + ")"
		}
		fmt.Fprintf(b, "[%s] %s: %s\n", clockStamp(max(l.StartMS, 0), '.')[:8], who, oneLine(l.Text))
	}
	return b.Flush()
}

// CSVHeader is the header row of the commitments CSV export.
var CSVHeader = []string{"id", "owner", "owner_org", "what", "beneficiary", "due", "due_phrase", "status",
	"confidence", "quote", "said_at", "segment_ids", "updated_at", "updated_by", "contact", "beneficiary_org"}

// writeCSV writes the commitments as RFC 4180 CSV (CRLF line ends) with a header row. A cell that
// a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) gets a leading apostrophe.
func writeCSV(w io.Writer, d MeetingData, _ ExportOptions) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, c := range d.Commitments {
		row := []string{c.ID, notYou(c.Owner), c.OwnerOrg, c.What, notYou(c.Beneficiary), c.Due, c.DuePhrase, c.Status,
			strconv.FormatFloat(c.Confidence, 'f', 2, 64), c.Quote, detect.FormatClock(c.StartMS),
			strings.Join(c.SegmentIDs, " "), formatCSVTime(c.UpdatedAt), c.UpdatedBy, notYou(c.Contact), c.BeneficiaryOrg}
		for i := range row {
			row[i] = csvSafe(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func formatCSVTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// writeRTTM writes who spoke when in NIST RTTM: one SPEAKER line per segment, times in seconds.
func writeRTTM(w io.Writer, d MeetingData, _ ExportOptions) error {
	b := bufio.NewWriter(w)
	file := rttmField(d.Meeting.ID)
	for _, g := range d.Segments {
		start, end := max(g.StartMS, 0), max(g.EndMS, g.StartMS, 0)
		if end == start {
			continue
		}
		spk := g.Speaker
		if spk == "" {
			spk = g.Channel
		}
		fmt.Fprintf(b, "SPEAKER %s 1 %.3f %.3f <NA> <NA> %s <NA> <NA>\n", file, float64(start)/1000,
			float64(end-start)/1000, rttmField(spk))
	}
	return b.Flush()
}

// rttmField makes a value one whitespace-free RTTM field.
func rttmField(s string) string {
	s = strings.Join(strings.Fields(s), "_")
	if s == "" {
		return "unknown"
	}
	return s
}

// oneLine folds a text's whitespace, newlines included, so it fits the one-line formats.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
