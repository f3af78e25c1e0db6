package team

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// BotLauncher sends meeting bots into web calls from this machine: the bot package, wired by the
// command. The team server decides who may send one, where it records and when it starts; the
// launcher runs it.
type BotLauncher interface {
	// Platform recognises a meeting link: the platform a bot joins it on, or an error whose
	// message tells the person who gave the link what is wrong with it.
	Platform(link string) (string, error)
	// Reserve takes a place for one more bot on this machine, or fails with an error wrapping
	// ErrNoBotCapacity when it runs as many as it may.
	Reserve() (BotSlot, error)
	// Leave asks the bot of a request to leave its call, when it runs in this process; it
	// reports whether one did.
	Leave(requestID string) bool
	// Running lists the requests whose bots run in this process.
	Running() []string
}

// BotSlot is a place for one bot. Start or Release it, once.
type BotSlot interface {
	// Start runs the bot, which joins the call and publishes what it hears to the server's WHIP
	// endpoint for the meeting with the token; it returns at once, and the slot is freed when the
	// bot has left. The bot records its states (bot.state) on the meeting's log.
	Start(b BotLaunch)
	// Release frees a slot that was not started.
	Release()
}

// BotLaunch is what a bot is started with.
type BotLaunch struct {
	RequestID  string
	MeetingURL string
	Platform   string
	Meeting    string // the hosted meeting it records into
	Token      string // publishes to that meeting's WHIP endpoint, and only there
	// WatchToken lets the people in the call follow the meeting live, and nothing more: the bot
	// posts its link in the call's chat with its consent message.
	WatchToken string
}

// ErrNoBotCapacity reports that this machine runs as many bots as it may.
var ErrNoBotCapacity = errors.New("team: no capacity for another bot")

// botRetryAfter is what a request refused for capacity is told to wait, in seconds.
const botRetryAfter = "60"

// maxBotLink bounds a meeting link's length.
const maxBotLink = 2048

// botJSON is a bot request as the API shows it.
type botJSON struct {
	ID         string          `json:"id"`
	MeetingURL string          `json:"meeting_url"`
	Platform   string          `json:"platform"`
	Title      string          `json:"title"`
	Deal       string          `json:"deal"`
	Org        string          `json:"org"`
	JoinAt     time.Time       `json:"join_at"`
	Status     string          `json:"status"`
	Meeting    string          `json:"meeting,omitempty"` // once its bot has a state
	Calendar   string          `json:"calendar,omitempty"`
	State      *ledger.BotInfo `json:"state,omitempty"` // the bot's latest state in the call
	StateAt    *time.Time      `json:"state_at,omitempty"`
	Overlay    string          `json:"overlay,omitempty"`
}

func (s *Server) botJSON(r *http.Request, b ledger.BotRequest) (botJSON, error) {
	out := botJSON{ID: b.ID, MeetingURL: b.MeetingURL, Platform: b.Platform, Title: b.Title, Deal: b.DealID, Org: b.OrgID,
		JoinAt: b.JoinAt, Status: string(b.Status), Calendar: b.CalendarID}
	if b.Status == ledger.BotScheduled || b.Status == ledger.BotWithdrawn {
		return out, nil
	}
	st, err := s.store.LatestBotState(r.Context(), b.MeetingID)
	switch {
	case errors.Is(err, ledger.ErrNotFound): // cancelled before it started, or not started yet
	case err != nil:
		return out, err
	default:
		out.Meeting, out.State, out.StateAt = b.MeetingID, st.Bot, &st.At
		out.Overlay = s.base(r) + "/m/" + url.PathEscape(b.MeetingID)
	}
	return out, nil
}

// launcher returns the configured BotLauncher, or why there is none.
func (s *Server) launcher() (BotLauncher, error) {
	if s.cfg.Bots == nil || s.cfg.Server.Ingest == nil {
		return nil, failf(http.StatusNotImplemented, "this server does not send meeting bots: run `ledgerline serve` with its own meetings, or `ledgerline bot join` on a laptop")
	}
	return s.cfg.Bots, nil
}

// botOrder is what a person asks of a bot, from the API's JSON or the library's form.
type botOrder struct {
	MeetingURL string `json:"meeting_url"`
	JoinAt     string `json:"join_at"`
	Deal       string `json:"deal"`
	Title      string `json:"title"`
}

// orderBot checks an order made by p and stores it; a bot due now is started at once. It
// returns the request as stored.
func (s *Server) orderBot(w http.ResponseWriter, r *http.Request, p principal, o botOrder) (ledger.BotRequest, error) {
	l, err := s.launcher()
	if err != nil {
		return ledger.BotRequest{}, err
	}
	if p.administrator() {
		return ledger.BotRequest{}, failf(http.StatusForbidden, "the server's administrator records for no organisation: send the bot with a token or session of the organisation it records for")
	}
	link := strings.TrimSpace(o.MeetingURL)
	if link == "" || len(link) > maxBotLink {
		return ledger.BotRequest{}, failf(http.StatusBadRequest, "give the meeting's link in meeting_url (at most %d characters)", maxBotLink)
	}
	platform, err := l.Platform(link)
	if err != nil {
		return ledger.BotRequest{}, failf(http.StatusBadRequest, "meeting_url: %v", err)
	}
	title := ""
	if strings.TrimSpace(o.Title) != "" {
		if title, err = checkName("title", o.Title); err != nil {
			return ledger.BotRequest{}, err
		}
	}
	now := s.now()
	joinAt := now
	if v := strings.TrimSpace(o.JoinAt); v != "" {
		if joinAt, err = time.Parse(time.RFC3339, v); err != nil {
			return ledger.BotRequest{}, failf(http.StatusBadRequest, "join_at %q: give a time such as 2026-03-02T15:04:05Z (RFC 3339), or leave it out to join now", v)
		}
	}
	if deal := strings.TrimSpace(o.Deal); deal != "" {
		if err := s.mayFileUnder(r, p, deal); err != nil {
			return ledger.BotRequest{}, err
		}
		o.Deal = deal
	}
	b := ledger.BotRequest{ID: newID("bot"), OrgID: p.cred.OrgID, MeetingURL: link, Platform: platform, Title: title,
		DealID: o.Deal, JoinAt: joinAt.UTC(), MeetingID: uuid.Must(uuid.NewV7()).String(), CreatedBy: p.cred.ID}
	if joinAt.After(now) {
		if err := s.store.AddBot(r.Context(), b); err != nil {
			return b, err
		}
		s.log.Info("bot scheduled", "bot", b.ID, "org", b.OrgID, "platform", platform, "join_at", b.JoinAt, "by", p.cred.ID)
		return s.store.Bot(r.Context(), b.ID)
	}
	slot, err := l.Reserve()
	if err != nil {
		if errors.Is(err, ErrNoBotCapacity) {
			w.Header().Set("Retry-After", botRetryAfter)
			return b, failf(http.StatusServiceUnavailable, "no capacity: this server runs as many bots as it may; try again in a minute, or schedule the bot with join_at")
		}
		return b, err
	}
	if err := s.store.AddBot(r.Context(), b); err != nil {
		slot.Release()
		return b, err
	}
	s.log.Info("bot sent", "bot", b.ID, "org", b.OrgID, "platform", platform, "by", p.cred.ID)
	return s.launchBot(r.Context(), slot, b)
}

func (s *Server) createBot(w http.ResponseWriter, r *http.Request, p principal) error {
	var o botOrder
	if err := decodeJSON(w, r, maxSmallBody, &o); err != nil {
		return err
	}
	b, err := s.orderBot(w, r, p, o)
	if err != nil {
		return err
	}
	out, err := s.botJSON(r, b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// visibleBot returns the bot request of the request's path if p may reach it: one of p's
// organisation, or, once it records, one whose meeting the access rule lets p reach.
func (s *Server) visibleBot(r *http.Request, p principal, edit bool) (ledger.BotRequest, error) {
	id := r.PathValue("id")
	notFound := failf(http.StatusNotFound, "no bot %q (or it is not your organisation's)", id)
	if !server.ValidID(id) {
		return ledger.BotRequest{}, notFound
	}
	b, err := s.store.Bot(r.Context(), id)
	if errors.Is(err, ledger.ErrNotFound) {
		return b, notFound
	}
	if err != nil || p.administrator() || b.OrgID == p.cred.OrgID {
		return b, err
	}
	if b.Status != ledger.BotStarted {
		return ledger.BotRequest{}, notFound
	}
	switch err := s.allow(r.Context(), p, b.MeetingID, edit); {
	case errors.Is(err, ledger.ErrNotFound):
		return ledger.BotRequest{}, notFound
	case errors.Is(err, server.ErrReadOnly):
		return ledger.BotRequest{}, failf(http.StatusForbidden, "your organisation may view bot %s's meeting but not change it", id)
	case err != nil:
		return ledger.BotRequest{}, err
	}
	return b, nil
}

func (s *Server) getBot(w http.ResponseWriter, r *http.Request, p principal) error {
	b, err := s.visibleBot(r, p, false)
	if err != nil {
		return err
	}
	out, err := s.botJSON(r, b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// maxBotsListed bounds a list of bot requests.
const maxBotsListed = 100

func (s *Server) listBots(w http.ResponseWriter, r *http.Request, p principal) error {
	out, err := s.botList(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// botList is p's organisation's latest bot requests (the administrator's: everyone's).
func (s *Server) botList(r *http.Request, p principal) ([]botJSON, error) {
	bs, err := s.store.OrgBots(r.Context(), p.cred.OrgID, p.administrator(), maxBotsListed)
	if err != nil {
		return nil, err
	}
	out := make([]botJSON, 0, len(bs))
	for _, b := range bs {
		j, err := s.botJSON(r, b)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// deleteBot cancels a scheduled bot, or makes a running one leave its call: here at once, and on
// another replica at its next sweep.
func (s *Server) deleteBot(w http.ResponseWriter, r *http.Request, p principal) error {
	b, err := s.visibleBot(r, p, true)
	if err != nil {
		return err
	}
	if _, err := s.store.CancelBot(r.Context(), b.ID); err != nil {
		return err
	}
	left := false
	if s.cfg.Bots != nil {
		left = s.cfg.Bots.Leave(b.ID)
	}
	s.log.Info("bot cancelled", "bot", b.ID, "was", string(b.Status), "left_here", left, "by", p.cred.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
