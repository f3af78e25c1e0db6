package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/models"
	"github.com/ledgerline/ledgerline/recap"
	"github.com/ledgerline/ledgerline/server"
	"github.com/ledgerline/ledgerline/stream"
	"github.com/ledgerline/ledgerline/webhook"
)

// inputChannel names the channel of a replayed file: a recording of the call.
const inputChannel = "call"

func runLive(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "run", "run [--input FILE [--speed 1|max] | --mic DEV --system DEV] [--model NAME|PATH] [--listen ADDR]")
	input := fs.String("input", "", "replay this WAV file as the call instead of capturing devices")
	speed := fs.String("speed", "1", "replay speed for --input: 1 is real time, 2 twice as fast, max as fast as possible")
	mic := fs.String("mic", "", "microphone device: number or name from 'ledgerline devices' (default: the system's default input)")
	system := fs.String("system", "", "device carrying the call's audio, such as a monitor or loopback input (default: none)")
	model := fs.String("model", models.Default, "model name from 'ledgerline models list', or a path to a ggml .bin file")
	language := fs.String("language", "auto", "spoken language (ISO 639-1), or auto to detect it")
	listen := fs.String("listen", server.DefaultAddr, "address the overlay is served on (localhost by default)")
	stay := fs.Bool("stay", false, "keep serving after --input has played, until interrupted")
	prompt := fs.String("prompt", "", "names to expect: people, companies, products")
	db := fs.String("db", "", "meeting database file (default: "+defaultDBHint+")")
	title := fs.String("title", "", "the meeting's title, shown on its recap")
	deal := fs.String("deal", "", "the deal this call belongs to (see 'ledgerline deal create')")
	resume := fs.String("meeting", "", "continue this meeting (its ID from an earlier run) instead of starting a new one")
	var hooks webhookFlags
	fs.Var(&hooks, "webhook", "on meeting end, post the recap summary to this URL (repeatable); prefix slack= for a Slack-compatible incoming webhook")
	bot := fs.Bool("bot", false, "capture no local device: transcribe only the participants who join over WebRTC (the join link) or WHIP")
	refinerURL := fs.String("refiner-url", "", "optional OpenAI-compatible endpoint (e.g. http://127.0.0.1:8081/v1) that double-checks commitments; key in $LEDGERLINE_REFINER_KEY")
	refinerModel := fs.String("refiner-model", "", "model name for --refiner-url")
	me := fs.String("me", "", "your name, shown for the mic channel")
	myOrg := fs.String("org", "vendor", "your organisation's role for the mic channel: vendor, partner, buyer or other")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}

	var sources []stream.Source
	var speakers map[string]agent.Speaker
	var err error
	if *bot {
		if *input != "" || *mic != "" || *system != "" {
			return fmt.Errorf("%w: --bot captures no local audio: drop --input, --mic and --system", errUsage)
		}
	} else if sources, speakers, err = liveSources(e, *input, *speed, *mic, *system, *me, *myOrg); err != nil {
		return err
	}
	path, err := resolveModel(*model)
	if err != nil {
		return err
	}
	m, err := startMeeting(ctx, e, meetingConfig{listen: *listen, db: *db, resume: *resume, deal: *deal, title: *title, webhooks: hooks.endpoints})
	if err != nil {
		return err
	}
	defer m.close()
	fmt.Fprintf(e.stdout, "join: %s%s\n", m.base, server.JoinPath(m.id, m.token))
	opt := asr.Options{Language: *language, Threads: max(1, runtime.NumCPU()/2)}
	pipeline := agent.Config{Options: opt, Prompt: *prompt, Sources: sources, Speakers: speakers, KeepOpen: *input == ""}
	if *refinerURL != "" {
		pipeline.Refiner = &detect.ChatRefiner{URL: *refinerURL, Model: *refinerModel, APIKey: os.Getenv("LEDGERLINE_REFINER_KEY")}
	}
	if err := m.transcribe(ctx, e, path, pipeline); err != nil {
		// What was recorded before the failure is still the meeting's record:
		// let viewers have it and tell the webhooks before reporting the failure.
		return errors.Join(err, m.finish(ctx, e, false))
	}
	return m.finish(ctx, e, *stay && *input != "")
}

// liveMeeting is one meeting served to viewers: its durable record and server.
type liveMeeting struct {
	id       string
	started  time.Time
	base     string // http://host:port of the server
	token    string
	idPrefix string // for the IDs this run gives, when it continues a meeting
	webhooks []webhook.Endpoint
	store    *ledger.SQLiteStore
	srv      *server.Server
	whip     *ingest.WHIP

	session   atomic.Pointer[agent.Session] // set while transcribing, for tracks that join
	ready     chan struct{}                 // closed once transcribing has started, or failed to
	readyOnce sync.Once
	local     map[string]bool // channels captured here, which no participant may take

	mu      sync.Mutex
	joining map[string]agent.Speaker // who announced themselves for a channel, until its track arrives
}

type meetingConfig struct {
	listen   string
	db       string // database file; "" for the default
	resume   string // ID of a meeting to continue; "" for a new one
	deal     string // ID of the deal a new meeting belongs to
	title    string
	webhooks []webhook.Endpoint
}

const defaultDBHint = "ledgerline.db in the user's data directory"

// startMeeting opens the meeting's record, serves it and prints the overlay link.
func startMeeting(ctx context.Context, e *env, cfg meetingConfig) (*liveMeeting, error) {
	path := cfg.db
	if path == "" {
		var err error
		if path, err = ledger.DefaultPath(); err != nil {
			return nil, err
		}
	}
	store, err := ledger.OpenSQLite(path)
	if err != nil {
		return nil, err
	}
	meeting := ledger.Meeting{ID: cfg.resume, DealID: cfg.deal, Title: cfg.title, Token: server.NewToken(), StartedAt: time.Now(), Timezone: localZone()}
	idPrefix := ""
	if cfg.resume != "" {
		if meeting, err = store.Meeting(ctx, cfg.resume); err != nil {
			store.Close()
			return nil, fmt.Errorf("continue meeting %q: %w (see the meeting ID in the overlay link of the earlier run)", cfg.resume, err)
		}
		if idPrefix, err = runPrefix(ctx, store, meeting.ID); err != nil {
			store.Close()
			return nil, err
		}
	} else {
		meeting.ID = newMeetingID()
		if err := store.CreateMeeting(ctx, meeting); err != nil {
			store.Close()
			return nil, err
		}
	}
	m := &liveMeeting{id: meeting.ID, started: time.Now(), store: store, token: meeting.Token, webhooks: cfg.webhooks, idPrefix: idPrefix,
		joining: map[string]agent.Speaker{}, ready: make(chan struct{})}
	if m.whip, err = m.newWHIP(e, cfg.listen); err != nil {
		store.Close()
		return nil, err
	}
	if m.srv, err = server.New(server.Config{Addr: cfg.listen, Log: store, Logger: e.log, Ingest: m.whip,
		Control: viewerChanges{store, m}, Records: store, Recorder: recorder{m}}); err != nil {
		m.whip.Close()
		store.Close()
		return nil, err
	}
	if err := m.srv.AddMeetingToken(m.id, meeting.Token); err != nil {
		m.close()
		return nil, err
	}
	addr, err := m.srv.Start()
	if err != nil {
		m.close()
		return nil, err
	}
	m.base = "http://" + displayAddr(addr)
	fmt.Fprintf(e.stdout, "overlay: %s%s\n", m.base, server.PagePath(m.id, meeting.Token))
	fmt.Fprintf(e.stderr, "meeting %s is recorded in %s\n", m.id, path)
	return m, nil
}

// runPrefix is what the IDs of the next run of a continued meeting start
// with, so that they never replace what earlier runs recorded: "r2-" for
// the second run.
func runPrefix(ctx context.Context, store *ledger.SQLiteStore, meeting string) (string, error) {
	events, err := store.Since(ctx, meeting, 0)
	if err != nil {
		return "", err
	}
	runs := 0
	for _, e := range events {
		if e.Type == ledger.TypeMeetingState && e.State == ledger.MeetingRecording && e.Reason == agent.ReasonStarted {
			runs++
		}
	}
	return fmt.Sprintf("r%d-", max(runs, 1)+1), nil
}

func (m *liveMeeting) close() {
	m.whip.Close()
	m.srv.Close()
	m.store.Close()
}

// newWHIP takes participants' audio over WebRTC: each track becomes a
// channel of the running meeting, named after its publisher.
func (m *liveMeeting) newWHIP(e *env, listen string) (*ingest.WHIP, error) {
	host, _, _ := net.SplitHostPort(listen)
	ip := net.ParseIP(host)
	api, err := ingest.NewAPI(ingest.APIConfig{Loopback: host == "localhost" || ip != nil && ip.IsLoopback()})
	if err != nil {
		return nil, err
	}
	return ingest.NewWHIP(ingest.WHIPConfig{
		API:          api,
		Logger:       e.log,
		MeetingStart: func(string) time.Time { return m.started },
		Authorize: func(r *http.Request, meeting string) error {
			token, _ := ingest.BearerToken(r)
			known, ok := m.srv.CheckToken(meeting, token)
			switch {
			case !known:
				return ingest.ErrUnknownMeeting
			case !ok:
				return ingest.ErrUnauthorized
			}
			q := r.URL.Query()
			if ch := q.Get("channel"); ch != "" && r.Method == http.MethodPost {
				name := q.Get("name")
				if name == "" {
					name = ch
				}
				m.mu.Lock()
				m.joining[ch] = agent.Speaker{Name: name, Org: q.Get("org")}
				m.mu.Unlock()
			}
			return nil
		},
		OnTrack: func(meeting string, t *ingest.Track) {
			m.mu.Lock()
			sp, ok := m.joining[t.Channel()]
			delete(m.joining, t.Channel())
			m.mu.Unlock()
			if !ok {
				sp = agent.Speaker{Name: t.Channel()}
			}
			// A participant may join while the model is still loading.
			<-m.ready
			s := m.session.Load()
			if s == nil || m.local[t.Channel()] {
				e.log.Warn("refused a track", "channel", t.Channel(), "reason", "not transcribing, or a channel captured here")
				t.Close()
				return
			}
			if err := s.AddSource(t, map[string]agent.Speaker{t.Channel(): sp}); err != nil {
				e.log.Warn("refused a track", "channel", t.Channel(), "err", err)
				t.Close()
			}
		},
	})
}

// transcribe runs the live pipeline of cfg (sources, options) into the meeting.
func (m *liveMeeting) transcribe(ctx context.Context, e *env, modelPath string, cfg agent.Config) error {
	defer m.markReady() // tracks waiting for the pipeline are refused if it never starts
	m.local = map[string]bool{}
	for _, src := range cfg.Sources {
		for _, ch := range src.Channels() {
			m.local[ch] = true
		}
	}
	engine, err := asr.NewWhisper(asr.WhisperConfig{ModelPath: modelPath, Workers: runtime.NumCPU(), Logger: e.log})
	if err != nil {
		return err
	}
	defer engine.Close()
	cfg.Meeting, cfg.Engine, cfg.Log, cfg.Logger, cfg.MeetingDate, cfg.IDPrefix = m.id, engine, m.store, e.log, m.started, m.idPrefix
	session, err := agent.New(cfg)
	if err != nil {
		return err
	}
	m.session.Store(session)
	m.markReady()
	defer m.session.Store(nil)
	return session.Run(ctx)
}

func (m *liveMeeting) markReady() { m.readyOnce.Do(func() { close(m.ready) }) }

// finish keeps serving until interrupted when stay is set, lets viewers take
// every event they have not yet received, tells the webhooks, and stops the server.
func (m *liveMeeting) finish(ctx context.Context, e *env, stay bool) error {
	if stay && ctx.Err() == nil {
		fmt.Fprintln(e.stderr, "the call has played; the overlay is still served until interrupted (Ctrl-C)")
		<-ctx.Done()
	}
	bg := context.WithoutCancel(ctx)
	drain, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	if err := m.srv.Drain(drain, m.id); err != nil {
		e.log.Warn("some viewers did not receive every event before the end", "err", err)
	}
	if len(m.webhooks) > 0 {
		m.notify(bg, e)
	}
	shutdown, cancelShutdown := context.WithTimeout(bg, 10*time.Second)
	defer cancelShutdown()
	return m.srv.Shutdown(shutdown)
}

// notify sends the meeting's recap summary to the webhooks; a failure is
// reported, never fatal: the record is safe in the store either way.
func (m *liveMeeting) notify(ctx context.Context, e *env) {
	recap, err := recap.Build(ctx, m.store, m.id)
	if err != nil {
		fmt.Fprintf(e.stderr, "webhooks: %v\n", err)
		return
	}
	hooks := webhook.Notifier{Endpoints: m.webhooks, Logger: e.log}
	url := m.base + server.RecapPath(m.id, m.token)
	if err := hooks.Send(ctx, webhook.NewSummary(recap, url)); err != nil {
		fmt.Fprintf(e.stderr, "webhooks: %v\n", err)
	}
}

// viewerChanges appends viewers' changes and tells the running pipeline about
// them: a renamed speaker's later words carry the new name, and a promise said
// again merges into the commitment as a viewer left it.
type viewerChanges struct {
	store *ledger.SQLiteStore
	m     *liveMeeting
}

func (r viewerChanges) Append(ctx context.Context, e ledger.Event) (ledger.Event, error) {
	out, err := r.store.Append(ctx, e)
	s := r.m.session.Load()
	if err != nil || s == nil || e.Meeting != r.m.id {
		return out, err
	}
	switch {
	case e.Type == ledger.TypeSpeakerUpdate && e.Speaker.Consent == "":
		s.Rename(e.Speaker.ID, agent.Speaker{Name: e.Speaker.Name, Org: e.Speaker.Org})
	case e.Type == ledger.TypeCommitmentUpsert:
		s.ObserveCommitment(*e.Commitment)
	}
	return out, err
}

// recorder lets viewers pause and resume the meeting being captured.
type recorder struct{ m *liveMeeting }

func (r recorder) session(meeting string) (*agent.Session, error) {
	s := r.m.session.Load()
	if s == nil || meeting != r.m.id {
		return nil, errors.New("this meeting is not being captured right now")
	}
	return s, nil
}

func (r recorder) Pause(meeting string) error {
	s, err := r.session(meeting)
	if err != nil {
		return err
	}
	return s.Pause()
}

func (r recorder) Resume(meeting string) error {
	s, err := r.session(meeting)
	if err != nil {
		return err
	}
	return s.Resume()
}

// webhookFlags collects --webhook values: URL or slack=URL.
type webhookFlags struct{ endpoints []webhook.Endpoint }

func (w *webhookFlags) String() string { return fmt.Sprint(len(w.endpoints), " webhooks") }

func (w *webhookFlags) Set(v string) error {
	ep := webhook.Endpoint{URL: v, Format: webhook.JSON}
	if rest, ok := strings.CutPrefix(v, "slack="); ok {
		ep = webhook.Endpoint{URL: rest, Format: webhook.Slack}
	}
	if !strings.HasPrefix(ep.URL, "https://") && !strings.HasPrefix(ep.URL, "http://") {
		return fmt.Errorf("webhook %q is not an http(s) URL", v)
	}
	w.endpoints = append(w.endpoints, ep)
	return nil
}

// liveSources builds the audio sources: a replayed file, or the laptop's devices.
func liveSources(e *env, input, speed, mic, system, me, myOrg string) ([]stream.Source, map[string]agent.Speaker, error) {
	if input != "" {
		if mic != "" || system != "" {
			return nil, nil, fmt.Errorf("%w: use either --input or --mic/--system, not both", errUsage)
		}
		rate, err := parseSpeed(speed)
		if err != nil {
			return nil, nil, err
		}
		src, err := stream.NewReplay(input, inputChannel, rate, 0)
		if err != nil {
			return nil, nil, err
		}
		return []stream.Source{src}, nil, nil
	}
	src, err := stream.NewPortAudio(stream.PortAudioConfig{Mic: mic, System: system, Logger: e.log})
	if err != nil {
		return nil, nil, err
	}
	name := me
	if name == "" {
		name = "Me"
	}
	return []stream.Source{src}, map[string]agent.Speaker{stream.ChannelMic: {Name: name, Org: myOrg}}, nil
}

func parseSpeed(s string) (float64, error) {
	if s == "max" {
		return math.Inf(1), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || math.IsNaN(v) {
		return 0, fmt.Errorf("%w: --speed %q: use a positive number such as 1 or 2, or max", errUsage, s)
	}
	return v, nil
}

// displayAddr turns a wildcard listen address into one a browser can open.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("localhost", strconv.Itoa(tcp.Port))
}

func newMeetingID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func runDevices(_ context.Context, e *env, args []string) error {
	if len(args) != 0 {
		return fmt.Errorf("%w: ledgerline devices takes no arguments", errUsage)
	}
	devs, err := stream.ListDevices()
	if err != nil {
		return err
	}
	if len(devs) == 0 {
		return errors.New("no audio input device found: connect a microphone, or replay a recording with 'ledgerline run --input FILE'")
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNAME\tHOST API\tCHANNELS\tRATE\tDEFAULT")
	for _, d := range devs {
		def := ""
		if d.Default {
			def = "yes"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%.0f\t%s\n", d.Index, d.Name, d.HostAPI, d.MaxInputChannels, d.DefaultSampleRate, def)
	}
	return tw.Flush()
}

// localZone is this machine's IANA timezone when it can be known (from TZ),
// so due dates resolve where the meeting happened; "" otherwise.
func localZone() string {
	tz := strings.TrimPrefix(os.Getenv("TZ"), ":")
	if _, err := time.LoadLocation(tz); tz == "" || err != nil {
		return ""
	}
	return tz
}
