package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// TeamStore is a Store that also keeps what a team server keeps beside the record.
type TeamStore interface {
	Store
	ledger.Team
}

// RunTeam checks what every Store that implements ledger.Team keeps for a team server:
// organisations, credentials and invites redeemed once, the one access rule and what it lets each
// reader list and search, events imported exactly once from another log, and a laptop's outbox.
// The stores open gives must implement ledger.Team.
func RunTeam(t *testing.T, open StoreOpener) {
	t.Run("orgs", func(t *testing.T) { orgs(t, teamOpener(open)) })
	t.Run("credentials", func(t *testing.T) { credentials(t, teamOpener(open)) })
	t.Run("invites", func(t *testing.T) { invites(t, teamOpener(open)) })
	t.Run("access", func(t *testing.T) { access(t, teamOpener(open)) })
	t.Run("meeting's organisation", func(t *testing.T) { meetingOrg(t, teamOpener(open)) })
	t.Run("search", func(t *testing.T) { search(t, teamOpener(open)) })
	t.Run("import", func(t *testing.T) { importBatches(t, teamOpener(open)) })
	t.Run("import refusals", func(t *testing.T) { importRefusals(t, teamOpener(open)) })
	t.Run("import beside appends", func(t *testing.T) { importBesideAppends(t, teamOpener(open)) })
	t.Run("uploads", func(t *testing.T) { uploads(t, teamOpener(open)) })
	t.Run("bots", func(t *testing.T) { bots(t, open) })
	t.Run("calendars", func(t *testing.T) { calendars(t, open) })
}

// teamOpener opens stores on one database for a test, as open does, as TeamStores.
func teamOpener(open StoreOpener) func(t *testing.T) func(now func() time.Time) TeamStore {
	return func(t *testing.T) func(now func() time.Time) TeamStore {
		o := open(t)
		return func(now func() time.Time) TeamStore {
			s := o(now)
			ts, ok := s.(TeamStore)
			if !ok {
				t.Fatalf("%T does not implement ledger.Team", s)
			}
			return ts
		}
	}
}

var teamNow = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

// digest is the digest a store keeps of secret.
func digest(secret string) string {
	d := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(d[:])
}

func orgs(t *testing.T, open func(t *testing.T) func(now func() time.Time) TeamStore) {
	s := open(t)(fixedClock(teamNow))
	ctx := context.Background()
	for _, o := range []ledger.Org{{ID: "o2", Name: "Northwind"}, {ID: "o1", Name: "Contoso"}, {ID: "o3", Name: "contoso"}} {
		if err := s.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		o    ledger.Org
		want error
	}{
		{ledger.Org{ID: "o1", Name: "Other"}, ledger.ErrExists},
		{ledger.Org{ID: "o9", Name: "Contoso"}, ledger.ErrExists},
		{ledger.Org{ID: "o9"}, ledger.ErrInvalidRecord},
		{ledger.Org{Name: "Nameless"}, ledger.ErrInvalidRecord},
		{ledger.Org{ID: "o9", Name: "bad\x00name"}, ledger.ErrInvalidRecord},
	} {
		if err := s.CreateOrg(ctx, tc.o); !errors.Is(err, tc.want) || !wrappedOnce(err) {
			t.Errorf("CreateOrg(%+v) = %v, want %v", tc.o, err, tc.want)
		}
	}
	want := ledger.Org{ID: "o1", Name: "Contoso", CreatedAt: teamNow}
	if got, err := s.Org(ctx, "o1"); err != nil || got != want {
		t.Errorf("Org(o1) = %+v, %v; want %+v", got, err, want)
	}
	if got, err := s.OrgByName(ctx, "Contoso"); err != nil || got != want {
		t.Errorf("OrgByName(Contoso) = %+v, %v; want %+v", got, err, want)
	}
	for _, lookup := range []func() (ledger.Org, error){
		func() (ledger.Org, error) { return s.Org(ctx, "nobody") },
		func() (ledger.Org, error) { return s.OrgByName(ctx, "Nobody") },
		func() (ledger.Org, error) { return s.OrgByName(ctx, "bad\xff") },
	} {
		if got, err := lookup(); !errors.Is(err, ledger.ErrNotFound) || !wrappedOnce(err) {
			t.Errorf("lookup of an unknown organisation = %+v, %v; want ledger.ErrNotFound", got, err)
		}
	}
	all, err := s.Orgs(ctx)
	var names []string
	for _, o := range all {
		names = append(names, o.Name)
	}
	if err != nil || !reflect.DeepEqual(names, []string{"Contoso", "Northwind", "contoso"}) {
		t.Errorf("Orgs = %v, %v; want by name, in byte order", names, err)
	}
}

func credentials(t *testing.T, open func(t *testing.T) func(now func() time.Time) TeamStore) {
	now := teamNow
	s := open(t)(func() time.Time { return now })
	ctx := context.Background()
	if ok, err := s.HasAdmin(ctx); ok || err != nil {
		t.Fatalf("HasAdmin on a new store = %v, %v; want false", ok, err)
	}
	if err := s.CreateOrg(ctx, ledger.Org{ID: "contoso", Name: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	expires := teamNow.Add(time.Hour)
	tok := ledger.Credential{ID: "t1", Digest: digest("secret-1"), Kind: ledger.CredentialToken, OrgID: "contoso",
		Role: ledger.MemberMember, Name: "ana's laptop", ExpiresAt: expires}
	if err := s.AddCredential(ctx, tok); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	tok2 := ledger.Credential{ID: "t0", Digest: digest("secret-2"), Kind: ledger.CredentialToken, OrgID: "contoso", Role: ledger.MemberAdmin}
	if err := s.AddCredential(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    ledger.Credential
		want error
	}{
		{"same ID", ledger.Credential{ID: "t1", Digest: digest("other"), Kind: ledger.CredentialToken, Role: ledger.MemberAdmin}, ledger.ErrExists},
		{"same digest", ledger.Credential{ID: "t9", Digest: digest("secret-1"), Kind: ledger.CredentialToken, Role: ledger.MemberAdmin}, ledger.ErrExists},
		{"unknown org", ledger.Credential{ID: "t9", Digest: digest("other"), Kind: ledger.CredentialToken, OrgID: "nobody", Role: ledger.MemberAdmin}, ledger.ErrNotFound},
		{"a secret, not its digest", ledger.Credential{ID: "t9", Digest: "secret-1", Kind: ledger.CredentialToken, Role: ledger.MemberAdmin}, ledger.ErrInvalidRecord},
		{"no ID", ledger.Credential{Digest: digest("other"), Kind: ledger.CredentialToken, Role: ledger.MemberAdmin}, ledger.ErrInvalidRecord},
		{"bad kind", ledger.Credential{ID: "t9", Digest: digest("other"), Kind: "key", Role: ledger.MemberAdmin}, ledger.ErrInvalidRecord},
		{"bad role", ledger.Credential{ID: "t9", Digest: digest("other"), Kind: ledger.CredentialToken, Role: "owner"}, ledger.ErrInvalidRecord},
	} {
		if err := s.AddCredential(ctx, tc.c); !errors.Is(err, tc.want) || !wrappedOnce(err) {
			t.Errorf("AddCredential (%s) = %v, want %v", tc.name, err, tc.want)
		}
	}

	want := tok
	want.CreatedAt = teamNow
	got, err := s.CredentialByDigest(ctx, digest("secret-1"))
	if err != nil || got != want {
		t.Fatalf("CredentialByDigest = %+v, %v; want %+v", got, err, want)
	}
	if !got.Valid(teamNow) || got.Valid(expires) {
		t.Errorf("Valid: want true before %v and false from then on", expires)
	}
	for _, d := range []string{digest("unknown"), "", "bad\xff"} {
		if _, err := s.CredentialByDigest(ctx, d); !errors.Is(err, ledger.ErrNotFound) || !wrappedOnce(err) {
			t.Errorf("CredentialByDigest(%q) = %v, want ledger.ErrNotFound", d, err)
		}
	}
	list, err := s.Credentials(ctx, "contoso", ledger.CredentialToken)
	if err != nil || len(list) != 2 || list[0].ID != "t1" || list[1].ID != "t0" {
		t.Errorf("Credentials(contoso, token) = %+v, %v; want t1 then t0, oldest first", list, err)
	}
	if list, err := s.Credentials(ctx, "contoso", ledger.CredentialInvite); err != nil || len(list) != 0 {
		t.Errorf("Credentials(contoso, invite) = %+v, %v; want none", list, err)
	}

	// The administrator's: expired and revoked ones do not count.
	admin := func(id, secret string, expires time.Time) ledger.Credential {
		return ledger.Credential{ID: id, Digest: digest(secret), Kind: ledger.CredentialToken, Role: ledger.MemberAdmin, ExpiresAt: expires}
	}
	if err := s.AddCredential(ctx, admin("a-expired", "admin-0", now)); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.HasAdmin(ctx); ok || err != nil {
		t.Errorf("HasAdmin with an expired administrator's token = %v, %v; want false", ok, err)
	}
	if err := s.AddCredential(ctx, admin("a1", "admin-1", time.Time{})); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.HasAdmin(ctx); !ok || err != nil {
		t.Errorf("HasAdmin = %v, %v; want true", ok, err)
	}
	if list, err := s.Credentials(ctx, "", ledger.CredentialToken); err != nil || len(list) != 2 || list[0].OrgID != "" {
		t.Errorf("Credentials(\"\", token) = %+v, %v; want the administrator's two", list, err)
	}

	now = now.Add(time.Minute)
	revoked := now
	if err := s.RevokeCredential(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if err := s.RevokeCredential(ctx, "a1"); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	got, err = s.CredentialByDigest(ctx, digest("admin-1"))
	if err != nil || !got.RevokedAt.Equal(revoked) || got.Valid(now) {
		t.Errorf("revoked credential = %+v, %v; want revoked at %v, not valid", got, err, revoked)
	}
	if ok, err := s.HasAdmin(ctx); ok || err != nil {
		t.Errorf("HasAdmin after revoking = %v, %v; want false", ok, err)
	}
	if err := s.RevokeCredential(ctx, "nobody"); !errors.Is(err, ledger.ErrNotFound) || !wrappedOnce(err) {
		t.Errorf("RevokeCredential(nobody) = %v, want ledger.ErrNotFound", err)
	}
}

func invites(t *testing.T, open func(t *testing.T) func(now func() time.Time) TeamStore) {
	now := teamNow
	opener := open(t)
	clock := func() time.Time { return now }
	a, b := opener(clock), opener(clock) // two processes on one database
	ctx := context.Background()
	if err := a.CreateOrg(ctx, ledger.Org{ID: "northwind", Name: "Northwind"}); err != nil {
		t.Fatal(err)
	}
	invite := func(id string, expires time.Time) {
		t.Helper()
		if err := a.AddCredential(ctx, ledger.Credential{ID: id, Digest: digest(id), Kind: ledger.CredentialInvite,
			OrgID: "northwind", Role: ledger.MemberAdmin, ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
	}
	session := func(id string) ledger.Credential {
		return ledger.Credential{ID: id, Digest: digest(id), Kind: ledger.CredentialSession, Name: "Lee"}
	}
	invite("i1", teamNow.Add(time.Hour))

	// Redeemers at once, through two stores: one wins.
	const redeemers = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  []ledger.Credential
		lost int
	)
	for i := range redeemers {
		s := []TeamStore{a, b}[i%2]
		wg.Go(func() {
			got, err := s.RedeemInvite(ctx, digest("i1"), session(fmt.Sprint("s", i)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, got)
			case errors.Is(err, ledger.ErrNotFound) && wrappedOnce(err):
				lost++
			default:
				t.Errorf("redeemer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 || lost != redeemers-1 {
		t.Fatalf("%d redeemers of one invite: %d won, %d lost; want exactly one to win", redeemers, len(won), lost)
	}
	want := session(won[0].ID)
	want.OrgID, want.Role, want.CreatedAt = "northwind", ledger.MemberAdmin, teamNow
	if won[0] != want {
		t.Errorf("session = %+v, want %+v", won[0], want)
	}
	if got, err := a.CredentialByDigest(ctx, want.Digest); err != nil || got != want {
		t.Errorf("stored session = %+v, %v; want %+v", got, err, want)
	}
	used, err := b.CredentialByDigest(ctx, digest("i1"))
	if err != nil || !used.UsedAt.Equal(teamNow) || used.Valid(teamNow) {
		t.Errorf("redeemed invite = %+v, %v; want used, no longer valid", used, err)
	}
	if sessions, err := a.Credentials(ctx, "northwind", ledger.CredentialSession); err != nil || len(sessions) != 1 {
		t.Errorf("sessions after the race = %+v, %v; want one", sessions, err)
	}

	invite("i-expired", teamNow.Add(time.Minute))
	invite("i-revoked", time.Time{})
	if err := a.RevokeCredential(ctx, "i-revoked"); err != nil {
		t.Fatal(err)
	}
	if err := a.AddCredential(ctx, ledger.Credential{ID: "tok", Digest: digest("tok"), Kind: ledger.CredentialToken,
		OrgID: "northwind", Role: ledger.MemberMember}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	for _, id := range []string{"i1", "i-expired", "i-revoked", "tok", "unknown"} {
		if got, err := a.RedeemInvite(ctx, digest(id), session("s-"+id)); !errors.Is(err, ledger.ErrNotFound) || !wrappedOnce(err) {
			t.Errorf("RedeemInvite(%s) = %+v, %v; want ledger.ErrNotFound", id, got, err)
		}
	}
	if got, err := a.CredentialByDigest(ctx, digest("i-expired")); err != nil || !got.UsedAt.IsZero() {
		t.Errorf("expired invite after a refused redeem = %+v, %v; want it left unused", got, err)
	}
	invite("i2", time.Time{})
	if _, err := a.RedeemInvite(ctx, digest("i2"), session(won[0].ID)); !errors.Is(err, ledger.ErrExists) {
		t.Errorf("RedeemInvite with a session ID taken = %v, want ledger.ErrExists", err)
	}
	if got, err := a.CredentialByDigest(ctx, digest("i2")); err != nil || !got.UsedAt.IsZero() {
		t.Errorf("invite after a failed redeem = %+v, %v; want it left unused", got, err)
	}
	if _, err := a.RedeemInvite(ctx, digest("i2"), ledger.Credential{ID: "x", Digest: digest("x"), Kind: ledger.CredentialToken}); !errors.Is(err, ledger.ErrInvalidRecord) {
		t.Errorf("RedeemInvite for a token = %v, want ledger.ErrInvalidRecord", err)
	}
}

// teamFixture: vendor owns deal d1 (meetings m1, m2); partner recorded m3 (no deal); m4 has
// neither deal nor organisation; deal d2 has no owner (meeting m5).
func teamFixture(t *testing.T, s TeamStore) {
	t.Helper()
	ctx := context.Background()
	for _, o := range []ledger.Org{{ID: "vendor", Name: "Contoso"}, {ID: "partner", Name: "Northwind"}, {ID: "third", Name: "Fabrikam"}} {
		if err := s.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []ledger.Deal{{ID: "d1", Name: "ERP"}, {ID: "d2", Name: "CRM"}} {
		if err := s.CreateDeal(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range []ledger.Meeting{
		{ID: "m1", DealID: "d1", Title: "kickoff"},
		{ID: "m2", DealID: "d1", Title: "review"},
		{ID: "m3", Title: "partner call"},
		{ID: "m4", Title: "alone"},
		{ID: "m5", DealID: "d2", Title: "crm"},
	} {
		m.StartedAt = teamNow.Add(time.Duration(i) * time.Hour)
		if err := s.CreateMeeting(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetDealOwner(ctx, "d1", "vendor"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeetingOrg(ctx, "m3", "partner"); err != nil {
		t.Fatal(err)
	}
}

// meetingOrg checks that a meeting created with its organisation is stored with it, in one step,
// and that an unknown organisation is refused and leaves nothing behind.
func meetingOrg(t *testing.T, open func(t *testing.T) func(now func() time.Time) TeamStore) {
	s := open(t)(fixedClock(teamNow))
	ctx := context.Background()
	teamFixture(t, s)
	if err := s.CreateMeeting(ctx, ledger.Meeting{ID: "m7", OrgID: "vendor", StartedAt: teamNow, Hosted: true}); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Meeting(ctx, "m7"); err != nil || m.OrgID != "vendor" || !m.Hosted {
		t.Errorf("Meeting(m7) = %+v, %v; want OrgID vendor and hosted, as created", m, err)
	}
	// A hosted meeting is unstopped from its first run's start to its stop.
	unstopped := func() []string {
		t.Helper()
		ms, err := s.Unstopped(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		return ids
	}
	if got := unstopped(); len(got) != 0 {
		t.Errorf("Unstopped before any run = %v, want none", got)
	}
	for _, st := range []ledger.MeetingState{ledger.MeetingRecording, ledger.MeetingPaused, ledger.MeetingStopped} {
		if _, err := s.Append(ctx, ledger.Event{Type: ledger.TypeMeetingState, Meeting: "m7", State: st}); err != nil {
			t.Fatal(err)
		}
		want := st != ledger.MeetingStopped
		if got := unstopped(); (len(got) == 1 && got[0] == "m7") != want {
			t.Errorf("Unstopped once m7 is %s = %v", st, got)
		}
	}
	if err := s.CreateMeeting(ctx, ledger.Meeting{ID: "m8", OrgID: "nobody"}); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("CreateMeeting with an unknown organisation: %v, want ErrNotFound", err)
	}
	if _, err := s.Meeting(ctx, "m8"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("a meeting refused for its organisation was stored: %v", err)
	}

	// A guest link is replaced or revoked at once.
	if err := s.SetMeetingToken(ctx, "m7", "guest-token-1"); err != nil {
		t.Fatal(err)
	}
	if m, err := s.MeetingByToken(ctx, "guest-token-1"); err != nil || m.ID != "m7" {
		t.Errorf("MeetingByToken(new token) = %+v, %v; want m7", m, err)
	}
	if err := s.SetMeetingToken(ctx, "m7", ""); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Meeting(ctx, "m7"); err != nil || m.Token != "" {
		t.Errorf("Meeting(m7) after revoking its guest link = %+v, %v; want no token", m, err)
	}
	if _, err := s.MeetingByToken(ctx, "guest-token-1"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("MeetingByToken(revoked token): %v, want ErrNotFound", err)
	}
	if err := s.SetMeetingToken(ctx, "no-such", "x-token"); !errors.Is(err, ledger.ErrNotFound) || !wrappedOnce(err) {
		t.Errorf("SetMeetingToken of an unknown meeting: %v, want ErrNotFound", err)
	}
	if err := s.CreateMeeting(ctx, ledger.Meeting{ID: "m9", Token: "taken-token"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeetingToken(ctx, "m7", "taken-token"); !errors.Is(err, ledger.ErrExists) {
		t.Errorf("SetMeetingToken to another meeting's token: %v, want ErrExists", err)
	}
}

func meetingIDs(ms []ledger.Meeting) []string {
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func access(t *testing.T, open func(t *testing.T) func(now func() time.Time) TeamStore) {
	s := open(t)(fixedClock(teamNow))
	ctx := context.Background()
	teamFixture(t, s)
	vendor, partner, third := ledger.Reader{OrgID: "vendor"}, ledger.Reader{OrgID: "partner"}, ledger.Reader{OrgID: "third"}
	admin, nobody := ledger.Reader{All: true}, ledger.Reader{}

	if d, err := s.Deal(ctx, "d1"); err != nil || d.OwnerOrg != "vendor" {
		t.Errorf("Deal(d1) = %+v, %v; want OwnerOrg vendor", d, err)
	}
	if m, err := s.Meeting(ctx, "m3"); err != nil || m.OrgID != "partner" {
		t.Errorf("Meeting(m3) = %+v, %v; want OrgID partner", m, err)
	}
	if ms, err := s.Meetings(ctx, ""); err != nil || len(ms) != 2 || ms[0].OrgID != "partner" {
		t.Errorf("Meetings(\"\") = %+v, %v; want m3 with its organisation, then m4", ms, err)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"unknown deal", s.SetDealOwner(ctx, "nope", "vendor")},
		{"unknown owner", s.SetDealOwner(ctx, "d1", "nope")},
		{"unknown meeting", s.SetMeetingOrg(ctx, "nope", "vendor")},
		{"unknown meeting's org", s.SetMeetingOrg(ctx, "m1", "nope")},
		{"share of an unknown deal", s.ShareDeal(ctx, ledger.DealShare{DealID: "nope", OrgID: "partner", Level: ledger.ShareView})},
		{"share with an unknown org", s.ShareDeal(ctx, ledger.DealShare{DealID: "d1", OrgID: "nope", Level: ledger.ShareView})},
	} {
		if !errors.Is(tc.err, ledger.ErrNotFound) || !wrappedOnce(tc.err) {
			t.Errorf("%s: %v, want ledger.ErrNotFound", tc.name, tc.err)
		}
	}
	if err := s.ShareDeal(ctx, ledger.DealShare{DealID: "d1", OrgID: "partner", Level: "admin"}); !errors.Is(err, ledger.ErrInvalidRecord) {
		t.Errorf("ShareDeal at level admin: %v, want ledger.ErrInvalidRecord", err)
	}

	check := func(stage string, want map[string]map[string]ledger.ShareLevel) {
		t.Helper()
		readers := map[string]ledger.Reader{"vendor": vendor, "partner": partner, "third": third, "admin": admin, "nobody": nobody}
		for name, r := range readers {
			var visible []string
			for _, id := range []string{"m5", "m4", "m3", "m2", "m1"} { // newest first
				level, err := s.Access(ctx, r, id)
				wantLevel, ok := want[name][id]
				switch {
				case ok && (err != nil || level != wantLevel):
					t.Errorf("%s: Access(%s, %s) = %q, %v; want %q", stage, name, id, level, err, wantLevel)
				case !ok && (!errors.Is(err, ledger.ErrNotFound) || !wrappedOnce(err)):
					t.Errorf("%s: Access(%s, %s) = %q, %v; want ledger.ErrNotFound", stage, name, id, level, err)
				}
				if ok {
					visible = append(visible, id)
				}
			}
			got, err := s.VisibleMeetings(ctx, r)
			if err != nil || !reflect.DeepEqual(meetingIDs(got), append([]string{}, visible...)) {
				t.Errorf("%s: VisibleMeetings(%s) = %v, %v; want %v", stage, name, meetingIDs(got), err, visible)
			}
			if _, err := s.Access(ctx, r, "unknown"); !errors.Is(err, ledger.ErrNotFound) {
				t.Errorf("%s: Access(%s, unknown) = %v, want ledger.ErrNotFound", stage, name, err)
			}
		}
	}
	edit, view := ledger.ShareEdit, ledger.ShareView
	all := map[string]ledger.ShareLevel{"m1": edit, "m2": edit, "m3": edit, "m4": edit, "m5": edit}
	check("before sharing", map[string]map[string]ledger.ShareLevel{
		"vendor":  {"m1": edit, "m2": edit},
		"partner": {"m3": edit},
		"admin":   all,
	})
	if err := s.ShareDeal(ctx, ledger.DealShare{DealID: "d1", OrgID: "partner", Level: view}); err != nil {
		t.Fatal(err)
	}
	check("shared for viewing", map[string]map[string]ledger.ShareLevel{
		"vendor":  {"m1": edit, "m2": edit},
		"partner": {"m1": view, "m2": view, "m3": edit},
		"admin":   all,
	})
	if l, err := s.DealAccess(ctx, partner, "d1"); err != nil || l != view || l.Covers(edit) || !l.Covers(view) {
		t.Errorf("DealAccess(partner, d1) = %q, %v; want view", l, err)
	}
	if err := s.ShareDeal(ctx, ledger.DealShare{DealID: "d1", OrgID: "partner", Level: edit}); err != nil {
		t.Fatal(err)
	}
	if err := s.ShareDeal(ctx, ledger.DealShare{DealID: "d2", OrgID: "third", Level: view}); err != nil {
		t.Fatal(err)
	}
	check("shared for editing", map[string]map[string]ledger.ShareLevel{
		"vendor":  {"m1": edit, "m2": edit},
		"partner": {"m1": edit, "m2": edit, "m3": edit},
		"third":   {"m5": view},
		"admin":   all,
	})
	if shares, err := s.DealShares(ctx, "d1"); err != nil || !reflect.DeepEqual(shares, []ledger.DealShare{{DealID: "d1", OrgID: "partner", Level: edit}}) {
		t.Errorf("DealShares(d1) = %+v, %v; want the one share, at its last level", shares, err)
	}

	for _, tc := range []struct {
		name  string
		r     ledger.Reader
		deals map[string]ledger.ShareLevel
	}{
		{"vendor", vendor, map[string]ledger.ShareLevel{"d1": edit}},
		{"partner", partner, map[string]ledger.ShareLevel{"d1": edit}},
		{"third", third, map[string]ledger.ShareLevel{"d2": view}},
		{"admin", admin, map[string]ledger.ShareLevel{"d1": edit, "d2": edit}},
		{"nobody", nobody, nil},
	} {
		var want []string
		for _, id := range []string{"d2", "d1"} { // by name: CRM, ERP
			l, err := s.DealAccess(ctx, tc.r, id)
			if wl, ok := tc.deals[id]; ok {
				want = append(want, id)
				if err != nil || l != wl {
					t.Errorf("DealAccess(%s, %s) = %q, %v; want %q", tc.name, id, l, err, wl)
				}
			} else if !errors.Is(err, ledger.ErrNotFound) || !wrappedOnce(err) {
				t.Errorf("DealAccess(%s, %s) = %q, %v; want ledger.ErrNotFound", tc.name, id, l, err)
			}
		}
		ds, err := s.VisibleDeals(ctx, tc.r)
		var got []string
		for _, d := range ds {
			got = append(got, d.ID)
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("VisibleDeals(%s) = %v, %v; want %v", tc.name, got, err, want)
		}
	}
}
