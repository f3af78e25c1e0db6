package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/diarize"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/stream"
)

// EventLog is what a session needs of the meeting's log: finals and state
// changes are stored, partials are only published.
type EventLog interface {
	Append(ctx context.Context, e ledger.Event) (ledger.Event, error)
	Publish(e ledger.Event) error
}

var _ EventLog = (*ledger.MemLog)(nil)

// Speaker is who is heard on a channel, when that is known up front (the
// laptop's mic is its owner; a WebRTC track is one participant).
type Speaker struct {
	Name string
	Org  string      // the organisation (a company's name); "" when unknown
	Role ledger.Role // the side of the deal; "" when unknown
}

// Config sets up a Session.
type Config struct {
	Meeting string
	Engine  asr.Engine
	Log     EventLog
	Sources []stream.Source
	// Options apply to every decode: language, threads, beam.
	Options asr.Options
	// Prompt lists names to expect: people, companies, products.
	Prompt string
	// Speakers names the speaker of each channel that has a known one; the
	// speech of other channels is diarized: told apart by voice.
	Speakers map[string]Speaker
	// MaxSpeakers caps the voices told apart in one diarized channel, when
	// the user knows it (0: find out).
	MaxSpeakers int
	// Timeline, when set, tells who speaks on the channels it claims (a
	// meeting bot's, whose speakers the platform names): they are attributed
	// by it, falling back to diarization while it has no turn for them, and
	// have no speaker of their own to announce.
	Timeline *diarize.Timeline
	// Refiner, when set, double-checks each detected commitment with a
	// language model after the rule-based one is recorded; it may reword it
	// or dismiss it. Its failure leaves the rule-based commitment standing.
	Refiner detect.Refiner
	// IDPrefix starts the IDs this run gives segments, voices and
	// commitments, so that a meeting continued by a later run keeps what the
	// earlier runs recorded ("r2-" for the second run; "" for the first).
	IDPrefix string
	// StartAt is the meeting time this run's audio starts at. Sources count
	// their channels' time from zero; a meeting continued by a later run
	// starts after what the earlier runs recorded, so that the later run's
	// segments follow theirs on the one meeting clock (0 for the first run).
	StartAt time.Duration
	// WatchDevices says the sources are the laptop's own devices (channels
	// "mic" and "system"), which should always hear something: long silence
	// and a device that stops sending are reported as capture.health events.
	// Every channel's level, clipping and lost audio are reported whatever it is.
	WatchDevices bool
	// SilentAfter is how long the laptop's devices may hear only silence
	// before it is reported [meter.DefaultSilentAfter].
	SilentAfter time.Duration
	// KeepOpen keeps the meeting running when its sources end, until ctx is
	// done, so that sources can join later with AddSource (WebRTC tracks).
	KeepOpen bool
	// MeetingDate anchors due dates such as "by Thursday"; zero means now, in
	// the local timezone.
	MeetingDate time.Time
	// FrameQueue bounds the frames waiting for the dispatcher, which never
	// waits on a decode [64].
	FrameQueue int
	// SpeechQueue bounds, per channel, the speech waiting for a decode; when
	// decoding falls further behind, the oldest is dropped and viewers are
	// told [DefaultSpeechQueue].
	SpeechQueue time.Duration
	// Detector, when set, gives each channel a speech detector of its own
	// (the Silero VAD: vad.Model.Detectors); nil, or a nil detector, means
	// the rule-based one.
	Detector func() stream.FrameDetector
	Logger   *slog.Logger
}

// Session is one meeting being captured. Run it once; Pause and Resume may be
// called from any goroutine while it runs.
type Session struct {
	cfg    Config
	log    *slog.Logger
	paused atomic.Bool

	mu      sync.Mutex
	running bool
	ctx     context.Context // Run's context, for state changes from other goroutines
	stats   map[string]asr.StreamStats

	commitments *keeper
	echo        echoGuard // mic finals that only repeat the call are dropped

	speakerMu sync.Mutex
	known     map[string]Speaker // speakers known up front, by channel
	voices    map[string]Speaker // speakers found by diarization, by speaker ID

	sources *sourceSet      // set while running
	pending []stream.Source // joined before Run started them
}

// DefaultSpeechQueue is how far a channel's decoding may fall behind its
// speech before the oldest is dropped: four times the speech stream's buffer.
const DefaultSpeechQueue = 4 * asr.DefaultMaxBuffer

// ErrRunning is returned by a second Run.
var ErrRunning = errors.New("agent: session already ran")

// New checks cfg and returns a session ready to Run.
func New(cfg Config) (*Session, error) {
	switch {
	case cfg.Meeting == "":
		return nil, errors.New("agent: a meeting ID is required")
	case cfg.Engine == nil || cfg.Log == nil:
		return nil, errors.New("agent: an engine and an event log are required")
	case len(cfg.Sources) == 0 && !cfg.KeepOpen:
		return nil, errors.New("agent: no audio source: pass --input FILE or pick devices (see 'ledgerline devices')")
	}
	if cfg.FrameQueue <= 0 {
		cfg.FrameQueue = 64
	}
	if cfg.SpeechQueue <= 0 {
		cfg.SpeechQueue = DefaultSpeechQueue
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MeetingDate.IsZero() {
		cfg.MeetingDate = time.Now()
	}
	known := make(map[string]Speaker, len(cfg.Speakers))
	for ch, sp := range cfg.Speakers {
		known[ch] = sp
	}
	return &Session{cfg: cfg, log: cfg.Logger.With("meeting", cfg.Meeting), known: known,
		commitments: newKeeper(cfg.Log, cfg.Meeting, cfg.IDPrefix, cfg.MeetingDate, cfg.Refiner, cfg.Logger)}, nil
}

// Run captures until every source has ended or ctx is done, then flushes
// what each channel still holds, records the meeting as stopped and returns.
// It returns nil when the sources ended by themselves or ctx was cancelled,
// and the first source or engine failure otherwise.
func (s *Session) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running || s.ctx != nil {
		s.mu.Unlock()
		return ErrRunning
	}
	s.running, s.ctx = true, ctx
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		orphans := s.pending
		s.pending = nil
		s.mu.Unlock()
		// Sources that joined but were never started (Run failed early) are
		// let go, so that whoever feeds them stops waiting.
		for _, src := range orphans {
			if c, ok := src.(interface{ Close() }); ok {
				c.Close()
			}
		}
	}()

	// Work that must finish even when ctx is cancelled (flushing the last
	// words, recording the stop) runs on a context that outlives it.
	flushCtx := context.WithoutCancel(ctx)
	if err := s.state(flushCtx, ledger.MeetingRecording, ledger.ReasonStarted); err != nil {
		return err
	}
	for _, src := range s.cfg.Sources {
		if err := s.announce(flushCtx, src.Channels()); err != nil {
			return err
		}
	}

	frames := make(chan stream.Frame, s.cfg.FrameQueue)
	srcCtx, stopSources := context.WithCancel(ctx)
	defer stopSources()
	set := &sourceSet{ctx: srcCtx, out: frames, stop: stopSources, drop: s.paused.Load}
	if s.cfg.KeepOpen {
		set.wg.Add(1) // held until ctx is done, so that sources may come and go
		go func() {
			<-srcCtx.Done()
			set.close()
			set.wg.Done()
		}()
	}
	for _, src := range s.cfg.Sources {
		set.start(src, true)
	}
	s.mu.Lock()
	s.sources = set
	joined := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, src := range joined {
		if err := s.announce(flushCtx, src.Channels()); err != nil {
			s.log.Warn("announce a joined source", "err", err)
		}
		set.start(src, false)
	}
	go func() {
		set.wg.Wait()
		close(frames)
	}()

	refined := make(chan struct{})
	go func() {
		defer close(refined)
		s.commitments.refineAll(ctx)
	}()
	err := s.dispatch(ctx, flushCtx, frames)
	s.commitments.finish()
	<-refined // at once after a stop: a stop cancels the refiner's call
	stopSources()
	set.close()
	for range frames { // let sources blocked on send see the cancel
	}
	if srcErr := set.err(); srcErr != nil && err == nil {
		err = srcErr
	}
	reason := "sources ended"
	if ctx.Err() != nil {
		reason = "stopped"
	}
	if err != nil {
		reason = "failed: " + err.Error()
	}
	if serr := s.state(flushCtx, ledger.MeetingStopped, reason); serr != nil && err == nil {
		err = serr
	}
	return err
}

// dispatch routes frames to their channels. It runs each channel's cheap
// intake stage itself and never waits on a decode: every channel decodes in
// a goroutine of its own, so a slow decode holds up nothing but its channel.
// It returns when frames is closed, or a channel failed, and every channel
// has flushed.
func (s *Session) dispatch(ctx, flushCtx context.Context, frames <-chan stream.Frame) error {
	channels := map[string]*channel{}
	var wg sync.WaitGroup
	failed, fail := context.WithCancelCause(context.Background())
	defer fail(nil)
	watch := s.watchCapture(flushCtx)
	defer watch.stop()
	stalls := time.NewTicker(stallCheck)
	defer stalls.Stop()
loop:
	for {
		var f stream.Frame
		select {
		case fr, ok := <-frames:
			if !ok {
				break loop
			}
			f = fr
			// The one place a frame's time becomes this run's meeting time:
			// the segmenter, the diarizer, the speech stream and the losses
			// all count from it.
			f.At += s.cfg.StartAt
		case now := <-stalls.C:
			watch.check(now, s.paused.Load())
			continue
		case <-failed.Done():
			break loop
		}
		if s.paused.Load() {
			continue // paused audio is dropped, never transcribed
		}
		watch.observe(f, time.Now())
		c, ok := channels[f.Channel]
		if !ok {
			// The channel's segmenter begins each utterance with its default pre-roll.
			st, err := asr.NewStream(asr.StreamConfig{Engine: s.cfg.Engine, Options: s.cfg.Options, Prompt: s.cfg.Prompt,
				PreRoll: stream.DefaultPreRoll, Logger: s.log})
			if err != nil {
				fail(err)
				break
			}
			attr, err := s.attributor(f.Channel)
			if err != nil {
				fail(err)
				break
			}
			c = newChannel(s, f.Channel, st, attr, s.cfg.SpeechQueue)
			channels[f.Channel] = c
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.run(ctx, flushCtx); err != nil {
					fail(err)
				}
			}()
		}
		if err := c.intake(f); err != nil {
			fail(err)
			break
		}
	}
	for _, c := range channels {
		if err := c.finish(); err != nil {
			fail(err)
		}
	}
	wg.Wait()
	return context.Cause(failed)
}

// AddSource joins a source to the meeting (a participant's WebRTC track),
// now if it runs, else as soon as Run starts; speakers names who is heard on
// its channels. Its failure or end ends only its own channels. It needs
// Config.KeepOpen.
func (s *Session) AddSource(src stream.Source, speakers map[string]Speaker) error {
	if !s.cfg.KeepOpen {
		return errors.New("agent: sources join only a session kept open")
	}
	s.speakerMu.Lock()
	for ch, sp := range speakers {
		s.known[ch] = sp
	}
	s.speakerMu.Unlock()
	s.mu.Lock()
	set, ctx, ended := s.sources, s.ctx, s.ctx != nil && !s.running
	if set == nil && !ended {
		s.pending = append(s.pending, src) // Run announces and starts it
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	if ended {
		return errors.New("agent: the meeting has ended")
	}
	if err := s.announce(context.WithoutCancel(ctx), src.Channels()); err != nil {
		return err
	}
	if !set.start(src, false) {
		return errors.New("agent: the meeting is stopping")
	}
	return nil
}

// announce tells viewers who is heard on channels with a known speaker, and the commitment detector
// who is in the meeting (a speaker known by more than the channel's name).
func (s *Session) announce(ctx context.Context, channels []string) error {
	for _, ch := range channels {
		sp, ok := s.knownSpeaker(ch)
		if !ok {
			continue
		}
		if sp.Name != ch {
			s.commitments.meet(sp)
		}
		if s.cfg.Timeline != nil && s.cfg.Timeline.Claims(ch) {
			continue
		}
		if _, err := s.cfg.Log.Append(ctx, ledger.Event{Type: ledger.TypeSpeakerUpdate, Meeting: s.cfg.Meeting,
			Speaker: &ledger.SpeakerInfo{ID: ch, Channel: ch, Name: sp.Name, Org: sp.Org, Role: sp.Role}}); err != nil {
			return fmt.Errorf("agent: announce speaker of %s: %w", ch, err)
		}
	}
	return nil
}

func (s *Session) knownSpeaker(channel string) (Speaker, bool) {
	s.speakerMu.Lock()
	defer s.speakerMu.Unlock()
	sp, ok := s.known[channel]
	return sp, ok
}

// attributor says who speaks on a channel: its known speaker, or the voices
// diarization tells apart.
func (s *Session) attributor(channel string) (diarize.Attributor, error) {
	tl := s.cfg.Timeline
	claimed := tl != nil && tl.Claims(channel)
	if _, ok := s.knownSpeaker(channel); ok && !claimed {
		return diarize.NewTrack(channel), nil
	}
	d, err := diarize.NewDiarizer(diarize.Options{MaxSpeakers: s.cfg.MaxSpeakers})
	if err != nil {
		return nil, fmt.Errorf("agent: diarize %s: %w", channel, err)
	}
	if claimed {
		return tl.Attributor(channel, d), nil
	}
	return d, nil
}

// speaker returns who a speaker ID stands for, announcing a voice heard for
// the first time to the viewers.
func (s *Session) speaker(ctx context.Context, channel, id string) (Speaker, error) {
	return s.speakerNamed(ctx, channel, id, "")
}

// speakerNamed is speaker for a voice whose name is known (a bot's timeline
// names it): announced as name, or else as the next "Speaker N".
func (s *Session) speakerNamed(ctx context.Context, channel, id, name string) (Speaker, error) {
	if sp, ok := s.knownSpeaker(id); ok {
		return sp, nil
	}
	s.speakerMu.Lock()
	if s.voices == nil {
		s.voices = map[string]Speaker{}
	}
	sp, ok := s.voices[id]
	if !ok {
		sp = Speaker{Name: name}
		if name == "" {
			sp.Name = fmt.Sprintf("Speaker %d", len(s.voices)+1)
		}
		s.voices[id] = sp
	}
	s.speakerMu.Unlock()
	if !ok {
		if _, err := s.cfg.Log.Append(ctx, ledger.Event{Type: ledger.TypeSpeakerUpdate, Meeting: s.cfg.Meeting,
			Speaker: &ledger.SpeakerInfo{ID: id, Channel: channel, Name: sp.Name}}); err != nil {
			return Speaker{}, fmt.Errorf("agent: announce speaker %s: %w", id, err)
		}
	}
	return sp, nil
}

// Rename records a new name, organisation or role for a speaker, as a viewer gave
// it (the speaker.update is the caller's to append): the speaker's later
// finals and commitments carry it.
func (s *Session) Rename(id string, sp Speaker) {
	s.speakerMu.Lock()
	defer s.speakerMu.Unlock()
	if _, ok := s.known[id]; ok {
		s.known[id] = sp
		return
	}
	if s.voices == nil {
		s.voices = map[string]Speaker{}
	}
	s.voices[id] = sp
}

// EditCommitment applies a person's edit (by names them) to the commitment
// as it stands now and records it. The session owns its commitments: an
// edit made here is never undone by a promise said again or the refiner,
// and never drops the evidence heard while it was made. It returns the
// stored event; an unknown id wraps ledger.ErrNotFound.
func (s *Session) EditCommitment(ctx context.Context, id string, edit ledger.CommitmentEdit, by string) (ledger.Event, error) {
	return s.commitments.edit(ctx, id, edit, by)
}

// ObserveCommitment takes into account a change to a commitment recorded
// elsewhere (an earlier run of the meeting, another machine): the same
// promise said again merges into the commitment as it stands.
func (s *Session) ObserveCommitment(info ledger.CommitmentInfo) { s.commitments.observe(info) }

// Stats reports each channel's speech-stream figures (decodes, audio
// decoded, finals): up to date for channels whose audio has ended.
func (s *Session) Stats() map[string]asr.StreamStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]asr.StreamStats, len(s.stats))
	for ch, st := range s.stats {
		out[ch] = st
	}
	return out
}

func (s *Session) recordStats(channel string, st asr.StreamStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stats == nil {
		s.stats = map[string]asr.StreamStats{}
	}
	s.stats[channel] = st
}

// Pause stops transcribing: audio that arrives while paused is dropped, and
// viewers see the meeting as paused.
func (s *Session) Pause() error { return s.setPaused(true) }

// Resume undoes Pause.
func (s *Session) Resume() error { return s.setPaused(false) }

func (s *Session) setPaused(p bool) error {
	s.mu.Lock()
	ctx, running := s.ctx, s.running
	s.mu.Unlock()
	if !running {
		return errors.New("agent: the session is not running")
	}
	if s.paused.Swap(p) == p {
		return nil
	}
	state := ledger.MeetingRecording
	if p {
		state = ledger.MeetingPaused
	}
	return s.state(context.WithoutCancel(ctx), state, "user")
}

func (s *Session) state(ctx context.Context, st ledger.MeetingState, reason string) error {
	_, err := s.cfg.Log.Append(ctx, ledger.Event{Type: ledger.TypeMeetingState, Meeting: s.cfg.Meeting, State: st, Reason: reason})
	if err != nil {
		return fmt.Errorf("agent: record meeting %s: %w", st, err)
	}
	return nil
}
