package asr

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Formats WriteResult knows.
var Formats = []string{"txt", "json", "vtt", "srt"}

// WriteResult writes a decode as plain text, JSON, WebVTT or SubRip.
// The JSON form is {"language","duration_ms","segments":[{"start_ms","end_ms",
// "text","language","no_speech_prob","tokens":[{"id","text","p","start_ms","end_ms"}]}]}.
func WriteResult(w io.Writer, res Result, duration time.Duration, format string) error {
	switch format {
	case "txt":
		for _, s := range res.Segments {
			if _, err := fmt.Fprintln(w, s.Text); err != nil {
				return err
			}
		}
		return nil
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(toJSON(res, duration))
	case "vtt":
		return writeCues(w, res, "WEBVTT\n\n", ".", false)
	case "srt":
		return writeCues(w, res, "", ",", true)
	default:
		return fmt.Errorf("asr: unknown format %q: use one of %s", format, strings.Join(Formats, ", "))
	}
}

type jsonToken struct {
	ID      int     `json:"id"`
	Text    string  `json:"text"`
	P       float32 `json:"p"`
	StartMS int64   `json:"start_ms"`
	EndMS   int64   `json:"end_ms"`
}

type jsonSegment struct {
	StartMS      int64       `json:"start_ms"`
	EndMS        int64       `json:"end_ms"`
	Text         string      `json:"text"`
	Language     string      `json:"language"`
	NoSpeechProb float32     `json:"no_speech_prob"`
	Tokens       []jsonToken `json:"tokens"`
}

type jsonResult struct {
	Language   string        `json:"language"`
	DurationMS int64         `json:"duration_ms"`
	Segments   []jsonSegment `json:"segments"`
}

func toJSON(res Result, duration time.Duration) jsonResult {
	out := jsonResult{Language: res.Language, DurationMS: duration.Milliseconds(), Segments: []jsonSegment{}}
	for _, s := range res.Segments {
		js := jsonSegment{
			StartMS: s.Start.Milliseconds(), EndMS: s.End.Milliseconds(),
			Text: s.Text, Language: s.Language, NoSpeechProb: s.NoSpeechProb, Tokens: []jsonToken{},
		}
		for _, t := range s.Tokens {
			js.Tokens = append(js.Tokens, jsonToken{ID: t.ID, Text: t.Text, P: t.P, StartMS: t.Start.Milliseconds(), EndMS: t.End.Milliseconds()})
		}
		out.Segments = append(out.Segments, js)
	}
	return out
}

// writeCues writes WebVTT or SubRip cues: the two differ in the header, the
// millisecond separator and SubRip's numbering.
func writeCues(w io.Writer, res Result, header, msSep string, numbered bool) error {
	if _, err := io.WriteString(w, header); err != nil {
		return err
	}
	n := 0
	for _, s := range res.Segments {
		if s.Text == "" {
			continue
		}
		n++
		if numbered {
			if _, err := fmt.Fprintf(w, "%d\n", n); err != nil {
				return err
			}
		}
		// A cue's text ends at a blank line, and "-->" would be read as timing.
		text := strings.ReplaceAll(strings.ReplaceAll(s.Text, "\n", " "), "-->", "->")
		if !numbered { // WebVTT cue text is markup: escape it
			text = vttEscaper.Replace(text)
		}
		if _, err := fmt.Fprintf(w, "%s --> %s\n%s\n\n", cueTime(s.Start, msSep), cueTime(s.End, msSep), text); err != nil {
			return err
		}
	}
	return nil
}

var vttEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func cueTime(d time.Duration, msSep string) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d%s%03d", ms/3600000, ms/60000%60, ms/1000%60, msSep, ms%1000)
}
