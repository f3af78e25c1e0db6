package recap

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/internal/recordtest"
	"github.com/ledgerline/ledgerline/ledger"
)

func TestCaptureProblemsPairEachProblemWithItsEnd(t *testing.T) {
	got := captureProblems([]ledger.CaptureInfo{
		{Channel: "system", Problem: ledger.CaptureSilent, Message: "silent", AtMS: 60000},
		{Channel: "mic", Problem: ledger.CaptureClipping, Message: "clips", AtMS: 61000},
		{Channel: "system", Problem: ledger.CaptureStalled, Message: "stalled", AtMS: 70000}, // ends the silence
		{Channel: "mic", Message: "well", AtMS: 80000},
	})
	want := []CaptureProblem{
		{Channel: "system", Problem: ledger.CaptureSilent, Message: "silent", FromMS: 60000, ToMS: 70000},
		{Channel: "mic", Problem: ledger.CaptureClipping, Message: "clips", FromMS: 61000, ToMS: 80000},
		{Channel: "system", Problem: ledger.CaptureStalled, Message: "stalled", FromMS: 70000}, // to the end
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("capture problems %+v, want %+v", got, want)
	}
}

func TestRecapShowsCaptureProblems(t *testing.T) {
	st := recordtest.Seed(t)
	ctx := context.Background()
	const warning = "No call audio for 60 s — is the meeting playing through another device?"
	if _, err := st.Append(ctx, ledger.Event{Type: ledger.TypeCaptureHealth, Meeting: recordtest.Kickoff,
		Capture: &ledger.CaptureInfo{Channel: "system", Problem: ledger.CaptureSilent, Message: warning, AtMS: 60000}}); err != nil {
		t.Fatal(err)
	}
	r, err := Build(ctx, st, recordtest.Kickoff)
	if err != nil {
		t.Fatal(err)
	}
	var md, html bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "## Capture problems") || !strings.Contains(md.String(), "- system, from 1:00: "+warning) {
		t.Errorf("Markdown recap lacks the capture problem:\n%s", md.String())
	}
	if !strings.Contains(html.String(), `id="capture-problems"`) || !strings.Contains(html.String(), "system, from 1:00: "+warning) {
		t.Errorf("HTML recap lacks the capture problem")
	}
}
