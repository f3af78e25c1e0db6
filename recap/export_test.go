package recap

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/ledgerline/ledgerline/internal/recordtest"
)

// exportKickoff exports the kickoff meeting, with one commitment marked done, in the given kind.
func exportKickoff(t *testing.T, kind string, opts ExportOptions) (string, MeetingData) {
	t.Helper()
	st := recordtest.Seed(t)
	markDone(t, st, recordtest.Kickoff, "c-2")
	d, err := LoadMeeting(context.Background(), st, recordtest.Kickoff)
	if err != nil {
		t.Fatal(err)
	}
	f, err := LookupExport(kind)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.Export(&b, d, opts); err != nil {
		t.Fatal(err)
	}
	return b.String(), d
}

var (
	vttTiming = regexp.MustCompile(`^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$`)
	vttVoice  = regexp.MustCompile(`^<v ([^>\n]+)>([^<]*)$`)
)

func vttMS(m []string, i int) int64 {
	var ms int64
	for j, unit := range []int64{3_600_000, 60_000, 1000, 1} {
		n, _ := strconv.ParseInt(m[i+j], 10, 64)
		ms += n * unit
	}
	return ms
}

// TestExportVTT checks the WebVTT file's structure as the spec's parser reads it: the signature
// line, blank-line separated cues, an optional identifier without "-->", a timing line with the end
// after the start, and payload text with no raw markup besides the voice span.
func TestExportVTT(t *testing.T) {
	out, d := exportKickoff(t, "vtt", ExportOptions{})
	if !strings.HasPrefix(out, "WEBVTT\n\n") {
		t.Fatalf("no WEBVTT header: %q", out[:min(len(out), 20)])
	}
	blocks := strings.Split(strings.TrimSuffix(strings.TrimPrefix(out, "WEBVTT\n\n"), "\n"), "\n\n")
	if len(blocks) != len(d.Segments) {
		t.Fatalf("%d cues, want %d", len(blocks), len(d.Segments))
	}
	var lastStart int64
	for i, b := range blocks {
		lines := strings.Split(b, "\n")
		if len(lines) != 3 {
			t.Fatalf("cue %d has %d lines: %q", i, len(lines), b)
		}
		if lines[0] != d.Segments[i].ID || strings.Contains(lines[0], "-->") {
			t.Errorf("cue %d identifier %q", i, lines[0])
		}
		m := vttTiming.FindStringSubmatch(lines[1])
		if m == nil {
			t.Fatalf("cue %d timing %q", i, lines[1])
		}
		start, end := vttMS(m, 1), vttMS(m, 5)
		if end <= start || start < lastStart || start != d.Segments[i].StartMS {
			t.Errorf("cue %d times %d..%d", i, start, end)
		}
		lastStart = start
		v := vttVoice.FindStringSubmatch(lines[2])
		if v == nil {
			t.Fatalf("cue %d payload %q", i, lines[2])
		}
		if unescaped := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(v[2]); unescaped != d.Segments[i].Text {
			t.Errorf("cue %d text %q, want %q", i, unescaped, d.Segments[i].Text)
		}
	}
	if !strings.Contains(out, "<v Dana (Acme)>Welcome &lt;b&gt;everyone&lt;/b&gt; &amp; thanks; a|b, \"quoted\" --&gt;\n") {
		t.Errorf("first cue not escaped as expected:\n%s", blocks[0])
	}
	if !strings.Contains(out, "00:00:45.000 --> 00:00:49.000\n<v Priya (Initech)>Also, is there an on-prem option?") {
		t.Errorf("last cue:\n%s", blocks[len(blocks)-1])
	}
}

func TestExportSRTAndText(t *testing.T) {
	srt, _ := exportKickoff(t, "srt", ExportOptions{})
	if !strings.HasPrefix(srt, "1\n00:00:00,000 --> 00:00:04,000\nDana: Welcome") ||
		!strings.Contains(srt, "\n\n11\n00:00:45,000 --> 00:00:49,000\nPriya: Also, is there an on-prem option?\n") {
		t.Errorf("SRT:\n%s", srt)
	}
	txt, _ := exportKickoff(t, "txt", ExportOptions{})
	if !strings.HasPrefix(txt, "Kickoff\n2026-03-05 14:00 UTC\n\n[00:00:00] Dana (Acme): Welcome") ||
		!strings.Contains(txt, "[00:00:31] Lucía (Initech): ¿Cuánto cuesta el soporte premium?\n") {
		t.Errorf("text:\n%s", txt)
	}
}

func TestExportJSON(t *testing.T) {
	out, d := exportKickoff(t, "json", ExportOptions{})
	var got transcriptJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Meeting.ID != recordtest.Kickoff || got.Meeting.Deal != "Initech ERP rollout" || len(got.Speakers) != 4 ||
		len(got.Segments) != len(d.Segments) || got.Segments[7].Name != "Lucía" || got.Segments[7].Language != "es" {
		t.Fatalf("JSON transcript: %+v", got)
	}
	if strings.Contains(out, recordtest.KickoffToken) {
		t.Fatal("the JSON transcript holds the meeting's token")
	}
}

func TestExportCSV(t *testing.T) {
	out, d := exportKickoff(t, "csv", ExportOptions{})
	if !strings.Contains(out, "\r\n") {
		t.Error("CSV lines do not end with CRLF")
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(d.Commitments) || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
		t.Fatalf("CSV rows %q", rows)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	arch, pricing := rows[1], rows[2]
	if arch[col["owner"]] != "Globex" || arch[col["due"]] != "2026-03-10" || arch[col["status"]] != "open" ||
		arch[col["quote"]] != d.Commitments[0].Quote || arch[col["segment_ids"]] != "kickoff-2 kickoff-5" || arch[col["said_at"]] != "0:04" {
		t.Errorf("first row %q", arch)
	}
	if pricing[col["status"]] != "done" || pricing[col["updated_by"]] != "user:dana@acme.example" {
		t.Errorf("second row %q", pricing)
	}
	if csvSafe("=HYPERLINK(\"x\")") != "'=HYPERLINK(\"x\")" || csvSafe("plain") != "plain" {
		t.Error("formula cells are not defused")
	}
}

func TestExportICS(t *testing.T) {
	now := time.Date(2026, 3, 5, 15, 4, 5, 0, time.UTC)
	out, d := exportKickoff(t, "ics", ExportOptions{Now: now})
	for i, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(line) > icsMaxLine {
			t.Errorf("line %d is %d octets: %q", i, len(line), line)
		}
		if strings.Contains(line, "\n") {
			t.Errorf("line %d holds a bare LF", i)
		}
	}
	cal, err := ical.NewDecoder(strings.NewReader(out)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	if v := cal.Props.Get(ical.PropVersion); v == nil || v.Value != "2.0" || cal.Props.Get(ical.PropProductID) == nil {
		t.Fatal("calendar without VERSION 2.0 or PRODID")
	}
	var todos []*ical.Component
	for _, c := range cal.Children {
		if c.Name == ical.CompToDo {
			todos = append(todos, c)
		}
	}
	if len(todos) != len(d.Commitments) {
		t.Fatalf("%d VTODOs, want %d", len(todos), len(d.Commitments))
	}
	first := todos[0]
	uid, _ := first.Props.Text(ical.PropUID)
	summary, _ := first.Props.Text(ical.PropSummary)
	desc, _ := first.Props.Text(ical.PropDescription)
	stamp, err := first.Props.DateTime(ical.PropDateTimeStamp, time.UTC)
	if err != nil || !stamp.Equal(now) {
		t.Errorf("DTSTAMP %v (%v), want %v", stamp, err, now)
	}
	due, err := first.Props.DateTime(ical.PropDue, time.UTC)
	if err != nil || due.Format(time.DateOnly) != "2026-03-10" || first.Props.Get(ical.PropDue).ValueType() != ical.ValueDate {
		t.Errorf("DUE %v (%v)", due, err)
	}
	if uid != "c-1.kickoff@ledgerline" || summary != OwnerLabel(d.Commitments[0].CommitmentInfo)+": "+d.Commitments[0].What ||
		!strings.HasPrefix(summary, "Globex") {
		t.Errorf("UID %q, SUMMARY %q", uid, summary)
	}
	if !strings.Contains(desc, "“We'll send you the integration architecture by Friday.”\n“To confirm, we will send you") {
		t.Errorf("DESCRIPTION %q", desc)
	}
	if st, _ := todos[1].Props.Text(ical.PropStatus); st != "COMPLETED" {
		t.Errorf("done commitment has STATUS %q", st)
	}
	// The library can write back what it read: every component holds its required properties.
	if err := ical.NewEncoder(&bytes.Buffer{}).Encode(cal); err != nil {
		t.Fatalf("re-encode: %v", err)
	}

	// Each commitment with a due date is an all-day event as well, for calendars that show no tasks.
	evs := cal.Events()
	if len(evs) != 2 {
		t.Fatalf("%d VEVENTs, want one for each of the 2 commitments with a due date", len(evs))
	}
	if uid, _ := evs[0].Props.Text(ical.PropUID); uid != "c-1.due.kickoff@ledgerline" {
		t.Errorf("event UID %q", uid)
	}
	start, err1 := evs[0].DateTimeStart(time.UTC)
	end, err2 := evs[0].DateTimeEnd(time.UTC)
	if errors.Join(err1, err2) != nil || start.Format(time.DateOnly) != "2026-03-10" || end.Sub(start) != 24*time.Hour {
		t.Errorf("all-day event %v..%v (%v %v)", start, end, err1, err2)
	}
}

// A commitment said without a due date is kept: a task without DUE, and no event.
func TestICSKeepsCommitmentsWithoutADueDate(t *testing.T) {
	_, d := exportKickoff(t, "ics", ExportOptions{})
	if len(d.Commitments) < 2 {
		t.Fatalf("%d commitments in the fixture, want two or more", len(d.Commitments))
	}
	d.Commitments[1].Due, d.Commitments[1].DuePhrase = "", ""
	dated := 0
	for _, c := range d.Commitments {
		if c.Due != "" {
			dated++
		}
	}
	var b bytes.Buffer
	if err := writeICS(&b, d, ExportOptions{Now: time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	cal, err := ical.NewDecoder(&b).Decode()
	if err != nil {
		t.Fatal(err)
	}
	todos, undated := 0, 0
	for _, c := range cal.Children {
		if c.Name == ical.CompToDo {
			todos++
			if c.Props.Get(ical.PropDue) == nil {
				undated++
			}
		}
	}
	if todos != len(d.Commitments) || undated != 1 || len(cal.Events()) != dated {
		t.Errorf("%d tasks (%d without a due date), %d events; want %d, 1 and %d", todos, undated, len(cal.Events()),
			len(d.Commitments), dated)
	}
}

func TestICSTextFoldingAndEscaping(t *testing.T) {
	long := strings.Repeat("ñandú, árbol; ", 20) + `back\slash` + "\nnext line"
	folded := foldICS("DESCRIPTION:" + icsText(long))
	for _, l := range strings.Split(strings.TrimSuffix(folded, "\r\n"), "\r\n") {
		if len(l) > icsMaxLine || !utf8Valid(l) {
			t.Fatalf("bad folded line %q", l)
		}
	}
	cal := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTODO\r\nUID:u\r\nDTSTAMP:20260305T000000Z\r\n" +
		folded + "END:VTODO\r\nEND:VCALENDAR\r\n"
	parsed, err := ical.NewDecoder(strings.NewReader(cal)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := parsed.Children[0].Props.Text(ical.PropDescription)
	if err != nil || got != long {
		t.Fatalf("round trip %q (%v), want %q", got, err, long)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestExportRTTM(t *testing.T) {
	out, d := exportKickoff(t, "rttm", ExportOptions{})
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 10 || f[0] != "SPEAKER" || f[1] != recordtest.Kickoff || f[2] != "1" || f[5] != "<NA>" || f[9] != "<NA>" {
			t.Fatalf("RTTM line %q", sc.Text())
		}
		onset, err1 := strconv.ParseFloat(f[3], 64)
		dur, err2 := strconv.ParseFloat(f[4], 64)
		g := d.Segments[n]
		if errors.Join(err1, err2) != nil || int64(onset*1000+0.5) != g.StartMS || int64(dur*1000+0.5) != g.EndMS-g.StartMS || f[7] != g.Speaker {
			t.Errorf("RTTM line %q for segment %+v", sc.Text(), g)
		}
		n++
	}
	if n != len(d.Segments) {
		t.Fatalf("%d RTTM lines, want %d", n, len(d.Segments))
	}
}

func TestLookupExport(t *testing.T) {
	if _, err := LookupExport("docx"); !errors.Is(err, ErrUnknownExport) {
		t.Fatalf("err = %v", err)
	}
	f, _ := LookupExport("ics")
	if got := f.FileName("acme q3/ü"); got != "acme_q3__-commitments.ics" {
		t.Errorf("file name %q", got)
	}
}
