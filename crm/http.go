package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxAnswer bounds what is read of a CRM's answer.
const maxAnswer = 1 << 20

// call sends a request with the bearer token, and in (nil: none) as JSON, and decodes a 2xx
// answer's JSON into out (nil: none). A CRM's refusal is an *APIError, its words read by message.
// The token goes in the Authorization header only: no error or log carries it.
func call(ctx context.Context, hc *http.Client, crm, method, url, token string, in, out any, message func([]byte) string) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("crm: %s: %w: %w", crm, errRefused, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return fmt.Errorf("crm: %s: %w: %w", crm, errRefused, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("crm: %s: %w", crm, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return apiError(crm, resp, message)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer)) // lets the connection be reused
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out); err != nil {
		return fmt.Errorf("crm: %s: read the answer to %s: %w", crm, method, err)
	}
	return nil
}
