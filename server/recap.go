package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/recap"
)

// RecordStore is what the recap, export and deal pages read of the store: the records of meetings
// and deals and the projections of their logs. ledger.SQLiteStore implements it.
type RecordStore interface {
	Meeting(ctx context.Context, id string) (ledger.Meeting, error)
	Deal(ctx context.Context, id string) (ledger.Deal, error)
	Meetings(ctx context.Context, dealID string) ([]ledger.Meeting, error)
	Participants(ctx context.Context, meetingID string) ([]ledger.Participant, error)
	Segments(ctx context.Context, meetingID string) ([]ledger.Segment, error)
	Commitments(ctx context.Context, meetingID string) ([]ledger.CommitmentRecord, error)
	CaptureHealth(ctx context.Context, meetingID string) ([]ledger.CaptureInfo, error)
}

var (
	_ RecordStore      = (*ledger.SQLiteStore)(nil)
	_ recap.DealSource = RecordStore(nil)
)

// recordCSP allows the pages' one inline style sheet and nothing else: no scripts, no other hosts.
func recordCSP() string {
	return "default-src 'none'; style-src " + recap.PageStyleSource() +
		"; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
}

// handleRecords registers the recap, export and deal routes.
func (s *Server) handleRecords(mux *http.ServeMux) {
	mux.HandleFunc("GET /m/{meeting}/recap", s.serveRecap)
	mux.HandleFunc("GET /m/{meeting}/export/{kind}", s.serveExport)
	mux.HandleFunc("GET /d/{deal}", s.serveDeal)
	mux.HandleFunc("GET /api/deals/{deal}", s.serveDealAPI)
}

// RecapPath returns the path of a meeting's recap page with a recap-scoped token derived from the
// meeting's token: the link that may leave the machine (a webhook, a message), which reads the
// recap and exports and nothing else.
func RecapPath(id, token string) string {
	return "/m/" + url.PathEscape(id) + "/recap?t=" + url.QueryEscape(ScopedToken(token, ScopeRecap))
}

// ExportPath returns the path of a meeting's export of a kind ("vtt", "ics"…), with the token
// given (any scope opens exports).
func ExportPath(id, kind, token string) string {
	return "/m/" + url.PathEscape(id) + "/export/" + url.PathEscape(kind) + "?t=" + url.QueryEscape(token)
}

// tokenMatches compares a presented token with the expected one in constant time; an empty
// expected token matches nothing.
func tokenMatches(got string, want [sha256.Size]byte, set bool) bool {
	g := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(g[:], want[:]) == 1 && set
}

// serveRecap serves a meeting's recap: an HTML page, or Markdown with ?format=md.
func (s *Server) serveRecap(w http.ResponseWriter, r *http.Request) {
	m, ok := s.authorizeRecord(w, r)
	if !ok {
		return
	}
	page, err := recap.Build(r.Context(), s.cfg.Records, m.ID)
	if err != nil {
		s.recordError(w, "cannot build a recap", "meeting", m.ID, err)
		return
	}
	s.narrate(&page, m.LastSeq)
	var buf bytes.Buffer
	h := w.Header()
	switch format := r.URL.Query().Get("format"); format {
	case "md", "markdown":
		err = page.WriteMarkdown(&buf)
		h.Set("Content-Type", "text/markdown; charset=utf-8")
	case "", "html":
		// The downloads carry the access the page was opened with: its guest token, or none for
		// someone signed in. They are relative to the page (/m/ID/recap), so that they hold behind
		// a reverse proxy that serves everything under a path of its own.
		token := r.URL.Query().Get("t")
		for _, f := range recap.ExportFormats() {
			href := "export/" + url.PathEscape(f.Kind)
			if token != "" {
				href += "?t=" + url.QueryEscape(token)
			}
			page.Downloads = append(page.Downloads, recap.Download{Kind: f.Kind, Href: href})
		}
		md := "recap?format=md"
		if token != "" {
			md += "&t=" + url.QueryEscape(token)
		}
		page.Downloads = append(page.Downloads, recap.Download{Kind: "md", Href: md})
		err = page.WriteHTML(&buf)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", recordCSP())
	default:
		plainError(w, http.StatusBadRequest, "Unknown recap format "+strconv.Quote(format)+": use format=md, or leave it out for the page.")
		return
	}
	if err != nil {
		s.recordError(w, "cannot write a recap", "meeting", m.ID, err)
		return
	}
	setRecordHeaders(h)
	_, _ = w.Write(buf.Bytes())
}

// serveExport serves a meeting's transcript, commitments or speaker turns as a file.
func (s *Server) serveExport(w http.ResponseWriter, r *http.Request) {
	m, ok := s.authorizeRecord(w, r)
	if !ok {
		return
	}
	f, err := recap.LookupExport(r.PathValue("kind"))
	if err != nil {
		plainError(w, http.StatusNotFound, err.Error())
		return
	}
	data, err := recap.LoadMeeting(r.Context(), s.cfg.Records, m.ID)
	if err != nil {
		s.recordError(w, "cannot read a meeting to export", "meeting", m.ID, err)
		return
	}
	var buf bytes.Buffer
	if err := f.Export(&buf, data, recap.ExportOptions{}); err != nil {
		s.recordError(w, "cannot export a meeting", "meeting", m.ID, err)
		return
	}
	h := w.Header()
	setRecordHeaders(h)
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.FileName(m.ID)}))
	_, _ = w.Write(buf.Bytes())
}

// recordError logs a failure to read or write records and answers 500.
func (s *Server) recordError(w http.ResponseWriter, msg, key, id string, err error) {
	s.log.Error(msg, key, id, "err", err)
	code := http.StatusInternalServerError
	if errors.Is(err, ledger.ErrUnavailable) {
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	}
	plainError(w, code, "The records cannot be read right now. Try again shortly.")
}

func setRecordHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the URL holds the token
	h.Set("X-Content-Type-Options", "nosniff")
}
