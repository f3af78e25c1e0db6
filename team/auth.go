package team

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// Names and lifetimes of what a browser holds.
const (
	sessionCookie   = "ledgerline_session"
	sessionLifetime = 30 * 24 * time.Hour
	csrfHeader      = "X-CSRF-Token"
	// DefaultInviteLifetime is how long an invite link stays valid when its maker does not say.
	DefaultInviteLifetime = 72 * time.Hour
	// MaxInviteLifetime bounds how long an invite link may stay valid.
	MaxInviteLifetime = 30 * 24 * time.Hour
)

var (
	// errNoCredentials: the request carries neither a bearer token nor a session cookie.
	errNoCredentials = fmt.Errorf("team: %w", server.ErrNoCredentials)
	// errBadCredentials: it carries one that is unknown, revoked or expired.
	errBadCredentials = errors.New("team: the token or session is not valid (unknown, revoked or expired)")
)

// newSecret returns a fresh secret: 256 random bits, base64url without padding.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails; it aborts the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// digest is what the store keeps of a secret: its SHA-256, in hex. Secrets are 256 random bits,
// so a plain hash cannot be reversed by guessing; a slow password hash would only cost every
// request time.
func digest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// csrfToken is the token a signed-in page must echo in X-CSRF-Token with every change it makes:
// derived from the session's secret, which only the browser's cookie holds, so another site's
// page can neither read nor guess it.
func csrfToken(sessionSecret string) string {
	sum := sha256.Sum256([]byte("ledgerline csrf\x00" + sessionSecret))
	return hex.EncodeToString(sum[:16])
}

// principal is who makes a request: the credential they presented.
type principal struct {
	cred   ledger.Credential
	secret string // the session's secret, for its CSRF token; "" for a bearer token
}

// reader is the principal as the access rule knows it.
func (p principal) reader() ledger.Reader {
	return ledger.Reader{OrgID: p.cred.OrgID, All: p.cred.OrgID == ""}
}

// administrator reports whether the principal is the server's administrator.
func (p principal) administrator() bool { return p.cred.OrgID == "" }

// manages reports whether the principal may manage an organisation: invite, make tokens, own and
// share deals.
func (p principal) manages(orgID string) bool {
	return p.administrator() || (p.cred.OrgID == orgID && p.cred.Role == ledger.MemberAdmin)
}

// authenticate finds who makes the request: a bearer token if the request has an Authorization
// header, else a session cookie. A request with neither fails with errNoCredentials; one whose
// credential is unknown, of the wrong kind, revoked or expired with errBadCredentials.
func (s *Server) authenticate(r *http.Request) (principal, error) {
	kind, secret := ledger.CredentialToken, ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return principal{}, errBadCredentials
		}
		secret = strings.TrimSpace(token)
	} else if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		kind, secret = ledger.CredentialSession, c.Value
	} else {
		return principal{}, errNoCredentials
	}
	cred, err := s.store.CredentialByDigest(r.Context(), digest(secret))
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return principal{}, errBadCredentials
	case err != nil:
		return principal{}, fmt.Errorf("team: check credentials: %w", err)
	}
	// The digest found it; comparing again in constant time keeps the check itself from leaking.
	want := digest(secret)
	if subtle.ConstantTimeCompare([]byte(cred.Digest), []byte(want)) != 1 || cred.Kind != kind || !cred.Valid(s.now()) {
		return principal{}, errBadCredentials
	}
	p := principal{cred: cred}
	if kind == ledger.CredentialSession {
		p.secret = secret
	}
	return p, nil
}

// checkCSRF refuses a change made with a session cookie unless it comes from this server's own
// pages: the Origin, when sent, must be this server, and the page's CSRF token must come with it.
// Bearer tokens are never sent by browsers on their own, so requests made with them need neither.
func (s *Server) checkCSRF(r *http.Request, p principal) error {
	if p.secret == "" {
		return nil
	}
	if origin := r.Header.Get("Origin"); origin != "" && !s.ownOrigin(r, origin) {
		return fmt.Errorf("changes are accepted only from this server's own pages")
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	want := csrfToken(p.secret)
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fmt.Errorf("the request lacks this session's %s: reload the page and try again", csrfHeader)
	}
	return nil
}

// ownOrigin reports whether a browser's Origin is one of this server's pages: the host the request
// was sent to, the public URL's, or one of the allowed origins (a proxy may pass on a Host of its
// own rather than the browser's).
func (s *Server) ownOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	o := strings.ToLower(u.Scheme + "://" + u.Host)
	return slices.Contains(s.origins, o)
}

// changes reports whether a request's method changes something.
func changes(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// setSession gives the browser its session cookie.
func (s *Server) setSession(w http.ResponseWriter, r *http.Request, secret string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    secret,
		Path:     "/",
		Expires:  expires,
		HttpOnly: true,
		Secure:   s.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}

// secure reports whether cookies must be Secure: the request came over HTTPS, or the server is
// reached at an https public URL (TLS ends at a proxy in front of it).
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.cfg.PublicURL, "https://")
}

// gate is the Server's side of server.Gate: pages, sockets and controls of meetings and deals,
// let in by the one access rule.
type gate struct{ s *Server }

var _ server.Gate = gate{}

// Meeting implements server.Gate.
func (g gate) Meeting(r *http.Request, id string, edit bool) error {
	p, err := g.s.authenticate(r)
	if errors.Is(err, errBadCredentials) {
		return fmt.Errorf("team: %w", ledger.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return g.s.allow(r.Context(), p, id, edit)
}

// Name implements server.Namer: the name of the person signed in (given when they redeemed their
// invite), or of the API token; "" for a request with neither.
func (g gate) Name(r *http.Request) string {
	p, err := g.s.authenticate(r)
	if err != nil {
		return ""
	}
	return p.cred.Name
}

var _ server.Namer = gate{}

// Deal implements server.Gate.
func (g gate) Deal(r *http.Request, id string) error {
	p, err := g.s.authenticate(r)
	if errors.Is(err, errBadCredentials) {
		return fmt.Errorf("team: %w", ledger.ErrNotFound)
	}
	if err != nil {
		return err
	}
	_, err = g.s.store.DealAccess(r.Context(), p.reader(), id)
	return err
}

// allow applies the access rule to a meeting: ledger.ErrNotFound when p may not reach it,
// server.ErrReadOnly when p may only read it and edit was asked.
func (s *Server) allow(ctx context.Context, p principal, meetingID string, edit bool) error {
	level, err := s.store.Access(ctx, p.reader(), meetingID)
	if err != nil {
		return err
	}
	if edit && !level.Covers(ledger.ShareEdit) {
		return server.ErrReadOnly
	}
	return nil
}
