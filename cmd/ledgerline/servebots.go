package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/bot"
	"github.com/ledgerline/ledgerline/diarize"
	"github.com/ledgerline/ledgerline/server"
	"github.com/ledgerline/ledgerline/team"
)

// serveBotName is the name the team server's bots join calls with.
const serveBotName = "Ledgerline notetaker"

// serveBots runs the team server's meeting bots on this machine: the team.BotLauncher that the
// bot package gives the server. Each bot holds one of the machine's bot slots while it runs, and
// records its states on its meeting's log.
type serveBots struct {
	e        *env
	log      botLog
	host     botHost
	capacity bot.Capacity
	hosts    botHosts

	mu      sync.Mutex
	ctx     context.Context // the bots' own: done when the server stops; nil before attach
	base    string          // the URL the bots reach the server's WHIP endpoint at
	closed  bool
	running map[string]*bot.Bot // by request ID
	wg      sync.WaitGroup
}

var _ team.BotLauncher = (*serveBots)(nil)

// botHost is the server's meeting host as its bots need it: a meeting a bot forwards attributes
// its channels by the bot's timeline, on the meeting's clock.
type botHost interface {
	Expect(meeting string, tl *diarize.Timeline) (clock func(time.Time) time.Duration, forget func())
}

var _ botHost = (*agent.Host)(nil)

func newServeBots(e *env, log botLog, host botHost, maxBots int, hosts botHosts) *serveBots {
	return &serveBots{e: e, log: log, host: host, capacity: bot.Capacity{Max: maxBots}, hosts: hosts, running: map[string]*bot.Bot{}}
}

// attach starts taking bots: they run until ctx ends, and publish to the server at base.
func (s *serveBots) attach(ctx context.Context, base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctx, s.base = ctx, strings.TrimSuffix(base, "/")
}

// close waits for the running bots to leave (their context ends with the server's) and takes no
// more.
func (s *serveBots) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
}

// Platform implements team.BotLauncher, as 'bot join' recognises links, with --bot-platform's
// hosts named.
func (s *serveBots) Platform(link string) (string, error) {
	a, _, err := bot.Recognise(link, s.hosts.platform(link), bot.GenericOptions{})
	if errors.Is(err, bot.ErrNotRecognised) {
		return "", fmt.Errorf("%w: give a Google Meet, Microsoft Teams, Zoom or Jitsi Meet link (the server's operator may name other hosts with --bot-platform)", bot.ErrNotRecognised)
	}
	if err != nil {
		return "", err
	}
	return a.Platform(), nil
}

// Reserve implements team.BotLauncher.
func (s *serveBots) Reserve() (team.BotSlot, error) {
	slot, err := s.capacity.Acquire()
	if errors.Is(err, bot.ErrNoCapacity) {
		return nil, fmt.Errorf("%w: %w", team.ErrNoBotCapacity, err)
	}
	if err != nil {
		return nil, err
	}
	return &serveSlot{s: s, slot: slot}, nil
}

// Leave implements team.BotLauncher.
func (s *serveBots) Leave(id string) bool {
	s.mu.Lock()
	b := s.running[id]
	s.mu.Unlock()
	if b != nil {
		b.Leave()
	}
	return b != nil
}

// Running implements team.BotLauncher.
func (s *serveBots) Running() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.running))
	for id := range s.running {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// serveSlot is one bot slot of the machine.
type serveSlot struct {
	s    *serveBots
	slot *bot.Slot
}

// Release implements team.BotSlot.
func (t *serveSlot) Release() { t.slot.Release() }

// Start implements team.BotSlot: the bot runs on a goroutine of its own until it leaves. One that
// cannot start records why on its meeting's log.
func (t *serveSlot) Start(l team.BotLaunch) {
	s := t.s
	name := botName(serveBotName)
	record := func(ctx context.Context, st bot.Status) {
		if err := appendBotState(ctx, s.log, l.Meeting, l.Platform, name, st); err != nil {
			s.e.log.Warn("record a bot's state", "bot", l.RequestID, "state", st.State, "err", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.ctx == nil {
		t.slot.Release()
		record(context.Background(), bot.Status{State: bot.Failed, Reason: bot.BrowserFailed, Detail: "the server is stopping"})
		return
	}
	ctx := s.ctx
	// The meeting learns who speaks from the timeline the bot reads from the page.
	tl := diarize.NewTimeline()
	clock, forget := s.host.Expect(l.Meeting, tl)
	b, err := t.newBot(l, name, tl, clock, func(st bot.Status) { record(ctx, st) })
	if err != nil {
		forget()
		t.slot.Release()
		record(ctx, bot.Status{State: bot.Failed, Reason: bot.InvalidLink, Detail: err.Error()})
		return
	}
	s.running[l.RequestID] = b
	s.wg.Go(func() {
		defer t.slot.Release()
		defer forget()
		st := b.Run(ctx)
		s.mu.Lock()
		delete(s.running, l.RequestID)
		s.mu.Unlock()
		s.e.log.Info("bot left", "bot", l.RequestID, "meeting", l.Meeting, "state", st.State, "reason", st.Reason)
	})
}

// newBot makes the bot of a launch; s.mu is held.
func (t *serveSlot) newBot(l team.BotLaunch, name string, tl *diarize.Timeline, clock func(time.Time) time.Duration,
	onState func(bot.Status)) (*bot.Bot, error) {
	adapter, page, err := bot.Recognise(l.MeetingURL, l.Platform, bot.GenericOptions{})
	if err != nil {
		return nil, err
	}
	return bot.New(bot.Config{
		Adapter: adapter, Page: page, Name: name,
		Forward:  bot.Forward{Endpoint: t.s.base + "/whip/" + url.PathEscape(l.Meeting), Token: l.Token},
		Timeline: tl, Clock: clock,
		OnState: onState,
		Consent: consentMessage(name, t.s.base+server.PagePath(l.Meeting, l.WatchToken)),
		Logger:  t.s.e.log.With("bot", l.RequestID),
	})
}

// maxBotsFlag is --max-bots, of 'bot join' and of 'serve': the machine's bot slots.
func maxBotsFlag(fs *flag.FlagSet) *int {
	return fs.Int("max-bots", bot.DefaultMaxBots(), "bots this machine runs at once, all ledgerline processes together; one more is refused with \"no capacity\"")
}

// botHosts is --bot-platform: meeting links on these hosts are of the platform named.
type botHosts map[string]string

func (h botHosts) String() string {
	var out []string
	for host, p := range h {
		out = append(out, host+"="+p)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func (h botHosts) Set(v string) error {
	host, platform, ok := strings.Cut(v, "=")
	host = strings.ToLower(strings.TrimSpace(host))
	if !ok || host == "" || !slices.Contains(bot.Platforms(), platform) {
		return fmt.Errorf("give HOST=PLATFORM, such as jitsi.example.com=jitsi (platforms: %s)", strings.Join(bot.Platforms(), ", "))
	}
	h[host] = platform
	return nil
}

// platform is the platform named for a link's host; "" to recognise the link by itself.
func (h botHosts) platform(link string) string {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil {
		return ""
	}
	return h[strings.ToLower(u.Hostname())]
}
