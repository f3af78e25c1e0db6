package server

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/ledger"
)

// getHealth asks the fixture's /healthz, without a token, and decodes the answer.
func getHealth(t *testing.T, f *fixture) (int, health, string) {
	t.Helper()
	resp, err := http.Get(f.http.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	var h health
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return resp.StatusCode, h, string(body)
}

func TestHealthz(t *testing.T) {
	dir := t.TempDir()
	store, err := ledger.OpenSQLite(filepath.Join(dir, "ledgerline.db"))
	if err != nil {
		t.Fatal(err)
	}
	f := startFixture(t, store, nil, nil)

	code, h, body := getHealth(t, f)
	if code != http.StatusOK || h != (health{Status: "ok"}) {
		t.Fatalf("with the store open: %d %s, want 200 {\"status\":\"ok\"}", code, body)
	}

	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	code, h, body = getHealth(t, f)
	if code != http.StatusServiceUnavailable || h.Status != "unhealthy" || h.Reason == "" {
		t.Fatalf("with the store closed: %d %s, want 503 unhealthy with a reason", code, body)
	}
	if strings.Contains(body, dir) || strings.Contains(body, f.token) {
		t.Errorf("the answer %s names the store's file or a token", body)
	}
}
