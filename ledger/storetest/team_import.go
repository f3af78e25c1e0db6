package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// The team suite's search, import and outbox checks (see RunTeam).

func search(t *testing.T, open func(t *testing.T) func(now func() time.Time) TeamStore) {
	s := open(t)(fixedClock(teamNow))
	ctx := context.Background()
	teamFixture(t, s)
	add := func(events ...ledger.Event) {
		t.Helper()
		for _, e := range events {
			if _, err := s.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	seg := func(meeting, id, speaker string, start int64, text string) ledger.Event {
		return ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: meeting,
			Segment: &ledger.SegmentInfo{ID: id, Channel: "mic", Speaker: speaker, StartMS: start, EndMS: start + 900, Text: text}}
	}
	add(
		ledger.Event{Type: ledger.TypeSpeakerUpdate, Meeting: "m1", Speaker: &ledger.SpeakerInfo{ID: "mic/1", Channel: "mic", Name: "Ana Ortega"}},
		seg("m1", "s1", "mic/1", 1000, "We will send the integration architecture by Thursday."),
		seg("m1", "s2", "mic/2", 2000, "Great, the pilot starts in April."),
		ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: "m1", Commitment: &ledger.CommitmentInfo{ID: "c1",
			What: "send the architecture diagram", Owner: "Ana Ortega", Status: ledger.StatusOpen, Quote: "by Thursday", StartMS: 1000}},
		seg("m3", "s1", "", 500, "Partner pricing for the pilot is confidential."),
		seg("m4", "s1", "", 0, "The pilot budget was approved."),
	)
	type hit struct{ meeting, kind, item string }
	find := func(r ledger.Reader, q string) []hit {
		t.Helper()
		hits, err := s.Search(ctx, r, q, 50)
		if err != nil {
			t.Fatalf("Search(%q): %v", q, err)
		}
		var got []hit
		for _, h := range hits {
			got = append(got, hit{h.MeetingID, h.Kind, h.ItemID})
		}
		slices.SortFunc(got, func(a, b hit) int {
			return strings.Compare(a.meeting+"/"+a.kind+"/"+a.item, b.meeting+"/"+b.kind+"/"+b.item)
		})
		return got
	}
	vendor, partner, admin := ledger.Reader{OrgID: "vendor"}, ledger.Reader{OrgID: "partner"}, ledger.Reader{All: true}
	for _, tc := range []struct {
		r    ledger.Reader
		q    string
		want []hit
	}{
		{vendor, "architecture", []hit{{"m1", "commitment", "c1"}, {"m1", "segment", "s1"}}},
		{vendor, "THURSDAY send", []hit{{"m1", "commitment", "c1"}, {"m1", "segment", "s1"}}},
		{vendor, "diagram", []hit{{"m1", "commitment", "c1"}}},
		{vendor, "ortega", []hit{{"m1", "speaker", "mic/1"}}},
		{vendor, "integ", []hit{{"m1", "segment", "s1"}}}, // the last word is a prefix
		{vendor, "architecture pricing", nil},             // every word must match
		{vendor, "pilot", []hit{{"m1", "segment", "s2"}}},
		{partner, "pilot", []hit{{"m3", "segment", "s1"}}},
		{ledger.Reader{OrgID: "third"}, "pilot", nil},
		{ledger.Reader{}, "pilot", nil},
		{admin, "pilot", []hit{{"m1", "segment", "s2"}, {"m3", "segment", "s1"}, {"m4", "segment", "s1"}}},
		{admin, "", nil},
		{admin, `"a AND (`, nil},
		{admin, `pilot" "budget`, []hit{{"m4", "segment", "s1"}}},
		{admin, `pilot" OR "budget`, nil}, // "or" is a word like any other
		{admin, `NOT pilot`, nil},
		{admin, `pilot* ^budget -approved NEAR(x) 'quote' \ : & | ! <-> %_`, nil},
		{admin, "-- ; DROP TABLE events", nil},
	} {
		if got := find(tc.r, tc.q); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Search(%+v, %q) = %v, want %v", tc.r, tc.q, got, tc.want)
		}
	}

	// A hit says where it is and who said it.
	hits, err := s.Search(ctx, vendor, "architecture", 50)
	if err != nil || len(hits) != 2 {
		t.Fatalf("Search(architecture) = %+v, %v", hits, err)
	}
	for _, h := range hits {
		want := ledger.SearchHit{MeetingID: "m1", Title: "kickoff", DealID: "d1", StartedAt: teamNow, Kind: h.Kind, ItemID: h.ItemID,
			Speaker: "Ana Ortega", StartMS: 1000}
		switch h.Kind {
		case "segment":
			want.Text = "We will send the integration architecture by Thursday."
		case "commitment":
			want.Text = "send the architecture diagram"
		}
		if h != want {
			t.Errorf("hit = %+v, want %+v", h, want)
		}
	}
	if hits, err := s.Search(ctx, vendor, "ortega", 50); err != nil || len(hits) != 1 || hits[0].Text != "Ana Ortega" || hits[0].StartMS != 1000 {
		t.Errorf("speaker hit = %+v, %v; want Ana Ortega, first heard at 1000ms", hits, err)
	}
	if hits, err := s.Search(ctx, admin, "pilot", 2); err != nil || len(hits) != 2 {
		t.Errorf("Search with limit 2 = %d hits, %v", len(hits), err)
	}
	if hits, err := s.Search(ctx, admin, "pilot", 0); err != nil || len(hits) != 0 {
		t.Errorf("Search with limit 0 = %d hits, %v", len(hits), err)
	}

	// The index follows the projections' upserts: a corrected segment, a renamed speaker, an
	// edited commitment are found by their new words only.
	add(seg("m1", "s2", "mic/2", 2000, "Great, the rollout starts in May."),
		ledger.Event{Type: ledger.TypeSpeakerUpdate, Meeting: "m1", Speaker: &ledger.SpeakerInfo{ID: "mic/1", Channel: "mic", Name: "Ana Ruiz"}})
	what := "send the network plan"
	if _, err := s.EditCommitment(ctx, "m1", "c1", ledger.CommitmentEdit{What: &what}, "Dana"); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]hit{
		"pilot":     nil,
		"rollout":   {{"m1", "segment", "s2"}},
		"ortega":    nil,
		"ruiz":      {{"m1", "speaker", "mic/1"}},
		"diagram":   nil,
		"network":   {{"m1", "commitment", "c1"}},
		"thursday":  {{"m1", "commitment", "c1"}, {"m1", "segment", "s1"}}, // the quote stays
		"ruiz will": nil,                                                   // a speaker's name is not their segments' text
	} {
		if got := find(vendor, q); !reflect.DeepEqual(got, want) {
			t.Errorf("after updates, Search(%q) = %v, want %v", q, got, want)
		}
	}
}

// laptop makes the events a laptop's log holds, as it sends them: Seq and At are the laptop's.
func laptop(meeting string, at time.Time, from, to int64) []ledger.Event {
	var out []ledger.Event
	for seq := from; seq <= to; seq++ {
		e := final(meeting, fmt.Sprint("l", seq), fmt.Sprint("laptop words ", seq))
		e.V, e.Seq, e.At = ledger.SchemaVersion, seq, at.Add(time.Duration(seq)*time.Second)
		out = append(out, e)
	}
	return out
}

func importBatches(t *testing.T, open func(t *testing.T) func(now func() time.Time) TeamStore) {
	serverNow := teamNow.Add(24 * time.Hour)
	opener := open(t)
	s := opener(fixedClock(serverNow))
	ctx := context.Background()
	origin := teamNow.Add(123456789 * time.Nanosecond) // the laptop's clock, to the nanosecond
	sub := s.Subscribe("m", 64)
	defer sub.Close()

	if n, err := s.ImportCursor(ctx, "m", "laptop-1"); n != 0 || err != nil {
		t.Fatalf("ImportCursor before any import = %d, %v", n, err)
	}
	if acked, err := s.Import(ctx, "m", "laptop-1", 0, nil); acked != 0 || err != nil {
		t.Errorf("empty Import of an unknown meeting = %d, %v; want 0", acked, err)
	}
	if _, err := s.Meeting(ctx, "m"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("an empty Import recorded the meeting: %v", err)
	}
	acked, err := s.Import(ctx, "m", "laptop-1", 0, laptop("m", origin, 1, 3))
	if err != nil || acked != 3 {
		t.Fatalf("Import(1..3) = %d, %v; want 3", acked, err)
	}
	// A resend overlapping what is stored, and the next events: only those are added.
	acked, err = s.Import(ctx, "m", "laptop-1", 1, laptop("m", origin, 2, 5))
	if err != nil || acked != 5 {
		t.Fatalf("Import(2..5 after 1) = %d, %v; want 5", acked, err)
	}
	acked, err = s.Import(ctx, "m", "laptop-1", 0, laptop("m", origin, 1, 5))
	if err != nil || acked != 5 {
		t.Fatalf("resending all = %d, %v; want 5", acked, err)
	}
	var gap *ledger.OriginGapError
	acked, err = s.Import(ctx, "m", "laptop-1", 7, laptop("m", origin, 8, 9))
	if !errors.As(err, &gap) || !errors.Is(err, ledger.ErrOriginGap) || acked != 0 || !wrappedOnce(err) ||
		*gap != (ledger.OriginGapError{Meeting: "m", Origin: "laptop-1", Acked: 5, After: 7}) {
		t.Fatalf("Import after 7 = %d, %v; want a *ledger.OriginGapError with Acked 5", acked, err)
	}
	if n, err := s.ImportCursor(ctx, "m", "laptop-1"); n != 5 || err != nil {
		t.Errorf("ImportCursor = %d, %v; want 5", n, err)
	}
	if n, err := s.ImportCursor(ctx, "m", "laptop-2"); n != 0 || err != nil {
		t.Errorf("ImportCursor of another origin = %d, %v; want 0", n, err)
	}
	// Another origin imports into the same meeting with its own cursor.
	if acked, err := s.Import(ctx, "m", "laptop-2", 0, laptop("m", origin, 1, 1)); err != nil || acked != 1 {
		t.Fatalf("Import from laptop-2 = %d, %v", acked, err)
	}

	got, err := s.Since(ctx, "m", 0)
	if err != nil || len(got) != 6 {
		t.Fatalf("Since = %d events, %v; want 6", len(got), err)
	}
	for i, e := range got {
		originSeq, from := int64(i+1), "laptop-1"
		if i == 5 {
			originSeq, from = 1, "laptop-2"
		}
		want := laptop("m", origin, originSeq, originSeq)[0]
		want.Seq, want.Origin = int64(i+1), from // which log each came from travels with it
		want.At = want.At.UTC()
		if !reflect.DeepEqual(e, want) {
			t.Errorf("event %d = %+v, want %+v", i+1, e, want)
		}
		select {
		case pub := <-sub.C():
			if !reflect.DeepEqual(pub, want) {
				t.Errorf("published %d = %+v, want %+v", i+1, pub, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d never published", i+1)
		}
	}
	select {
	case e := <-sub.C():
		t.Errorf("published more: %+v", e)
	default:
	}
	m, err := s.Meeting(ctx, "m")
	if first := origin.Add(time.Second); err != nil || m.LastSeq != 6 || m.StartedAt.Sub(first).Abs() >= time.Microsecond {
		t.Errorf("Meeting(m) = %+v, %v; want 6 events, started at the first one's time", m, err)
	}
	if segs, err := s.Segments(ctx, "m"); err != nil || len(segs) != 5 {
		t.Errorf("Segments = %d, %v; want 5 (l1 twice)", len(segs), err)
	}

	// A second store on the database counts on from there, as appends do.
	other := opener(fixedClock(serverNow))
	if acked, err := other.Import(ctx, "m", "laptop-1", 5, laptop("m", origin, 6, 6)); err != nil || acked != 6 {
		t.Fatalf("Import through another store = %d, %v", acked, err)
	}
	if e, err := s.Append(ctx, final("m", "here", "said on the server")); err != nil || e.Seq != 8 || !e.At.Equal(serverNow) {
		t.Errorf("Append after imports = %+v, %v; want seq 8 at the server's time", e, err)
	}
}

func importRefusals(t *testing.T, open func(t *testing.T) func(now func() time.Time) TeamStore) {
	s := open(t)(fixedClock(teamNow))
	ctx := context.Background()
	good := laptop("m", teamNow, 1, 3)
	bad := func(mod func(*ledger.Event)) []ledger.Event {
		b := laptop("m", teamNow, 1, 3)
		mod(&b[1])
		return b
	}
	for _, tc := range []struct {
		name  string
		after int64
		batch []ledger.Event
		want  error
	}{
		{"a partial", 0, bad(func(e *ledger.Event) { e.Type = ledger.TypeSegmentPartial }), ledger.ErrInvalidEvent},
		{"an unknown type", 0, bad(func(e *ledger.Event) { e.Type = "segment.guess" }), ledger.ErrInvalidEvent},
		{"no segment", 0, bad(func(e *ledger.Event) { e.Segment = nil }), ledger.ErrInvalidEvent},
		{"another meeting", 0, bad(func(e *ledger.Event) { e.Meeting = "other" }), ledger.ErrInvalidEvent},
		{"no time", 0, bad(func(e *ledger.Event) { e.At = time.Time{} }), ledger.ErrInvalidEvent},
		{"seq out of order", 0, bad(func(e *ledger.Event) { e.Seq = 5 }), ledger.ErrInvalidRecord},
		{"seq repeated", 0, bad(func(e *ledger.Event) { e.Seq = 1 }), ledger.ErrInvalidRecord},
		{"seq not after", 1, good, ledger.ErrInvalidRecord},
		{"after below 0", -1, good, ledger.ErrInvalidRecord},
	} {
		if acked, err := s.Import(ctx, "m", "laptop", tc.after, tc.batch); !errors.Is(err, tc.want) || !wrappedOnce(err) || acked != 0 {
			t.Errorf("Import with %s = %d, %v; want %v", tc.name, acked, err, tc.want)
		}
	}
	if _, err := s.Import(ctx, "m", "", 0, good); !errors.Is(err, ledger.ErrInvalidRecord) {
		t.Errorf("Import without an origin: %v", err)
	}
	// A batch refused is refused whole.
	if got, err := s.Since(ctx, "m", 0); err != nil || len(got) != 0 {
		t.Errorf("after refused batches, Since = %d events, %v; want none", len(got), err)
	}
	if n, err := s.ImportCursor(ctx, "m", "laptop"); n != 0 || err != nil {
		t.Errorf("ImportCursor after refused batches = %d, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, "m", "laptop", 0, good); !errors.Is(err, ledger.ErrLogClosed) {
		t.Errorf("Import on a closed store: %v, want ledger.ErrLogClosed", err)
	}
}

// importBesideAppends: imports and appends to one meeting interleave without gaps, and an
// imported change to a commitment is projected as its author's.
func importBesideAppends(t *testing.T, open func(t *testing.T) func(now func() time.Time) TeamStore) {
	s := open(t)(fixedClock(teamNow.Add(time.Hour)))
	ctx := ledger.WithActor(context.Background(), "agent:laptop")
	if err := s.CreateMeeting(ctx, ledger.Meeting{ID: "m", Title: "call", StartedAt: teamNow}); err != nil {
		t.Fatal(err)
	}
	c := func(seq int64, by, what string) ledger.Event {
		return ledger.Event{V: ledger.SchemaVersion, Type: ledger.TypeCommitmentUpsert, Meeting: "m", Seq: seq,
			At: teamNow.Add(time.Duration(seq) * time.Minute), By: by,
			Commitment: &ledger.CommitmentInfo{ID: "c1", What: what, Owner: "Ana", Status: ledger.StatusOpen}}
	}
	const workers, batches = 4, 5
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			origin := fmt.Sprint("laptop-", w)
			for b := range int64(batches) {
				if _, err := s.Import(ctx, "m", origin, b, laptop("m", teamNow, b+1, b+1)); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Append(ctx, final("m", fmt.Sprint(origin, "/", b), "server")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := s.Since(ctx, "m", 0)
	if err != nil || len(got) != 2*workers*batches {
		t.Fatalf("Since = %d events, %v; want %d", len(got), err, 2*workers*batches)
	}
	for i, e := range got {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i+1, e.Seq)
		}
	}

	if _, err := s.Import(ctx, "m", "editor", 0, []ledger.Event{c(1, "Dana", "send the deck"), c(2, "", "send the deck today")}); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Commitment(ctx, "m", "c1")
	if err != nil || rec.What != "send the deck today" || rec.UpdatedBy != "agent:laptop" || !rec.UpdatedAt.Equal(teamNow.Add(2*time.Minute)) {
		t.Errorf("commitment after imports = %+v, %v; want the second, by the context's actor, at its origin time", rec, err)
	}
	if _, err := s.Import(ctx, "m", "editor", 2, []ledger.Event{c(3, "Dana", "send the deck tomorrow")}); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Commitment(ctx, "m", "c1"); err != nil || rec.UpdatedBy != "Dana" || rec.Seq != 2*workers*batches+3 {
		t.Errorf("commitment = %+v, %v; want updated by Dana, the event's By", rec, err)
	}
}

func uploads(t *testing.T, open func(t *testing.T) func(now func() time.Time) TeamStore) {
	s := open(t)(fixedClock(teamNow))
	ctx := context.Background()
	const server = "https://team.example.com"
	for _, u := range []ledger.Upload{
		{MeetingID: "m2", Server: server, Origin: "laptop-b"},
		{MeetingID: "m1", Server: server, DealID: "d1", Origin: "laptop-a"},
		{MeetingID: "m1", Server: "https://other.example.com", Origin: "laptop-c"},
		{MeetingID: "m1", Server: server, DealID: "changed", Origin: "laptop-z", Acked: 9}, // again: changes nothing
	} {
		if err := s.AddUpload(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddUpload(ctx, ledger.Upload{MeetingID: "m1", Origin: "x"}); !errors.Is(err, ledger.ErrInvalidRecord) || !wrappedOnce(err) {
		t.Errorf("AddUpload without a server: %v, want ledger.ErrInvalidRecord", err)
	}
	if err := s.AddUpload(ctx, ledger.Upload{MeetingID: "m4", Server: server}); !errors.Is(err, ledger.ErrInvalidRecord) || !wrappedOnce(err) {
		t.Errorf("AddUpload without an origin: %v, want ledger.ErrInvalidRecord", err)
	}
	// The origin is the first one added: it follows the data, whatever a later call says.
	want := []ledger.Upload{{MeetingID: "m1", Server: server, DealID: "d1", Origin: "laptop-a"}, {MeetingID: "m2", Server: server, Origin: "laptop-b"}}
	if got, err := s.Uploads(ctx, server); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Uploads = %+v, %v; want %+v", got, err, want)
	}
	for _, acked := range []int64{4, 7, 5} { // acknowledgements out of order
		if err := s.SetUploaded(ctx, "m1", server, acked); err != nil {
			t.Fatal(err)
		}
	}
	want[0].Acked = 7
	if got, err := s.Uploads(ctx, server); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Uploads after acks = %+v, %v; want %+v", got, err, want)
	}
	if err := s.SetUploaded(ctx, "m3", server, 1); !errors.Is(err, ledger.ErrNotFound) || !wrappedOnce(err) {
		t.Errorf("SetUploaded of an upload never added: %v, want ledger.ErrNotFound", err)
	}
	if got, err := s.Uploads(ctx, "https://nowhere.example.com"); err != nil || len(got) != 0 {
		t.Errorf("Uploads to a server with none = %+v, %v", got, err)
	}
	// Sent to a server under another address, a meeting keeps its origin.
	other := "http://127.0.0.1:8443"
	if err := s.AddUpload(ctx, ledger.Upload{MeetingID: "m1", Server: other, Origin: "laptop-c"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Uploads(ctx, other); err != nil || len(got) != 1 || got[0].Origin != "laptop-a" || got[0].Acked != 0 {
		t.Errorf("Uploads to %s = %+v, %v; want m1 under its origin laptop-a, from its start", other, got, err)
	}
}
