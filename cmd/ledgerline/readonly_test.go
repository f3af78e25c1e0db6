package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// writeMeetingDB records the replayed call of the ledger's conformance suite (meeting "m", of deal
// "acme-data") in a new database at path, and closes it.
func writeMeetingDB(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "ledger", "storetest", "testdata", "session.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ledger.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.CreateDeal(ctx, ledger.Deal{ID: "acme-data", Name: "Acme data platform", Account: "Acme", Vendor: "Dataflow", Partner: "Northwind"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMeeting(ctx, ledger.Meeting{ID: "m", DealID: "acme-data", Title: "Kick-off",
		StartedAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Timezone: "UTC", Language: "en"}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e ledger.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReportsOnReadOnlyDatabase: recap and the deal report read a database the user may only read,
// on read-only media where the test does not run as root, without changing it.
func TestReportsOnReadOnlyDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "archive")
	db := filepath.Join(dir, "meetings.db")
	writeMeetingDB(t, db)
	if err := os.Chmod(db, 0o444); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// Root writes whatever the permissions say; the read-only file's mode is all that is tested then.
		t.Log("running as root: the directory is left writable, as its permissions would not stop root")
	} else {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) }) // so that the temporary directory can be removed
	}
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}

	if code, out, errOut := ledgerline(t, "recap", "m", "--db", db); code != 0 || !strings.HasPrefix(out, "#") {
		t.Errorf("recap: exit %d, %q, %q", code, out[:min(len(out), 80)], errOut)
	}
	if code, out, errOut := ledgerline(t, "recap", "m", "--db", db, "--format", "vtt"); code != 0 || !strings.HasPrefix(out, "WEBVTT") {
		t.Errorf("vtt export: exit %d, %q", code, errOut)
	}
	if code, out, errOut := ledgerline(t, "ledger", "--deal", "acme-data", "--db", db, "--format", "json"); code != 0 || !strings.Contains(out, `"m"`) {
		t.Errorf("deal report: exit %d, %q, %q", code, out, errOut)
	}

	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("reading the database changed it")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("the database's directory holds %v after reading, want only meetings.db", names)
	}
}
