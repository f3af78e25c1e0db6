package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ledgerline/ledgerline/ledger"
)

// mcpDB records a meeting with one open commitment into a laptop's database file, as `ledgerline
// run` does: no organisations, nothing shared.
func mcpDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledgerline.db")
	st, err := ledger.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := ledger.WithActor(context.Background(), "detector")
	if err := st.CreateMeeting(ctx, ledger.Meeting{ID: "kickoff", Title: "Acme kickoff", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	seg := ledger.SegmentInfo{ID: "mic-1", Channel: "mic", Speaker: "spk-ana", Text: "I'll send Acme the pricing by Friday.", EndMS: 3000}
	for _, e := range []ledger.Event{
		{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "spk-ana", Channel: "mic", Name: "Ana", Org: "Dataflow"}},
		{Type: ledger.TypeSegmentFinal, Segment: &seg},
		{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c-1", What: "send the pricing", Owner: "Ana",
			Beneficiary: "Acme", Status: ledger.StatusOpen, Quote: seg.Text, SegmentIDs: []string{seg.ID}}},
	} {
		e.Meeting = "kickoff"
		if _, err := st.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// `ledgerline mcp --db FILE` serves a laptop's own database on stdin and stdout to the SDK's own
// client, as the local user, who sees every meeting of it; marking a commitment done is recorded
// under the name given with --me; the command ends, exit 0, when the client goes.
func TestMCPStdio(t *testing.T) {
	path := mcpDB(t)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr bytes.Buffer
	exit := make(chan int, 1)
	go func() {
		code := run(context.Background(), []string{"mcp", "--db", path, "--me", "Ana Lima"}, inR, outW, &stderr)
		_ = outW.Close()
		exit <- code
	}()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test-assistant", Version: "1"}, nil).
		Connect(context.Background(), &mcp.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if init := cs.InitializeResult(); init.ServerInfo.Name != "ledgerline" || init.ServerInfo.Version == "" {
		t.Errorf("server info %+v", init.ServerInfo)
	}
	callJSON := func(tool string, args map[string]any) string {
		t.Helper()
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
		if err != nil || res.IsError {
			t.Fatalf("%s: %v, %+v", tool, err, res)
		}
		b, _ := json.Marshal(res.StructuredContent)
		return string(b)
	}
	if got := callJSON("list_meetings", nil); !strings.Contains(got, `"id":"kickoff"`) {
		t.Errorf("list_meetings = %s; want the laptop's meeting", got)
	}
	if got := callJSON("list_commitments", map[string]any{"owner": "ana"}); !strings.Contains(got, `"id":"c-1"`) {
		t.Errorf("list_commitments = %s; want Ana's commitment", got)
	}
	if got := callJSON("mark_commitment_done", map[string]any{"meeting": "kickoff", "commitment": "c-1"}); !strings.Contains(got, `"status":"done"`) {
		t.Errorf("mark_commitment_done = %s", got)
	}
	if err := cs.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	_ = inW.Close()
	if code := <-exit; code != 0 {
		t.Errorf("exit %d when the client went, stderr %q; want 0", code, stderr.String())
	}

	st, err := ledger.OpenSQLite(path, ledger.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events, err := st.Since(context.Background(), "kickoff", 0)
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.Type != ledger.TypeCommitmentUpsert || last.By != "Ana Lima" || last.Commitment.Status != ledger.StatusDone {
		t.Errorf("the edit was recorded as %+v; want a commitment.upsert by \"Ana Lima\"", last)
	}
}

// Its help is on stdout with exit 0; mistakes are usage errors; a database that does not exist is
// named, with what to do.
func TestMCPHelpAndErrors(t *testing.T) {
	for _, args := range [][]string{{"help", "mcp"}, {"mcp", "--help"}, {"mcp", "-h"}} {
		code, out, errOut := ledgerline(t, args...)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "Usage: ledgerline mcp") || !strings.Contains(out, "--db") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want mcp's help on stdout", args, code, out, errOut)
		}
	}
	if code, out, _ := ledgerline(t, "help"); code != 0 || !strings.Contains(out, "  mcp ") {
		t.Errorf("the command list does not name mcp: %q", out)
	}
	for _, args := range [][]string{{"mcp", "extra"}, {"mcp", "--bogus"}, {"mcp", "--me", "a\u202eb"}} {
		if code, out, errOut := ledgerline(t, args...); code != 2 || out != "" || errOut == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want a usage error", args, code, out, errOut)
		}
	}
	missing := filepath.Join(t.TempDir(), "none.db")
	if code, _, errOut := ledgerline(t, "mcp", "--db", missing); code != 1 || !strings.Contains(errOut, "ledgerline run") {
		t.Errorf("a database that does not exist: exit %d, %q; want 1, saying how to make one", code, errOut)
	}
}
