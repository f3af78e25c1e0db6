package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/ledger"
)

// TestDealRecordFlow creates a deal, records a call of it, and reads the
// record back as a recap, exports and the deal report; the meeting's end is
// announced to a webhook.
func TestDealRecordFlow(t *testing.T) {
	db := filepath.Join(t.TempDir(), "meetings.db")
	hook := make(chan map[string]any, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &body) == nil {
			hook <- body
		}
	}))
	defer receiver.Close()

	code, out, errOut := ledgerline(t, "deal", "create", "--db", db, "--id", "acme-data", "--name", "Acme data platform",
		"--account", "Acme", "--vendor", "Dataflow", "--partner", "Northwind")
	if code != 0 || !strings.Contains(out, "run --deal acme-data") {
		t.Fatalf("deal create: exit %d, %q %q", code, out, errOut)
	}
	code, out, errOut = ledgerline(t, "run", "--input", sample, "--model", testModel(t), "--speed", "max", "--language", "en",
		"--listen", "127.0.0.1:0", "--db", db, "--deal", "acme-data", "--webhook", receiver.URL, "--me", "Dana")
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	// A recording of the whole call has no mic channel: --me is said to name nobody, not ignored.
	if !strings.Contains(errOut, "this recording has no mic channel (call)") {
		t.Errorf("run did not say that --me names nobody in a recording without a mic channel:\n%s", errOut)
	}
	// The deal page's link is whole: where this run serves it, token included.
	if !regexp.MustCompile(`(?m)^deal page: http://127\.0\.0\.1:\d+/d/acme-data\?t=\S+$`).MatchString(out) {
		t.Errorf("run printed no whole link to the deal page:\n%s", out)
	}
	// A deal that does not exist is named, with how to make it.
	for _, args := range [][]string{
		{"run", "--input", sample, "--model", testModel(t), "--listen", "127.0.0.1:0", "--db", db, "--deal", "nosuch"},
		{"ledger", "--deal", "nosuch", "--db", db},
	} {
		if code, _, errOut := ledgerline(t, args...); code != 1 || !strings.Contains(errOut, `no deal "nosuch" in`) || !strings.Contains(errOut, "ledgerline deal create --id nosuch") {
			t.Errorf("%v: exit %d, %q; want 1 and how to create the deal", args[:1], code, errOut)
		}
	}
	m := regexp.MustCompile(`/m/([a-z0-9-]+)\?t=`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no overlay link in %q", out)
	}
	meeting := m[1]
	select {
	case body := <-hook:
		if !strings.Contains(mustJSON(t, body), meeting) {
			t.Errorf("webhook payload does not name the meeting: %v", body)
		}
	default:
		t.Error("the webhook heard nothing about the meeting's end")
	}

	if code, out, errOut = ledgerline(t, "recap", meeting, "--db", db); code != 0 || !strings.HasPrefix(out, "#") {
		t.Errorf("recap: exit %d, %q, %q", code, out[:min(len(out), 80)], errOut)
	}
	if code, out, errOut = ledgerline(t, "recap", meeting, "--db", db, "--format", "html"); code != 0 || !strings.Contains(out, "<html") {
		t.Errorf("recap html: exit %d, %q", code, errOut)
	}
	if code, out, errOut = ledgerline(t, "recap", meeting, "--db", db, "--format", "csv"); code != 0 {
		t.Errorf("csv export: exit %d, %q", code, errOut)
	} else if _, err := csv.NewReader(strings.NewReader(out)).ReadAll(); err != nil {
		t.Errorf("csv export does not parse: %v", err)
	}
	if code, out, errOut = ledgerline(t, "recap", meeting, "--db", db, "--format", "vtt"); code != 0 || !strings.HasPrefix(out, "WEBVTT") {
		t.Errorf("vtt export: exit %d, %q", code, errOut)
	}
	if code, _, errOut = ledgerline(t, "recap", meeting, "--db", db, "--format", "docx"); code != 2 {
		t.Errorf("unknown export: exit %d, %q", code, errOut)
	}
	if code, _, errOut = ledgerline(t, "recap", "nosuchmeeting", "--db", db); code != 1 {
		t.Errorf("unknown meeting: exit %d, %q", code, errOut)
	}
	code, out, errOut = ledgerline(t, "ledger", "--deal", "acme-data", "--db", db, "--format", "json")
	if code != 0 {
		t.Fatalf("deal report: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, meeting) {
		t.Errorf("deal report does not list the recorded meeting %s:\n%s", meeting, out)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A meeting continued twice keeps everything the earlier runs recorded, on one clock: each run's
// segments come after the runs' before it in the transcript, the recap and the exports, and the
// recap's duration covers every run.
func TestContinuedMeetingKeepsEarlierRuns(t *testing.T) {
	db := filepath.Join(t.TempDir(), "meetings.db")
	args := []string{"run", "--input", sample, "--model", testModel(t), "--speed", "max", "--language", "en", "--listen", "127.0.0.1:0", "--db", db}
	code, out, errOut := ledgerline(t, args...)
	if code != 0 {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	meeting := regexp.MustCompile(`/m/([a-z0-9-]+)\?t=`).FindStringSubmatch(out)[1]
	segments := func() []ledger.Segment {
		store, err := ledger.OpenSQLite(db)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		segs, err := store.Segments(context.Background(), meeting)
		if err != nil {
			t.Fatal(err)
		}
		return segs
	}
	first := len(segments())
	if first == 0 {
		t.Fatal("the first run recorded no segments")
	}
	for run := 2; run <= 3; run++ {
		if code, _, errOut = ledgerline(t, append(args, "--meeting", meeting)...); code != 0 {
			t.Fatalf("run %d: exit %d: %s", run, code, errOut)
		}
	}
	segs := segments()

	// The runs' IDs tell them apart: "r2-…" and "r3-…" for the later ones.
	runOf := func(id string) int {
		if strings.HasPrefix(id, "r") && len(id) > 2 && id[2] == '-' {
			return int(id[1] - '0')
		}
		return 1
	}
	run, runEnd, started, kept := 1, int64(0), map[int]int64{1: 0}, 0
	for _, g := range segs {
		r := runOf(g.ID)
		if r == 1 {
			kept++
		}
		if r < run {
			t.Fatalf("segment %s (%d ms) of run %d comes after run %d's in the transcript", g.ID, g.StartMS, r, run)
		}
		if r > run {
			if g.StartMS <= runEnd {
				t.Errorf("run %d starts at %d ms, before run %d ended at %d ms", r, g.StartMS, run, runEnd)
			}
			run, started[r] = r, g.StartMS
		}
		runEnd = max(runEnd, g.EndMS)
	}
	if kept != first {
		t.Errorf("%d of the first run's %d segments left after continuing the meeting: a later run replaced them", kept, first)
	}
	if len(started) != 3 || run != 3 {
		t.Fatalf("segments of runs %v, the last of run %d: want each of three runs', the last run's last", started, run)
	}

	if code, out, errOut = ledgerline(t, "recap", meeting, "--db", db, "--format", "vtt"); code != 0 {
		t.Fatalf("vtt export: exit %d, %q", code, errOut)
	}
	var cues []string
	for _, block := range strings.Split(out, "\n\n")[1:] {
		cues = append(cues, strings.SplitN(block, "\n", 2)[0])
	}
	if len(cues) != len(segs) {
		t.Fatalf("%d cues for %d segments:\n%s", len(cues), len(segs), out)
	}
	for i, id := range cues {
		if id != segs[i].ID {
			t.Fatalf("cue %d is %s, segment %s in the transcript:\n%s", i, id, segs[i].ID, out)
		}
	}

	if code, out, errOut = ledgerline(t, "recap", meeting, "--db", db, "--format", "txt"); code != 0 {
		t.Fatalf("txt export: exit %d, %q", code, errOut)
	}
	stamps := regexp.MustCompile(`(?m)^\[(\d\d):(\d\d):(\d\d)\] `).FindAllStringSubmatch(out, -1)
	if len(stamps) != len(segs) {
		t.Fatalf("%d transcript lines for %d segments:\n%s", len(stamps), len(segs), out)
	}
	for i, m := range stamps {
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		sec, _ := strconv.Atoi(m[3])
		if got := int64(h*3600+mi*60+sec) * 1000; got != segs[i].StartMS/1000*1000 {
			t.Fatalf("line %d of the text export at %s, its segment %s starts at %d ms:\n%s", i, m[0], segs[i].ID, segs[i].StartMS, out)
		}
	}

	if code, out, errOut = ledgerline(t, "recap", meeting, "--db", db); code != 0 {
		t.Fatalf("recap: exit %d, %q", code, errOut)
	}
	if want := "Duration: " + detect.FormatClock(runEnd); !strings.Contains(out, want) || runEnd <= started[3] {
		t.Errorf("recap without %q, the end of the third run (started at %d ms):\n%s", want, started[3], out)
	}
}
