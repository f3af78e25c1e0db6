package server

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/testcert"
	"github.com/ledgerline/ledgerline/ledger"
)

// With a certificate, the server serves HTTPS only; a bad certificate is reported at Start.
func TestServesTLS(t *testing.T) {
	cert, key, pool := testcert.Write(t)
	log := ledger.NewMemLog()
	defer log.Close()
	s, err := New(Config{Addr: "127.0.0.1:0", Log: log, TLSCertFile: cert, TLSKeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	resp, err := client.Get("https://" + addr.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz over TLS: %d", resp.StatusCode)
	}
	plain := &http.Client{Timeout: 10 * time.Second}
	if resp, err := plain.Get("http://" + addr.String() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP served on a TLS listener")
		}
	}

	if _, err := New(Config{Log: log, TLSCertFile: cert}); err == nil {
		t.Error("a certificate without its key was accepted")
	}
	bad, err := New(Config{Addr: "127.0.0.1:0", Log: log, TLSCertFile: key, TLSKeyFile: cert})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if _, err := bad.Start(); err == nil || !strings.Contains(err.Error(), "TLS certificate") {
		t.Errorf("Start with swapped certificate and key: %v, want an error naming the certificate", err)
	}
}
