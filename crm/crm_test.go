package crm_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/crm"
	"github.com/ledgerline/ledgerline/followup"
	"github.com/ledgerline/ledgerline/internal/pgtest"
	"github.com/ledgerline/ledgerline/ledger"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, nil)) }

// testStore is a real store as the team server has it.
type testStore interface {
	crm.Store
	followup.Store
	ledger.Store
	ledger.Team
	EditCommitment(ctx context.Context, meeting, id string, edit ledger.CommitmentEdit, by string) (ledger.Event, error)
}

var (
	_ testStore = (*ledger.SQLiteStore)(nil)
	_ testStore = (*ledger.PostgresStore)(nil)
)

// sqlite opens a store in a new file, closed at the end of the test.
func sqlite(t *testing.T) *ledger.SQLiteStore {
	t.Helper()
	s, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledgerline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// stores runs a test on SQLite and on PostgreSQL (skipped where it is not installed, unless
// LEDGERLINE_REQUIRE_POSTGRES=1).
func stores(t *testing.T, run func(t *testing.T, s testStore)) {
	t.Run("sqlite", func(t *testing.T) { run(t, sqlite(t)) })
	t.Run("postgres", func(t *testing.T) {
		s, err := ledger.OpenPostgres(t.Context(), pgtest.Shared(t).NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		run(t, s)
	})
}

const (
	secret      = "pat-na1-0f3c-secret-token"
	hubSpotDeal = "9001"
	opportunity = "006000000000001AAA"
)

// view is a note or task in either fake, in common words.
type view struct{ ID, Record, Title, Body, Status, Due string }

// crmFake is a fake CRM as a test drives it.
type crmFake interface {
	notes() []view
	tasks() []view
	count(call string) int
	total() int
	fail(method, path string, status int, retryAfter string, times int)
	remove(id string)
}

// provider is one CRM under test: how to start its fake, and its words for what is pushed.
type provider struct {
	name       ledger.CRMProvider
	record     string
	start      func(t *testing.T, token string) (crmFake, *http.Client, string)
	open, done string                   // a task's status, open and done
	due        func(date string) string // a task's due, for a date
	createTask string                   // the path of a task's create
	find       string                   // the call that looks for a cut-short create
}

var providers = []provider{
	{
		name: ledger.CRMHubSpot, record: hubSpotDeal,
		start: func(t *testing.T, token string) (crmFake, *http.Client, string) {
			f := newFakeHubSpot(t, token, hubSpotDeal)
			return hubSpotView{f}, f.Client(), f.URL
		},
		open: "NOT_STARTED", done: "COMPLETED",
		due:        func(d string) string { return d + "T16:00:00Z" }, // 17:00 in Madrid in December
		createTask: "/crm/v3/objects/tasks", find: "POST /crm/v3/objects/notes/search",
	},
	{
		name: ledger.CRMSalesforce, record: opportunity,
		start: func(t *testing.T, token string) (crmFake, *http.Client, string) {
			f := newFakeSalesforce(t, token, opportunity)
			return salesforceView{f}, f.Client(), f.URL
		},
		open: "Not Started", done: "Completed",
		due:        func(d string) string { return d },
		createTask: sfBase + "sobjects/Task", find: "GET " + sfBase + "query",
	},
}

type hubSpotView struct{ *fakeHubSpot }

func (h hubSpotView) notes() []view {
	var out []view
	for _, o := range h.list("notes") {
		out = append(out, view{ID: o.ID, Record: strings.Join(o.Deals, ","), Body: o.Properties["hs_note_body"], Due: o.Properties["hs_timestamp"]})
	}
	return out
}

func (h hubSpotView) tasks() []view {
	var out []view
	for _, o := range h.list("tasks") {
		p := o.Properties
		out = append(out, view{ID: o.ID, Record: strings.Join(o.Deals, ","), Title: p["hs_task_subject"], Body: p["hs_task_body"],
			Status: p["hs_task_status"], Due: p["hs_timestamp"]})
	}
	return out
}

func (f *fakeCRM) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

type salesforceView struct{ *fakeSalesforce }

func (s salesforceView) notes() []view {
	links := map[string][]string{}
	for _, l := range s.list("ContentDocumentLink") {
		id := l.Fields["ContentDocumentId"].(string)
		links[id] = append(links[id], l.Fields["LinkedEntityId"].(string))
	}
	var out []view
	for _, n := range s.list("ContentNote") {
		body, _ := base64.StdEncoding.DecodeString(n.Fields["Content"].(string))
		out = append(out, view{ID: n.ID, Record: strings.Join(links[n.ID], ","), Title: n.Fields["Title"].(string), Body: string(body)})
	}
	return out
}

func (s salesforceView) tasks() []view {
	var out []view
	for _, r := range s.list("Task") {
		due, _ := r.Fields["ActivityDate"].(string)
		out = append(out, view{ID: r.ID, Record: r.Fields["WhatId"].(string), Title: r.Fields["Subject"].(string),
			Body: r.Fields["Description"].(string), Status: r.Fields["Status"].(string), Due: due})
	}
	return out
}

func newKeyring(t *testing.T) *crm.Keyring {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	k, err := crm.NewKeyring(key, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// seed records a stopped meeting of a deal owned by Contoso, whose CRM is p's with token, and
// whose record is record: two asserted commitments (one due on 10 December) and a possible one.
func seed(t *testing.T, s testStore, keys *crm.Keyring, p provider, instance, token, record string) {
	t.Helper()
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateOrg(ctx, ledger.Org{ID: "contoso", Name: "Contoso"}))
	must(s.CreateDeal(ctx, ledger.Deal{ID: "d1", Name: "Fabrikam ERP", Account: "Fabrikam", Vendor: "Contoso"}))
	must(s.SetDealOwner(ctx, "d1", "contoso"))
	must(s.SetDealCRM(ctx, "d1", record))
	sealed, err := keys.Seal("contoso", token)
	must(err)
	if p.name == ledger.CRMHubSpot {
		instance = ""
	}
	must(s.SetOrgCRM(ctx, ledger.OrgCRM{OrgID: "contoso", Provider: p.name, InstanceURL: instance, SealedToken: sealed}))
	must(s.CreateMeeting(ctx, ledger.Meeting{ID: "m1", DealID: "d1", Title: "Discovery call", Timezone: "Europe/Madrid",
		StartedAt: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}))
	for _, e := range []ledger.Event{
		{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: "s1", Channel: "mic", Name: "Ravi Menon", Org: "Contoso"}},
		{Type: ledger.TypeSegmentFinal, Segment: &ledger.SegmentInfo{ID: "g1", Channel: "mic", Speaker: "s1", Org: "Contoso",
			StartMS: 1000, EndMS: 5000, Text: "I'll send the integration architecture by Thursday."}},
		{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c1", What: "send the integration architecture",
			Owner: "Ravi Menon", OwnerOrg: "Contoso", Due: "2026-12-10", DuePhrase: "by Thursday", Status: ledger.StatusOpen,
			Confidence: 0.9, Quote: "I'll send the integration architecture by Thursday.", SegmentIDs: []string{"g1"}, StartMS: 1000}},
		{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c2", What: "share the security checklist",
			Owner: "Contoso", Contact: "Ravi Menon", Status: ledger.StatusOpen, Confidence: 0.8, StartMS: 2000}},
		{Type: ledger.TypeCommitmentUpsert, Commitment: &ledger.CommitmentInfo{ID: "c3", What: "maybe look at pricing",
			Owner: "Contoso", Status: ledger.StatusOpen, Confidence: 0.3, StartMS: 3000}},
		{Type: ledger.TypeMeetingState, State: ledger.MeetingStopped, Reason: "user"},
	} {
		e.Meeting = "m1"
		_, err := s.Append(ctx, e)
		must(err)
	}
}

// rig is a fake CRM and the meeting seed put on it.
type rig struct {
	f    crmFake
	hc   *http.Client // trusts the fake's certificate
	base string
	keys *crm.Keyring
}

// setUp starts p's fake, which accepts secret, and seeds s with the meeting, its deal's record and
// its owner's CRM with token.
func setUp(t *testing.T, s testStore, p provider, token, record string) rig {
	t.Helper()
	f, hc, base := p.start(t, secret)
	r := rig{f: f, hc: hc, base: base, keys: newKeyring(t)}
	seed(t, s, r.keys, p, base, token, record)
	return r
}

func (r rig) pusher(t *testing.T, s crm.Store, log *bytes.Buffer) *crm.Pusher {
	t.Helper()
	cfg := crm.Config{Store: s, Keys: r.keys, HTTP: r.hc, HubSpotURL: r.base, Backoff: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond},
		RecapURL: func(m ledger.Meeting) string { return "https://ledgerline.example/m/" + m.ID + "/recap" }}
	if log != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := crm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pushes returns the meeting's crm.push events.
func pushes(t *testing.T, s testStore) []ledger.CRMPush {
	t.Helper()
	events, err := s.Since(t.Context(), "m1", 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []ledger.CRMPush
	for _, e := range events {
		if e.Type == ledger.TypeCRMPush {
			out = append(out, *e.CRM)
		}
	}
	return out
}

func lastPush(t *testing.T, s testStore) ledger.CRMPush {
	t.Helper()
	all := pushes(t, s)
	if len(all) == 0 {
		t.Fatal("no crm.push event on the meeting's log")
	}
	return all[len(all)-1]
}

func byTitle(vs []view) map[string]view {
	m := map[string]view{}
	for _, v := range vs {
		m[v.Title] = v
	}
	return m
}

// A first push makes one note and a task per asserted commitment on the deal's record; a push
// after an edit (done, due moved) updates them and makes nothing; a push with nothing changed
// sends nothing.
func TestPushCreatesThenUpdates(t *testing.T) {
	for _, p := range providers {
		t.Run(string(p.name), func(t *testing.T) {
			stores(t, func(t *testing.T, s testStore) {
				r := setUp(t, s, p, secret, p.record)
				f := r.f
				pusher := r.pusher(t, s, nil)
				if err := pusher.Push(t.Context(), "m1"); err != nil {
					t.Fatal(err)
				}
				notes, tasks := f.notes(), byTitle(f.tasks())
				if len(notes) != 1 || len(tasks) != 2 {
					t.Fatalf("first push made %d notes and %d tasks, want 1 and 2 (a possible commitment waits): %+v", len(notes), len(tasks), tasks)
				}
				if n := notes[0]; n.Record != p.record || !strings.Contains(n.Body, "Discovery call") ||
					!strings.Contains(n.Body, "send the integration architecture") || !strings.Contains(n.Body, "/m/m1/recap") {
					t.Errorf("note = %+v; want the recap on %s", n, p.record)
				}
				c1 := tasks["send the integration architecture"]
				if c1.Record != p.record || c1.Status != p.open || c1.Due != p.due("2026-12-10") || !strings.Contains(c1.Body, "Ravi Menon") {
					t.Errorf("task = %+v; want it open, due %s, on %s", c1, p.due("2026-12-10"), p.record)
				}
				if got := lastPush(t, s); got != (ledger.CRMPush{Provider: p.name, Record: p.record, Created: 3}) {
					t.Errorf("crm.push = %+v, want 3 created", got)
				}

				done, due := ledger.StatusDone, "2026-12-11"
				if _, err := s.EditCommitment(t.Context(), "m1", "c1", ledger.CommitmentEdit{Status: &done, Due: &due}, "Dana"); err != nil {
					t.Fatal(err)
				}
				creates := f.count("POST " + p.createTask)
				if err := pusher.Push(t.Context(), "m1"); err != nil {
					t.Fatal(err)
				}
				after := byTitle(f.tasks())
				if len(f.notes()) != 1 || len(after) != 2 || f.count("POST "+p.createTask) != creates {
					t.Fatalf("a push after an edit made something: %d notes, %+v", len(f.notes()), after)
				}
				if c := after["send the integration architecture"]; c.ID != c1.ID || c.Status != p.done || c.Due != p.due("2026-12-11") {
					t.Errorf("edited task = %+v; want %s done, due %s", c, c1.ID, p.due("2026-12-11"))
				}
				if got := lastPush(t, s); got != (ledger.CRMPush{Provider: p.name, Record: p.record, Updated: 2, Unchanged: 1}) {
					t.Errorf("crm.push = %+v, want the note and one task updated, one task unchanged", got)
				}

				calls := f.total()
				if err := pusher.Push(t.Context(), "m1"); err != nil {
					t.Fatal(err)
				}
				if f.total() != calls {
					t.Errorf("a push with nothing changed sent %d requests", f.total()-calls)
				}
				if got := lastPush(t, s); got.Unchanged != 3 || got.Created+got.Updated+got.Failed != 0 {
					t.Errorf("crm.push = %+v, want 3 unchanged", got)
				}
			})
		})
	}
}

// A CRM that answers 429 with Retry-After, or 503, is asked again after the wait; the push then
// goes through, making each thing once.
func TestPushRetriesBusyCRM(t *testing.T) {
	for _, p := range providers {
		t.Run(string(p.name), func(t *testing.T) {
			s := sqlite(t)
			r := setUp(t, s, p, secret, p.record)
			f := r.f
			f.fail(http.MethodPost, p.createTask, http.StatusTooManyRequests, "1", 1)
			f.fail(http.MethodPost, p.createTask, http.StatusServiceUnavailable, "", 1)
			if err := r.pusher(t, s, nil).Push(t.Context(), "m1"); err != nil {
				t.Fatal(err)
			}
			if n := len(f.tasks()); n != 2 {
				t.Errorf("%d tasks after the retries, want 2", n)
			}
			if got := lastPush(t, s); got.Created != 3 || got.Failed != 0 {
				t.Errorf("crm.push = %+v, want 3 created, none failed", got)
			}
		})
	}
}

// crashingStore loses the record of the first create it is told of, as a process that died between
// the CRM's answer and recording it would.
type crashingStore struct {
	testStore
	crashes int
}

func (c *crashingStore) FinishCRMItem(ctx context.Context, it ledger.CRMItem) error {
	if c.crashes > 0 {
		c.crashes--
		return errors.New("the process died")
	}
	return c.testStore.FinishCRMItem(ctx, it)
}

// A push cut short between a create and recording its ID fails, for the follow-up to be tried
// again; the next push finds what the first made, by its reference, and makes it no second time.
func TestPushAfterCrashFindsWhatWasMade(t *testing.T) {
	for _, p := range providers {
		t.Run(string(p.name), func(t *testing.T) {
			stores(t, func(t *testing.T, s testStore) {
				r := setUp(t, s, p, secret, p.record)
				f := r.f
				crashing := &crashingStore{testStore: s, crashes: 1}
				if err := r.pusher(t, crashing, nil).Push(t.Context(), "m1"); err == nil {
					t.Fatal("Push with a store that failed = nil, want its error")
				}
				if len(f.notes()) != 1 {
					t.Fatalf("the cut-short push made %d notes, want 1", len(f.notes()))
				}
				if err := r.pusher(t, s, nil).Push(t.Context(), "m1"); err != nil {
					t.Fatal(err)
				}
				notes := f.notes()
				if len(notes) != 1 || len(f.tasks()) != 2 || notes[0].Record != p.record {
					t.Errorf("after the second push: %+v notes, %d tasks; want 1 note on %s and 2 tasks", notes, len(f.tasks()), p.record)
				}
				if f.count(p.find) == 0 {
					t.Error("the second push did not look for what the first made")
				}
				if got := lastPush(t, s); got.Created != 2 || got.Updated != 1 || got.Failed != 0 {
					t.Errorf("crm.push = %+v, want the tasks created and the note found and updated", got)
				}
			})
		})
	}
}

// What the CRM refuses (a wrong token, a record it does not have) is said on the meeting's log,
// with what to do; the push itself succeeds, so that the follow-up is done, and the token is in no
// log line.
func TestPushRefusedIsOnTheLog(t *testing.T) {
	for _, p := range providers {
		for _, tc := range []struct {
			name, token, record, want string
		}{
			{"wrong token", "an-old-token", p.record, "refused the token"},
			{"unknown record", secret, "006000000000099AAA", "400"},
		} {
			t.Run(string(p.name)+"/"+tc.name, func(t *testing.T) {
				s := sqlite(t)
				r := setUp(t, s, p, tc.token, tc.record)
				f := r.f
				var log bytes.Buffer
				if err := r.pusher(t, s, &log).Push(t.Context(), "m1"); err != nil {
					t.Fatal(err)
				}
				got := lastPush(t, s)
				if got.Failed != 3 || got.Created != 0 || !strings.Contains(got.Error, tc.want) {
					t.Errorf("crm.push = %+v; want 3 failed, saying %q", got, tc.want)
				}
				// A Salesforce note is made before its link to the record: one the link was
				// refused for shows on no record.
				for _, n := range f.notes() {
					if n.Record != "" {
						t.Errorf("a refused push attached a note: %+v", n)
					}
				}
				if len(f.tasks()) != 0 {
					t.Error("a refused push made tasks")
				}
				if strings.Contains(log.String(), tc.token) || !strings.Contains(log.String(), "push failed") {
					t.Errorf("log = %s; want the failure, without the token", log.String())
				}
			})
		}
	}
}

// The push runs as a step of the stop's follow-up: once per stop, whoever delivers it.
func TestPushAsFollowUpStep(t *testing.T) {
	p := providers[0]
	s := sqlite(t)
	r := setUp(t, s, p, secret, p.record)
	f := r.f
	svc, err := followup.New(followup.Config{Store: s, Steps: []followup.Step{r.pusher(t, s, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := svc.Sweep(t.Context(), svc.Deliver); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := s.PendingFollowUps(t.Context(), 10)
	if err != nil || len(pending) != 0 {
		t.Fatalf("pending follow-ups = %v, %v; want none", pending, err)
	}
	if n := len(pushes(t, s)); n != 1 || len(f.notes()) != 1 || len(f.tasks()) != 2 {
		t.Errorf("%d pushes made %d notes and %d tasks; want one push of 1 note and 2 tasks", n, len(f.notes()), len(f.tasks()))
	}
}

// A meeting whose deal has no CRM record, or whose owner has no CRM, is pushed nowhere.
func TestPushWithoutCRMDoesNothing(t *testing.T) {
	s := sqlite(t)
	p := providers[0]
	r := setUp(t, s, p, secret, p.record)
	f := r.f
	if err := s.SetDealCRM(t.Context(), "d1", ""); err != nil {
		t.Fatal(err)
	}
	if err := r.pusher(t, s, nil).Push(t.Context(), "m1"); err != nil {
		t.Fatal(err)
	}
	if f.total() != 0 || len(pushes(t, s)) != 0 {
		t.Errorf("a deal without a CRM record: %d requests, %d crm.push events; want none", f.total(), len(pushes(t, s)))
	}
}
