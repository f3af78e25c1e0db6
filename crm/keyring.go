package crm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/ledgerline/ledgerline/ledger"
)

// EnvKey names the environment variable that holds the server's CRM key: 32 random bytes in
// base64 (openssl rand -base64 32), the same on every replica.
const EnvKey = "LEDGERLINE_CRM_KEY"

// ErrNoKey reports a server started without a CRM key: it can neither keep nor use tokens.
var ErrNoKey = errors.New("crm: this server has no CRM key: start it with $" + EnvKey +
	" set to 32 random bytes in base64 (openssl rand -base64 32), the same on every replica")

// maxToken bounds a token's length.
const maxToken = 4096

// DefaultSalesforceHosts are the host suffixes a Salesforce instance URL may have.
var DefaultSalesforceHosts = []string{".salesforce.com", ".force.com"}

// Keyring keeps organisations' CRM tokens sealed for the store: AES-256-GCM under the server's
// key, with the organisation's ID as additional data, so that a sealed token copied to another
// organisation's row does not open. The key lives outside the database (the environment), so that
// a copy of the database alone reveals no token. It also says which Salesforce instances tokens
// may be sent to, so that no admin can send one, or the server's requests, elsewhere.
//
// A nil *Keyring is a server without a key: every method fails with ErrNoKey.
type Keyring struct {
	aead  cipher.AEAD
	hosts []string
}

// NewKeyring makes a Keyring with a 32-byte key; hosts are the Salesforce host suffixes (or
// whole hosts) instance URLs may have, DefaultSalesforceHosts when none.
func NewKeyring(key []byte, hosts ...string) (*Keyring, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("crm: a CRM key has 32 bytes, not %d: make one with openssl rand -base64 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("crm: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("crm: %w", err)
	}
	if len(hosts) == 0 {
		hosts = DefaultSalesforceHosts
	}
	return &Keyring{aead: aead, hosts: hosts}, nil
}

// KeyringFromEnv makes the Keyring of $LEDGERLINE_CRM_KEY; nil, and no error, when it is unset.
func KeyringFromEnv() (*Keyring, error) {
	v := os.Getenv(EnvKey)
	if v == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return nil, fmt.Errorf("crm: $%s is not base64: make one with openssl rand -base64 32", EnvKey)
	}
	return NewKeyring(key)
}

// Seal seals an organisation's token for the store. A token must be printable ASCII without
// spaces, as bearer tokens are.
func (k *Keyring) Seal(orgID, token string) (string, error) {
	if k == nil {
		return "", ErrNoKey
	}
	if token == "" || len(token) > maxToken || strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return "", fmt.Errorf("crm: a token is 1 to %d printable characters without spaces", maxToken)
	}
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("crm: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k.aead.Seal(nonce, nonce, []byte(token), []byte(orgID))), nil
}

// Open opens a token that Seal sealed for the organisation.
func (k *Keyring) Open(orgID, sealed string) (string, error) {
	if k == nil {
		return "", ErrNoKey
	}
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < k.aead.NonceSize() {
		return "", errors.New("crm: a sealed token is damaged")
	}
	n := k.aead.NonceSize()
	token, err := k.aead.Open(nil, b[:n], b[n:], []byte(orgID))
	if err != nil {
		return "", errors.New("crm: a sealed token does not open with this server's key (was the key changed?)")
	}
	return string(token), nil
}

// CheckInstance checks where a provider's requests go: "" for HubSpot, whose API is one place;
// for Salesforce an https URL of an instance (https://acme.my.salesforce.com), returned as its
// origin alone.
func (k *Keyring) CheckInstance(p ledger.CRMProvider, raw string) (string, error) {
	if k == nil {
		return "", ErrNoKey
	}
	switch p {
	case ledger.CRMHubSpot:
		if raw != "" {
			return "", errors.New("crm: HubSpot takes no instance URL")
		}
		return "", nil
	case ledger.CRMSalesforce:
	default:
		return "", fmt.Errorf("crm: unknown CRM %q: use hubspot or salesforce", p)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return "", errors.New("crm: a Salesforce instance URL is https://YOUR-DOMAIN.my.salesforce.com, as the token's OAuth answer gives it (instance_url)")
	}
	host := u.Hostname()
	for _, h := range k.hosts {
		if host == strings.TrimPrefix(h, ".") || strings.HasPrefix(h, ".") && strings.HasSuffix(host, h) {
			return "https://" + u.Host, nil
		}
	}
	return "", fmt.Errorf("crm: %s is not a Salesforce host (%s)", host, strings.Join(k.hosts, ", "))
}
