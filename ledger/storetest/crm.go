package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// CRMStore is a team store that also keeps what is pushed to organisations' CRMs.
type CRMStore interface {
	TeamStore
	ledger.CRM
}

// RunCRM checks what every Store that implements ledger.CRM keeps of CRM pushes: an
// organisation's CRM replaced whole, a deal's record set and cleared, an item started once
// whatever the number of starts (by two stores on one database), finished with its remote ID, and
// a crm.push event stored as it was appended. The stores open gives must implement ledger.CRM.
func RunCRM(t *testing.T, open StoreOpener) {
	o := open(t)
	store := func() CRMStore {
		s, ok := o(func() time.Time { return teamNow }).(CRMStore)
		if !ok {
			t.Fatalf("%T does not implement ledger.CRM", s)
		}
		return s
	}
	a, b := store(), store()
	ctx := context.Background()
	if err := a.CreateOrg(ctx, ledger.Org{ID: "contoso", Name: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateDeal(ctx, ledger.Deal{ID: "d1", Name: "Fabrikam"}); err != nil {
		t.Fatal(err)
	}

	if _, err := a.OrgCRM(ctx, "contoso"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("OrgCRM before it was set = %v, want ErrNotFound", err)
	}
	for _, c := range []ledger.OrgCRM{
		{OrgID: "contoso", Provider: ledger.CRMHubSpot, SealedToken: "sealed-1"},
		{OrgID: "contoso", Provider: ledger.CRMSalesforce, InstanceURL: "https://acme.my.salesforce.com", SealedToken: "sealed-2"},
	} {
		if err := a.SetOrgCRM(ctx, c); err != nil {
			t.Fatal(err)
		}
		c.UpdatedAt = teamNow
		if got, err := b.OrgCRM(ctx, "contoso"); err != nil || got != c {
			t.Errorf("OrgCRM = %+v, %v; want %+v", got, err, c)
		}
	}
	for _, tc := range []struct {
		c    ledger.OrgCRM
		want error
	}{
		{ledger.OrgCRM{OrgID: "nobody", Provider: ledger.CRMHubSpot, SealedToken: "x"}, ledger.ErrNotFound},
		{ledger.OrgCRM{OrgID: "contoso", Provider: "pipedrive", SealedToken: "x"}, ledger.ErrInvalidRecord},
		{ledger.OrgCRM{OrgID: "contoso", Provider: ledger.CRMHubSpot}, ledger.ErrInvalidRecord},
	} {
		if err := a.SetOrgCRM(ctx, tc.c); !errors.Is(err, tc.want) {
			t.Errorf("SetOrgCRM(%+v) = %v, want %v", tc.c, err, tc.want)
		}
	}

	if _, err := a.DealCRM(ctx, "d1"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("DealCRM before it was set = %v, want ErrNotFound", err)
	}
	for _, record := range []string{"006A", "006B"} {
		if err := a.SetDealCRM(ctx, "d1", record); err != nil {
			t.Fatal(err)
		}
		if got, err := b.DealCRM(ctx, "d1"); err != nil || got != record {
			t.Errorf("DealCRM = %q, %v; want %q", got, err, record)
		}
	}
	if err := a.SetDealCRM(ctx, "d1", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DealCRM(ctx, "d1"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("DealCRM once cleared = %v, want ErrNotFound", err)
	}
	if err := a.SetDealCRM(ctx, "nodeal", "006A"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("SetDealCRM of an unknown deal = %v, want ErrNotFound", err)
	}

	if err := a.CreateMeeting(ctx, ledger.Meeting{ID: "m1", DealID: "d1"}); err != nil {
		t.Fatal(err)
	}
	item := ledger.CRMItem{Meeting: "m1", Provider: ledger.CRMHubSpot, Record: "501", Item: "recap"}
	first, started, err := a.StartCRMItem(ctx, item)
	want := item
	want.Started = teamNow
	if err != nil || first != want || !started {
		t.Fatalf("StartCRMItem = %+v, %v, %v; want %+v, started", first, started, err, want)
	}
	if err := b.FinishCRMItem(ctx, ledger.CRMItem{Meeting: "m1", Provider: ledger.CRMHubSpot, Record: "501", Item: "commitment/c1",
		RemoteID: "9"}); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("FinishCRMItem of an item never started = %v, want ErrNotFound", err)
	}
	done := first
	done.RemoteID, done.Digest = "77", "abc"
	if err := b.FinishCRMItem(ctx, done); err != nil {
		t.Fatal(err)
	}
	again, started, err := b.StartCRMItem(ctx, item)
	done.Pushed = teamNow
	if err != nil || again != done || started {
		t.Errorf("StartCRMItem once finished = %+v, %v, %v; want %+v (as recorded, not started again)", again, started, err, done)
	}
	if other, _, err := a.StartCRMItem(ctx, ledger.CRMItem{Meeting: "m1", Provider: ledger.CRMSalesforce, Record: "501",
		Item: "recap"}); err != nil || other.RemoteID != "" {
		t.Errorf("StartCRMItem on another CRM = %+v, %v; want an item of its own", other, err)
	}
	if _, _, err := a.StartCRMItem(ctx, ledger.CRMItem{Meeting: "nomeeting", Provider: ledger.CRMHubSpot, Record: "501",
		Item: "recap"}); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("StartCRMItem of an unknown meeting = %v, want ErrNotFound", err)
	}

	push := ledger.CRMPush{Provider: ledger.CRMHubSpot, Record: "501", Created: 1, Updated: 2, Failed: 1, Error: "task: 400"}
	if _, err := a.Append(ctx, ledger.Event{Type: ledger.TypeCRMPush, Meeting: "m1", CRM: &push}); err != nil {
		t.Fatal(err)
	}
	events, err := b.Since(ctx, "m1", 0)
	if err != nil || len(events) != 1 || events[0].CRM == nil || *events[0].CRM != push {
		t.Errorf("Since = %+v, %v; want the crm.push event as appended", events, err)
	}
	if _, err := a.Append(ctx, ledger.Event{Type: ledger.TypeCRMPush, Meeting: "m1", CRM: &ledger.CRMPush{Record: "501"}}); !errors.Is(err, ledger.ErrInvalidEvent) {
		t.Errorf("Append of a crm.push without a provider = %v, want ErrInvalidEvent", err)
	}
}
