package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
}
