package server

import (
	"slices"
	"testing"

	"github.com/ledgerline/ledgerline/ledger"
)

func TestCoalesceKeepsStoredEventsAndTheLatestOfEachStaleOne(t *testing.T) {
	msg := func(name string, e ledger.Event) outMsg {
		return outMsg{seq: e.Seq, stored: e.Type.Stored(), data: []byte(name), supersedes: supersedeKey(e)}
	}
	partial := func(seg, name string) outMsg {
		return msg(name, ledger.Event{Type: ledger.TypeSegmentPartial, Seq: 4, Segment: &ledger.SegmentInfo{ID: seg}})
	}
	level := func(ch, name string) outMsg {
		return msg(name, ledger.Event{Type: ledger.TypeCaptureLevel, Seq: 4, Capture: &ledger.CaptureInfo{Channel: ch}})
	}
	batch := []outMsg{
		partial("s1", "s1 partial 1"),
		level("mic", "mic level 1"),
		partial("s2", "s2 partial 1"),
		partial("s1", "s1 partial 2"),
		msg("s1 final", ledger.Event{Type: ledger.TypeSegmentFinal, Seq: 5, Segment: &ledger.SegmentInfo{ID: "s1"}}),
		msg("rename", ledger.Event{Type: ledger.TypeSpeakerUpdate, Seq: 6, Speaker: &ledger.SpeakerInfo{ID: "a"}}),
		level("system", "system level 1"),
		level("mic", "mic level 2"),
		msg("rename again", ledger.Event{Type: ledger.TypeSpeakerUpdate, Seq: 7, Speaker: &ledger.SpeakerInfo{ID: "a"}}),
	}
	var got []string
	for _, m := range coalesce(batch) {
		got = append(got, string(m.data))
	}
	want := []string{"s2 partial 1", "s1 final", "rename", "system level 1", "mic level 2", "rename again"}
	if !slices.Equal(got, want) {
		t.Errorf("coalesced to %q, want %q", got, want)
	}
	one := []outMsg{partial("s1", "alone")}
	if got := coalesce(one); len(got) != 1 {
		t.Errorf("a single message coalesced to %d", len(got))
	}
}
