package recap

import (
	"bufio"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/summary"
)

// templates holds the recap and deal pages, served from the binary.
//
//go:embed templates
var templates embed.FS

// pageCSS is the style sheet inlined into every page, so that a saved page needs nothing else.
var pageCSS = func() string {
	b, err := templates.ReadFile("templates/page.css")
	if err != nil { // cannot happen with a valid embed pattern
		return ""
	}
	return string(b)
}()

// PageStyleSource returns the Content-Security-Policy source that allows the inline style sheet of
// the recap and deal pages ('sha256-…'), and nothing else inline.
func PageStyleSource() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

var pageFuncs = template.FuncMap{
	"clock":       detect.FormatClock,
	"captureSpan": captureSpan,
	"join":        strings.Join,
	"pct":         pct,
	"orgName":     orgName,
	"ownerLabel":  OwnerLabel,
	"forLabel":    forLabel,
	"date":        func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"count":       count,
}

// count says how many of a thing there are: "1 meeting", "3 meetings".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

var (
	recapPage = template.Must(template.New("recap.html.tmpl").Funcs(pageFuncs).ParseFS(templates, "templates/recap.html.tmpl"))
	dealPage  = template.Must(template.New("deal.html.tmpl").Funcs(pageFuncs).ParseFS(templates, "templates/deal.html.tmpl"))
)

func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" }

func orgName(org string) string {
	if org == "" {
		return "No organisation"
	}
	return org
}

// Name returns what the recap calls the meeting: its title, or its ID.
func (r Recap) Name() string {
	if r.Title != "" {
		return r.Title
	}
	return r.MeetingID
}

// started writes when the meeting started, in its timezone when known.
func (r Recap) started() string {
	t := r.StartedAt
	if t.IsZero() {
		return ""
	}
	if loc, err := time.LoadLocation(r.Timezone); err == nil && r.Timezone != "" {
		t = t.In(loc)
		return t.Format("Mon 2 Jan 2006 15:04 MST")
	}
	return t.UTC().Format("Mon 2 Jan 2006 15:04 UTC")
}

// SegmentAnchor is the fragment that names a segment's line in the recap page, so that a link
// (a search hit, a commitment's evidence) lands on it: "seg-" and the segment's ID, or "seg." and
// the ID in hex where it holds anything but letters, digits, '-' and '_', so that it is a valid
// fragment and id, never another segment's, and stays the same however the transcript changes.
func SegmentAnchor(segmentID string) string {
	plain := segmentID != "" && !strings.ContainsFunc(segmentID, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	})
	if plain {
		return "seg-" + segmentID
	}
	return "seg." + hex.EncodeToString([]byte(segmentID))
}

// WriteHTML writes the recap as one self-contained HTML page: styles inline, no scripts, no
// other files. Every text is escaped.
func (r Recap) WriteHTML(w io.Writer) error {
	anchors := make(map[string]string, len(r.Transcript))
	for _, l := range r.Transcript {
		anchors[l.SegmentID] = SegmentAnchor(l.SegmentID)
	}
	view := struct {
		R       Recap
		Name    string
		Started string
		CSS     template.CSS
		Anchors map[string]string
	}{r, r.Name(), r.started(), template.CSS(pageCSS), anchors}
	if err := recapPage.Execute(w, view); err != nil {
		return fmt.Errorf("recap: write recap of %q as HTML: %w", r.MeetingID, err)
	}
	return nil
}

// WriteMarkdown writes the recap as Markdown. Every text from the meeting is escaped so that it
// reads as said, not as markup.
func (r Recap) WriteMarkdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("# Recap: %s\n\n", mdEscape(r.Name()))
	var meta []string
	if r.Deal != "" {
		meta = append(meta, "Deal: "+mdEscape(r.Deal))
	}
	if s := r.started(); s != "" {
		meta = append(meta, s)
	}
	meta = append(meta, "Duration: "+detect.FormatClock(r.DurationMS))
	if len(r.Languages) > 0 {
		meta = append(meta, "Languages: "+strings.Join(r.Languages, ", "))
	}
	p("%s\n\n", strings.Join(meta, " · "))
	r.writeSummaryMarkdown(p)

	p("## Attendees and talk time\n\n| Organisation | Role | People | Talk time | Share |\n|---|---|---|---|---|\n")
	for _, o := range r.Orgs {
		people := slices.Clone(o.People)
		for _, name := range o.Declined {
			people = append(people, name+" (declined recording)")
		}
		p("| %s | %s | %s | %s | %s |\n", mdCell(orgName(o.Org)), o.Role, mdCell(strings.Join(people, ", ")),
			detect.FormatClock(o.TalkMS), pct(o.TalkShare))
	}

	p("\n## Commitments\n\n")
	if len(r.Commitments) == 0 {
		p("No commitments were made.\n")
	} else {
		p("| Owner | What | Due | Status | Evidence |\n|---|---|---|---|---|\n")
		for _, c := range r.Commitments {
			owner := OwnerLabel(c.CommitmentInfo)
			what := c.What
			if f := ForLabel(c.CommitmentInfo); f != "" {
				what += " " + f
			}
			if c.Possible() {
				what += " (possible)"
			}
			due := c.Due
			if due == "" {
				due = "—"
			}
			if c.DuePhrase != "" {
				due += " (“" + c.DuePhrase + "”)"
			}
			var ev []string
			for _, e := range c.Evidence {
				ev = append(ev, "“"+e.Quote+"” ["+detect.FormatClock(e.StartMS)+"]")
			}
			p("| %s | %s | %s | %s | %s |\n", mdCell(owner), mdCell(what), mdCell(due), c.Status, mdCell(strings.Join(ev, " ")))
		}
	}
	writeRaised := func(title, none string, list []Raised) {
		p("\n## %s\n\n", title)
		if len(list) == 0 {
			p("%s\n", none)
			return
		}
		for _, q := range list {
			by := q.Speaker
			if q.Org != "" {
				by += " (" + q.Org + ")"
			}
			p("- “%s” — %s, [%s]\n", mdEscape(q.Text), mdEscape(by), detect.FormatClock(q.StartMS))
		}
	}
	writeRaised("Open questions", "Every question got an answer.", r.OpenQuestions)
	writeRaised("Objections raised", "No objections were raised.", r.Objections)
	if len(r.CaptureProblems) > 0 {
		p("\n## Capture problems\n\nWhile these lasted the record may miss words.\n\n")
		for _, c := range r.CaptureProblems {
			p("- %s, %s: %s\n", mdEscape(c.Channel), captureSpan(c), mdEscape(c.Message))
		}
	}
	if err := b.Flush(); err != nil {
		return fmt.Errorf("recap: write recap of %q as Markdown: %w", r.MeetingID, err)
	}
	return nil
}

// mdEscaper escapes the characters Markdown would read as markup, and the angle brackets a
// Markdown renderer would pass through as HTML.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "#", `\#`, "|", `\|`,
	"<", "&lt;", ">", "&gt;", "&", "&amp;", "\r\n", " ", "\n", " ", "\r", " ",
)

func mdEscape(s string) string { return mdEscaper.Replace(s) }

// mdCell escapes s for a Markdown table cell.
func mdCell(s string) string {
	if s == "" {
		return " "
	}
	return mdEscape(s)
}

// writeSummaryMarkdown writes the summary, each line with the time it was said.
func (r Recap) writeSummaryMarkdown(p func(format string, args ...any)) {
	sm := r.Summary
	p("## Summary\n\n")
	if len(sm.Narrative) > 0 {
		var text []string
		for _, l := range sm.Narrative {
			text = append(text, mdEscape(l.Text)+" ["+detect.FormatClock(l.StartMS)+"]")
		}
		p("%s\n\n", strings.Join(text, " "))
	}
	if sm.Empty() {
		p("Nothing was decided, promised, objected to or left open.\n\n")
	}
	list := func(title string, lines []summary.Line, quoted bool) {
		if len(lines) == 0 {
			return
		}
		p("### %s\n\n", title)
		for _, l := range lines {
			text := mdEscape(l.Text)
			if quoted {
				text = "“" + text + "”"
			}
			if l.Who != "" {
				text += " — " + mdEscape(l.Who)
			}
			if len(l.SegmentIDs) > 0 {
				text += ", [" + detect.FormatClock(l.StartMS) + "]"
			}
			p("- %s\n", text)
		}
		p("\n")
	}
	list("Decisions", sm.Decisions, true)
	list("Next steps", sm.NextSteps, false)
	list("Risks and objections", sm.Risks, true)
	list("Open questions", sm.Questions, true)
}

// captureSpan says when a capture problem lasted: "12:05–13:40", or "from 12:05" to the end.
func captureSpan(c CaptureProblem) string {
	if c.ToMS == 0 {
		return "from " + detect.FormatClock(c.FromMS)
	}
	return detect.FormatClock(c.FromMS) + "–" + detect.FormatClock(c.ToMS)
}
