package main

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// The first start on an empty store prints an administrator token once; later starts do not,
// and the token works against the API.
func TestServePrintsAdminTokenOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "server.db")
	first := start(t, "serve", "--db", db, "--listen", "127.0.0.1:0")
	token := first.await(`^admin token: (\S+)$`)
	base := first.await(`serving the team server on (http://\S+),`)
	var orgs []any
	api(t, http.MethodGet, base+"/api/v1/orgs", token, http.StatusOK, &orgs)
	first.kill()

	again := start(t, "serve", "--db", db, "--listen", "127.0.0.1:0")
	base = again.await(`serving the team server on (http://\S+),`)
	api(t, http.MethodGet, base+"/api/v1/orgs", token, http.StatusOK, &orgs)
	if out := again.output(); strings.Contains(out, "admin token:") {
		t.Fatalf("a second start printed an administrator token:\n%s", out)
	}
}

func TestServeRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--tls-cert", "cert.pem"},
		{"serve", "--public-url", "ftp://example.com", "--db", filepath.Join(t.TempDir(), "s.db")},
		{"serve", "extra"},
	} {
		if code, _, errOut := ledgerline(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args, code, errOut)
		}
	}
}

func TestNoteMicrophone(t *testing.T) {
	for link, want := range map[string]bool{
		"http://192.168.1.20:8080/m/x/join?t=y": true,
		"http://meet.example.com/m/x/join":      true,
		"https://meet.example.com/m/x/join":     false,
		"http://127.0.0.1:8080/m/x/join":        false,
		"http://localhost:8080/m/x/join":        false,
		"http://[::1]:8080/m/x/join":            false,
	} {
		var b bytes.Buffer
		noteMicrophone(&b, link)
		if got := b.Len() > 0; got != want {
			t.Errorf("noteMicrophone(%s) noted %v, want %v: %q", link, got, want, b.String())
		}
	}
}
