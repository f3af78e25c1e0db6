package team

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// botBox is the library's "Send the bot" box: the form, and the organisation's latest requests
// with where each bot stands.
type botBox struct {
	Enabled  bool
	Deals    []ledger.Deal // the deals a meeting may be filed under
	Requests []botRow
	Message  string // why the last form was refused
	code     int
}

type botRow struct {
	botJSON
	When, State string
}

// formJoinAt is how a datetime-local field sends a time: read as UTC, as the form says.
const formJoinAt = "2006-01-02T15:04"

// boxShown is the form's outcome, handed to the library page it renders.
type boxShown struct {
	msg  string
	code int
}

type boxKey struct{}

// botBox returns the box for p's library page.
func (s *Server) botBox(r *http.Request, p principal) (botBox, error) {
	box := botBox{code: http.StatusOK}
	if shown, ok := r.Context().Value(boxKey{}).(boxShown); ok {
		box.Message, box.code = shown.msg, shown.code
	}
	if _, err := s.launcher(); err != nil || p.administrator() {
		return box, nil
	}
	box.Enabled = true
	deals, err := s.store.VisibleDeals(r.Context(), p.reader())
	if err != nil {
		return box, err
	}
	for _, d := range deals {
		if level, err := s.store.DealAccess(r.Context(), p.reader(), d.ID); err == nil && level.Covers(ledger.ShareEdit) {
			box.Deals = append(box.Deals, d)
		}
	}
	list, err := s.botList(r, p)
	if err != nil {
		return box, err
	}
	for _, b := range list[:min(len(list), 10)] {
		row := botRow{botJSON: b, When: b.JoinAt.UTC().Format("2 Jan 2006 15:04 MST"), State: b.Status}
		if b.State != nil {
			row.State = string(b.State.State)
			if b.State.Reason != "" {
				row.State += ": " + string(b.State.Reason)
			}
		}
		box.Requests = append(box.Requests, row)
	}
	return box, nil
}

// sendBotForm takes the library's "Send the bot" form: the bot is sent (or scheduled) and the
// person goes back to the library, which shows its state; a refused form shows the library again
// with the reason.
func (s *Server) sendBotForm(w http.ResponseWriter, r *http.Request, p principal) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxSmallBody)
	if err := s.checkCSRF(r, p); err != nil {
		return failf(http.StatusForbidden, "%v", err)
	}
	o := botOrder{MeetingURL: r.PostFormValue("meeting_url"), Title: r.PostFormValue("title"), Deal: r.PostFormValue("deal")}
	if v := strings.TrimSpace(r.PostFormValue("join_at")); v != "" {
		t, err := time.ParseInLocation(formJoinAt, v, time.UTC)
		if err != nil {
			return s.showBox(w, r, p, failf(http.StatusBadRequest, "the time %q is not one the form sends: leave it empty to send the bot now", v))
		}
		o.JoinAt = t.Format(time.RFC3339)
	}
	if _, err := s.orderBot(w, r, p, o); err != nil {
		return s.showBox(w, r, p, err)
	}
	http.Redirect(w, r, s.root+"/#bots", http.StatusSeeOther)
	return nil
}

// showBox renders the library with why the form was refused.
func (s *Server) showBox(w http.ResponseWriter, r *http.Request, p principal, err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		if errors.Is(err, ledger.ErrNotFound) || errors.Is(err, ledger.ErrInvalidRecord) {
			ae = &apiError{code: http.StatusBadRequest, msg: err.Error()}
		} else {
			return err
		}
	}
	ctx := context.WithValue(r.Context(), boxKey{}, boxShown{msg: ae.msg, code: ae.code})
	return s.serveLibrary(w, r.WithContext(ctx), p)
}
