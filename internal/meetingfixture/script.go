package meetingfixture

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/ledgerline/ledgerline/stream"
)

// LoadCall cuts a recorded call into a script: wavPath is the recording, transcriptPath its
// reference transcript (a JSON array of {"start_ms", "end_ms", "speaker"}), and the first n
// utterances (all of them when n is 0) become lines, each after pause of silence. It returns the
// speakers in the order they first speak, and the lines.
func LoadCall(wavPath, transcriptPath string, n int, pause time.Duration) ([]string, []Line, error) {
	audio, err := stream.LoadWAV(wavPath)
	if err != nil {
		return nil, nil, fmt.Errorf("meetingfixture: %w", err)
	}
	raw, err := os.ReadFile(transcriptPath)
	if err != nil {
		return nil, nil, fmt.Errorf("meetingfixture: %w", err)
	}
	var turns []struct {
		StartMS int64  `json:"start_ms"`
		EndMS   int64  `json:"end_ms"`
		Speaker string `json:"speaker"`
	}
	if err := json.Unmarshal(raw, &turns); err != nil {
		return nil, nil, fmt.Errorf("meetingfixture: %s: %w", transcriptPath, err)
	}
	if n > 0 && n < len(turns) {
		turns = turns[:n]
	}
	var people []string
	var lines []Line
	for _, t := range turns {
		a := int(t.StartMS * sampleRate / 1000)
		b := min(int(t.EndMS*sampleRate/1000), len(audio.Samples))
		if a >= b {
			continue
		}
		if !slices.Contains(people, t.Speaker) {
			people = append(people, t.Speaker)
		}
		lines = append(lines, Line{Speaker: t.Speaker, Audio: audio.Samples[a:b], Pause: pause})
	}
	return people, lines, nil
}
