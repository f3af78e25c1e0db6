package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/detect"
)

// maxDetectLineBytes bounds one input line of runDetectLines.
const maxDetectLineBytes = 1 << 20

// detectLine is one input line of runDetectLines.
type detectLine struct {
	Text        *string `json:"text"`
	MeetingDate string  `json:"meeting_date"`
	Timezone    string  `json:"timezone"`
	Language    string  `json:"language"`
	Speaker     struct {
		Name string `json:"name"`
		Org  string `json:"org"`
	} `json:"speaker"`
}

type detectOut struct {
	Commitments []commitmentOut `json:"commitments"`
}

type commitmentOut struct {
	What           string  `json:"what"`
	Owner          string  `json:"owner"`
	OwnerOrg       string  `json:"owner_org"`
	Contact        string  `json:"contact,omitempty"` // who speaks for an owner that is an organisation
	Beneficiary    string  `json:"beneficiary,omitempty"`
	BeneficiaryOrg string  `json:"beneficiary_org,omitempty"`
	Due            *string `json:"due"`
	DuePhrase      string  `json:"due_phrase"`
	Confidence     float64 `json:"confidence"`
	Quote          string  `json:"quote"`
}

// runDetectLines reads JSON lines, one utterance each:
//
//	{"text":…, "meeting_date":"YYYY-MM-DD", "timezone":…, "language":…, "speaker":{"name":…, "org":…}}
//
// and writes one JSON line per input line: {"commitments":[{"what":…, "owner":…, "owner_org":…, "contact":…,
// "due":"YYYY-MM-DD"|null, "due_phrase":…, "confidence":…, …}]}. Missing fields default to today's date
// in UTC, the UTC timezone, language detection ("auto" also asks for it) and the speaker "Speaker" of no
// organisation. A line that cannot be used (bad JSON, no "text", a bad date or timezone, a blank line)
// yields {"error":"line N: …"} and the stream goes on, and at its end an error wrapping errBadLines says how
// many there were, so a script sees the failure in the exit status; a line over maxDetectLineBytes yields an
// error line and ends the stream with an error. All lines share one Detector: the stream is one meeting.
func runDetectLines(r io.Reader, w io.Writer) error {
	br := bufio.NewReaderSize(r, 64*1024)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	d := detect.NewDetector()
	bad, lines := 0, 0
	for n := 1; ; n++ {
		line, err := readLine(br)
		if errors.Is(err, errLineTooLong) {
			if werr := enc.Encode(map[string]string{"error": fmt.Sprintf("line %d: longer than %d bytes", n, maxDetectLineBytes)}); werr != nil {
				return fmt.Errorf("write line %d: %w", n, werr)
			}
			if ferr := bw.Flush(); ferr != nil {
				return fmt.Errorf("write: %w", ferr)
			}
			return fmt.Errorf("line %d: %w", n, errLineTooLong)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read line %d: %w", n, err)
		}
		if errors.Is(err, io.EOF) && len(line) == 0 {
			break
		}
		lines++
		var out any
		if c, perr := detectOne(d, line); perr != nil {
			bad++
			out = map[string]string{"error": fmt.Sprintf("line %d: %v", n, perr)}
		} else {
			out = c
		}
		if werr := enc.Encode(out); werr != nil {
			return fmt.Errorf("write line %d: %w", n, werr)
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d %w (see their \"error\" objects)", bad, lines, errBadLines)
	}
	return nil
}

var (
	errLineTooLong = errors.New("line too long")
	errBadLines    = errors.New("input lines could not be used")
)

// readLine reads one line without its newline, refusing lines over maxDetectLineBytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxDetectLineBytes+2 {
			return nil, errLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		line = []byte(strings.TrimRight(string(line), "\r\n"))
		if len(line) > maxDetectLineBytes {
			return nil, errLineTooLong
		}
		return line, err
	}
}

func detectOne(d *detect.Detector, raw []byte) (detectOut, error) {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return detectOut{}, errors.New("empty line")
	}
	var in detectLine
	if err := json.Unmarshal(raw, &in); err != nil {
		return detectOut{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if in.Text == nil {
		return detectOut{}, errors.New(`missing "text"`)
	}
	loc := time.UTC
	if in.Timezone != "" {
		l, err := time.LoadLocation(in.Timezone)
		if err != nil {
			return detectOut{}, fmt.Errorf("timezone %q: %w", in.Timezone, err)
		}
		loc = l
	}
	var day time.Time
	if in.MeetingDate == "" {
		now := time.Now().UTC()
		day = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	} else {
		t, err := time.ParseInLocation(time.DateOnly, in.MeetingDate, loc)
		if err != nil {
			return detectOut{}, fmt.Errorf("meeting_date %q: want YYYY-MM-DD", in.MeetingDate)
		}
		day = t
	}
	sp := detect.Speaker{Name: in.Speaker.Name, Org: in.Speaker.Org}
	if sp.Name == "" {
		sp.Name = "Speaker"
	}
	lang := in.Language
	if strings.EqualFold(lang, "auto") {
		lang = ""
	}
	found := d.Detect(detect.Utterance{Text: *in.Text, Speaker: sp, Language: lang, MeetingDate: day, Location: loc})
	out := detectOut{Commitments: make([]commitmentOut, 0, len(found))}
	for _, c := range found {
		o := commitmentOut{What: c.What, Owner: c.Owner, OwnerOrg: c.OwnerOrg, Contact: c.Contact, Beneficiary: c.Beneficiary,
			BeneficiaryOrg: c.BeneficiaryOrg, DuePhrase: c.DuePhrase, Confidence: round2(c.Confidence), Quote: c.Quote}
		if c.HasDue() {
			s := c.Due.Format(time.DateOnly)
			o.Due = &s
		}
		out.Commitments = append(out.Commitments, o)
	}
	return out, nil
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
