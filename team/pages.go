package team

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

//go:embed web
var web embed.FS

// pages are the page templates; each Server's own copy knows the path it is served under (root).
var pages = template.Must(template.New("pages").Funcs(template.FuncMap{"root": func() string { return "" }}).
	ParseFS(web, "web/pages.html.tmpl"))

// pageCSP allows the pages' own stylesheet and forms posted to this server; no script at all.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

func (s *Server) registerPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.page(s.serveLibrary))
	mux.HandleFunc("GET /search", s.page(s.serveSearch))
	mux.HandleFunc("POST /bots", s.page(s.sendBotForm))
	mux.HandleFunc("GET /invite/{secret}", s.serveInvite)
	mux.HandleFunc("POST /invite/{secret}", s.redeemInvite)
	mux.HandleFunc("POST /signout", s.signOut)
	mux.HandleFunc("GET /team/page.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, web, "web/page.css")
	})
}

// page serves a page for a signed-in person; others are told how to sign in.
func (s *Server) page(fn func(w http.ResponseWriter, r *http.Request, p principal) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		switch {
		case errors.Is(err, errNoCredentials), errors.Is(err, errBadCredentials):
			s.render(w, http.StatusUnauthorized, "signin", "Open the invite link your administrator sent you to sign in. Your session may have ended, or you have not signed in on this browser yet.")
			return
		case err != nil:
			s.log.Error("cannot check a session", "err", err)
			s.render(w, http.StatusServiceUnavailable, "signin", "Sign-in cannot be checked right now. Try again shortly.")
			return
		}
		if err := fn(w, r, p); err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				s.render(w, ae.code, "signin", ae.msg)
				return
			}
			s.log.Error("cannot serve a page", "path", r.URL.Path, "err", err)
			s.render(w, http.StatusInternalServerError, "signin", "This page cannot be shown right now. Try again shortly.")
		}
	}
}

// render writes a page template.
func (s *Server) render(w http.ResponseWriter, code int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("cannot render a page", "page", name, "err", err)
		http.Error(w, "This page cannot be shown.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-store")
	// Nothing of a page's address (an invite's secret) leaves the server, and the browser still says
	// which origin its forms post from: with no-referrer Chromium sends "Origin: null", which the
	// sign-in and sign-out forms refuse.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// chrome is what every signed-in page shows around its content.
type chrome struct {
	CSRF  string // for the sign-out form; "" when signed in with a token
	Query string
	Org   string
}

func (s *Server) chrome(r *http.Request, p principal) chrome {
	c := chrome{Query: r.URL.Query().Get("q")}
	if p.secret != "" {
		c.CSRF = csrfToken(p.secret)
	}
	if o, err := s.store.Org(r.Context(), p.cred.OrgID); err == nil {
		c.Org = o.Name
	}
	return c
}

type libraryPage struct {
	chrome
	Groups []dealGroup
	Bots   botBox
}

type dealGroup struct {
	ID, Name, Account, Page string
	Meetings                []libraryRow
}

type libraryRow struct {
	ID, Title, Date, Orgs, Overlay, Recap string
	Open                                  int
	Live                                  bool
}

// serveLibrary lists the meetings the person may see, grouped by deal, newest first.
func (s *Server) serveLibrary(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	ms, err := s.store.VisibleMeetings(ctx, p.reader())
	if err != nil {
		return err
	}
	box, err := s.botBox(r, p)
	if err != nil {
		return err
	}
	page := libraryPage{chrome: s.chrome(r, p), Bots: box}
	groups := map[string]int{}         // deal ID → index in page.Groups, in order of each deal's newest meeting
	deals := map[string]*ledger.Deal{} // by ID, each read once
	for _, m := range ms {
		deal, read := deals[m.DealID]
		if !read && m.DealID != "" {
			d, err := s.store.Deal(ctx, m.DealID)
			if err != nil {
				return err
			}
			deal, deals[m.DealID] = &d, &d
		}
		row, err := s.libraryRow(r, m, deal)
		if err != nil {
			return err
		}
		i, ok := groups[m.DealID]
		if !ok {
			g := dealGroup{ID: m.DealID}
			if deal != nil {
				g.Name, g.Account, g.Page = deal.Name, deal.Account, s.root+"/d/"+url.PathEscape(deal.ID)
			}
			i = len(page.Groups)
			groups[m.DealID] = i
			page.Groups = append(page.Groups, g)
		}
		page.Groups[i].Meetings = append(page.Groups[i].Meetings, row)
	}
	s.render(w, box.code, "library", page)
	return nil
}

// libraryRow is a meeting's line in the library; deal is the meeting's, nil for none.
func (s *Server) libraryRow(r *http.Request, m ledger.Meeting, deal *ledger.Deal) (libraryRow, error) {
	ctx := r.Context()
	ps, err := s.store.Participants(ctx, m.ID)
	if err != nil {
		return libraryRow{}, err
	}
	var orgs []string
	for _, p := range ps {
		if o := ledger.OrgName(deal, p.Org, p.StatedRole); o != "" && !slices.Contains(orgs, o) {
			orgs = append(orgs, o)
		}
	}
	cs, err := s.store.Commitments(ctx, m.ID)
	if err != nil {
		return libraryRow{}, err
	}
	open := 0
	for _, c := range cs {
		if c.Status == ledger.StatusOpen {
			open++
		}
	}
	path := s.root + "/m/" + url.PathEscape(m.ID)
	return libraryRow{ID: m.ID, Title: m.Title, Date: m.StartedAt.UTC().Format("2 Jan 2006 15:04 MST"), Orgs: strings.Join(orgs, ", "),
		Overlay: path, Recap: path + "/recap", Open: open, Live: m.State == ledger.MeetingRecording}, nil
}

type searchPage struct {
	chrome
	Hits []searchRow
}

type searchRow struct {
	hitJSON
	At string
}

// serveSearch shows the hits of a search across the meetings the person may see.
func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request, p principal) error {
	page := searchPage{chrome: s.chrome(r, p)}
	if q := strings.TrimSpace(page.Query); q != "" {
		hits, err := s.find(r, p, q, defaultHits)
		if err != nil {
			return err
		}
		for _, h := range hits {
			page.Hits = append(page.Hits, searchRow{hitJSON: h, At: clock(h.StartMS)})
		}
	}
	s.render(w, http.StatusOK, "search", page)
	return nil
}

// clock formats a moment of a meeting as m:ss or h:mm:ss.
func clock(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	if d >= time.Hour {
		return fmt.Sprintf("%d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// invite returns the valid invite whose secret is in the path.
func (s *Server) invite(r *http.Request) (ledger.Credential, bool) {
	c, err := s.store.CredentialByDigest(r.Context(), digest(r.PathValue("secret")))
	if err != nil || c.Kind != ledger.CredentialInvite || !c.Valid(s.now()) {
		return ledger.Credential{}, false
	}
	return c, true
}

const msgInviteGone = "This invite link has been used or has expired. Ask your administrator for a new one."

// serveInvite shows the sign-in form of a valid invite. Opening the link signs no one in, so
// that a mail scanner or a link preview that fetches it does not use it up.
func (s *Server) serveInvite(w http.ResponseWriter, r *http.Request) {
	c, ok := s.invite(r)
	if !ok {
		s.render(w, http.StatusNotFound, "signin", msgInviteGone)
		return
	}
	org := c.OrgID
	if o, err := s.store.Org(r.Context(), c.OrgID); err == nil {
		org = o.Name
	}
	s.render(w, http.StatusOK, "invite", map[string]string{"Org": org})
}

// redeemInvite signs the person in: the invite is used up and a session cookie set.
func (s *Server) redeemInvite(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && !s.ownOrigin(r, origin) {
		s.render(w, http.StatusForbidden, "signin", "Sign in from this server's own invite page.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSmallBody)
	name, err := server.CheckText("your name", r.PostFormValue("name"), maxNameLen, true)
	if err != nil {
		var te *server.TextError
		errors.As(err, &te)
		s.render(w, http.StatusBadRequest, "signin", te.Message()+" Go back and try again.")
		return
	}
	if name == "" {
		name = "member"
	}
	secret := newSecret()
	expires := s.now().Add(sessionLifetime).UTC()
	sess, err := s.store.RedeemInvite(r.Context(), digest(r.PathValue("secret")),
		ledger.Credential{ID: newID("ses"), Digest: digest(secret), Kind: ledger.CredentialSession, Name: name, ExpiresAt: expires})
	if errors.Is(err, ledger.ErrNotFound) {
		s.render(w, http.StatusNotFound, "signin", msgInviteGone)
		return
	}
	if err != nil {
		s.log.Error("cannot redeem an invite", "err", err)
		s.render(w, http.StatusServiceUnavailable, "signin", "Signing in failed. Try the link again shortly.")
		return
	}
	s.log.Info("signed in with an invite", "session", sess.ID, "org", sess.OrgID, "role", string(sess.Role))
	s.setSession(w, r, secret, expires)
	http.Redirect(w, r, s.root+"/", http.StatusSeeOther)
}

// signOut ends the browser's session.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSmallBody)
	p, err := s.authenticate(r)
	if err == nil && p.secret != "" {
		if err := s.checkCSRF(r, p); err != nil {
			s.render(w, http.StatusForbidden, "signin", err.Error())
			return
		}
		if err := s.store.RevokeCredential(r.Context(), p.cred.ID); err != nil {
			s.log.Error("cannot end a session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, s.root+"/", http.StatusSeeOther)
}
