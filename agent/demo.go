package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/internal/clock"
	"github.com/ledgerline/ledgerline/ledger"
)

// ReplayReason labels a meeting whose segments come from a reference
// transcript rather than from speech recognition.
const ReplayReason = "replay of the sample call's reference transcript (no speech model)"

// ReplayTranscript plays a reference transcript into a meeting's log at the
// lines' own times divided by speed, word by word as partials and line by
// line as finals, with the commitments each line states, so the overlay can
// be seen working before any model is downloaded. Each speaker gets a channel
// of their own. The meeting is marked as a replay, never as recognised speech.
func ReplayTranscript(ctx context.Context, log EventLog, meeting string, lines []SampleLine, speed float64) error {
	if speed <= 0 {
		speed = 1
	}
	bg := context.WithoutCancel(ctx)
	if _, err := log.Append(bg, ledger.Event{Type: ledger.TypeMeetingState, Meeting: meeting, State: ledger.MeetingRecording, Reason: ReplayReason}); err != nil {
		return fmt.Errorf("agent: replay: %w", err)
	}
	channels := map[string]string{}
	for _, l := range lines {
		if _, ok := channels[l.Speaker]; ok {
			continue
		}
		ch := fmt.Sprintf("speaker-%d", len(channels)+1)
		channels[l.Speaker] = ch
		if _, err := log.Append(bg, ledger.Event{Type: ledger.TypeSpeakerUpdate, Meeting: meeting,
			Speaker: &ledger.SpeakerInfo{ID: ch, Channel: ch, Name: l.Speaker, Role: l.Role}}); err != nil {
			return fmt.Errorf("agent: replay: %w", err)
		}
	}
	commitments := newKeeper(log, meeting, "", time.Now(), nil, nil)
	start := time.Now()
	wait := func(at time.Duration) error {
		return clock.SleepUntil(ctx, start.Add(time.Duration(float64(at)/speed)))
	}
	var err error
	for i, l := range lines {
		ch := channels[l.Speaker]
		seg := ledger.SegmentInfo{ID: fmt.Sprintf("%s-%d", ch, i+1), Channel: ch, Speaker: ch, Role: l.Role,
			StartMS: l.Start.Milliseconds(), Language: "en"}
		words := strings.Fields(l.Text)
		for n := 1; n <= len(words) && err == nil; n++ {
			at := l.Start + (l.End-l.Start)*time.Duration(n)/time.Duration(len(words))
			if err = wait(at); err != nil {
				break
			}
			if n < len(words) {
				p := seg
				p.EndMS, p.Text = at.Milliseconds(), strings.Join(words[:n], " ")
				if perr := log.Publish(ledger.Event{Type: ledger.TypeSegmentPartial, Meeting: meeting, Segment: &p}); perr != nil {
					err = perr
				}
			}
		}
		if err != nil {
			break
		}
		seg.EndMS, seg.Text = l.End.Milliseconds(), l.Text
		if _, err = log.Append(bg, ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: meeting, Segment: &seg}); err != nil {
			break
		}
		if err = commitments.record(bg, &seg, Speaker{Name: l.Speaker, Role: l.Role}); err != nil {
			break
		}
	}
	reason := "replay ended"
	if err != nil {
		reason = "replay stopped"
	}
	if _, serr := log.Append(bg, ledger.Event{Type: ledger.TypeMeetingState, Meeting: meeting, State: ledger.MeetingStopped, Reason: reason}); serr != nil {
		return fmt.Errorf("agent: replay: %w", serr)
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}
