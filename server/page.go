package server

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// web holds the overlay page and its assets, served from the binary; no build step.
//
//go:embed web
var web embed.FS

// pageCSP allows only the page's own script, styles and socket: no inline code, no other hosts.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Referrer-Policy", "no-referrer") // the page's URL holds the token
	h.Set("X-Content-Type-Options", "nosniff")
}

// servePage serves the overlay page of an authorised meeting. The page reads the token from its own
// URL to open the socket.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorize(w, r, ScopeWatch); !ok {
		return
	}
	page, err := web.ReadFile("web/overlay.html")
	if err != nil {
		s.log.Error("overlay page missing from the binary", "err", err)
		plainError(w, http.StatusInternalServerError, "The overlay page is missing from this build.")
		return
	}
	h := w.Header()
	setPageHeaders(h)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

// assetHandler serves the page's scripts and styles under /assets/, without directory listings.
func assetHandler() http.Handler {
	assets, err := fs.Sub(web, "web/assets")
	if err != nil { // cannot happen with a valid embed pattern; serve nothing rather than panic
		return http.NotFoundHandler()
	}
	files := http.StripPrefix("/assets/", http.FileServerFS(assets))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		setPageHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
