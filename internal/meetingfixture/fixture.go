// Package meetingfixture is a small meeting platform for tests of the meeting bot: it behaves like
// the real ones in what the bot depends on, and in nothing else.
//
// A room's page has a lobby with a name field and an "Ask to join" button; a host who admits the
// guest after a delay, denies them, or never answers; and, once admitted, participant tiles with
// names and a speaking indicator, a chat, and a leave button. Its participants are real WebRTC
// peers (pion) that send Opus from recordings, following a script of lines, in one of three ways
// (Mode): one track per participant, one mixed track whose packets list the speaking
// participants as contributing sources (CSRC), or three Meet-style virtual streams whose
// participant changes from line to line, named by the CSRC. Each packet carries its audio level
// (RFC 6464), as real platforms' do. What the room actually played, and when, is kept (Played),
// so that a test can check a transcript's speakers against it.
//
// Concurrency: a Server is safe for concurrent use. It owns its HTTP server and one player
// goroutine per guest in a call; Close stops them all and waits for them.
package meetingfixture

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Mode is how a room sends its participants' audio.
type Mode int

// The modes.
const (
	// PerTrack sends one track per participant, as Jitsi and most SFUs do.
	PerTrack Mode = iota
	// Mixed sends one track mixed on the server, whose packets list the participants heard in
	// them as contributing sources, as Teams does.
	Mixed
	// Virtual sends three tracks ("virtual streams") that carry whoever speaks, each packet
	// naming its participant as its contributing source, as Google Meet does.
	Virtual
)

func (m Mode) String() string {
	switch m {
	case PerTrack:
		return "per-track"
	case Mixed:
		return "mixed"
	case Virtual:
		return "virtual"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// tracks is how many audio tracks a guest of the mode receives.
func (m Mode) tracks(participants int) int {
	switch m {
	case Mixed:
		return 1
	case Virtual:
		return virtualStreams
	}
	return participants
}

// virtualStreams is how many virtual audio streams a Virtual room sends.
const virtualStreams = 3

// Admission is what the host does when a guest asks to join.
type Admission int

// The admissions.
const (
	// Admit lets the guest in after Room.AdmitAfter.
	Admit Admission = iota
	// Deny refuses the guest after Room.AdmitAfter.
	Deny
	// Ignore never answers by itself: the guest waits until they give up, or until the test
	// admits them (Server.Admit).
	Ignore
	// Open has no lobby: asking to join is joining.
	Open
)

// Room is one meeting of the fixture.
type Room struct {
	Mode Mode
	// Participants are the names of the people in the call, in the order of their tiles.
	Participants []string
	// Script is what they say, in order, once a guest's audio is connected.
	Script []Line
	// Lead is the silence before the first line [1 s].
	Lead time.Duration
	// Admission is what the host does with a guest who asks to join; AdmitAfter is how long the
	// host takes to decide.
	Admission  Admission
	AdmitAfter time.Duration
	// NotStarted makes the room a meeting that has not started: its page says so.
	NotStarted bool
	// EndAfter, when positive, has the host end the meeting this long after the script has
	// played to a guest.
	EndAfter time.Duration
	// LeaveAfter, when positive, has every participant leave the call this long after the
	// script has played: the guest is left alone.
	LeaveAfter time.Duration
	// RemoveAfter, when positive, has the host remove the guest from the call this long after
	// the script has played.
	RemoveAfter time.Duration
	// NoIndicator leaves the tiles' speaking indicator off: the page never shows who speaks.
	NoIndicator bool
}

// Line is one participant's utterance.
type Line struct {
	Speaker string
	// Audio is what they say: 16 kHz mono.
	Audio []float32
	// Pause is the silence before it.
	Pause time.Duration
}

// Played is a line as a room sent it to a guest, in wall-clock time: from its first packet to the
// end of its last. Voiced tells, for each 20 ms frame from Start, whether it carried speech (its
// audio level above -60 dBov) rather than the pauses within the line.
type Played struct {
	Speaker    string
	Start, End time.Time
	Voiced     []bool
}

// Message is one chat message.
type Message struct {
	From, Text string
}

// Server serves the fixture's rooms on a loopback address.
type Server struct {
	api  *webrtc.API
	log  *slog.Logger
	srv  *http.Server
	ln   net.Listener
	base string

	ctx    context.Context // done on Close: ends every player
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	rooms map[string]*room
}

type room struct {
	id      string
	cfg     Room
	guests  map[string]*guest
	chat    []Message
	ended   bool
	left    bool // the participants left
	played  []Played
	done    chan struct{} // closed when the script has played to a guest
	replies []reply       // messages to post once another shows
}

type reply struct {
	after string
	msg   Message
}

type guest struct {
	id, name string
	state    string // waiting, admitted, denied, removed, ended, left
	asked    time.Time
	pc       *webrtc.PeerConnection
	speaking map[string]bool
	stop     context.CancelFunc // ends the player; nil before media
}

//go:embed web
var web embed.FS

// Start serves a fixture on 127.0.0.1, on a port of its own.
func Start(logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	api, err := newAPI()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("meetingfixture: %w", err)
	}
	s := &Server{api: api, log: logger, ln: ln, base: "http://" + ln.Addr().String(), rooms: map[string]*room{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /r/{room}", s.page)
	mux.HandleFunc("GET /room.js", s.script)
	mux.HandleFunc("GET /api/{room}", s.roomInfo)
	mux.HandleFunc("POST /api/{room}/knock", s.knock)
	mux.HandleFunc("GET /api/{room}/guest/{guest}", s.guestState)
	mux.HandleFunc("POST /api/{room}/guest/{guest}/media", s.media)
	mux.HandleFunc("POST /api/{room}/guest/{guest}/chat", s.say)
	mux.HandleFunc("POST /api/{room}/guest/{guest}/leave", s.leave)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("fixture server stopped", "err", err)
		}
	}()
	return s, nil
}

// AddRoom opens a room under id and returns its link.
func (s *Server) AddRoom(id string, r Room) string {
	if r.Lead == 0 {
		r.Lead = time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rooms[id] = &room{id: id, cfg: r, guests: map[string]*guest{}, done: make(chan struct{})}
	return s.URL(id)
}

// URL is the link of room id, whether or not it exists.
func (s *Server) URL(id string) string { return s.base + "/r/" + id }

// Played returns the lines a room has sent so far, in order.
func (s *Server) Played(id string) []Played {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[id]; r != nil {
		return append([]Played(nil), r.played...)
	}
	return nil
}

// Chat returns a room's chat messages so far.
func (s *Server) Chat(id string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[id]; r != nil {
		return append([]Message(nil), r.chat...)
	}
	return nil
}

// Say posts a chat message from a participant.
func (s *Server) Say(id, from, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[id]; r != nil {
		r.chat = append(r.chat, Message{From: from, Text: text})
	}
}

// SayAfter has a participant post text in a room's chat as soon as a message containing after
// shows there (the participant answers it).
func (s *Server) SayAfter(id, after, from, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[id]; r != nil {
		r.replies = append(r.replies, reply{after: after, msg: Message{From: from, Text: text}})
		r.answer()
	}
}

// answer posts the replies whose message has shown; s.mu held.
func (r *room) answer() {
	kept := r.replies[:0]
	for _, rep := range r.replies {
		if slices.ContainsFunc(r.chat, func(m Message) bool { return strings.Contains(m.Text, rep.after) }) {
			r.chat = append(r.chat, rep.msg)
			continue
		}
		kept = append(kept, rep)
	}
	r.replies = kept
}

// Done returns a channel closed once a room's script has played to a guest.
func (s *Server) Done(id string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[id]; r != nil {
		return r.done
	}
	return nil
}

// Admit has the host let every guest waiting in a room's lobby into the call.
func (s *Server) Admit(id string) { s.answerLobby(id, "admitted") }

// Deny has the host refuse every guest waiting in a room's lobby.
func (s *Server) Deny(id string) { s.answerLobby(id, "denied") }

func (s *Server) answerLobby(id, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[id]; r != nil {
		for _, g := range r.guests {
			if g.state == "waiting" {
				g.state = state
			}
		}
	}
}

// End has the host end a room's meeting.
func (s *Server) End(id string) {
	s.mu.Lock()
	r := s.rooms[id]
	var stops []context.CancelFunc
	if r != nil {
		r.ended = true
		for _, g := range r.guests {
			stops = append(stops, g.end("ended"))
		}
	}
	s.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
}

// Remove has the host remove every guest from a room's call.
func (s *Server) Remove(id string) {
	s.mu.Lock()
	r := s.rooms[id]
	var stops []context.CancelFunc
	if r != nil {
		for _, g := range r.guests {
			if g.state == "admitted" {
				stops = append(stops, g.end("removed"))
			}
		}
	}
	s.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
}

// Guests returns how many guests are in a room's call now.
func (s *Server) Guests(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	if r := s.rooms[id]; r != nil {
		for _, g := range r.guests {
			if g.state == "admitted" {
				n++
			}
		}
	}
	return n
}

// end moves a guest out of the call and returns what stops its media; s.mu held.
func (g *guest) end(state string) context.CancelFunc {
	if g.state == "admitted" || g.state == "waiting" {
		g.state = state
	}
	stop := g.stop
	pc := g.pc
	return func() {
		if stop != nil {
			stop()
		}
		if pc != nil {
			_ = pc.Close()
		}
	}
}

// Close stops serving, ends every call and waits for every goroutine the server started.
func (s *Server) Close() error {
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	s.mu.Lock()
	var pcs []*webrtc.PeerConnection
	for _, r := range s.rooms {
		for _, g := range r.guests {
			if g.pc != nil {
				pcs = append(pcs, g.pc)
			}
		}
	}
	s.mu.Unlock()
	for _, pc := range pcs {
		_ = pc.Close()
	}
	s.wg.Wait()
	return err
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	_, ok := s.rooms[r.PathValue("room")]
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Meeting not found</title></head>`+
			`<body><h1>Check your meeting code</h1><p>This meeting link is invalid: make sure you entered the correct meeting link.</p></body></html>`)
		return
	}
	page, err := web.ReadFile("web/room.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(page)
}

func (s *Server) script(w http.ResponseWriter, _ *http.Request) {
	js, err := web.ReadFile("web/room.js")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = w.Write(js)
}

// lookup returns the room and guest a request names; the guest is nil when the path has none.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*room, *guest, bool) {
	rm := s.rooms[r.PathValue("room")]
	if rm == nil {
		http.Error(w, "no such room", http.StatusNotFound)
		return nil, nil, false
	}
	id := r.PathValue("guest")
	if id == "" {
		return rm, nil, true
	}
	g := rm.guests[id]
	if g == nil {
		http.Error(w, "no such guest", http.StatusNotFound)
		return nil, nil, false
	}
	return rm, g, true
}

func (s *Server) roomInfo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rm, _, ok := s.lookup(w, r)
	var info map[string]any
	if ok {
		info = map[string]any{"not_started": rm.cfg.NotStarted, "ended": rm.ended}
	}
	s.mu.Unlock()
	if ok {
		writeJSON(w, info)
	}
}

func (s *Server) knock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil || strings.TrimSpace(req.Name) == "" {
		http.Error(w, "a name is needed", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rm, _, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if rm.cfg.NotStarted || rm.ended {
		http.Error(w, "the meeting is not open", http.StatusConflict)
		return
	}
	g := &guest{id: newID(), name: strings.TrimSpace(req.Name), state: "waiting", asked: time.Now()}
	if rm.cfg.Admission == Open {
		g.state = "admitted"
	}
	rm.guests[g.id] = g
	writeJSON(w, map[string]any{"guest": g.id, "state": g.state})
}

// decide applies the host's answer once it is due; s.mu held.
func (rm *room) decide(g *guest) {
	if g.state != "waiting" || time.Since(g.asked) < rm.cfg.AdmitAfter {
		return
	}
	switch rm.cfg.Admission {
	case Admit:
		g.state = "admitted"
	case Deny:
		g.state = "denied"
	}
}

func (s *Server) guestState(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rm, g, ok := s.lookup(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	rm.decide(g)
	type tile struct {
		Name     string `json:"name"`
		Speaking bool   `json:"speaking"`
	}
	var tiles []tile
	if g.state == "admitted" && !rm.left {
		for _, p := range rm.cfg.Participants {
			tiles = append(tiles, tile{Name: p, Speaking: g.speaking[p] && !rm.cfg.NoIndicator})
		}
	}
	out := map[string]any{
		"state":        g.state,
		"participants": tiles,
		"chat":         rm.chat,
		"tracks":       rm.cfg.Mode.tracks(len(rm.cfg.Participants)),
	}
	s.mu.Unlock()
	writeJSON(w, out)
}

func (s *Server) say(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 8192)).Decode(&req); err != nil || strings.TrimSpace(req.Text) == "" {
		http.Error(w, "a message is needed", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rm, g, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if g.state != "admitted" {
		http.Error(w, "not in the call", http.StatusConflict)
		return
	}
	rm.chat = append(rm.chat, Message{From: g.name, Text: strings.TrimSpace(req.Text)})
	rm.answer()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) leave(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	_, g, ok := s.lookup(w, r)
	var stop context.CancelFunc
	if ok {
		stop = g.end("left")
	}
	s.mu.Unlock()
	if ok {
		stop()
		w.WriteHeader(http.StatusNoContent)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
