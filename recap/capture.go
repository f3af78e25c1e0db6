package recap

import "github.com/ledgerline/ledgerline/ledger"

// CaptureProblem is a stretch of a meeting in which a channel's capture was failing (a muted
// microphone, call audio playing through another device, clipping, lost audio, a device that
// stopped): the record may miss words there, and readers should know.
type CaptureProblem struct {
	Channel string                `json:"channel"`
	Problem ledger.CaptureProblem `json:"problem"`
	Message string                `json:"message"`
	FromMS  int64                 `json:"from_ms"`
	// ToMS is where it was over; 0 when it lasted to the end of the meeting.
	ToMS int64 `json:"to_ms,omitempty"`
}

// captureProblems pairs each problem the meeting's capture.health events began with the end that
// followed it on its channel (a new problem on the channel ends the one before).
func captureProblems(health []ledger.CaptureInfo) []CaptureProblem {
	var out []CaptureProblem
	open := map[string]int{} // channel → its problem in out, while one lasts
	for _, h := range health {
		if i, ok := open[h.Channel]; ok {
			out[i].ToMS = h.AtMS
			delete(open, h.Channel)
		}
		if h.Problem != "" {
			open[h.Channel] = len(out)
			out = append(out, CaptureProblem{Channel: h.Channel, Problem: h.Problem, Message: h.Message, FromMS: h.AtMS})
		}
	}
	return out
}
