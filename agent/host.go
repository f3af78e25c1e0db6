package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/diarize"
	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
	"github.com/ledgerline/ledgerline/stream"
)

// DefaultIdleStop is how long a hosted meeting's pipeline runs on with nobody sending audio.
const DefaultIdleStop = 2 * time.Minute

// HostConfig sets up a Host. Store and Load are required.
type HostConfig struct {
	Store HostStore
	// Load loads the speech engine every hosted meeting decodes on. It is called when the first
	// pipeline starts (again after a failure), and the engine is closed by Close.
	Load func(context.Context) (asr.Engine, error)
	// Options are the decoding options of every pipeline (language).
	Options asr.Options
	// Detector gives each channel of every pipeline its speech detector, as Config.Detector.
	Detector func() stream.FrameDetector
	// Refiner double-checks every pipeline's commitments, as Config.Refiner.
	Refiner detect.Refiner
	// IdleStop is how long a meeting's pipeline runs on once nobody sends it audio; DefaultIdleStop
	// when zero. A participant who joins later starts a new run of the meeting.
	IdleStop time.Duration
	// Loopback keeps WebRTC media on the loopback interface (tests, a server for this machine only).
	Loopback bool
	Logger   *slog.Logger
}

// HostStore is the store of a Host: a meeting's, and which of the meetings it records no run has
// recorded the stop of (ledger.Team's Unstopped).
type HostStore interface {
	Store
	Unstopped(ctx context.Context) ([]ledger.Meeting, error)
}

var _ HostStore = (*ledger.SQLiteStore)(nil)

// Host serves many meetings live in one process, as a team server does: one overlay server and
// one WHIP endpoint for all of them, and one speech engine they all decode on (its workers are the
// pool their decodes share). A hosted meeting's pipeline starts when its first participant sends
// audio, and stops once nobody has sent any for IdleStop: a Meeting, lease included, exists only
// while it runs, so an idle meeting costs nothing but its record.
//
// Concurrency: a Host is safe for concurrent use. It owns its WHIP endpoint, the running Meetings
// and their pipelines, one watcher per participant's track and the sweeper that stops idle
// meetings; Close stops them all. The overlay server is the caller's, given to Attach before the
// first participant arrives. The Host is also the server's Control and Recorder: viewers' changes
// to a running meeting go through its pipeline, as they do in a meeting that serves itself.
type Host struct {
	cfg  HostConfig
	log  *slog.Logger
	whip *ingest.WHIP
	ctx  context.Context // done once Close begins
	stop context.CancelFunc
	wg   sync.WaitGroup // pipelines, track watchers, the sweeper

	mu       sync.Mutex
	srv      *server.Server
	base     string // where srv is reached
	meetings map[string]*hostedMeeting
	bots     map[string]*diarize.Timeline // the speaker timelines of meetings a bot hears, by meeting
	closed   bool
	engine   asr.Engine // loaded on first use; closed by Close

	loading sync.Mutex // one load of the engine at a time
}

// hostedMeeting is a running meeting and what the Host knows of its participants.
type hostedMeeting struct {
	// ready is closed once the meeting has started (m and stop set) or failed to (err set). A
	// meeting is in Host.meetings from the moment its start begins, so that publishers of one
	// meeting wait for one start while those of others go on.
	ready chan struct{}
	err   error
	m     *Meeting
	stop  context.CancelFunc // ends its pipeline
	done  chan struct{}      // closed once it has finished and closed
	// timeline names the speakers of the channels a meeting bot forwards, when one does.
	timeline *diarize.Timeline

	// Guarded by Host.mu.
	tracks int       // participants' tracks open now
	quiet  time.Time // since when none has been open
}

var (
	_ server.Control  = (*Host)(nil)
	_ server.Recorder = (*Host)(nil)
)

// NewHost returns a Host; it starts serving once Attach gives it the server.
func NewHost(cfg HostConfig) (*Host, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("agent: a host needs a store")
	case cfg.Load == nil:
		return nil, errors.New("agent: a host needs a speech engine to load")
	}
	if cfg.IdleStop <= 0 {
		cfg.IdleStop = DefaultIdleStop
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Host{cfg: cfg, log: cfg.Logger, meetings: make(map[string]*hostedMeeting), bots: make(map[string]*diarize.Timeline)}
	h.ctx, h.stop = context.WithCancel(context.Background())
	api, err := ingest.NewAPI(ingest.APIConfig{Loopback: cfg.Loopback})
	if err != nil {
		return nil, err
	}
	if h.whip, err = ingest.NewWHIP(ingest.WHIPConfig{
		API:          api,
		Logger:       cfg.Logger,
		MeetingStart: h.meetingStart,
		Authorize:    h.authorize,
		OnTrack:      h.onTrack,
	}); err != nil {
		return nil, err
	}
	h.wg.Add(1)
	go h.sweep()
	return h, nil
}

// Expect readies a meeting for a meeting bot that will forward its call: the meeting's runs
// attribute the channels tl claims by it, as a bot joined from a laptop does (Config.Timeline).
// It returns the clock for the bot's samples (the meeting time of an instant; 0 before the
// meeting's run starts) and forget, to call once the bot has left.
func (h *Host) Expect(meeting string, tl *diarize.Timeline) (clock func(time.Time) time.Duration, forget func()) {
	h.mu.Lock()
	h.bots[meeting] = tl
	h.mu.Unlock()
	clock = func(t time.Time) time.Duration {
		h.mu.Lock()
		defer h.mu.Unlock()
		if hm := h.meetings[meeting]; hm != nil && hm.isReady() {
			return max(hm.m.MeetingTime(t), 0)
		}
		return 0
	}
	forget = func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.bots[meeting] == tl {
			delete(h.bots, meeting)
		}
	}
	return clock, forget
}

// Ingest is the WHIP endpoint of every hosted meeting, for server.Config.Ingest.
func (h *Host) Ingest() http.Handler { return h.whip }

// Attach gives the Host the server its meetings are served on, and the address that server is
// reached at ("https://ledgerline.example.com"), which the meetings' leases name.
func (h *Host) Attach(srv *server.Server, base string) error {
	b, err := PublicBase(base)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.srv, h.base = srv, b
	h.mu.Unlock()
	return nil
}

// Running reports how many hosted meetings run now.
func (h *Host) Running() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.meetings)
}

// authorize lets in publishers of a hosted meeting who hold its token, starting the meeting's
// pipeline for the first of them.
func (h *Host) authorize(r *http.Request, meeting string) error {
	hm, err := h.running(r, meeting)
	if err != nil {
		return err
	}
	if err := hm.m.authorize(r, meeting); err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		// A publisher on its way: its track comes with its first packet.
		h.mu.Lock()
		hm.quiet = time.Now()
		h.mu.Unlock()
	}
	return nil
}

// running returns the running meeting, starting it for a publisher with its token.
func (h *Host) running(r *http.Request, meeting string) (*hostedMeeting, error) {
	h.mu.Lock()
	hm := h.meetings[meeting]
	h.mu.Unlock()
	if hm != nil {
		return hm.started(r.Context())
	}
	if r.Method != http.MethodPost {
		return nil, ingest.ErrUnknownMeeting // a session of a run that has ended
	}
	rec, err := h.cfg.Store.Meeting(r.Context(), meeting)
	if errors.Is(err, ledger.ErrNotFound) || (err == nil && !rec.Hosted) {
		return nil, ingest.ErrUnknownMeeting
	}
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if token, _ := ingest.BearerToken(r); server.TokenScope(rec.Token, token) < server.ScopeJoin {
		if err := h.admit(r, meeting); err != nil {
			return nil, err
		}
	}
	hm, err = h.start(meeting)
	if le := (*ledger.LeasedError)(nil); errors.As(err, &le) {
		return nil, h.elsewhere(r, le.Lease)
	}
	return hm, err
}

// admit reports whether the server's access rule lets r send the meeting audio (a member or an
// API token of a team server), besides the meeting's own tokens: nil when it does; else, as a
// publisher is answered, an unknown meeting for credentials that do not reach it (as missing ones
// are), a refusal for those that may only watch, and a missing or wrong token otherwise.
func (h *Host) admit(r *http.Request, meeting string) error {
	h.mu.Lock()
	srv := h.srv
	h.mu.Unlock()
	if srv == nil {
		return ingest.ErrUnauthorized
	}
	switch err := srv.Admit(r, meeting); {
	case err == nil:
		return nil
	case errors.Is(err, ledger.ErrNotFound):
		return ingest.ErrUnknownMeeting
	case errors.Is(err, server.ErrReadOnly):
		return ingest.Refuse("your organisation may view this meeting but not send it audio: ask its owner for an edit share")
	default:
		return ingest.ErrUnauthorized
	}
}

// elsewhere answers a publisher of a meeting that another process runs (a replica of this server
// on the same database holds its lease): a redirect to the same path and query on the owner's
// URL, or, where there is none to send it to, a refusal that says when to try again. When the
// owner dies, its lease expires and the publisher's next POST starts the meeting here.
func (h *Host) elsewhere(r *http.Request, l ledger.Lease) error {
	h.mu.Lock()
	base := h.base
	h.mu.Unlock()
	owner, err := PublicBase(l.OwnerURL)
	if err != nil || owner == base {
		// Unnamed, or this server's own URL: a run of an earlier process here that was not ended.
		return ingest.Refuse(fmt.Sprintf("the meeting's previous run still holds it until %s: try again then",
			l.Until.Local().Format("15:04:05 MST")))
	}
	loc := owner + pathAfter(base, r.URL.EscapedPath())
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	return ingest.Redirect(loc)
}

// pathAfter is a request's path below this server's public base (the base's own path, when it has
// one, is where a reverse proxy mounts every replica alike).
func pathAfter(base, path string) string {
	if u, err := url.Parse(base); err == nil && u.Path != "" && strings.HasPrefix(path, u.Path+"/") {
		return strings.TrimPrefix(path, u.Path)
	}
	return path
}

// started waits for the meeting's start and returns it, or why it did not start.
func (hm *hostedMeeting) started(ctx context.Context) (*hostedMeeting, error) {
	select {
	case <-hm.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if hm.err != nil {
		return nil, hm.err
	}
	return hm, nil
}

// isReady reports whether the meeting has started; h.mu is held.
func (hm *hostedMeeting) isReady() bool { return hm.m != nil }

// start runs a new run of a hosted meeting, unless one runs or starts already. Its record and
// lease take a few queries, made without holding the Host's lock: the starts of many meetings, and
// the publishers of meetings that run, do not wait for each other.
func (h *Host) start(meeting string) (*hostedMeeting, error) {
	h.mu.Lock()
	if hm := h.meetings[meeting]; hm != nil {
		h.mu.Unlock()
		return hm.started(h.ctx)
	}
	if h.closed || h.srv == nil {
		h.mu.Unlock()
		return nil, ingest.Refuse("the server is not taking audio now: try again shortly")
	}
	hm := &hostedMeeting{ready: make(chan struct{}), done: make(chan struct{}), quiet: time.Now()}
	h.meetings[meeting] = hm
	srv, base := h.srv, h.base
	h.wg.Add(1) // the start, then the pipeline
	h.mu.Unlock()

	m := &Meeting{id: meeting, started: time.Now(), cfg: MeetingConfig{Store: h.cfg.Store, Continue: meeting,
		TakeAudio: true, Logger: h.cfg.Logger},
		log: h.log.With("meeting", meeting), taking: true, srv: srv, host: h, base: base}
	m.ctx, m.cancel = context.WithCancel(h.ctx)
	m.owned, m.disown = context.WithCancel(m.ctx)
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	err := m.begin(ctx)
	cancel()
	h.mu.Lock()
	if err != nil {
		delete(h.meetings, meeting)
		hm.err = errors.Join(err, m.Close())
		close(hm.ready)
		close(hm.done)
		h.mu.Unlock()
		h.wg.Done()
		return nil, hm.err
	}
	run, stop := context.WithCancel(h.ctx)
	hm.m, hm.stop, hm.timeline = m, stop, h.bots[meeting]
	close(hm.ready)
	h.mu.Unlock()
	go h.transcribe(run, hm)
	h.log.Info("meeting started", "meeting", meeting)
	return hm, nil
}

// transcribe runs a hosted meeting's pipeline until it is stopped, then ends the run.
func (h *Host) transcribe(ctx context.Context, hm *hostedMeeting) {
	defer h.wg.Done()
	defer close(hm.done)
	m := hm.m
	err := m.Transcribe(ctx, Config{Options: h.cfg.Options, Detector: h.cfg.Detector, Refiner: h.cfg.Refiner,
		KeepOpen: true, Timeline: hm.timeline}, h.sharedEngine)
	if err != nil && !errors.Is(err, context.Canceled) {
		m.log.Error("the meeting's pipeline failed", "err", err)
	}
	if err := m.Finish(context.WithoutCancel(ctx)); err != nil {
		m.log.Warn("the meeting did not end cleanly", "err", err)
	}
	if err := m.Close(); err != nil {
		m.log.Warn("the meeting did not close cleanly", "err", err)
	}
	// Forgotten once its lease is released, so that a publisher who comes now starts a new run.
	h.mu.Lock()
	delete(h.meetings, m.id)
	h.mu.Unlock()
	h.log.Info("meeting stopped", "meeting", m.id)
}

// sharedEngine loads the engine once for every meeting. The pipelines must not close it: it is
// handed to them without its Close.
func (h *Host) sharedEngine(ctx context.Context) (asr.Engine, error) {
	h.loading.Lock()
	defer h.loading.Unlock()
	h.mu.Lock()
	e := h.engine
	h.mu.Unlock()
	if e == nil {
		var err error
		if e, err = h.cfg.Load(ctx); err != nil {
			return nil, err
		}
		h.mu.Lock()
		h.engine = e
		h.mu.Unlock()
	}
	return unclosable{e}, nil
}

// unclosable is an engine without its Close, so that a pipeline that ends leaves it loaded.
type unclosable struct{ asr.Engine }

// onTrack hands a participant's track to its meeting and watches it end, so that the Host knows
// when nobody sends the meeting audio any more.
func (h *Host) onTrack(meeting string, t *ingest.Track) {
	h.mu.Lock()
	hm := h.meetings[meeting]
	if hm == nil || !hm.isReady() || h.closed {
		h.mu.Unlock()
		t.Close()
		return
	}
	hm.tracks++
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		<-t.Done()
		h.mu.Lock()
		hm.tracks--
		if hm.tracks == 0 {
			hm.quiet = time.Now()
		}
		h.mu.Unlock()
	}()
	hm.m.onTrack(meeting, t)
}

func (h *Host) meetingStart(meeting string) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hm := h.meetings[meeting]; hm != nil && hm.isReady() {
		return hm.m.started
	}
	return time.Now()
}

// sweep stops the meetings nobody has sent audio to for IdleStop, and those a process that died
// left recording, until Close.
func (h *Host) sweep() {
	defer h.wg.Done()
	tick := time.NewTicker(max(h.cfg.IdleStop/4, 10*time.Millisecond))
	defer tick.Stop()
	orphans := time.NewTicker(orphanSweep)
	defer orphans.Stop()
	h.stopOrphans()
	for {
		select {
		case <-h.ctx.Done():
			return
		case now := <-tick.C:
			h.stopIdle(now)
		case <-orphans.C:
			h.stopOrphans()
		}
	}
}

// stopIdle stops the meetings that nobody has sent audio to for IdleStop at now.
func (h *Host) stopIdle(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, hm := range h.meetings {
		if hm.isReady() && hm.tracks == 0 && now.Sub(hm.quiet) >= h.cfg.IdleStop {
			hm.stop()
		}
	}
}

// meeting returns the running meeting with that ID, or nil.
func (h *Host) meeting(id string) *Meeting {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hm := h.meetings[id]; hm != nil && hm.isReady() {
		return hm.m
	}
	return nil
}

// Append implements server.Control: through the running meeting's pipeline, else to the store.
func (h *Host) Append(ctx context.Context, e ledger.Event) (ledger.Event, error) {
	if m := h.meeting(e.Meeting); m != nil {
		return viewerChanges{m}.Append(ctx, e)
	}
	return h.cfg.Store.Append(ctx, e)
}

// Speaker implements server.Control.
func (h *Host) Speaker(ctx context.Context, meeting, id string) (ledger.SpeakerInfo, error) {
	return h.cfg.Store.Speaker(ctx, meeting, id)
}

// EditCommitment implements server.Control: the running pipeline owns a live meeting's
// commitments, the store those of any other.
func (h *Host) EditCommitment(ctx context.Context, meeting, id string, edit ledger.CommitmentEdit, by string) (ledger.Event, error) {
	if m := h.meeting(meeting); m != nil {
		return viewerChanges{m}.EditCommitment(ctx, meeting, id, edit, by)
	}
	return h.cfg.Store.EditCommitment(ctx, meeting, id, edit, by)
}

// errNotLive refuses pause and resume of a meeting that is not running here.
var errNotLive = errors.New("agent: the meeting is not being recorded now")

// Pause implements server.Recorder.
func (h *Host) Pause(ctx context.Context, meeting string) (ledger.Event, error) {
	if m := h.meeting(meeting); m != nil {
		return recorder{m}.Pause(ctx, meeting)
	}
	return ledger.Event{}, errNotLive
}

// Resume implements server.Recorder.
func (h *Host) Resume(ctx context.Context, meeting string) (ledger.Event, error) {
	if m := h.meeting(meeting); m != nil {
		return recorder{m}.Resume(ctx, meeting)
	}
	return ledger.Event{}, errNotLive
}

// Close stops every running meeting (each finishes its run: viewers drained), ends
// every WHIP session, and closes the engine.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	running := make([]*hostedMeeting, 0, len(h.meetings))
	for _, hm := range h.meetings {
		running = append(running, hm)
	}
	h.mu.Unlock()
	for _, hm := range running {
		if _, err := hm.started(context.Background()); err == nil {
			hm.stop()
		}
		<-hm.done
	}
	err := h.whip.Close()
	h.stop()
	h.wg.Wait()
	if c, ok := h.engine.(io.Closer); ok {
		err = errors.Join(err, c.Close())
	}
	return err
}
