package agent

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// The bundled sample joint call: a vendor, a partner and a buyer, voiced by
// espeak-ng (scripts/make-sample.sh), with its reference transcript.
var (
	//go:embed sample/sample-call.wav
	sampleWAV []byte
	//go:embed sample/sample-call.json
	sampleJSON []byte
)

// SampleLine is one line of the sample call's reference transcript, on the call's clock.
type SampleLine struct {
	Start   time.Duration
	End     time.Duration
	Speaker string
	Role    ledger.Role // the speaker's side of the deal: the sample names no companies
	Text    string
}

// SampleCallWAV returns the sample call as a 16 kHz mono WAV file.
func SampleCallWAV() []byte { return sampleWAV }

// SampleCallTranscript returns the sample call's reference transcript.
func SampleCallTranscript() ([]SampleLine, error) {
	var raw []struct {
		StartMS int64  `json:"start_ms"`
		EndMS   int64  `json:"end_ms"`
		Speaker string `json:"speaker"`
		Role    string `json:"role"`
		Text    string `json:"text"`
	}
	if err := json.Unmarshal(sampleJSON, &raw); err != nil {
		return nil, fmt.Errorf("agent: sample transcript: %w", err)
	}
	out := make([]SampleLine, len(raw))
	for i, r := range raw {
		role, err := ledger.ParseRole(r.Role)
		if err != nil {
			return nil, fmt.Errorf("agent: sample transcript line %d: %w", i+1, err)
		}
		out[i] = SampleLine{Start: time.Duration(r.StartMS) * time.Millisecond, End: time.Duration(r.EndMS) * time.Millisecond,
			Speaker: r.Speaker, Role: role, Text: r.Text}
	}
	return out, nil
}
