package ledger

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestSQLiteStoreEventsAppendOnly: the log's table refuses changes to what was stored.
func TestSQLiteStoreEventsAppendOnly(t *testing.T) {
	s, path := openStore(t)
	if _, err := s.Append(context.Background(), final("m", "s1", "x")); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	if _, err := db.Exec(`UPDATE events SET json = '{}'`); err == nil {
		t.Error("an event was updated")
	}
	if _, err := db.Exec(`DELETE FROM events`); err == nil {
		t.Error("an event was deleted")
	}
}

// TestSQLiteStoreMigratesCurrentState: a database written before the current-state columns
// existed gets them filled in from its log.
func TestSQLiteStoreMigratesCurrentState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledgerline.db")
	db := rawDB(t, path)
	v1, err := migrationFiles.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(v1)); err != nil {
		t.Fatal(err)
	}
	const at = "2026-03-02T15:00:00Z"
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
		INSERT INTO schema_migrations VALUES (1, '0001_init', ?);
		INSERT INTO meetings (id, started_at, created_at, state, last_seq) VALUES ('m', ?, ?, 'recording', 4)`, at, at, at); err != nil {
		t.Fatal(err)
	}
	events := []Event{
		{Type: TypeMeetingState, State: MeetingRecording, Reason: ReasonStarted},
		{Type: TypeSpeakerUpdate, Speaker: &SpeakerInfo{ID: "declined-eve", Name: "Eve", Consent: "declined"}},
		{Type: TypeMeetingState, State: MeetingStopped, Reason: "stopped"},
		{Type: TypeMeetingState, State: MeetingRecording, Reason: ReasonStarted},
	}
	for i, e := range events {
		e.V, e.Meeting, e.Seq = SchemaVersion, "m", int64(i+1)
		body, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO events (meeting_id, seq, type, at, json) VALUES ('m', ?, ?, ?, ?)`, e.Seq, string(e.Type), at, string(body)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO participants (meeting_id, speaker_id, name, seq) VALUES ('m', 'declined-eve', 'Eve', 2)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if n, err := s.Runs(ctx, "m"); n != 2 || err != nil {
		t.Errorf("runs after the migration: %d, %v; want 2", n, err)
	}
	if st, err := s.LastState(ctx, "m"); err != nil || st.Seq != 4 || st.State != MeetingRecording {
		t.Errorf("state after the migration: %+v, %v; want the start at seq 4", st, err)
	}
	if sp, err := s.Speaker(ctx, "m", "declined-eve"); err != nil || sp.Consent != "declined" {
		t.Errorf("declined participant after the migration: %+v, %v", sp, err)
	}
}

func TestParseRole(t *testing.T) {
	for in, want := range map[string]Role{"vendor": RoleVendor, "partner": RolePartner, "buyer": RoleBuyer,
		"other": RoleOther, "Partner": RolePartner, " BUYER ": RoleBuyer} {
		if got, err := ParseRole(in); got != want || err != nil {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "bogus", "Northwind", "vendors"} {
		_, err := ParseRole(in)
		if err == nil || !strings.Contains(err.Error(), "use vendor, partner, buyer or other") {
			t.Errorf("ParseRole(%q) = %v; want an error naming the four roles", in, err)
		}
	}
}

func TestDealOrgOf(t *testing.T) {
	d := Deal{Account: "Fabrikam", Vendor: "Contoso", Partner: "Northwind"}
	for r, want := range map[Role]string{RoleVendor: "Contoso", RolePartner: "Northwind", RoleBuyer: "Fabrikam", RoleOther: "", "": ""} {
		if got := d.OrgOf(r); got != want {
			t.Errorf("OrgOf(%q) = %q, want %q", r, got, want)
		}
		if want != "" && d.RoleOf(d.OrgOf(r)) != r {
			t.Errorf("RoleOf(OrgOf(%q)) = %q", r, d.RoleOf(d.OrgOf(r)))
		}
	}
}
