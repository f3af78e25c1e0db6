package crm

import (
	"net/http"
	"testing"
	"time"
)

// Retry-After is seconds or an HTTP date; anything else is no wait asked for.
func TestRetryAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{"": -1, "0": 0, "7": 7 * time.Second, "soon": -1, "-3": -1,
		time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat): 0} {
		if got := retryAfter(in); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
	later := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	if got := retryAfter(later); got < 58*time.Minute || got > time.Hour {
		t.Errorf("retryAfter(%q) = %v, want about an hour", later, got)
	}
}
