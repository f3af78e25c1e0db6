package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
	"github.com/ledgerline/ledgerline/summary"
)

// Store is where a Meeting keeps its record: the meeting store, with the reads of current state
// that viewers' changes, pause and resume, and a continued meeting start from.
type Store interface {
	ledger.Store
	server.Control
	// Leases pick the one process that serves a meeting: the one whose viewers see its events.
	ledger.Leases
	// Runs returns how many runs have recorded a meeting (its meeting.state events with
	// ledger.ReasonStarted).
	Runs(ctx context.Context, meeting string) (int, error)
	// LastState returns a meeting's last meeting.state event.
	LastState(ctx context.Context, meeting string) (ledger.Event, error)
	// ClockReached returns the furthest meeting time a meeting's record reaches.
	ClockReached(ctx context.Context, meeting string) (time.Duration, error)
}

var _ Store = (*ledger.SQLiteStore)(nil)

// MeetingConfig sets up a Meeting. Store is required.
type MeetingConfig struct {
	// Store keeps the meeting's record. It is the caller's: it may hold many meetings, and is
	// closed after the Meeting.
	Store Store
	// Listen is the address the overlay, the join page and the WHIP endpoint are served on.
	// Listening on every interface (0.0.0.0, [::]), the links carry an address of this machine
	// that others can reach.
	Listen string
	// PublicURL, when set, is the address the meeting is reached at from outside (behind a reverse
	// proxy, or under another name): its links are built on it, path prefix included, instead of
	// on Listen. See PublicBase for what it may be.
	PublicURL string
	// AllowedOrigins are other browser origins whose pages may open the meeting's socket and send
	// changes (server.Config.AllowedOrigins); PublicURL's is allowed already.
	AllowedOrigins []string
	// MaxConnsPerAddr is server.Config.MaxConnsPerAddr: how many connections one client address
	// may hold open at once (0: the default; negative: no limit).
	MaxConnsPerAddr int
	// Continue is the ID of a meeting recorded earlier to continue, its clock going on after what
	// the earlier runs recorded; "" starts a new meeting with Deal, Title and Timezone.
	Continue string
	Deal     string // the deal a new meeting belongs to
	Title    string
	Timezone string // IANA name due dates resolve in
	// TakeAudio says that participants' audio is transcribed: tracks pushed over WHIP (from the
	// join page, or 'ledgerline publish') join the pipeline Transcribe runs, and those that arrive
	// before it runs wait for it. Without it, and once the pipeline has ended, publishers are turned
	// away, told that the meeting is not being transcribed.
	TakeAudio bool
	// Finished, when set, is called by Finish once viewers have had the meeting's last events and
	// before its server stops: what the meeting owes on its end (its follow-ups) is sent while the
	// links it carries still open. It must return once ctx ends.
	Finished func(ctx context.Context)
	// Narrator, when set, writes the narrative atop the meeting's recap (server.Config.Narrator):
	// a local model, as the commitment refiner's endpoint.
	Narrator summary.Narrator
	Logger   *slog.Logger
}

// Meeting is one meeting served live: its record in the store, the overlay and join page, the
// WHIP endpoint participants' audio comes in on, and the transcription pipeline Transcribe runs.
// It joins participants' tracks to the pipeline and passes viewers' changes back into it.
//
// A Meeting owns its server, its WHIP endpoint and every goroutine it starts; Close stops them
// all. It holds no state outside itself, so that one process may run many.
//
// One process serves a meeting at a time: viewers receive only the events of the process they
// are connected to. A Meeting holds the meeting's lease in the store from the start (another
// process's Meeting for it is refused, told who serves it) and renews it until Close releases it.
// Should it lose the lease all the same (the process was paused or cut off from the database for
// longer than the lease lasts, and another took the meeting over), it stops its pipeline and
// Transcribe says why.
type Meeting struct {
	id, token string
	deal      ledger.Deal // the deal the meeting belongs to; zero when none
	started   time.Time   // this run's time 0, which is meeting time run.startAt
	run       run         // where this run starts in the meeting's record
	base      string      // http://host:port the meeting is served on, or its public URL
	cfg       MeetingConfig
	log       *slog.Logger
	srv       *server.Server
	whip      *ingest.WHIP // the meeting's own; nil when hosted
	host      *Host        // the Host that serves it with others; nil when it serves itself

	ctx    context.Context // done once Close begins
	cancel context.CancelFunc
	owned  context.Context // done once Close begins or the lease is lost: ends the pipeline
	disown context.CancelFunc
	wg     sync.WaitGroup // Transcribe, the lease's renewal, and tracks being joined to the pipeline

	mu          sync.Mutex
	closed      bool
	registered  bool            // begin registered it with srv; a Host's meeting that did not leaves srv's viewers alone
	transcribed bool            // Transcribe was called
	taking      bool            // participants' tracks are taken now
	session     *Session        // the running pipeline, for tracks that join and viewers' changes
	waiting     []*ingest.Track // taken while the engine loads, to join the pipeline when it starts
	local       map[string]bool // channels captured here, which no participant may take
	lease       ledger.Lease    // the meeting's lease as last acquired or renewed; zero before
	lost        error           // why the lease was lost; nil while it is held
}

// Why publishers are turned away.
const (
	notTranscribed = "this meeting is not being transcribed"
	ownAudioOnly   = "this meeting transcribes only its own audio, not its participants'"
)

// StartMeeting records a new meeting in the store (or continues cfg.Continue) and serves it.
func StartMeeting(ctx context.Context, cfg MeetingConfig) (*Meeting, error) {
	if cfg.Store == nil {
		return nil, errors.New("agent: a meeting needs a store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	id := cfg.Continue
	if id == "" {
		id = newMeetingID()
	} else if _, err := cfg.Store.Meeting(ctx, id); err != nil {
		return nil, fmt.Errorf("agent: continue meeting %q: %w", id, err)
	}
	m := &Meeting{id: id, started: time.Now(), cfg: cfg, log: cfg.Logger.With("meeting", id), taking: cfg.TakeAudio}
	m.ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	m.owned, m.disown = context.WithCancel(m.ctx)
	var err error
	origins := slices.Clone(cfg.AllowedOrigins)
	if cfg.PublicURL != "" {
		if m.base, err = PublicBase(cfg.PublicURL); err != nil {
			m.cancel()
			return nil, err
		}
		// A proxy may pass on its own Host rather than the browser's: the pages' origin is allowed
		// all the same.
		origins = append(origins, origin(m.base))
	}
	if m.whip, err = m.newWHIP(); err != nil {
		m.cancel()
		return nil, err
	}
	m.srv, err = server.New(server.Config{Addr: cfg.Listen, AllowedOrigins: origins, Log: cfg.Store, Logger: cfg.Logger, Ingest: m.whip, Narrator: cfg.Narrator,
		Control: viewerChanges{m}, Records: cfg.Store, Recorder: recorder{m}, MaxConnsPerAddr: cfg.MaxConnsPerAddr})
	if err != nil {
		m.cancel()
		return nil, errors.Join(err, m.whip.Close())
	}
	// Listening first gives the lease the address that another process sends its user to. The
	// server serves no meeting until its token is added, once the lease is held and the record
	// made: a continued meeting's record is written to only by the process that holds its lease.
	addr, err := m.srv.Start()
	if err != nil {
		return nil, errors.Join(err, m.Close())
	}
	if m.base == "" {
		m.base = "http://" + LinkAddr(addr)
	}
	if err := m.begin(ctx); err != nil {
		return nil, errors.Join(err, m.Close())
	}
	return m, nil
}

// begin takes the meeting's lease, makes or continues its record, and serves it.
func (m *Meeting) begin(ctx context.Context) error {
	if err := m.acquire(ctx); err != nil {
		return err
	}
	if err := m.record(ctx); err != nil {
		return err
	}
	if err := m.srv.AddMeetingToken(m.id, m.token); err != nil {
		return err
	}
	m.mu.Lock()
	m.registered = true
	m.mu.Unlock()
	return nil
}

// record makes the meeting's record, or continues it, and reads its deal.
func (m *Meeting) record(ctx context.Context) error {
	rec, run, err := record(ctx, m.cfg, m.id)
	if err != nil {
		return err
	}
	m.token, m.run = rec.Token, run
	if rec.DealID != "" {
		// Participants name their side of the deal; the deal names the organisation on each side.
		if m.deal, err = m.cfg.Store.Deal(ctx, rec.DealID); err != nil {
			return fmt.Errorf("agent: meeting %s: %w", rec.ID, err)
		}
	}
	return nil
}

// run is where a run of a meeting starts in its record.
type run struct {
	idPrefix string        // of the IDs it gives: "r2-" for the second run, "" for the first
	startAt  time.Duration // the meeting time its audio starts at
}

// runGap separates a continued meeting's runs on its clock. The record ends with the last words
// or loss an earlier run recorded, not with its audio; the gap keeps the next run's first words
// clear of them, and tells the runs apart in a transcript.
const runGap = time.Second

// reasonUnstopped is why a continued meeting records an earlier run as stopped: that run never
// recorded its own stop (its process was killed, or the machine went down).
const reasonUnstopped = "the previous run ended without stopping"

// record creates the meeting's record with the given ID, or reads the one it continues and where
// this run starts: its IDs' prefix, so that they never replace what earlier runs recorded, and its
// meeting time, after everything they recorded. An earlier run left recording or paused is
// recorded as stopped first.
func record(ctx context.Context, cfg MeetingConfig, id string) (ledger.Meeting, run, error) {
	if cfg.Continue == "" {
		rec := ledger.Meeting{ID: id, DealID: cfg.Deal, Title: cfg.Title, Token: server.NewToken(),
			StartedAt: time.Now(), Timezone: cfg.Timezone}
		if err := cfg.Store.CreateMeeting(ctx, rec); err != nil {
			return ledger.Meeting{}, run{}, fmt.Errorf("agent: %w", err)
		}
		return rec, run{}, nil
	}
	rec, r, err := continued(ctx, cfg.Store, cfg.Continue)
	if err != nil {
		return ledger.Meeting{}, run{}, fmt.Errorf("agent: continue meeting %q: %w", cfg.Continue, err)
	}
	return rec, r, nil
}

// continued reads the meeting with the given ID and where its next run starts, closing a run
// left unstopped.
func continued(ctx context.Context, store Store, id string) (ledger.Meeting, run, error) {
	rec, err := store.Meeting(ctx, id)
	if err != nil {
		return ledger.Meeting{}, run{}, err
	}
	runs, err := store.Runs(ctx, rec.ID)
	if err != nil {
		return ledger.Meeting{}, run{}, err
	}
	last, err := store.LastState(ctx, rec.ID)
	switch {
	case errors.Is(err, ledger.ErrNotFound): // no run has recorded anything yet
	case err != nil:
		return ledger.Meeting{}, run{}, err
	case last.State != ledger.MeetingStopped:
		if _, err := store.Append(ctx, ledger.Event{Type: ledger.TypeMeetingState, Meeting: rec.ID,
			State: ledger.MeetingStopped, Reason: reasonUnstopped}); err != nil {
			return ledger.Meeting{}, run{}, err
		}
	}
	reached, err := store.ClockReached(ctx, rec.ID)
	if err != nil {
		return ledger.Meeting{}, run{}, err
	}
	if runs == 0 && reached == 0 { // made, as a team server's meetings are, but never recorded
		return rec, run{}, nil
	}
	return rec, run{idPrefix: fmt.Sprintf("r%d-", max(runs, 1)+1), startAt: reached + runGap}, nil
}

// ID is the meeting's ID.
func (m *Meeting) ID() string { return m.id }

// MeetingTime is where the wall-clock instant t of this run lies on the meeting's clock: the
// meeting time a participant's WebRTC audio that arrived at t is placed at.
func (m *Meeting) MeetingTime(t time.Time) time.Duration { return t.Sub(m.started) + m.run.startAt }

// OverlayURL is the link that follows the meeting live, token included.
func (m *Meeting) OverlayURL() string { return m.base + server.PagePath(m.id, m.token) }

// JoinURL is the link participants join with to send their own audio, token included.
func (m *Meeting) JoinURL() string { return m.base + server.JoinPath(m.id, m.token) }

// DealURL is the link to the page of the meeting's deal, token included; "" when the meeting has
// no deal, or its deal no link of its own (one kept on a team server, where people sign in).
func (m *Meeting) DealURL() string {
	if m.deal.ID == "" || m.deal.Token == "" {
		return ""
	}
	return m.base + server.DealPath(m.deal.ID, m.deal.Token)
}

// RecapURL is the link that opens the meeting's recap and nothing else, for people told of it.
func (m *Meeting) RecapURL() string { return m.base + server.RecapPath(m.id, m.token) }

// Transcribe runs the pipeline cfg into the meeting until its sources end, ctx is done or the
// meeting is closed, and returns as Session.Run does. It first loads the speech engine with load
// (closing it at the end when it is an io.Closer); participants who join meanwhile wait for it.
// The meeting fills in cfg's Meeting, Engine, Log, MeetingDate, IDPrefix and StartAt, KeepOpen
// when it takes participants' audio, and the organisation of each speaker of cfg.Speakers who has
// only a role, from the meeting's deal. A meeting is transcribed once. Should the meeting's lease be
// lost, the pipeline stops and Transcribe returns why.
func (m *Meeting) Transcribe(ctx context.Context, cfg Config, load func(context.Context) (asr.Engine, error)) (err error) {
	local := map[string]bool{}
	for _, src := range cfg.Sources {
		for _, ch := range src.Channels() {
			local[ch] = true
		}
	}
	m.mu.Lock()
	if m.closed || m.transcribed {
		m.mu.Unlock()
		return fmt.Errorf("agent: meeting %s is closed or already transcribed", m.id)
	}
	m.transcribed, m.local = true, local
	m.wg.Add(1)
	m.mu.Unlock()
	defer m.wg.Done()
	defer m.stopTaking()
	defer func() {
		if lost := m.leaseLost(); lost != nil {
			err = lost
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(m.owned, cancel)()

	engine, err := load(ctx)
	if err != nil {
		return err
	}
	if c, ok := engine.(io.Closer); ok {
		defer c.Close()
	}
	cfg.Meeting, cfg.Engine, cfg.Log, cfg.MeetingDate = m.id, engine, ownedLog{m}, m.started
	cfg.IDPrefix, cfg.StartAt = m.run.idPrefix, m.run.startAt
	cfg.Speakers = m.withOrgs(cfg.Speakers)
	cfg.KeepOpen = cfg.KeepOpen || m.cfg.TakeAudio
	if cfg.Logger == nil {
		cfg.Logger = m.cfg.Logger
	}
	s, err := New(cfg)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.session = s
	waiting := m.waiting
	m.waiting = nil
	m.mu.Unlock()
	for _, t := range waiting {
		if local[t.Channel()] {
			m.log.Warn("refused a track", "channel", t.Channel(), "reason", "a channel captured here")
			t.Close()
			continue
		}
		m.join(s, t) // the session queues it until Run starts it: no write yet
	}
	return s.Run(ctx)
}

// stopTaking ends the pipeline's part in the meeting: later tracks are turned away, and those
// still waiting for it let go.
func (m *Meeting) stopTaking() {
	m.mu.Lock()
	m.session, m.taking = nil, false
	waiting := m.waiting
	m.waiting = nil
	m.mu.Unlock()
	for _, t := range waiting {
		t.Close()
	}
}

// running returns the pipeline while it runs.
func (m *Meeting) running() *Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.session
}

// Finish ends the meeting for its viewers once transcribing is over: it lets each of them take
// every event not yet received (for up to 10 s), calls MeetingConfig.Finished, and shuts the
// server down (up to 10 s). It goes on when ctx is cancelled, so that an interrupted meeting still
// ends properly. Close still follows.
func (m *Meeting) Finish(ctx context.Context) error {
	bg := context.WithoutCancel(ctx)
	drain, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	if err := m.srv.Drain(drain, m.id); err != nil {
		m.log.Warn("some viewers did not receive every event before the end", "err", err)
	}
	if m.cfg.Finished != nil {
		m.cfg.Finished(bg)
	}
	if m.host != nil { // the server goes on serving the Host's other meetings
		m.srv.RemoveMeeting(m.id)
		return nil
	}
	shutdown, cancelShutdown := context.WithTimeout(bg, 10*time.Second)
	defer cancelShutdown()
	return m.srv.Shutdown(shutdown)
}

// Close stops the pipeline if it still runs, turns publishers away, ends their sessions, stops
// serving and waits for every goroutine the meeting started. It leaves the store open.
func (m *Meeting) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed, m.taking = true, false
	registered := m.registered
	waiting := m.waiting
	m.waiting = nil
	m.mu.Unlock()
	for _, t := range waiting {
		t.Close()
	}
	m.cancel()
	if m.host != nil {
		m.wg.Wait()
		if registered {
			m.srv.RemoveMeeting(m.id)
		}
		return m.release()
	}
	err := m.whip.Close()
	m.wg.Wait()
	return errors.Join(err, m.srv.Close(), m.release())
}

func newMeetingID() string {
	// A UUIDv7: unique across every machine that records meetings for one team server, and
	// ordered by creation time, so the store's index stays append-mostly.
	return uuid.Must(uuid.NewV7()).String()
}
