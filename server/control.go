package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/ledgerline/ledgerline/ledger"
)

// Control takes the changes viewers make from the overlay (a speaker renamed, a commitment
// edited): each is an event appended to the meeting's log, which viewers see through the event
// stream like any other. A change applies to the current state of what it changes, which Control
// reads from the projections of the log, never by replaying it. ledger.SQLiteStore implements it.
type Control interface {
	Appender
	// Speaker returns what the meeting knows of a speaker (its latest speaker.update, or else the
	// channel, organisation and role of its latest final, with no name), with the role as stated
	// (never guessed from the organisation), or an error wrapping ledger.ErrNotFound when it was
	// never named nor heard.
	Speaker(ctx context.Context, meeting, id string) (ledger.SpeakerInfo, error)
	// EditCommitment applies a person's edit (by names them) to a commitment as it stands when
	// the edit arrives, appends the result and returns it; an unknown commitment wraps
	// ledger.ErrNotFound. Commitments have one owner — the running pipeline, or else the store —
	// so that an edit never undoes another change made meanwhile, nor is undone by one.
	EditCommitment(ctx context.Context, meeting, id string, edit ledger.CommitmentEdit, by string) (ledger.Event, error)
}

// Appender appends an event to a meeting's log. A participant's refusal to be recorded needs only
// this: ledger.MemLog and ledger.Store implement it.
type Appender interface {
	Append(ctx context.Context, e ledger.Event) (ledger.Event, error)
}

var (
	_ Control  = (*ledger.SQLiteStore)(nil)
	_ Appender = (*ledger.MemLog)(nil)
	_ Appender = (ledger.Store)(nil)
)

// Recorder pauses and resumes the capture of a meeting. It records the change itself, as a
// meeting.state event in the meeting's log, and returns the meeting.state that stands after it:
// the one it appended, or the standing one when the meeting already was in that state.
type Recorder interface {
	Pause(ctx context.Context, meeting string) (ledger.Event, error)
	Resume(ctx context.Context, meeting string) (ledger.Event, error)
}

// Limits of the control API.
const (
	maxControlBody = 4 << 10 // bytes of one request body
	maxIDLen       = 128     // characters of a speaker or commitment ID
	controlTimeout = 10 * time.Second
	defaultBy      = "viewer"
	controlHeader  = "X-Ledgerline" // pages send it; programs without an Origin header must too
)

// controlError is an answer other than 200, with a message for the client.
type controlError struct {
	code int
	msg  string
}

func (e *controlError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &controlError{code: code, msg: fmt.Sprintf(format, args...)}
}

func (s *Server) registerControl(mux *http.ServeMux) {
	mux.HandleFunc("POST /m/{meeting}/speakers/{id}", s.controlHandler(ScopeControl, s.editSpeaker))
	mux.HandleFunc("POST /m/{meeting}/commitments/{id}", s.controlHandler(ScopeControl, s.editCommitment))
	mux.HandleFunc("POST /m/{meeting}/commitments", s.controlHandler(ScopeControl, s.addCommitment))
	mux.HandleFunc("GET /m/{meeting}/about", s.serveAbout)
	mux.HandleFunc("POST /m/{meeting}/pause", s.controlHandler(ScopeControl, s.pause))
	mux.HandleFunc("POST /m/{meeting}/resume", s.controlHandler(ScopeControl, s.resume))
}

// controlFunc makes one change for an authorised, same-origin JSON request and returns the event
// to answer with.
type controlFunc func(ctx context.Context, m *meeting, r *http.Request) (ledger.Event, error)

// controlHandler checks what every control request needs — a link or sign-in that reaches the
// meeting for need, a request a page of another site cannot forge, a JSON body of bounded size —
// then runs fn and answers with the event as JSON, or with the error.
func (s *Server) controlHandler(need Scope, fn controlFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, ok := s.authorize(w, r, need)
		if !ok {
			return
		}
		if err := s.checkControlOrigin(r); err != nil {
			s.warn.warn("refused a control request", m.id, r.RemoteAddr, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
			s.controlFail(w, m, r, err)
			return
		}
		if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
			s.controlFail(w, m, r, fail(http.StatusUnsupportedMediaType, "Send the change as JSON (Content-Type: application/json)."))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxControlBody)
		ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
		defer cancel()
		e, err := fn(ctx, m, r)
		if err != nil {
			s.controlFail(w, m, r, err)
			return
		}
		body, err := json.Marshal(e)
		if err != nil {
			s.controlFail(w, m, r, fmt.Errorf("encode the answer: %w", err))
			return
		}
		writeJSON(w, body)
	}
}

// writeJSON answers 200 with body, a JSON document that is never cached.
func writeJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(append(body, '\n'))
}

// controlFail answers with err: its own code for a controlError, 413 for a body over the limit, 500
// (logged, not shown) for anything else.
func (s *Server) controlFail(w http.ResponseWriter, m *meeting, r *http.Request, err error) {
	var ce *controlError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &ce):
		plainError(w, ce.code, ce.msg)
	case errors.As(err, &tooBig):
		plainError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The change is larger than %d bytes.", maxControlBody))
	default:
		s.log.Error("control request failed", "meeting", m.id, "path", r.URL.Path, "err", err)
		plainError(w, http.StatusInternalServerError, "The change could not be saved. Try again; if it keeps failing, check the server's log.")
	}
}

// checkControlOrigin refuses requests a page of another site could make. A browser sends Origin
// with every POST: it must be this server's host. A request without Origin comes from a program,
// which must send the X-Ledgerline header (a page of another site cannot send it without a CORS
// preflight, which this server never grants).
func (s *Server) checkControlOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		if r.Header.Get(controlHeader) == "" {
			return fail(http.StatusForbidden, "Send the %s header with changes made from a program.", controlHeader)
		}
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return fail(http.StatusForbidden, "Changes are accepted only from this server's own overlay page.")
	}
	return nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// decode reads exactly one JSON object into v, refusing unknown fields. An empty body decodes as {}.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return err
		case errors.Is(err, io.EOF):
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded): // Config.BodyTimeout
			return fail(http.StatusRequestTimeout, "The change did not arrive in time. Send it again.")
		}
		return fail(http.StatusBadRequest, "The body is not a valid change: %s.", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return fail(http.StatusBadRequest, "The body must hold one JSON object and nothing after it.")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be a %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	}
	return "malformed JSON"
}

// text checks one text field as CheckText does, answering 400 with what to change.
func text(field, v string, maxLen int, allowEmpty bool) (string, error) {
	v, err := CheckText(field, v, maxLen, allowEmpty)
	var te *TextError
	if errors.As(err, &te) {
		return "", fail(http.StatusBadRequest, "%s", te.Message())
	}
	return v, err
}

// Namer is a Gate that can say whom a request it lets in comes from: the name of someone signed in,
// or of an API token. A change they make without typing a name is theirs.
type Namer interface {
	Name(r *http.Request) string
}

// by reads who made a change: the name the Gate knows them by (someone signed in, an API token),
// which a name typed does not override, else the name the viewer typed, else "viewer".
func (s *Server) by(r *http.Request, v *string) (string, error) {
	var name string
	if v != nil {
		var err error
		if name, err = text("by", *v, MaxNameLen, true); err != nil {
			return "", err
		}
	}
	if n, ok := s.cfg.Gate.(Namer); ok {
		// A name the server keeps is shown as typed ones are: one that fails their rules is not used.
		if known, _ := text("by", n.Name(r), MaxNameLen, true); known != "" {
			name = known
		}
	}
	if name == "" {
		name = defaultBy
	}
	return name, nil
}

// parseRole reads a side of the deal given in field.
func parseRole(field, v string) (ledger.Role, error) {
	r, err := ledger.ParseRole(v)
	if err != nil {
		return "", fail(http.StatusBadRequest, "%s must be %s.", field, ledger.RoleChoices)
	}
	return r, nil
}

// dealOrg returns the organisation on a side of a meeting's deal: "" when the meeting has no deal,
// or the server reads no records.
func (s *Server) dealOrg(ctx context.Context, meetingID string, r ledger.Role) (string, error) {
	if s.cfg.Records == nil {
		return "", nil
	}
	m, err := s.cfg.Records.Meeting(ctx, meetingID)
	if errors.Is(err, ledger.ErrNotFound) {
		return "", nil // known only to the log so far: no deal yet
	}
	if err != nil {
		return "", fmt.Errorf("read meeting %q: %w", meetingID, err)
	}
	if m.DealID == "" {
		return "", nil
	}
	d, err := s.cfg.Records.Deal(ctx, m.DealID)
	if err != nil {
		return "", fmt.Errorf("read deal %q of meeting %q: %w", m.DealID, meetingID, err)
	}
	return d.OrgOf(r), nil
}

// pathID reads and checks the {id} of the request's path.
func pathID(r *http.Request, what string) (string, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > maxIDLen || strings.ContainsFunc(id, unicode.IsControl) {
		return "", fail(http.StatusBadRequest, "The %s ID in the path must be 1-%d characters without control characters.", what, maxIDLen)
	}
	return id, nil
}

func (s *Server) control() (Control, error) {
	if s.cfg.Control == nil {
		return nil, fail(http.StatusNotImplemented, "This server does not accept changes to its meetings.")
	}
	return s.cfg.Control, nil
}

// speakerEdit is the body of POST /m/{meeting}/speakers/{id}. Absent fields keep their value.
type speakerEdit struct {
	Name *string `json:"name"`
	Org  *string `json:"org"`  // the organisation's name; "" for none
	Role *string `json:"role"` // the side of the deal
	By   *string `json:"by"`
}

// editSpeaker appends a speaker.update with the speaker's new name, organisation or role. The
// channel comes from the speaker's latest speaker.update, or from its latest final segment. A new
// role given without an organisation takes the deal's organisation on that side (none when the
// meeting has no deal): the one the speaker had was on their former side.
func (s *Server) editSpeaker(ctx context.Context, m *meeting, r *http.Request) (ledger.Event, error) {
	ctl, err := s.control()
	if err != nil {
		return ledger.Event{}, err
	}
	id, err := pathID(r, "speaker")
	if err != nil {
		return ledger.Event{}, err
	}
	var req speakerEdit
	if err := decode(r, &req); err != nil {
		return ledger.Event{}, err
	}
	if req.Name == nil && req.Org == nil && req.Role == nil {
		return ledger.Event{}, fail(http.StatusBadRequest, "Give a name, an org or a role to change.")
	}
	var name, org string
	var role ledger.Role
	if req.Name != nil {
		if name, err = text("name", *req.Name, MaxNameLen, false); err != nil {
			return ledger.Event{}, err
		}
	}
	if req.Org != nil {
		if org, err = text("org", *req.Org, MaxNameLen, true); err != nil {
			return ledger.Event{}, err
		}
	}
	if req.Role != nil {
		if role, err = parseRole("role", *req.Role); err != nil {
			return ledger.Event{}, err
		}
	}
	who, err := s.by(r, req.By)
	if err != nil {
		return ledger.Event{}, err
	}

	m.edit.Lock() // the state read here is the one the edit applies to
	defer m.edit.Unlock()
	sp, err := ctl.Speaker(ctx, m.id, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return ledger.Event{}, fail(http.StatusNotFound, "No speaker %q has been heard in this meeting.", id)
	}
	if err != nil {
		return ledger.Event{}, fmt.Errorf("read speaker %q: %w", id, err)
	}
	old := cmp.Or(sp.Name, id)
	oldOrg := ledger.OrgOrRole(sp.Org, sp.Role)
	if req.Name != nil {
		sp.Name = name
	}
	if req.Role != nil && role != sp.Role {
		sp.Role = role
		if req.Org == nil {
			if sp.Org, err = s.dealOrg(ctx, m.id, role); err != nil {
				return ledger.Event{}, err
			}
		}
	}
	if req.Org != nil {
		sp.Org = org
	}
	if sp.Name == "" {
		sp.Name = id
	}
	e, err := s.appendEdit(ctx, ctl, ledger.Event{Type: ledger.TypeSpeakerUpdate, Meeting: m.id, Speaker: &sp, By: who})
	if err == nil {
		s.renameInCommitments(ctx, ctl, m.id, ledger.Rename{From: old, To: sp.Name, FromOrg: oldOrg, ToOrg: ledger.OrgOrRole(sp.Org, sp.Role)}, who)
	}
	return e, err
}

// commitmentEdit is the body of POST /m/{meeting}/commitments/{id}. Absent fields keep their
// value; due may be null to clear the due date.
type commitmentEdit struct {
	Status   *string         `json:"status"`
	Owner    *string         `json:"owner"`
	OwnerOrg *string         `json:"owner_org"`
	Due      json.RawMessage `json:"due"`
	What     *string         `json:"what"`
	By       *string         `json:"by"`
}

// editCommitment hands a viewer's edit to the commitments' owner, which applies it to the
// commitment as it stands then and appends the result.
func (s *Server) editCommitment(ctx context.Context, m *meeting, r *http.Request) (ledger.Event, error) {
	ctl, err := s.control()
	if err != nil {
		return ledger.Event{}, err
	}
	id, err := pathID(r, "commitment")
	if err != nil {
		return ledger.Event{}, err
	}
	var req commitmentEdit
	if err := decode(r, &req); err != nil {
		return ledger.Event{}, err
	}
	edit, err := req.check()
	if err != nil {
		return ledger.Event{}, err
	}
	who, err := s.by(r, req.By)
	if err != nil {
		return ledger.Event{}, err
	}
	stored, err := ctl.EditCommitment(ledger.WithActor(ctx, who), m.id, id, edit, who)
	if errors.Is(err, ledger.ErrNotFound) {
		return ledger.Event{}, fail(http.StatusNotFound, "No commitment %q in this meeting.", id)
	}
	if err != nil {
		return ledger.Event{}, fmt.Errorf("edit commitment %q: %w", id, err)
	}
	s.log.Info("viewer changed the meeting", "meeting", m.id, "type", string(stored.Type), "seq", stored.Seq)
	return stored, nil
}

// check validates the edit.
// pronouns are the owners that name nobody to the others who read the ledger.
var pronouns = map[string]bool{"you": true, "me": true, "i": true, "we": true, "us": true, "they": true, "them": true,
	"someone": true, "somebody": true, "nobody": true}

func (req commitmentEdit) check() (ledger.CommitmentEdit, error) {
	var edit ledger.CommitmentEdit
	if req.Status != nil {
		switch *req.Status {
		case ledger.StatusOpen, ledger.StatusDone, ledger.StatusDropped:
		default:
			return edit, fail(http.StatusBadRequest, "status must be open, done or dropped.")
		}
		edit.Status = req.Status
	}
	if req.Owner != nil {
		owner, err := text("owner", *req.Owner, MaxNameLen, false)
		if err != nil {
			return edit, err
		}
		if pronouns[strings.ToLower(owner)] {
			// On a page every company shares, "you" or "me" names nobody.
			return edit, fail(http.StatusBadRequest, "Name the owner: a person or an organisation, not %q.", owner)
		}
		edit.Owner = &owner
	}
	if req.OwnerOrg != nil {
		org, err := text("owner_org", *req.OwnerOrg, MaxNameLen, true)
		if err != nil {
			return edit, err
		}
		edit.OwnerOrg = &org
	}
	if req.What != nil {
		what, err := text("what", *req.What, MaxWhatLen, false)
		if err != nil {
			return edit, err
		}
		edit.What = &what
	}
	if req.Due != nil {
		due := ""
		if string(req.Due) != "null" {
			if err := json.Unmarshal(req.Due, &due); err != nil {
				return edit, fail(http.StatusBadRequest, "due must be a date (YYYY-MM-DD) or null.")
			}
			if _, err := time.Parse(time.DateOnly, due); err != nil {
				return edit, fail(http.StatusBadRequest, "due must be a date (YYYY-MM-DD) or null.")
			}
		}
		edit.Due = &due
	}
	if edit.Empty() {
		return edit, fail(http.StatusBadRequest, "Give at least one of status, owner, owner_org, due or what to change.")
	}
	return edit, nil
}

// appendEdit appends e, recording who made it as the store's actor too.
func (s *Server) appendEdit(ctx context.Context, ctl Appender, e ledger.Event) (ledger.Event, error) {
	stored, err := ctl.Append(ledger.WithActor(ctx, e.By), e)
	if err != nil {
		return ledger.Event{}, fmt.Errorf("append %s: %w", e.Type, err)
	}
	s.log.Info("viewer changed the meeting", "meeting", e.Meeting, "type", string(e.Type), "seq", stored.Seq)
	return stored, nil
}

// pause and resume ask the Recorder to change the meeting's state, then answer with the meeting.state
// that stands: the one the Recorder appended, or the standing one when the meeting was already in
// that state.
func (s *Server) pause(ctx context.Context, m *meeting, r *http.Request) (ledger.Event, error) {
	return s.setRecording(ctx, m, r, "pause")
}

func (s *Server) resume(ctx context.Context, m *meeting, r *http.Request) (ledger.Event, error) {
	return s.setRecording(ctx, m, r, "resume")
}

func (s *Server) setRecording(ctx context.Context, m *meeting, r *http.Request, verb string) (ledger.Event, error) {
	rec := s.cfg.Recorder
	if rec == nil {
		return ledger.Event{}, fail(http.StatusNotImplemented, "This server cannot pause or resume its recordings.")
	}
	var req struct{}
	if err := decode(r, &req); err != nil {
		return ledger.Event{}, err
	}
	m.edit.Lock()
	defer m.edit.Unlock()
	do := rec.Pause
	if verb == "resume" {
		do = rec.Resume
	}
	e, err := do(ctx, m.id)
	if err != nil {
		s.log.Warn("cannot change the recording state", "meeting", m.id, "action", verb, "err", err)
		return ledger.Event{}, fail(http.StatusConflict, "The meeting cannot %s now; it may not be recording.", verb)
	}
	return e, nil
}
