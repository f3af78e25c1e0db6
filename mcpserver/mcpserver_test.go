package mcpserver_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/mcpserver"
)

// The tools an assistant is offered, each with a description and typed, described arguments.
func TestToolsListed(t *testing.T) {
	leaktest.Check(t)
	cs := connect(t, newServer(t, seed(t, sqliteStore(t))), callerA)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		if tool.Description == "" || tool.InputSchema == nil || tool.OutputSchema == nil {
			t.Errorf("%s: description %q, input schema %v, output schema %v; want all three", tool.Name, tool.Description, tool.InputSchema, tool.OutputSchema)
		}
		schema, _ := tool.InputSchema.(map[string]any)
		props, _ := schema["properties"].(map[string]any)
		for name, p := range props {
			if d, _ := p.(map[string]any)["description"].(string); d == "" {
				t.Errorf("%s: argument %s has no description", tool.Name, name)
			}
		}
	}
	slices.Sort(names)
	want := []string{"get_recap", "get_transcript", "list_commitments", "list_deals", "list_meetings", "mark_commitment_done", "search"}
	if !slices.Equal(names, want) {
		t.Errorf("tools %v, want %v", names, want)
	}
}

// A member of organisation A sees A's own meetings and those of the deals shared with A, by the
// store's access rule; organisation C's meeting answers as one that does not exist, in every tool,
// and its words are not found by search.
func TestAccessRule(t *testing.T) {
	both(t, func(t *testing.T, st store) {
		leaktest.Check(t)
		srv := newServer(t, st)
		a := connect(t, srv, callerA)

		var deals struct {
			Deals []struct{ ID, Account string }
		}
		mustCall(t, a, "list_deals", nil, &deals)
		var dealIDs []string
		for _, d := range deals.Deals {
			dealIDs = append(dealIDs, d.ID)
		}
		if want := []string{dealAcme, dealRenewal}; !slices.Equal(dealIDs, want) {
			t.Errorf("A's deals %v, want %v", dealIDs, want)
		}

		var ms struct{ Meetings []meeting }
		mustCall(t, a, "list_meetings", nil, &ms)
		if got, want := meetingIDs(ms.Meetings), []string{meetingRenewal, meetingKickoff, meetingStandup}; !slices.Equal(got, want) {
			t.Errorf("A's meetings %v, want %v (newest first)", got, want)
		}
		mustCall(t, a, "list_meetings", map[string]any{"deal": dealAcme}, &ms)
		if got := meetingIDs(ms.Meetings); !slices.Equal(got, []string{meetingKickoff}) {
			t.Errorf("A's meetings of deal %s: %v", dealAcme, got)
		}
		mustCall(t, a, "list_meetings", map[string]any{"since": "2026-03-03", "before": "2026-03-04"}, &ms)
		if got := meetingIDs(ms.Meetings); !slices.Equal(got, []string{meetingKickoff}) {
			t.Errorf("A's meetings of March 3rd: %v", got)
		}

		var tr struct {
			Segments []struct{ Speaker, Org, Text string }
		}
		mustCall(t, a, "get_transcript", map[string]any{"meeting": meetingKickoff}, &tr)
		if len(tr.Segments) != 2 || tr.Segments[0].Speaker != "Dana" || tr.Segments[0].Org != "Dataflow" ||
			!strings.Contains(tr.Segments[0].Text, "security review") {
			t.Errorf("kickoff transcript: %+v", tr.Segments)
		}
		var rc struct{ Markdown string }
		mustCall(t, a, "get_recap", map[string]any{"meeting": meetingKickoff}, &rc)
		if !strings.Contains(rc.Markdown, "send the security review") || !strings.Contains(rc.Markdown, "Dana") {
			t.Errorf("kickoff recap lacks the commitment:\n%s", rc.Markdown)
		}

		// C's meeting and deal answer as ones that do not exist, word for word.
		for _, tc := range []struct {
			tool string
			args map[string]any
			id   string
		}{
			{"get_transcript", map[string]any{"meeting": meetingSecret}, meetingSecret},
			{"get_recap", map[string]any{"meeting": meetingSecret}, meetingSecret},
			{"list_commitments", map[string]any{"meeting": meetingSecret}, meetingSecret},
			{"mark_commitment_done", map[string]any{"meeting": meetingSecret, "commitment": "c-secret"}, meetingSecret},
			{"list_meetings", map[string]any{"deal": dealInitech}, dealInitech},
			{"list_commitments", map[string]any{"deal": dealInitech}, dealInitech},
		} {
			hidden := call(t, a, tc.tool, tc.args, nil)
			absent := map[string]any{}
			for k, v := range tc.args {
				absent[k] = v
				if v == tc.id {
					absent[k] = "no-such-thing"
				}
			}
			missing := call(t, a, tc.tool, absent, nil)
			if hidden == "" || !strings.Contains(hidden, "that you may see") ||
				strings.ReplaceAll(hidden, tc.id, "no-such-thing") != missing {
				t.Errorf("%s(%v) = %q; want the answer for one that does not exist, %q", tc.tool, tc.args, hidden, missing)
			}
		}

		// Search finds nothing of C's meeting for A, although the words are there for C.
		var found struct{ Hits []hit }
		for _, q := range []string{secretWord, "announce", "Initech", "Wu"} {
			mustCall(t, a, "search", map[string]any{"query": q}, &found)
			for _, h := range found.Hits {
				if h.Meeting == meetingSecret {
					t.Errorf("search %q shows A a hit in C's meeting: %+v", q, h)
				}
			}
		}
		c := connect(t, srv, callerC)
		mustCall(t, c, "search", map[string]any{"query": secretWord}, &found)
		if len(found.Hits) == 0 {
			t.Errorf("search %q finds nothing for C, whose meeting says it", secretWord)
		}
		mustCall(t, a, "search", map[string]any{"query": "security review"}, &found)
		if len(found.Hits) == 0 || found.Hits[0].Meeting != meetingKickoff {
			t.Errorf("search \"security review\" for A: %+v", found.Hits)
		}
		mustCall(t, c, "list_meetings", nil, &ms)
		if got := meetingIDs(ms.Meetings); !slices.Equal(got, []string{meetingSecret}) {
			t.Errorf("C's meetings %v, want only its own", got)
		}

		// Open commitments, by deal or by owner, only of the meetings A may see.
		var open struct{ Commitments []commitment }
		mustCall(t, a, "list_commitments", nil, &open)
		if got, want := commitmentIDs(open.Commitments), []string{"c-review", "c-pricing", "c-quote"}; !slices.Equal(got, want) {
			t.Errorf("A's open commitments %v, want %v", got, want)
		}
		mustCall(t, a, "list_commitments", map[string]any{"deal": dealAcme}, &open)
		if got, want := commitmentIDs(open.Commitments), []string{"c-review", "c-pricing"}; !slices.Equal(got, want) {
			t.Errorf("open commitments of deal %s: %v, want %v", dealAcme, got, want)
		}
		mustCall(t, a, "list_commitments", map[string]any{"owner": "northwind"}, &open)
		if got, want := commitmentIDs(open.Commitments), []string{"c-pricing", "c-quote"}; !slices.Equal(got, want) {
			t.Errorf("open commitments owed by Northwind: %v, want %v", got, want)
		}
		mustCall(t, a, "list_commitments", map[string]any{"owner": "Wu", "status": "all"}, &open)
		if len(open.Commitments) != 0 {
			t.Errorf("A sees C's commitments by owner: %+v", open.Commitments)
		}
	})
}

// Marking a commitment done is an edit made by the caller: a commitment.upsert event naming them,
// applied to the commitment as it stands; one on a deal shared to view only is refused.
func TestMarkDone(t *testing.T) {
	both(t, func(t *testing.T, st store) {
		leaktest.Check(t)
		a := connect(t, newServer(t, st), callerA)
		before, err := st.Since(context.Background(), meetingKickoff, 0)
		if err != nil {
			t.Fatal(err)
		}

		var done struct {
			Commitment commitment
			Seq        int64
		}
		mustCall(t, a, "mark_commitment_done", map[string]any{"meeting": meetingKickoff, "commitment": "c-review"}, &done)
		if done.Commitment.Status != ledger.StatusDone || done.Commitment.UpdatedBy != callerA.Name || done.Seq != int64(len(before)+1) {
			t.Errorf("mark done answered %+v", done)
		}
		events, err := st.Since(context.Background(), meetingKickoff, int64(len(before)))
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 {
			t.Fatalf("marking done appended %d events, want 1", len(events))
		}
		e := events[0]
		if e.Type != ledger.TypeCommitmentUpsert || e.By != callerA.Name || e.Commitment == nil ||
			e.Commitment.ID != "c-review" || e.Commitment.Status != ledger.StatusDone || !e.Commitment.EditedBy(ledger.EditStatus) ||
			e.Commitment.What != "send the security review" || e.Commitment.Quote == "" {
			t.Errorf("the edit was recorded as %+v (commitment %+v); want a commitment.upsert by %q, done, the rest kept", e, e.Commitment, callerA.Name)
		}
		rec, err := st.Commitments(context.Background(), meetingKickoff)
		if err != nil || len(rec) != 2 || rec[0].ID != "c-review" || rec[0].UpdatedBy != callerA.Name {
			t.Errorf("the store's commitments %+v, %v; want c-review last changed by %q", rec, err, callerA.Name)
		}

		var list struct{ Commitments []commitment }
		mustCall(t, a, "list_commitments", map[string]any{"deal": dealAcme}, &list)
		if got := commitmentIDs(list.Commitments); !slices.Equal(got, []string{"c-pricing"}) {
			t.Errorf("open commitments after marking one done: %v", got)
		}
		mustCall(t, a, "list_commitments", map[string]any{"deal": dealAcme, "status": "done"}, &list)
		if len(list.Commitments) != 1 || list.Commitments[0].UpdatedBy != callerA.Name {
			t.Errorf("done commitments: %+v", list.Commitments)
		}

		// Viewing is not changing; an unknown commitment is named as such.
		renewal, err := st.Since(context.Background(), meetingRenewal, 0)
		if err != nil {
			t.Fatal(err)
		}
		if msg := call(t, a, "mark_commitment_done", map[string]any{"meeting": meetingRenewal, "commitment": "c-quote"}, nil); !strings.Contains(msg, "not change it") {
			t.Errorf("marking done on a deal shared to view: %q", msg)
		}
		if msg := call(t, a, "mark_commitment_done", map[string]any{"meeting": meetingKickoff, "commitment": "c-nope"}, nil); !strings.Contains(msg, `no commitment "c-nope"`) {
			t.Errorf("marking an unknown commitment done: %q", msg)
		}
		if after, err := st.Since(context.Background(), meetingRenewal, 0); err != nil || len(after) != len(renewal) {
			t.Errorf("a refused edit was recorded: %d events, then %d (%v)", len(renewal), len(after), err)
		}
	})
}

// Wrong arguments are told as what to change.
func TestArgumentErrors(t *testing.T) {
	leaktest.Check(t)
	a := connect(t, newServer(t, seed(t, sqliteStore(t))), callerA)
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"list_meetings", map[string]any{"limit": 500}, "limit must be"},
		{"list_meetings", map[string]any{"since": "last week"}, "since must be a date"},
		{"list_commitments", map[string]any{"status": "late"}, "status must be"},
		{"search", map[string]any{"query": "  "}, "give the words"},
		{"search", map[string]any{"query": strings.Repeat("x", 501)}, "longer than"},
		{"get_transcript", map[string]any{"meeting": ""}, "give the meeting's ID"},
		{"get_transcript", map[string]any{}, "meeting"},
	} {
		if msg := call(t, a, tc.tool, tc.args, nil); !strings.Contains(msg, tc.want) {
			t.Errorf("%s(%v) = %q; want an error saying %q", tc.tool, tc.args, msg, tc.want)
		}
	}
}

// A session must name its caller, and a database that cannot be reached is "try again".
func TestCallerAndStoreFailures(t *testing.T) {
	leaktest.Check(t)
	st := seed(t, sqliteStore(t))
	srv := newServer(t, st)
	if _, err := srv.Connect(context.Background(), nil, mcpserver.Caller{Reader: readerA}); err == nil {
		t.Error("a caller without a name was let in")
	}
	down, err := mcpserver.New(mcpserver.Config{Store: unreachable{st}})
	if err != nil {
		t.Fatal(err)
	}
	a := connect(t, down, callerA)
	if msg := call(t, a, "list_meetings", nil, nil); !strings.Contains(msg, "cannot be reached right now") {
		t.Errorf("list_meetings on a store that is down: %q", msg)
	}
	if _, err := mcpserver.New(mcpserver.Config{}); err == nil {
		t.Error("New without a store succeeded")
	}
}

// unreachable is a store whose database is down.
type unreachable struct{ store }

func (unreachable) VisibleMeetings(context.Context, ledger.Reader) ([]ledger.Meeting, error) {
	return nil, errors.Join(ledger.ErrUnavailable, errors.New("dial tcp: connection refused"))
}

// A commitment recorded with only a side ("we" said by someone who gave only "partner") is the
// deal's organisation on that side, as on the recap, with who said it as its contact; the owner
// filter finds it by that contact too.
func TestCommitmentsNameTheDealsOrganisations(t *testing.T) {
	both(t, func(t *testing.T, st store) {
		if _, err := st.Append(context.Background(), ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: meetingKickoff,
			Commitment: &ledger.CommitmentInfo{ID: "c-side", What: "share the connector roadmap", Owner: "partner", OwnerOrg: "partner",
				Contact: "Lee", Beneficiary: "Acme", BeneficiaryOrg: "buyer", Status: ledger.StatusOpen, Confidence: 0.9}}); err != nil {
			t.Fatal(err)
		}
		a := connect(t, newServer(t, st), callerA)
		var open struct {
			Commitments []struct {
				ID, Owner, Contact string
				OwnerOrg           string `json:"owner_org"`
				BeneficiaryOrg     string `json:"beneficiary_org"`
			}
		}
		mustCall(t, a, "list_commitments", map[string]any{"owner": "lee"}, &open)
		if len(open.Commitments) != 1 {
			t.Fatalf("commitments of Lee: %+v, want c-side", open.Commitments)
		}
		if c := open.Commitments[0]; c.ID != "c-side" || c.Owner != "Dataflow" || c.OwnerOrg != "Dataflow" || c.Contact != "Lee" || c.BeneficiaryOrg != "Acme" {
			t.Errorf("c-side = %+v, want Dataflow's, Lee its contact, for Acme", c)
		}
	})
}
