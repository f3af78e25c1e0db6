package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// Scope is what a capability link lets its holder do with one meeting. Each scope includes the
// ones before it, so one token is checked against one minimum.
type Scope int

// The scopes, narrowest first.
const (
	// ScopeRecap reads the recap and the exports: what a link that leaves the machine carries
	// (a webhook, a Slack message, a printed recap link).
	ScopeRecap Scope = iota + 1
	// ScopeWatch also follows the meeting live: the overlay and its socket.
	ScopeWatch
	// ScopeJoin also sends audio: the join page and WHIP.
	ScopeJoin
	// ScopeControl also changes the meeting (renames, commitment edits, pause and resume): the
	// meeting's own token, held by whoever started it.
	ScopeControl
)

var scopeNames = map[Scope]string{ScopeRecap: "recap", ScopeWatch: "watch", ScopeJoin: "join", ScopeControl: "control"}

func (s Scope) String() string {
	if n, ok := scopeNames[s]; ok {
		return n
	}
	return "none"
}

// ScopedToken returns the token of a narrower scope for a meeting whose token is token: derived
// from it (HMAC-SHA256 keyed by the meeting's token), so that nothing more is stored, a holder
// cannot widen it, and replacing the meeting's token revokes every one derived from it.
// ScopeControl is the meeting's token itself.
func ScopedToken(token string, scope Scope) string {
	if scope >= ScopeControl {
		return token
	}
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("ledgerline meeting scope\x00" + scope.String()))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// scopeDigests are the digests of a meeting's token for each scope, which is all a Server keeps of
// it; the zero value opens nothing.
type scopeDigests struct {
	set     bool
	digests [ScopeControl + 1][sha256.Size]byte
}

func digestsOf(token string) scopeDigests {
	d := scopeDigests{set: token != ""}
	for s := ScopeRecap; s <= ScopeControl; s++ {
		d.digests[s] = sha256.Sum256([]byte(ScopedToken(token, s)))
	}
	return d
}

// scopeOf returns the widest scope presented opens, or 0 for none. Every scope is compared, in
// constant time, so that the time taken tells nothing of which matched.
func (d scopeDigests) scopeOf(presented string) Scope {
	if !d.set || presented == "" {
		return 0
	}
	got := sha256.Sum256([]byte(presented))
	var found Scope
	for s := ScopeRecap; s <= ScopeControl; s++ {
		if subtle.ConstantTimeCompare(got[:], d.digests[s][:]) == 1 {
			found = s
		}
	}
	return found
}

// TokenScope returns the widest scope that presented opens of a meeting whose token is token, or 0
// for none: for checks made outside a Server, against a token read from the store.
func TokenScope(token, presented string) Scope {
	return digestsOf(token).scopeOf(presented)
}
