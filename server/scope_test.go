package server

import (
	"net/http"
	"strings"
	"testing"
)

// Each link opens what its scope allows and nothing more; replacing the meeting's token revokes
// every link derived from it.
func TestLinkScopes(t *testing.T) {
	f := newRecordsFixture(t)
	if err := f.srv.AddMeetingToken(recMeeting, recToken); err != nil {
		t.Fatal(err)
	}
	control := func(token string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, f.http.URL+"/m/"+recMeeting+"/pause?t="+token, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(controlHeader, "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	status := func(path string) int {
		t.Helper()
		resp, _ := f.get(t, path)
		return resp.StatusCode
	}
	const refused = http.StatusForbidden
	// This server takes no changes (501) once a request is let in.
	for _, tc := range []struct {
		scope                    Scope
		recap, page, join, pause int
	}{
		{ScopeRecap, 200, refused, refused, refused},
		{ScopeWatch, 200, 200, refused, refused},
		{ScopeJoin, 200, 200, 200, refused},
		{ScopeControl, 200, 200, 200, http.StatusNotImplemented},
	} {
		token := ScopedToken(recToken, tc.scope)
		join := refused // as WHIP ingest checks a publisher's token
		if known, ok := f.srv.CheckToken(recMeeting, token, ScopeJoin); known && ok {
			join = 200
		}
		got := []int{status("/m/" + recMeeting + "/recap?t=" + token), status("/m/" + recMeeting + "?t=" + token), join, control(token)}
		if want := []int{tc.recap, tc.page, tc.join, tc.pause}; !equalInts(got, want) {
			t.Errorf("%s link: recap, page, join, pause answered %v, want %v", tc.scope, got, want)
		}
		if tc.scope < ScopeControl && token == recToken {
			t.Errorf("the %s link is the meeting's own token", tc.scope)
		}
	}
	// The links the server hands out carry the narrow scopes.
	if !strings.Contains(JoinPath(recMeeting, recToken), ScopedToken(recToken, ScopeJoin)) ||
		!strings.Contains(RecapPath(recMeeting, recToken), ScopedToken(recToken, ScopeRecap)) {
		t.Error("join and recap links do not carry their scoped tokens")
	}

	// A new token for the meeting: links derived from the old one open nothing live.
	f.srv.ReplaceToken(recMeeting, "another-token-0123456789")
	if code := status("/m/" + recMeeting + "?t=" + ScopedToken(recToken, ScopeWatch)); code != refused {
		t.Errorf("old watch link after the token was replaced: %d, want %d", code, refused)
	}
	if code := status("/m/" + recMeeting + "?t=" + ScopedToken("another-token-0123456789", ScopeWatch)); code != 200 {
		t.Errorf("new watch link: %d, want 200", code)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestScopedTokensDiffer(t *testing.T) {
	seen := map[string]Scope{}
	for s := ScopeRecap; s <= ScopeControl; s++ {
		tok := ScopedToken("meeting-token-0123456789", s)
		if other, dup := seen[tok]; dup {
			t.Fatalf("%s and %s share a token", s, other)
		}
		seen[tok] = s
		if got := TokenScope("meeting-token-0123456789", tok); got != s {
			t.Errorf("TokenScope of the %s token = %s", s, got)
		}
	}
	if got := TokenScope("meeting-token-0123456789", ScopedToken("another-token-0123456789", ScopeControl)); got != 0 {
		t.Errorf("another meeting's token opens scope %s", got)
	}
	if got := TokenScope("", ""); got != 0 {
		t.Errorf("an empty token opens scope %s", got)
	}
}
