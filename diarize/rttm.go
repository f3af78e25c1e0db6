package diarize

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Turn is a stretch of meeting time in which one speaker talks.
type Turn struct {
	Start, End time.Duration
	// Speaker is a stable id within the meeting ("spk1", a channel's
	// speaker name); it may be renamed later, never reused for someone else.
	Speaker string
	// Overlap marks speech in which another speaker is heard at the same
	// time. A turn found to be overlapped names one of the voices; the
	// other voice, when it could be told, has a turn of its own over the
	// same span.
	Overlap bool
}

// Duration is how long the turn lasts.
func (t Turn) Duration() time.Duration { return t.End - t.Start }

// SortTurns orders turns by start, then end, then speaker.
func SortTurns(turns []Turn) {
	slices.SortFunc(turns, func(a, b Turn) int {
		switch {
		case a.Start != b.Start:
			return cmpDur(a.Start, b.Start)
		case a.End != b.End:
			return cmpDur(a.End, b.End)
		}
		return strings.Compare(a.Speaker, b.Speaker)
	})
}

func cmpDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ErrRTTM is wrapped by the errors ReadRTTM returns for malformed lines.
var ErrRTTM = errors.New("diarize: malformed RTTM")

// WriteRTTM writes turns as RTTM SPEAKER lines for fileID:
//
//	SPEAKER <file> 1 <start> <duration> <NA> <NA> <speaker> <NA> <NA>
//
// with times in seconds to the millisecond. Speaker ids must not hold
// whitespace; turns with no duration are left out.
func WriteRTTM(w io.Writer, fileID string, turns []Turn) error {
	if fileID == "" || strings.ContainsFunc(fileID, isSpace) {
		return fmt.Errorf("diarize: RTTM file id %q must be one word", fileID)
	}
	for _, t := range turns {
		if t.End <= t.Start {
			continue
		}
		if t.Speaker == "" || strings.ContainsFunc(t.Speaker, isSpace) {
			return fmt.Errorf("diarize: RTTM speaker %q must be one word", t.Speaker)
		}
		if _, err := fmt.Fprintf(w, "SPEAKER %s 1 %.3f %.3f <NA> <NA> %s <NA> <NA>\n",
			fileID, t.Start.Seconds(), t.Duration().Seconds(), t.Speaker); err != nil {
			return fmt.Errorf("diarize: write RTTM: %w", err)
		}
	}
	return nil
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// ReadRTTM reads the SPEAKER lines of an RTTM stream, grouped by file id.
// Other line types and lines starting with ';' or '#' are skipped.
func ReadRTTM(r io.Reader) (map[string][]Turn, error) {
	out := make(map[string][]Turn)
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], ";") || strings.HasPrefix(f[0], "#") || f[0] != "SPEAKER" {
			continue
		}
		if len(f) < 8 {
			return nil, fmt.Errorf("%w: line %d has %d fields, want at least 8", ErrRTTM, line, len(f))
		}
		start, err1 := strconv.ParseFloat(f[3], 64)
		dur, err2 := strconv.ParseFloat(f[4], 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrRTTM, line, err)
		}
		if start < 0 || dur < 0 || math.IsNaN(start+dur) || math.IsInf(start+dur, 0) {
			return nil, fmt.Errorf("%w: line %d: negative or invalid time", ErrRTTM, line)
		}
		s := secondsDur(start)
		out[f[1]] = append(out[f[1]], Turn{Start: s, End: s + secondsDur(dur), Speaker: f[7]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("diarize: read RTTM: %w", err)
	}
	return out, nil
}

func secondsDur(s float64) time.Duration { return time.Duration(math.Round(s*1e6)) * time.Microsecond }

// jsonTurn is the JSON form of a Turn: seconds, not nanoseconds.
type jsonTurn struct {
	Start   float64 `json:"start"`
	End     float64 `json:"end"`
	Speaker string  `json:"speaker"`
	Overlap bool    `json:"overlap,omitempty"`
}

// WriteJSON writes turns as a JSON array of {"start","end","speaker",
// "overlap"} objects, times in seconds.
func WriteJSON(w io.Writer, turns []Turn) error {
	out := make([]jsonTurn, 0, len(turns))
	for _, t := range turns {
		out = append(out, jsonTurn{
			Start: math.Round(t.Start.Seconds()*1000) / 1000, End: math.Round(t.End.Seconds()*1000) / 1000,
			Speaker: t.Speaker, Overlap: t.Overlap,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("diarize: write JSON turns: %w", err)
	}
	return nil
}
