package ingest

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// A browser cannot follow a WHIP redirect to another replica: its join page may connect only to
// its own origin (Content-Security-Policy connect-src 'self'), and fetch drops the Authorization
// header on a redirect to another origin. So a POST from a browser (one that carries an Origin
// header) that Authorize redirects is relayed instead: this endpoint sends it, token and offer
// as they came, to the URL Authorize named (the owner's, from the record, never from the
// request), and answers with the owner's answer. The session's Location is the owner's path,
// which the browser resolves against its own origin. Media then flows between the browser and
// the owner, whose ICE candidates the answer holds. Other publishers get the 307.

// relayedHeader marks a relayed request, so that one that reaches a replica that would redirect
// it again (replicas whose records disagree, or an owner URL that leads back through the load
// balancer) is redirected, never relayed in a loop.
const relayedHeader = "Ledgerline-Relayed"

// newRelayTransport makes the transport relayed offers are sent with: the owner answers once it
// has gathered its ICE candidates, within seconds.
func newRelayTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       time.Minute,
	}
}

// relays reports whether a redirected request is relayed rather than redirected.
func relays(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("Origin") != "" && r.Header.Get(relayedHeader) == ""
}

// relay sends r to target and copies the answer back.
func (h *WHIP) relay(w http.ResponseWriter, r *http.Request, target string) {
	to, err := url.Parse(target)
	if err != nil || (to.Scheme != "http" && to.Scheme != "https") || to.Host == "" {
		h.log.Error("WHIP relay: the meeting's owner has no usable URL", "url", target)
		http.Error(w, "the meeting's server cannot be reached from here", http.StatusBadGateway)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxOfferBytes)
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = to
			pr.Out.Host = to.Host
			pr.Out.Header.Set(relayedHeader, "1")
			pr.SetXForwarded()
		},
		Transport: h.relayTransport,
		ModifyResponse: func(resp *http.Response) error {
			// This endpoint's own CORS headers stand; the owner's would repeat them.
			for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Headers", "Access-Control-Expose-Headers"} {
				resp.Header.Del(k)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			h.log.Warn("WHIP relay to the meeting's owner failed", "owner", to.Host, "err", err)
			w.Header().Set("Retry-After", "5")
			http.Error(w, "the meeting's server did not answer: try again", http.StatusBadGateway)
		},
	}
	p.ServeHTTP(w, r)
}
