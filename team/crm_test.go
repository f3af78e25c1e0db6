package team

import (
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/crm"
	"github.com/ledgerline/ledgerline/ledger"
)

// newCRMFixture is a team server with a CRM key, the organisations Acme (which owns deal-1) and
// Elsewhere Ltd, and an admin's and a member's token of Acme and an admin's of Elsewhere.
func newCRMFixture(t *testing.T, store Store, keys *crm.Keyring) (f *fixture, acmeAdmin, elsewhereAdmin string) {
	t.Helper()
	f, _ = serveFixture(t, Config{Store: store, CRM: keys})
	f.vendor, f.stranger = f.org("Acme"), f.org("Elsewhere Ltd")
	f.vendorTok = f.token(f.vendor)
	adminOf := func(org string) string {
		var tok struct{ Token string }
		f.call(http.MethodPost, "/api/v1/tokens", f.admin, map[string]string{"org": org, "name": "crm", "role": "admin"}, http.StatusCreated, &tok)
		return tok.Token
	}
	f.call(http.MethodPost, "/api/v1/deals", f.admin, map[string]string{"id": "deal-1", "name": "Big deal", "vendor_org": "Acme"},
		http.StatusCreated, nil)
	return f, adminOf(f.vendor), adminOf(f.stranger)
}

// An organisation's admin sets its CRM: the token is sealed in the store and never answered back;
// a Salesforce instance must be a Salesforce host. The deal's owner sets the deal's record.
// Others may do neither.
func TestCRMSettings(t *testing.T) {
	both(t, func(t *testing.T, open opener) {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		keys, err := crm.NewKeyring(key)
		if err != nil {
			t.Fatal(err)
		}
		store := open(t)
		f, acmeAdmin, elsewhereAdmin := newCRMFixture(t, store, keys)
		path := "/api/v1/orgs/" + f.vendor + "/crm"
		const token = "pat-na1-11111111-2222-secret"
		hubspot := map[string]string{"provider": "hubspot", "token": token}

		f.call(http.MethodGet, path, acmeAdmin, nil, http.StatusNotFound, nil)
		f.call(http.MethodPut, path, f.vendorTok, hubspot, http.StatusForbidden, nil)
		f.call(http.MethodPut, path, elsewhereAdmin, hubspot, http.StatusForbidden, nil)
		var got orgCRMJSON
		body := f.call(http.MethodPut, path, acmeAdmin, hubspot, http.StatusOK, &got)
		if got.Provider != "hubspot" || !got.TokenSet || got.Org != f.vendor || strings.Contains(string(body), token) {
			t.Errorf("PUT answered %s; want hubspot, a token set, and never the token", body)
		}
		if body := f.call(http.MethodGet, "/api/v1/orgs/Acme/crm", f.admin, nil, http.StatusOK, nil); strings.Contains(string(body), token) {
			t.Errorf("GET answered the token: %s", body)
		}
		stored, err := store.OrgCRM(t.Context(), f.vendor)
		if err != nil || strings.Contains(stored.SealedToken, token) {
			t.Fatalf("stored = %+v, %v; want the token sealed", stored, err)
		}
		if opened, err := keys.Open(f.vendor, stored.SealedToken); err != nil || opened != token {
			t.Errorf("the stored token opens as %q, %v", opened, err)
		}
		if _, err := keys.Open(f.stranger, stored.SealedToken); err == nil {
			t.Error("a sealed token opened for another organisation")
		}

		for _, bad := range []map[string]string{
			{"provider": "salesforce", "token": token, "instance_url": "https://evil.example.com"},
			{"provider": "salesforce", "token": token, "instance_url": "http://acme.my.salesforce.com"},
			{"provider": "salesforce", "token": token},
			{"provider": "hubspot", "token": token, "instance_url": "https://acme.my.salesforce.com"},
			{"provider": "pipedrive", "token": token},
			{"provider": "hubspot", "token": "two words"},
			{"provider": "hubspot"},
		} {
			f.call(http.MethodPut, path, acmeAdmin, bad, http.StatusBadRequest, nil)
		}
		f.call(http.MethodPut, path, acmeAdmin, map[string]string{"provider": "salesforce", "token": token,
			"instance_url": "https://acme.my.salesforce.com/"}, http.StatusOK, &got)
		if got.Provider != "salesforce" || got.InstanceURL != "https://acme.my.salesforce.com" {
			t.Errorf("PUT salesforce answered %+v", got)
		}

		deal := "/api/v1/deals/deal-1/crm"
		f.call(http.MethodPut, deal, elsewhereAdmin, map[string]string{"record": "006000000000001AAA"}, http.StatusNotFound, nil)
		f.call(http.MethodPut, deal, f.vendorTok, map[string]string{"record": "006000000000001AAA"}, http.StatusNotFound, nil)
		f.call(http.MethodPut, deal, acmeAdmin, map[string]string{"record": "../x"}, http.StatusBadRequest, nil)
		f.call(http.MethodPut, deal, acmeAdmin, map[string]string{"record": "006000000000001AAA"}, http.StatusOK, nil)
		if r, err := store.DealCRM(t.Context(), "deal-1"); err != nil || r != "006000000000001AAA" {
			t.Errorf("DealCRM = %q, %v", r, err)
		}
		f.call(http.MethodPut, deal, acmeAdmin, map[string]string{"record": ""}, http.StatusOK, nil)
		if _, err := store.DealCRM(t.Context(), "deal-1"); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("DealCRM once cleared = %v, want ErrNotFound", err)
		}
	})
}

// A server started without a CRM key refuses to keep a token, and says how to give it one.
func TestCRMSettingsWithoutKey(t *testing.T) {
	f := newFixture(t, sqliteStore(t))
	body := f.call(http.MethodPut, "/api/v1/orgs/"+f.vendor+"/crm", f.admin, map[string]string{"provider": "hubspot", "token": "pat-x"},
		http.StatusServiceUnavailable, nil)
	if !strings.Contains(string(body), crm.EnvKey) {
		t.Errorf("answer = %s; want it to name %s", body, crm.EnvKey)
	}
}
