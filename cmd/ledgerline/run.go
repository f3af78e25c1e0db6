package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/detect"
	"github.com/ledgerline/ledgerline/echo"
	"github.com/ledgerline/ledgerline/followup"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
	"github.com/ledgerline/ledgerline/stream"
	"github.com/ledgerline/ledgerline/summary"
	"github.com/ledgerline/ledgerline/webhook"
)

// inputChannel names the channel of a replayed file: a recording of the call.
const inputChannel = "call"

func runLive(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "run", "run [--input FILE [--channels mic,system] [--speed 1|2|max] | --mic DEV --system DEV] [--model NAME|PATH] [--listen ADDR] [--public-url URL] [--server URL]")
	input := fs.String("input", "", "replay this recording (WAV, FLAC, MP3, Ogg, WebM, M4A) as the call instead of capturing devices")
	speed := speedFlag(fs)
	mic := fs.String("mic", "", "microphone device: number or name from 'ledgerline devices' (default: the system's default input)")
	system := fs.String("system", "", "device carrying the call's audio, such as a monitor or loopback input (default: none)")
	channels := fs.String("channels", "", "with --input, the recording's channels in order, one name each: mic (you), system (the call as the laptop played it) or call, such as mic,system for a stereo recording of a laptop (default: all channels mixed as the call)")
	echoCancel := fs.Bool("echo-cancel", true, "when both mic and system are captured, remove from the mic the call it hears from the laptop's speakers (needed without headphones)")
	model := modelFlag(fs)
	language := languageFlag(fs)
	languages := languagesFlag(fs)
	listenFlag(fs)
	publicURL := publicURLFlag(fs)
	var origins originFlags
	fs.Var(&origins, "allowed-origin", "another browser origin (https://crm.example.com) whose pages may open the overlay's socket and make changes (repeatable); the --public-url's is allowed already")
	maxConns := fs.Int("max-conns", server.DefaultMaxConnsPerAddr, "connections one client address may hold open at once; behind a reverse proxy, whose connections all come from one address, raise it (-1: no limit)")
	stay := stayFlag(fs)
	prompt := promptFlag(fs)
	db := dbFlag(fs)
	title := fs.String("title", "", "the meeting's title, shown on its recap")
	deal := fs.String("deal", "", "the deal this call belongs to (see 'ledgerline deal create')")
	resume := fs.String("meeting", "", "continue this meeting, recorded by an earlier run, instead of starting a new one (its ID is in its overlay link)")
	var hooks webhookFlags
	fs.Var(&hooks, "webhook", "on meeting end, post the recap summary to this URL (repeatable); prefix slack= for a Slack-compatible incoming webhook")
	bot := fs.Bool("bot", false, "capture no local device: transcribe only the participants who join over WebRTC (the join link) or WHIP")
	refinerURL, refinerModel := refinerFlags(fs)
	workers := fs.Int("workers", 0, "decodes that run at once (default: from the CPU cores; workers × threads must fit them)")
	threads := threadsFlag(fs)
	me := fs.String("me", "", "your name, shown for the mic channel")
	myOrg := fs.String("org", "vendor", "your side in the deal: "+ledger.RoleChoices+
		", given to the mic channel (with --deal, your organisation is the deal's on that side; with --server, it is your token's organisation, on its side of the deal)")
	team := addTeamFlags(fs, "team server to send the meeting to as it is recorded, such as https://ledgerline.example.com; kept here too, and sent later when the server cannot be reached (see 'ledgerline sync')")
	syncTimeout := fs.Duration("sync-timeout", 30*time.Second, "with --server, how long to wait when the meeting ends for the server to acknowledge every event; what is left is sent by 'ledgerline sync'")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkLanguages(*language, languages); err != nil {
		return err
	}
	target, err := team.resolve(e)
	if err != nil {
		return err
	}
	if *syncTimeout < 0 {
		return fmt.Errorf("%w: --sync-timeout %s: give a duration of 0 or more, such as 30s or 2m", errUsage, *syncTimeout)
	}
	if *resume != "" && *deal != "" {
		return fmt.Errorf("%w: --deal with --meeting: a continued meeting stays in the deal it was recorded in; drop --deal, or leave out --meeting to start a new meeting in the deal", errUsage)
	}
	myRole, err := parseRole("org", *myOrg)
	if err != nil {
		return err
	}
	if err := checkPublicURL(*publicURL); err != nil {
		return err
	}
	if *me, err = checkName("me", *me); err != nil {
		return err
	}

	var sources []stream.Source
	var speakers map[string]agent.Speaker
	if *bot {
		if *input != "" || *mic != "" || *system != "" {
			return fmt.Errorf("%w: --bot captures no local audio: drop --input, --mic and --system", errUsage)
		}
	} else if sources, speakers, err = liveSources(e, capture{input: *input, channels: *channels, speed: speed.rate,
		mic: *mic, system: *system, echoCancel: *echoCancel, me: *me, role: myRole, roleGiven: given(fs, "org")}); err != nil {
		return err
	}
	size, err := asr.SizeFor(runtime.NumCPU(), *workers, *threads)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	path, err := resolveModel(*model)
	if err != nil {
		return err
	}
	var micSpeaker *agent.Speaker
	if sp, ok := speakers[stream.ChannelMic]; ok {
		micSpeaker = &sp
	}
	rec, err := startRecording(ctx, e, recording{db: *db, target: target, deal: *deal, resume: *resume,
		webhooks: hooks.endpoints, syncTimeout: *syncTimeout, mic: micSpeaker, sideGiven: given(fs, "org")},
		agent.MeetingConfig{Listen: listenAddr(fs), PublicURL: *publicURL, MaxConnsPerAddr: *maxConns, AllowedOrigins: origins,
			Title: *title, TakeAudio: *input == "", Narrator: narrator(*refinerURL, *refinerModel)})
	if err != nil {
		return err
	}
	defer rec.close()
	if micSpeaker != nil {
		speakers[stream.ChannelMic] = *micSpeaker
	}
	m, up := rec.meeting, rec.upload
	fmt.Fprintf(e.stdout, "join: %s\n", m.JoinURL())
	noteMicrophone(e.stderr, m.JoinURL())
	opt := asr.Options{Language: *language, Languages: languages.codes}
	// The laptop's devices should always hear something; a replayed file ends.
	pipeline := agent.Config{Options: opt, Prompt: *prompt, Sources: sources, Speakers: speakers,
		WatchDevices: !*bot && *input == ""}
	pipeline.Detector = speechDetectors(e)
	pipeline.Refiner = refiner(*refinerURL, *refinerModel)
	if err := m.Transcribe(ctx, pipeline, whisperLoader(e, path, size)); err != nil {
		// What was recorded before the failure is still the meeting's record:
		// let viewers have it and tell the webhooks before reporting the failure.
		return errors.Join(err, finish(ctx, e, m, false), up.finish(ctx))
	}
	if *input != "" && !*stay && ctx.Err() == nil {
		fmt.Fprintln(e.stderr, "the recording has played and its overlay closes now (--stay keeps it served until interrupted)")
	}
	return errors.Join(finish(ctx, e, m, *stay && *input != ""), up.finish(ctx))
}

const defaultDBHint = "ledgerline.db in the user's data directory"

// recordingStore opens the database meetings are recorded in (path, or the default one), creating
// it when missing.
func recordingStore(path string) (*ledger.SQLiteStore, error) {
	if path == "" {
		var err error
		if path, err = ledger.DefaultPath(); err != nil {
			return nil, err
		}
	}
	return ledger.OpenSQLite(path)
}

// publicURLFlag adds --public-url to fs.
func publicURLFlag(fs *flag.FlagSet) *string {
	return fs.String("public-url", "", "URL the overlay is reached at from outside, such as https://meet.example.com/ledgerline behind a reverse proxy: the links printed and sent are built on it instead of on --listen")
}

// checkPublicURL checks a --public-url before anything starts, so that a mistyped one is told as
// a usage error rather than found in the links once the meeting runs.
func checkPublicURL(raw string) error {
	if raw == "" {
		return nil
	}
	if _, err := agent.PublicBase(raw); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return nil
}

// listenTries is how many ports above the default one are tried when it is taken: enough to get
// past a few other ledgerlines or development servers, few enough to fail fast when something
// else is wrong.
const listenTries = 30

// listenAddr is the --listen value to start a meeting with: "" when the user left it at its default,
// so that a taken default port can be stepped past while a chosen address is kept to.
func listenAddr(fs *flag.FlagSet) string {
	if !given(fs, "listen") {
		return ""
	}
	return fs.Lookup("listen").Value.String()
}

// given reports whether the command line set the flag, rather than leaving its default.
func given(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// startMeeting serves a meeting recorded in store and prints its overlay link. An empty cfg.Listen
// means the default address, or the next free port above it when that one is taken.
func startMeeting(ctx context.Context, e *env, store *ledger.SQLiteStore, cfg agent.MeetingConfig) (*agent.Meeting, error) {
	fallback := cfg.Listen == ""
	if fallback {
		cfg.Listen = server.DefaultAddr
	}
	return listenMeeting(ctx, e, store, cfg, fallback)
}

// listenMeeting starts the meeting on cfg.Listen. When that port is taken, it fails saying how to
// choose another, or with fallback, takes the next free port above it and says which.
func listenMeeting(ctx context.Context, e *env, store *ledger.SQLiteStore, cfg agent.MeetingConfig, fallback bool) (*agent.Meeting, error) {
	cfg.Store, cfg.Timezone, cfg.Logger = store, localZone(), e.log
	want := cfg.Listen
	m, err := agent.StartMeeting(ctx, cfg)
	if errors.Is(err, syscall.EADDRINUSE) {
		host, portText, splitErr := net.SplitHostPort(want)
		port, atoiErr := strconv.Atoi(portText)
		if !fallback || splitErr != nil || atoiErr != nil || port == 0 {
			other := net.JoinHostPort(host, strconv.Itoa(port+1))
			if splitErr != nil || atoiErr != nil {
				other = "127.0.0.1:8081"
			}
			return nil, fmt.Errorf("%w\n%s is already in use, likely by another ledgerline or another server: stop it, or pick another address with --listen (such as --listen %s)",
				err, want, other)
		}
		for p := port + 1; p <= min(port+listenTries, 65535) && errors.Is(err, syscall.EADDRINUSE); p++ {
			cfg.Listen = net.JoinHostPort(host, strconv.Itoa(p))
			m, err = agent.StartMeeting(ctx, cfg)
		}
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%w\nports %d to %d on %s are all in use: pick a free address with --listen", err, port, min(port+listenTries, 65535), host)
		}
		if err == nil {
			fmt.Fprintf(e.stderr, "port %d is in use: serving on %s instead (choose the address with --listen)\n", port, cfg.Listen)
		}
	}
	if cfg.Continue != "" && errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Errorf("%w (see the meeting ID in the overlay link of the earlier run)", err)
	}
	if cfg.Deal != "" && errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Errorf("no deal %q in %s: %s, or leave out --deal", cfg.Deal, store.Path(), createDealHint(cfg.Deal))
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(e.stdout, "overlay: %s\n", m.OverlayURL())
	if u := m.DealURL(); u != "" {
		fmt.Fprintf(e.stdout, "deal page: %s\n", u)
	}
	fmt.Fprintf(e.stderr, "meeting %s is recorded in %s\n", m.ID(), store.Path())
	return m, nil
}

// whisperLoader loads the whisper.cpp model at path, sized to the machine.
func whisperLoader(e *env, path string, size asr.Sizing) func(context.Context) (asr.Engine, error) {
	return func(context.Context) (asr.Engine, error) {
		w, err := asr.NewWhisper(asr.WhisperConfig{ModelPath: path, Workers: size.Workers, Threads: size.Threads, Logger: e.log})
		if err != nil {
			return nil, err
		}
		return w, nil
	}
}

// finish keeps serving until interrupted when stay is set, then ends the meeting for its viewers.
func finish(ctx context.Context, e *env, m *agent.Meeting, stay bool) error {
	if stay && ctx.Err() == nil {
		fmt.Fprintln(e.stderr, "the call has played; the overlay is still served until interrupted (Ctrl-C)")
		<-ctx.Done()
	}
	return m.Finish(ctx)
}

// followUps makes the service that sends stopped meetings' recap summaries to endpoints; with
// none, it records them done.
func followUps(e *env, store followup.Store, endpoints []webhook.Endpoint, recapURL func(ledger.Meeting) string, steps ...followup.Step) (*followup.Service, error) {
	s, err := followup.New(followup.Config{Store: store, Steps: steps, Notifier: webhook.Notifier{Endpoints: endpoints},
		RecapURL: recapURL, Logger: e.log})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	return s, nil
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

// capture is what run's flags say to record: a replayed file, or the laptop's devices.
type capture struct {
	input, channels string
	speed           float64
	mic, system     string
	echoCancel      bool
	me              string
	role            ledger.Role
	roleGiven       bool // --org was given, not left to its default
}

// liveSources builds the audio sources: a replayed file, or the laptop's devices. Where both the
// mic and the system channel are captured, the mic's echo of the system is cancelled unless
// turned off, and the choice is reported.
func liveSources(e *env, c capture) ([]stream.Source, map[string]agent.Speaker, error) {
	var src stream.Source
	var err error
	switch {
	case c.input == "" && c.channels != "":
		return nil, nil, fmt.Errorf("%w: --channels names the channels of an --input recording: add --input FILE, or drop --channels", errUsage)
	case c.input != "" && (c.mic != "" || c.system != ""):
		return nil, nil, fmt.Errorf("%w: use either --input or --mic/--system, not both", errUsage)
	case c.input != "" && c.channels == "":
		src, err = stream.NewReplay(c.input, inputChannel, c.speed, 0)
	case c.input != "":
		names, cerr := parseChannels(c.channels)
		if cerr != nil {
			return nil, nil, cerr
		}
		src, err = stream.NewReplayChannels(c.input, names, c.speed, 0)
	default:
		src, err = stream.NewPortAudio(stream.PortAudioConfig{Mic: c.mic, System: c.system, Logger: e.log})
	}
	if err != nil {
		return nil, nil, err
	}
	if chs := src.Channels(); slices.Contains(chs, stream.ChannelMic) && slices.Contains(chs, stream.ChannelSystem) {
		if !c.echoCancel {
			fmt.Fprintln(e.stderr, "echo cancellation: off; without headphones the call is transcribed again on the mic (--echo-cancel turns it on)")
		} else if src, err = echo.New(src, echo.Config{Logger: e.log}); err != nil {
			return nil, nil, err
		} else {
			fmt.Fprintln(e.stderr, "echo cancellation: on, the call the mic hears from the speakers is removed (--echo-cancel=false turns it off)")
		}
	}
	if !slices.Contains(src.Channels(), stream.ChannelMic) {
		if c.me != "" || c.roleGiven {
			fmt.Fprintf(e.stderr, "--me and --org name who speaks on the mic, and this recording has no mic channel (%s): "+
				"name its channels with --channels (such as --channels mic,system) to attribute the mic to you\n", strings.Join(src.Channels(), ", "))
		}
		return []stream.Source{src}, nil, nil
	}
	name := c.me
	if name == "" {
		name = "Me"
	}
	return []stream.Source{src}, map[string]agent.Speaker{stream.ChannelMic: {Name: name, Role: c.role}}, nil
}

// parseChannels reads --channels: known names, each at most once.
func parseChannels(v string) ([]string, error) {
	names := strings.Split(v, ",")
	for i, n := range names {
		names[i] = strings.TrimSpace(n)
		switch {
		case names[i] != stream.ChannelMic && names[i] != stream.ChannelSystem && names[i] != inputChannel:
			return nil, fmt.Errorf("%w: --channels %q: %q is no channel name: use %s, %s or %s, one per channel of the recording, such as mic,system",
				errUsage, v, names[i], stream.ChannelMic, stream.ChannelSystem, inputChannel)
		case slices.Contains(names[:i], names[i]):
			return nil, fmt.Errorf("%w: --channels %q names %s twice: name each channel of the recording once", errUsage, v, names[i])
		}
	}
	return names, nil
}

// parseRole reads the side of the deal a flag gives, before anything starts or connects.
func parseRole(flagName, s string) (ledger.Role, error) {
	r, err := ledger.ParseRole(s)
	if err != nil {
		return "", fmt.Errorf("%w: --%s %q: use %s", errUsage, flagName, s, ledger.RoleChoices)
	}
	return r, nil
}

// checkName reads a display name a flag gives: shown as the names participants and viewers type
// are, it follows their rules.
func checkName(flagName, v string) (string, error) {
	name, err := server.CheckText("--"+flagName, v, server.MaxNameLen, true)
	var te *server.TextError
	if errors.As(err, &te) {
		return "", fmt.Errorf("%w: %s", errUsage, te.Message())
	}
	return name, err
}

func runDevices(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "devices", "devices\n\nList the audio input devices, for run --mic and --system.")
	if err := noArgs(fs, args); err != nil {
		return err
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

// refinerFlags are --refiner-url and --refiner-model: a local language model that double-checks
// commitments and writes the narrative atop each recap.
func refinerFlags(fs *flag.FlagSet) (url, model *string) {
	url = fs.String("refiner-url", "", "optional OpenAI-compatible endpoint (e.g. http://127.0.0.1:8081/v1) that double-checks commitments and writes the recap's narrative summary from the transcript; key in $LEDGERLINE_REFINER_KEY")
	model = fs.String("refiner-model", "", "model name for --refiner-url")
	return url, model
}

// refiner is the commitments' double-checker of --refiner-url; nil without one.
func refiner(url, model string) detect.Refiner {
	if url == "" {
		return nil
	}
	return &detect.ChatRefiner{URL: url, Model: model, APIKey: os.Getenv("LEDGERLINE_REFINER_KEY")}
}

// narrator writes recaps' narratives with the model of --refiner-url; nil without one.
func narrator(url, model string) summary.Narrator {
	if url == "" {
		return nil
	}
	return &summary.ChatNarrator{URL: url, Model: model, APIKey: os.Getenv("LEDGERLINE_REFINER_KEY")}
}
