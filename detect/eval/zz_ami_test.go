package eval

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/ledgerline/ledgerline/detect"
)

func TestZZAMIDev(t *testing.T) {
	readJSONLines(filepath.Join("testdata/ami", "action_dialogue_acts.jsonl"), func(line int, raw []byte) error {
		var row struct {
			Split, Role, Text string
			ActionText        string `json:"action_text"`
		}
		json.Unmarshal(raw, &row)
		if row.Split == "test" {
			return nil
		}
		got := detect.NewDetector().Detect(detect.Utterance{Text: row.Text, Speaker: detect.Speaker{Name: row.Role}, Language: "en", MeetingDate: amiDay})
		mark := "MISS"
		if len(got) > 0 {
			mark = "HIT  " + got[0].Owner + " | " + got[0].What
		}
		t.Logf("%s || %s: %s", mark, row.Role, row.Text)
		return nil
	})
}
