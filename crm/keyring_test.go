package crm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/crm"
	"github.com/ledgerline/ledgerline/ledger"
)

// A sealed token opens for its organisation under the same key only; a server without a key
// refuses to seal or open, and says how to give it one.
func TestKeyringSealsPerOrganisation(t *testing.T) {
	k := newKeyring(t)
	sealed, err := k.Seal("contoso", secret)
	if err != nil || strings.Contains(sealed, secret) {
		t.Fatalf("Seal = %q, %v", sealed, err)
	}
	if again, _ := k.Seal("contoso", secret); again == sealed {
		t.Error("two seals of one token are alike: the nonce is not fresh")
	}
	if got, err := k.Open("contoso", sealed); err != nil || got != secret {
		t.Errorf("Open = %q, %v", got, err)
	}
	if _, err := k.Open("fabrikam", sealed); err == nil {
		t.Error("a token sealed for one organisation opened for another")
	}
	if _, err := newKeyring(t).Open("contoso", sealed); err == nil {
		t.Error("a token opened under another key")
	}
	for _, bad := range []string{"", "two words", "tab\there", strings.Repeat("x", 5000)} {
		if _, err := k.Seal("contoso", bad); err == nil {
			t.Errorf("Seal(%q) = nil error", bad)
		}
	}
	var none *crm.Keyring
	if _, err := none.Seal("contoso", secret); !errors.Is(err, crm.ErrNoKey) || !strings.Contains(err.Error(), crm.EnvKey) {
		t.Errorf("Seal without a key = %v, want ErrNoKey naming %s", err, crm.EnvKey)
	}
	if _, err := crm.NewKeyring(make([]byte, 16)); err == nil {
		t.Error("NewKeyring took a 16-byte key")
	}
}

func TestKeyringFromEnv(t *testing.T) {
	t.Setenv(crm.EnvKey, "")
	if k, err := crm.KeyringFromEnv(); k != nil || err != nil {
		t.Errorf("KeyringFromEnv unset = %v, %v; want nil, nil", k, err)
	}
	t.Setenv(crm.EnvKey, "not base64!")
	if _, err := crm.KeyringFromEnv(); err == nil {
		t.Error("KeyringFromEnv took a key that is not base64")
	}
	t.Setenv(crm.EnvKey, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	if k, err := crm.KeyringFromEnv(); k == nil || err != nil {
		t.Errorf("KeyringFromEnv = %v, %v", k, err)
	}
}

// Salesforce requests go to Salesforce hosts only, over https; HubSpot has no instance.
func TestCheckInstance(t *testing.T) {
	k, err := crm.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p        ledger.CRMProvider
		in, want string
		ok       bool
	}{
		{ledger.CRMHubSpot, "", "", true},
		{ledger.CRMHubSpot, "https://api.hubapi.com", "", false},
		{ledger.CRMSalesforce, "https://acme.my.salesforce.com/", "https://acme.my.salesforce.com", true},
		{ledger.CRMSalesforce, "https://acme--dev.sandbox.my.salesforce.com", "https://acme--dev.sandbox.my.salesforce.com", true},
		{ledger.CRMSalesforce, "http://acme.my.salesforce.com", "", false},
		{ledger.CRMSalesforce, "https://salesforce.com.evil.example", "", false},
		{ledger.CRMSalesforce, "https://user:pw@acme.my.salesforce.com", "", false},
		{ledger.CRMSalesforce, "https://acme.my.salesforce.com/services", "", false},
		{ledger.CRMSalesforce, "", "", false},
		{"pipedrive", "", "", false},
	} {
		got, err := k.CheckInstance(tc.p, tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("CheckInstance(%s, %q) = %q, %v; want %q, ok %v", tc.p, tc.in, got, err, tc.want, tc.ok)
		}
	}
}
