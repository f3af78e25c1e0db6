package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/ledger"
)

func TestReplayTranscriptShowsEveryLineInOrder(t *testing.T) {
	lines, err := SampleCallTranscript()
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) < 5 || len(SampleCallWAV()) < 44 {
		t.Fatalf("sample call has %d lines and %d bytes of audio", len(lines), len(SampleCallWAV()))
	}
	log := ledger.NewMemLog()
	defer log.Close()
	sub := log.Subscribe("demo", 4096)
	defer sub.Close()
	if err := ReplayTranscript(context.Background(), log, "demo", lines, 1000); err != nil {
		t.Fatal(err)
	}
	stored, err := log.Since(context.Background(), "demo", 0)
	if err != nil {
		t.Fatal(err)
	}
	if stored[0].State != ledger.MeetingRecording || !strings.Contains(stored[0].Reason, "replay") {
		t.Errorf("first event %+v does not label the meeting as a replay", stored[0])
	}
	var finals []string
	names := map[string]string{}
	owners := map[string]int{}
	for _, e := range stored {
		switch e.Type {
		case ledger.TypeCommitmentUpsert:
			if e.Commitment.Due != "" {
				owners[e.Commitment.Owner]++
			}
		case ledger.TypeSpeakerUpdate:
			names[e.Speaker.ID] = e.Speaker.Name
		case ledger.TypeSegmentFinal:
			finals = append(finals, e.Segment.Text)
			if names[e.Segment.Speaker] == "" {
				t.Errorf("final %q has no named speaker", e.Segment.Text)
			}
		}
	}
	if len(finals) != len(lines) {
		t.Fatalf("%d finals for %d lines", len(finals), len(lines))
	}
	for i, l := range lines {
		if finals[i] != l.Text {
			t.Errorf("final %d = %q, want %q", i, finals[i], l.Text)
		}
	}
	// The sample's promises: Dana's architecture by Thursday and pricing by Friday.
	if owners["Dana Whitfield"] < 2 {
		t.Errorf("commitments with a due date by owner %v, want Dana Whitfield's two", owners)
	}
	partials := 0
	for len(sub.C()) > 0 {
		if e := <-sub.C(); e.Type == ledger.TypeSegmentPartial {
			partials++
		}
	}
	if partials == 0 {
		t.Error("no partials: the replay should show words arriving")
	}
}

func TestReplayTranscriptStopsOnCancel(t *testing.T) {
	lines, _ := SampleCallTranscript()
	log := ledger.NewMemLog()
	defer log.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ReplayTranscript(ctx, log, "demo", lines, 1); err != nil {
		t.Fatal(err)
	}
	stored, _ := log.Since(context.Background(), "demo", 0)
	last := stored[len(stored)-1]
	if last.State != ledger.MeetingStopped || last.Reason != "replay stopped" {
		t.Errorf("last event %+v, want the replay recorded as stopped", last)
	}
}
