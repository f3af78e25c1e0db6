package crm

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIError is a CRM's answer to a request it did not carry out.
type APIError struct {
	CRM     string // "HubSpot", "Salesforce"
	Status  int
	Message string // the CRM's own words, cut short
	// RetryAfter is the wait the CRM asked for (Retry-After); -1 when it asked for none.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	hint := ""
	switch e.Status {
	case http.StatusUnauthorized:
		hint = ": the CRM refused the token; an admin of the organisation should set a new one"
	case http.StatusForbidden:
		hint = ": the token may not do this; give it the scopes docs/crm.md lists"
	case http.StatusNotFound:
		hint = ": check the deal's CRM record ID"
	}
	return fmt.Sprintf("%s answered %d (%s)%s", e.CRM, e.Status, e.Message, hint)
}

// errRefused marks a request this package would not send: trying again cannot mend it.
var errRefused = errors.New("request not sent")

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 4 << 10

// apiError reads a failed answer.
func apiError(crm string, resp *http.Response, message func([]byte) string) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)) // what arrived is enough to tell
	msg := strings.TrimSpace(message(body))
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return &APIError{CRM: crm, Status: resp.StatusCode, Message: msg, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date; -1 for none.
func retryAfter(v string) time.Duration {
	if v == "" {
		return -1
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return -1
}
