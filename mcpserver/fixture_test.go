package mcpserver_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ledgerline/ledgerline/internal/pgtest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/mcpserver"
)

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, nil))
}

// store is what the fixture records into and the server reads: both stores of the record.
type store interface {
	ledger.Store
	ledger.Team
	mcpserver.Store
	mcpserver.Editor
}

var (
	_ store = (*ledger.SQLiteStore)(nil)
	_ store = (*ledger.PostgresStore)(nil)
)

func sqliteStore(t *testing.T) store {
	s, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "team.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func postgresStore(t *testing.T) store {
	s, err := ledger.OpenPostgres(context.Background(), pgtest.Shared(t).NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// both runs a test on a seeded SQLite store and on a seeded PostgreSQL one.
func both(t *testing.T, test func(t *testing.T, st store)) {
	t.Run("sqlite", func(t *testing.T) { test(t, seed(t, sqliteStore(t))) })
	t.Run("postgres", func(t *testing.T) { test(t, seed(t, postgresStore(t))) })
}

// The organisations of the fixture: A (Dataflow) is the caller under test; B (Northwind) owns the
// Acme deals and shares them with A, one to edit and one to view; C (Globex) shares nothing.
const (
	orgA, orgB, orgC = "org-a", "org-b", "org-c"

	dealAcme, dealRenewal, dealInitech = "acme", "acme-renewal", "initech"

	meetingStandup, meetingKickoff, meetingRenewal, meetingSecret = "a-standup", "acme-kickoff", "renewal-call", "initech-secret"

	// secretWord is said, and promised, only in org C's meeting.
	secretWord = "zanzibar"
)

var (
	readerA = ledger.Reader{OrgID: orgA}
	readerC = ledger.Reader{OrgID: orgC}
	callerA = mcpserver.Caller{Reader: readerA, Name: "dana's assistant"}
	callerC = mcpserver.Caller{Reader: readerC, Name: "wu's assistant"}
)

type line struct {
	speaker, name, org, text string
	promise                  *ledger.CommitmentInfo
}

// seed records the fixture's organisations, deals, shares and meetings into st, through the
// store's own API, as a team server keeps them.
func seed(t *testing.T, st store) store {
	t.Helper()
	ctx := ledger.WithActor(context.Background(), "detector")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for id, name := range map[string]string{orgA: "Dataflow", orgB: "Northwind", orgC: "Globex"} {
		must(st.CreateOrg(ctx, ledger.Org{ID: id, Name: name}))
	}
	for _, d := range []struct {
		deal              ledger.Deal
		owner, sharedWith string
		level             ledger.ShareLevel
	}{
		{ledger.Deal{ID: dealAcme, Name: "Acme data platform", Account: "Acme", Vendor: "Northwind", Partner: "Dataflow"}, orgB, orgA, ledger.ShareEdit},
		{ledger.Deal{ID: dealRenewal, Name: "Acme renewal", Account: "Acme", Vendor: "Northwind", Partner: "Dataflow"}, orgB, orgA, ledger.ShareView},
		{ledger.Deal{ID: dealInitech, Name: "Initech rollout", Account: "Initech", Vendor: "Globex"}, orgC, "", ""},
	} {
		must(st.CreateDeal(ctx, d.deal))
		must(st.SetDealOwner(ctx, d.deal.ID, d.owner))
		if d.sharedWith != "" {
			must(st.ShareDeal(ctx, ledger.DealShare{DealID: d.deal.ID, OrgID: d.sharedWith, Level: d.level}))
		}
	}
	day := func(n int) time.Time { return time.Date(2026, 3, n, 14, 0, 0, 0, time.UTC) }
	record := func(m ledger.Meeting, lines []line) {
		t.Helper()
		m.Timezone, m.Language = "UTC", "en"
		must(st.CreateMeeting(ctx, m))
		add := func(e ledger.Event) {
			t.Helper()
			e.Meeting = m.ID
			_, err := st.Append(ctx, e)
			must(err)
		}
		add(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingRecording})
		named := map[string]bool{}
		for i, l := range lines {
			if !named[l.speaker] {
				named[l.speaker] = true
				add(ledger.Event{Type: ledger.TypeSpeakerUpdate, Speaker: &ledger.SpeakerInfo{ID: l.speaker, Channel: "mic-" + l.speaker, Name: l.name, Org: l.org}})
			}
			seg := ledger.SegmentInfo{ID: m.ID + "-" + string(rune('a'+i)), Channel: "mic-" + l.speaker, Speaker: l.speaker, Org: l.org,
				StartMS: int64(i) * 5000, EndMS: int64(i)*5000 + 4000, Text: l.text, Language: "en"}
			add(ledger.Event{Type: ledger.TypeSegmentFinal, Segment: &seg})
			if c := l.promise; c != nil {
				c.Owner, c.OwnerOrg, c.Status, c.Confidence, c.Quote = l.name, l.org, ledger.StatusOpen, 0.9, l.text
				c.SegmentIDs, c.StartMS = []string{seg.ID}, seg.StartMS
				add(ledger.Event{Type: ledger.TypeCommitmentUpsert, Commitment: c})
			}
		}
		add(ledger.Event{Type: ledger.TypeMeetingState, State: ledger.MeetingStopped, Reason: "user"})
	}
	record(ledger.Meeting{ID: meetingStandup, Title: "Dataflow stand-up", StartedAt: day(2), OrgID: orgA}, []line{
		{"spk-dana", "Dana", "Dataflow", "Acme wants the connector before the review.", nil},
	})
	record(ledger.Meeting{ID: meetingKickoff, DealID: dealAcme, Title: "Acme kickoff", StartedAt: day(3), OrgID: orgB}, []line{
		{"spk-dana", "Dana", "Dataflow", "We will send Acme the security review by Friday.",
			&ledger.CommitmentInfo{ID: "c-review", What: "send the security review", Beneficiary: "Acme", Due: "2026-03-06", DuePhrase: "by Friday"}},
		{"spk-omar", "Omar", "Northwind", "I'll share the pricing sheet tomorrow.",
			&ledger.CommitmentInfo{ID: "c-pricing", What: "share the pricing sheet", Beneficiary: "Acme", Due: "2026-03-04", DuePhrase: "tomorrow"}},
	})
	record(ledger.Meeting{ID: meetingRenewal, DealID: dealRenewal, Title: "Renewal call", StartedAt: day(4), OrgID: orgB}, []line{
		{"spk-omar", "Omar", "Northwind", "I will send the renewal quote next week.",
			&ledger.CommitmentInfo{ID: "c-quote", What: "send the renewal quote", Beneficiary: "Acme"}},
	})
	record(ledger.Meeting{ID: meetingSecret, DealID: dealInitech, Title: "Initech " + secretWord, StartedAt: day(5), OrgID: orgC}, []line{
		{"spk-wu", "Wu", "Globex", "Project " + secretWord + " launches in May, I will announce it.",
			&ledger.CommitmentInfo{ID: "c-secret", What: "announce " + secretWord, Beneficiary: "Initech"}},
	})
	return st
}

// newServer returns the record's MCP server on st.
func newServer(t *testing.T, st store) *mcpserver.Server {
	t.Helper()
	srv, err := mcpserver.New(mcpserver.Config{Store: st, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// connect connects the SDK's own client to srv in-process, as c; both ends are closed when the
// test ends.
func connect(t *testing.T, srv *mcpserver.Server, c mcpserver.Caller) *mcp.ClientSession {
	t.Helper()
	ct, st := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(context.Background(), st, c)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test-assistant", Version: "1"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.Close()
		_ = ss.Wait()
	})
	return cs
}

// call calls a tool and decodes its structured answer into out; it returns the error text of a
// tool that failed ("" when it did not), and fails the test on a protocol error.
func call(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any, out any) string {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s(%v): %v", tool, args, err)
	}
	if res.IsError {
		var texts []string
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				texts = append(texts, tc.Text)
			}
		}
		if len(texts) == 0 {
			t.Fatalf("%s(%v) failed without saying why", tool, args)
		}
		return strings.Join(texts, "\n")
	}
	if out != nil {
		b, err := json.Marshal(res.StructuredContent)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s(%v): %v in %s", tool, args, err, b)
		}
	}
	return ""
}

// mustCall is call for a tool that must succeed.
func mustCall(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any, out any) {
	t.Helper()
	if msg := call(t, cs, tool, args, out); msg != "" {
		t.Fatalf("%s(%v) failed: %s", tool, args, msg)
	}
}

// The answers of the tools, as a client reads them.
type (
	meeting struct {
		ID, Title, Deal string
		StartedAt       time.Time `json:"started_at"`
	}
	commitment struct {
		Meeting, ID, What, Owner, Status, Beneficiary string
		UpdatedBy                                     string `json:"updated_by"`
	}
	hit struct {
		Meeting, Kind, Item, Text string
	}
)

func meetingIDs(ms []meeting) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func commitmentIDs(cs []commitment) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// digest is what the store keeps of a secret.
func digest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
