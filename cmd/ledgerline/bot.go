package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/bot"
	"github.com/ledgerline/ledgerline/diarize"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

const botSynopsis = "bot join URL [--name NAME] [--platform P] [--meeting ID] [--deal ID] [--title T] [--model NAME|PATH] [--db FILE] [--listen ADDR] [--server URL]\n" +
	"bot join --dry-run URL [--platform P]"

func runBot(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "join" {
		return runBotJoin(ctx, e, args[1:])
	}
	if len(args) > 0 && isHelp(args[0]) {
		fs := newFlagSet(e, "bot", botSynopsis+"\n\nSend a bot into a web meeting (Google Meet, Microsoft Teams, Zoom's web client, Jitsi Meet, or another\n"+
			"with --platform generic) to record it. Run 'ledgerline bot join -h' for its flags.")
		_, err := parseInterspersed(fs, args[:1])
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: ledgerline %s", errUsage, strings.ReplaceAll(botSynopsis, "\n", " | ledgerline "))
	}
	return fmt.Errorf("%w: unknown bot command %q: ledgerline bot join URL", errUsage, args[0])
}

// botName is the name the bot joins with: it always says that it records.
func botName(name string) string {
	if !strings.Contains(strings.ToLower(name), "record") {
		name += " (recording)"
	}
	return name
}

func runBotJoin(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "bot join", botSynopsis+"\n\n"+
		"A headless Chromium joins the meeting at URL as a participant whose name says it records, waits to be\n"+
		"admitted, posts a message in the call's chat saying so, and records the call as 'run' does: it prints the\n"+
		"overlay link, transcribes each speaker under the name the meeting shows, and exits once the bot has left\n"+
		"(the meeting ended, it was alone, or it was told to: Ctrl-C, or \""+bot.DefaultLeaveCommand+"\" in the chat).")
	name := fs.String("name", "Ledgerline notetaker", "the bot's display name in the call; \" (recording)\" is added to one that does not say it records")
	platform := fs.String("platform", "", "the meeting platform, when the link does not tell: "+strings.Join(bot.Platforms(), ", ")+
		" (jitsi for a self-hosted Jitsi Meet, generic for any other web meeting)")
	joinText := fs.String("join-text", "", "with --platform generic: the text of the button that asks to join (default: the usual ones, such as \"Ask to join\")")
	nameSelector := fs.String("name-selector", "", "with --platform generic: the CSS selector of the name field (default: the usual ones)")
	dryRun := fs.Bool("dry-run", false, "print what the link was recognised as and how the bot would join, then exit")
	resume := fs.String("meeting", "", "record into this meeting, recorded by an earlier run, instead of a new one (its ID is in its overlay link)")
	deal := fs.String("deal", "", "the deal this call belongs to (see 'ledgerline deal create')")
	title := fs.String("title", "", "the meeting's title, shown on its recap")
	model := modelFlag(fs)
	language := languageFlag(fs)
	languages := languagesFlag(fs)
	prompt := promptFlag(fs)
	listenFlag(fs)
	publicURL := publicURLFlag(fs)
	db := dbFlag(fs)
	var hooks webhookFlags
	fs.Var(&hooks, "webhook", "on meeting end, post the recap summary to this URL (repeatable); prefix slack= for a Slack-compatible incoming webhook")
	team := addTeamFlags(fs, "team server to send the meeting to as it is recorded, such as https://ledgerline.example.com; kept here too, and sent later when the server cannot be reached (see 'ledgerline sync')")
	workers := fs.Int("workers", 0, "decodes that run at once (default: from the CPU cores; workers × threads must fit them)")
	threads := threadsFlag(fs)
	maxBots := maxBotsFlag(fs)
	admission := fs.Duration("admission-timeout", 10*time.Minute, "how long the bot waits to be admitted (or for the meeting to start)")
	alone := fs.Duration("alone-after", 2*time.Minute, "how long the bot stays once everyone else has left")
	maxDuration := fs.Duration("max-duration", 4*time.Hour, "the longest the bot stays in a call")
	chromium := fs.String("chromium", "", "the Chromium executable (default: $LEDGERLINE_CHROMIUM, else chromium on the PATH)")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("%w: ledgerline bot join URL: give one meeting link", errUsage)
	}
	if err := checkLanguages(*language, languages); err != nil {
		return err
	}
	if *platform != "generic" && (*joinText != "" || *nameSelector != "") {
		return fmt.Errorf("%w: --join-text and --name-selector go with --platform generic", errUsage)
	}
	adapter, page, err := bot.Recognise(rest[0], *platform, bot.GenericOptions{JoinText: *joinText, NameSelector: *nameSelector})
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if *name, err = checkName("name", *name); err != nil {
		return err
	}
	display := botName(*name)
	if *dryRun {
		printPlan(e, rest[0], page, display, adapter)
		return nil
	}
	for flagName, d := range map[string]time.Duration{"admission-timeout": *admission, "alone-after": *alone, "max-duration": *maxDuration} {
		if d <= 0 {
			return fmt.Errorf("%w: --%s %s: give a positive duration, such as 90s or 10m", errUsage, flagName, d)
		}
	}
	if err := checkPublicURL(*publicURL); err != nil {
		return err
	}
	target, err := team.resolve(e)
	if err != nil {
		return err
	}
	size, err := asr.SizeFor(runtime.NumCPU(), *workers, *threads)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	slot, err := bot.Capacity{Max: *maxBots}.Acquire()
	if err != nil {
		return err
	}
	defer slot.Release()
	path, err := resolveModel(*model)
	if err != nil {
		return err
	}
	rec, err := startRecording(ctx, e, recording{db: *db, target: target, deal: *deal, resume: *resume,
		webhooks: hooks.endpoints, syncTimeout: 30 * time.Second},
		agent.MeetingConfig{Listen: listenAddr(fs), PublicURL: *publicURL, Title: *title, TakeAudio: true})
	if err != nil {
		return err
	}
	defer rec.close()
	store, m, up := rec.store, rec.meeting, rec.upload

	whip, token, watch, err := botLinks(m)
	if err != nil {
		return err
	}
	timeline := diarize.NewTimeline()
	b, err := bot.New(bot.Config{
		Adapter: adapter, Page: page, Name: display,
		Forward:  bot.Forward{Endpoint: whip, Token: token},
		Timeline: timeline, Clock: m.MeetingTime,
		OnState:          func(st bot.Status) { recordBotState(ctx, e, store, m.ID(), adapter.Platform(), display, st) },
		Consent:          consentMessage(display, watch),
		AdmissionTimeout: *admission, AloneAfter: *alone, MaxDuration: *maxDuration,
		Browser: bot.Browser{Path: *chromium},
		Logger:  e.log,
	})
	if err != nil {
		return err
	}
	pipeline := agent.Config{Options: asr.Options{Language: *language, Languages: languages.codes}, Prompt: *prompt, Timeline: timeline}
	pipeline.Detector = speechDetectors(e)
	// Transcribing goes on until the bot has left, so that its last states are recorded before
	// the meeting's stop; either ending ends the other.
	tctx, stopTranscribing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopTranscribing()
	bctx, stopBot := context.WithCancel(ctx)
	defer stopBot()
	transcribed := make(chan error, 1)
	go func() { transcribed <- m.Transcribe(tctx, pipeline, whisperLoader(e, path, size)) }()
	left := make(chan bot.Status, 1)
	go func() { left <- b.Run(bctx) }()
	var st bot.Status
	var terr error
	select {
	case st = <-left:
		stopTranscribing()
		terr = <-transcribed
	case terr = <-transcribed:
		stopBot()
		st = <-left
	}
	return errors.Join(st.Err(), terr, finish(ctx, e, m, false), up.finish(ctx))
}

// botLinks returns what the bot needs of the meeting: its WHIP endpoint, the token that publishes
// to it, and the link viewers watch it with (empty when only this machine can open it).
func botLinks(m *agent.Meeting) (whip, token, watch string, err error) {
	join, err := url.Parse(m.JoinURL())
	if err != nil {
		return "", "", "", err
	}
	token = join.Query().Get("t")
	base := *join
	base.Path, base.RawPath, base.RawQuery = strings.TrimSuffix(join.Path, "/m/"+m.ID()+"/join"), "", ""
	whip = base.String() + "/whip/" + url.PathEscape(m.ID())
	overlay, err := url.Parse(m.OverlayURL())
	if err != nil {
		return "", "", "", err
	}
	if ip := net.ParseIP(overlay.Hostname()); overlay.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		q := overlay.Query()
		q.Set("t", server.ScopedToken(q.Get("t"), server.ScopeWatch))
		overlay.RawQuery = q.Encode()
		watch = overlay.String()
	}
	return whip, token, watch, nil
}

// consentMessage is what the bot posts in the call's chat.
func consentMessage(name, watch string) string {
	msg := "This call is being recorded and transcribed by Ledgerline."
	if watch != "" {
		msg += " Live notes: " + watch + " ."
	}
	return msg + fmt.Sprintf(" To stop the recording, remove %q from the call or send %q in this chat.", name, bot.DefaultLeaveCommand)
}

// botLog is the meeting log a bot's states are recorded on.
type botLog interface {
	Append(ctx context.Context, e ledger.Event) (ledger.Event, error)
}

// appendBotState appends the bot's state to the meeting's log, for viewers and the record: the
// states of 'bot join' and of the team server's bots alike.
func appendBotState(ctx context.Context, log botLog, meeting, platform, name string, st bot.Status) error {
	info := &ledger.BotInfo{State: ledger.BotState(st.State), Reason: ledger.BotReason(st.Reason), Platform: platform,
		Name: name, Detail: st.Detail}
	_, err := log.Append(context.WithoutCancel(ctx), ledger.Event{Type: ledger.TypeBotState, Meeting: meeting, Bot: info})
	return err
}

// recordBotState records the bot's state on the meeting's log and tells the user.
func recordBotState(ctx context.Context, e *env, store botLog, meeting, platform, name string, st bot.Status) {
	if err := appendBotState(ctx, store, meeting, platform, name, st); err != nil {
		e.log.Warn("record the bot's state", "state", st.State, "err", err)
	}
	line := "bot: " + botWords(st.State)
	if st.Reason != "" {
		line += ": " + st.Reason.Words()
	}
	if st.Detail != "" && st.State == bot.Failed {
		line += " (" + st.Detail + ")"
	}
	fmt.Fprintln(e.stderr, line)
}

func botWords(s bot.State) string {
	switch s {
	case bot.Requested:
		return "requested"
	case bot.Launching:
		return "starting its browser"
	case bot.Joining:
		return "opening the meeting and asking to join"
	case bot.Waiting:
		return "waiting to be admitted"
	case bot.InCall:
		return "in the call"
	case bot.Leaving:
		return "leaving"
	case bot.Ended:
		return "left the call"
	case bot.Failed:
		return "failed"
	}
	return string(s)
}

// printPlan says what --dry-run recognised.
func printPlan(e *env, link, page, name string, a bot.Adapter) {
	spec := a.Spec()
	fmt.Fprintf(e.stdout, "platform:  %s\nlink:      %s\nopens:     %s\njoins as:  %s\nsignals:   %s\n", a.Platform(), link, page, name, spec.Signals)
	if a.Platform() == "generic" {
		fmt.Fprintln(e.stdout, "tested:    against Ledgerline's test meeting platform, which the tests join with this adapter (see docs/bot.md)")
	} else {
		fmt.Fprintln(e.stdout, "tested:    never against the real platform: built from its public documentation; the shared flow is tested against Ledgerline's test meeting platform (see docs/bot.md)")
	}
	for _, n := range spec.Notes {
		fmt.Fprintf(e.stdout, "note:      %s\n", n)
	}
}
