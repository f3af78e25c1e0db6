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
	"strings"
	"testing"

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
	if code != 0 || !strings.Contains(out, "/d/acme-data?t=") {
		t.Fatalf("deal create: exit %d, %q %q", code, out, errOut)
	}
	code, out, errOut = ledgerline(t, "run", "--input", sample, "--model", testModel(t), "--speed", "max", "--language", "en",
		"--listen", "127.0.0.1:0", "--db", db, "--deal", "acme-data", "--webhook", receiver.URL)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
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

// A meeting continued by a later run keeps everything the earlier run recorded.
func TestContinuedMeetingKeepsEarlierRuns(t *testing.T) {
	db := filepath.Join(t.TempDir(), "meetings.db")
	args := []string{"run", "--input", sample, "--model", testModel(t), "--speed", "max", "--language", "en", "--listen", "127.0.0.1:0", "--db", db}
	code, out, errOut := ledgerline(t, args...)
	if code != 0 {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	meeting := regexp.MustCompile(`/m/([a-z0-9-]+)\?t=`).FindStringSubmatch(out)[1]
	count := func() int {
		store, err := ledger.OpenSQLite(db)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		segs, err := store.Segments(context.Background(), meeting)
		if err != nil {
			t.Fatal(err)
		}
		return len(segs)
	}
	first := count()
	if first == 0 {
		t.Fatal("the first run recorded no segments")
	}
	if code, _, errOut = ledgerline(t, append(args, "--meeting", meeting)...); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, errOut)
	}
	if second := count(); second < 2*first-2 {
		t.Errorf("%d segments after continuing a meeting that had %d: the second run replaced the first's", second, first)
	}
}
