package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Config sets up a Bot. Adapter, Page, Name, Forward and Timeline are required.
type Config struct {
	// Adapter and Page are the platform and the page to open, as Recognise returns them.
	Adapter Adapter
	Page    string
	// Name is the display name the bot joins with; it should say that it records.
	Name string
	// Forward is where the call's audio goes.
	Forward Forward
	// Timeline receives who speaks on each forwarded channel; Clock maps this machine's wall
	// clock onto the meeting's (nil: time since the bot started).
	Timeline Timeline
	Clock    func(time.Time) time.Duration
	// OnState is told each state the bot enters, in order, on the bot's goroutine; it must not
	// wait long.
	OnState func(Status)
	// Consent, when set, is posted once in the call's chat, where it has one.
	Consent string
	// LeaveCommand is a chat message that asks the bot to leave: one whose whole text is this,
	// in any case ["ledgerline leave"].
	LeaveCommand string
	// AdmissionTimeout bounds the wait to be admitted [10 min]; AloneAfter is how long the bot
	// stays once everyone else has left [2 min]; MaxDuration bounds its stay [4 h]; PageTimeout
	// is how long a page may go unrecognised [45 s].
	AdmissionTimeout, AloneAfter, MaxDuration, PageTimeout time.Duration
	Browser                                                Browser
	Logger                                                 *slog.Logger
}

// DefaultLeaveCommand is the chat message that asks a bot to leave.
const DefaultLeaveCommand = "ledgerline leave"

func (c *Config) check() error {
	switch {
	case c.Adapter == nil || c.Page == "":
		return errors.New("bot: no meeting page (see Recognise)")
	case strings.TrimSpace(c.Name) == "":
		return errors.New("bot: a display name is needed")
	case c.Forward.Endpoint == "" || c.Timeline == nil:
		return errors.New("bot: a WHIP endpoint and a timeline are needed")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.AdmissionTimeout, 10*time.Minute)
	def(&c.AloneAfter, 2*time.Minute)
	def(&c.MaxDuration, 4*time.Hour)
	def(&c.PageTimeout, 45*time.Second)
	if c.LeaveCommand == "" {
		c.LeaveCommand = DefaultLeaveCommand
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.OnState == nil {
		c.OnState = func(Status) {}
	}
	if c.Clock == nil {
		start := time.Now()
		c.Clock = func(t time.Time) time.Duration { return t.Sub(start) }
	}
	return nil
}

// Bot is one meeting bot: one browser in one call. Run it once; Leave and Usage may be called
// from any goroutine.
type Bot struct {
	cfg  Config
	spec Spec
	log  *slog.Logger
	fwd  *forwarder
	hear *hearing

	leave     chan struct{} // closed by Leave
	leaveOnce sync.Once

	mu      sync.Mutex
	ran     bool
	browser *browserRun
	state   Status
}

// New checks cfg and returns a bot ready to Run.
func New(cfg Config) (*Bot, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	b := &Bot{cfg: cfg, spec: cfg.Adapter.Spec(), log: cfg.Logger.With("platform", cfg.Adapter.Platform()),
		leave: make(chan struct{})}
	b.fwd = newForwarder(cfg.Forward, cfg.Timeline.Claim)
	b.hear = newHearing(cfg.Timeline, cfg.Clock, cfg.Forward.channel, cfg.Name, b.spec.Signals)
	return b, nil
}

// Leave asks the bot to leave the call (or to give up joining it).
func (b *Bot) Leave() { b.leaveOnce.Do(func() { close(b.leave) }) }

// Usage reports what the bot's browser uses now; zero before it starts and after it stops.
func (b *Bot) Usage() Usage {
	b.mu.Lock()
	br := b.browser
	b.mu.Unlock()
	if br == nil {
		return Usage{}
	}
	return usageOf(br.pid())
}

// Status returns the state the bot is in.
func (b *Bot) Status() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// People returns whose each source the bot has learned to be, by source.
func (b *Bot) People() map[string]string { return b.hear.people() }

// Run joins the call, stays in it while it lasts, and leaves; it returns the state it ended in,
// Ended or Failed. ctx being done asks the bot to leave, as Leave does: it still leaves the call
// properly, within a few seconds. Run stops the browser and every goroutine it started before it
// returns.
func (b *Bot) Run(ctx context.Context) Status {
	b.mu.Lock()
	if b.ran {
		b.mu.Unlock()
		return Status{State: Failed, Reason: BrowserFailed, Detail: "a bot runs once", At: time.Now()}
	}
	b.ran = true
	b.mu.Unlock()
	b.set(Requested, "", "")
	b.set(Launching, "", "")
	br, err := launch(ctx, b.cfg.Browser, b.spec, b.forward, b.report)
	if err != nil {
		return b.set(Failed, BrowserFailed, err.Error())
	}
	b.mu.Lock()
	b.browser = br
	b.mu.Unlock()
	defer func() {
		b.hear.finish()
		b.fwd.close(context.WithoutCancel(ctx))
		b.mu.Lock()
		b.browser = nil
		b.mu.Unlock()
		br.close()
	}()
	b.set(Joining, "", "")
	nav, cancel := context.WithTimeout(br.ctx, b.cfg.PageTimeout)
	err = chromedp.Do(nav, chromedp.Navigate(b.cfg.Page))
	cancel()
	if err != nil {
		if gone(br, err) {
			return b.set(Failed, BrowserFailed, err.Error())
		}
		return b.set(Failed, InvalidLink, "the page did not open: "+err.Error())
	}
	if st := b.join(ctx, br); st.Final() {
		return st
	}
	return b.stay(ctx, br)
}

// set enters a state and tells OnState.
func (b *Bot) set(state State, reason Reason, detail string) Status {
	st := Status{State: state, Reason: reason, Detail: detail, At: time.Now()}
	b.mu.Lock()
	b.state = st
	b.mu.Unlock()
	b.log.Info("bot state", "state", state, "reason", reason, "detail", detail)
	b.cfg.OnState(st)
	return st
}

// probe is where the page stands, as the capture script sees it.
type probe struct {
	State        string        `json:"state"`
	Detail       string        `json:"detail"`
	Participants []participant `json:"participants"`
	Chat         []string      `json:"chat"`
	Tracks       int           `json:"tracks"`
	Marks        []string      `json:"marks"`
}

type participant struct {
	Name     string `json:"name"`
	Speaking bool   `json:"speaking"`
}

func (p probe) marked(name string) bool {
	for _, m := range p.Marks {
		if m == name {
			return true
		}
	}
	return false
}

// look probes the page.
func (b *Bot) look(br *browserRun) (probe, error) {
	ctx, cancel := context.WithTimeout(br.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[probe](`window.__ledgerline ? window.__ledgerline.probe() : {state: 'loading'}`))
}

// act runs page actions, bounded in time.
func act(br *browserRun, steps ...chromedp.Action[chromedp.Void]) error {
	return actWithin(br, 5*time.Second, steps...)
}

// actWithin is act with a time limit of its own, for steps whose length grows with their input.
func actWithin(br *browserRun, limit time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(br.ctx, limit)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

func marked(name string) string { return `[data-ledgerline="` + name + `"]` }

// gone reports whether err says the browser has stopped.
func gone(br *browserRun, err error) bool {
	var exit *exec.ExitError
	return errors.As(err, &exit) || br.ctx.Err() != nil
}

// lookTries is how many probes in a row may fail (the page navigating) before the browser counts
// as lost.
const lookTries = 20

// join opens the way into the call: it fills in the name, asks to join, and waits to be admitted.
// It returns InCall, or a final state.
func (b *Bot) join(ctx context.Context, br *browserRun) Status {
	opened := time.Now()
	var asked, waitingSince time.Time
	tries, failedLooks := 0, 0
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return b.set(Ended, Asked, "stopped before it was admitted")
		case <-b.leave:
			return b.set(Ended, Asked, "told to leave before it was admitted")
		case <-tick.C:
		}
		p, err := b.look(br)
		if err != nil {
			if failedLooks++; gone(br, err) || failedLooks >= lookTries {
				return b.set(Failed, BrowserFailed, err.Error())
			}
			continue
		}
		failedLooks = 0
		waited := func(reason Reason, detail string) (Status, bool) {
			if waitingSince.IsZero() {
				waitingSince = time.Now()
				b.set(Waiting, "", detail)
			}
			from := waitingSince
			if !asked.IsZero() {
				from = asked
			}
			if time.Since(from) >= b.cfg.AdmissionTimeout {
				return b.set(Failed, reason, fmt.Sprintf("%s; waited %s", detail, b.cfg.AdmissionTimeout)), true
			}
			return Status{}, false
		}
		switch p.State {
		case "in_call":
			return b.set(InCall, "", "")
		case "waiting":
			if st, done := waited(AdmissionTimeout, p.Detail); done {
				return st
			}
		case string(PageNotStarted):
			if st, done := waited(NotStarted, p.Detail); done {
				return st
			}
		case string(PageEnded):
			return b.set(Ended, MeetingEnd, p.Detail)
		case "prejoin":
			if p.marked("dismiss") {
				_ = act(br, chromedp.Click(chromedp.CSS(marked("dismiss"))))
				continue
			}
			if asked.IsZero() || time.Since(asked) > 5*time.Second {
				if tries >= 3 {
					return b.set(Failed, Unrecognised, "asking to join did nothing")
				}
				tries++
				if err := b.askToJoin(br, p); err != nil {
					b.log.Warn("ask to join", "err", err)
				}
				asked = time.Now()
			}
		case "loading":
			if p.marked("dismiss") {
				_ = act(br, chromedp.Click(chromedp.CSS(marked("dismiss"))))
			}
			if time.Since(opened) > b.cfg.PageTimeout && asked.IsZero() {
				return b.set(Failed, Unrecognised, "no name field, join button or lobby found on the page")
			}
		default:
			if r, ok := failures[p.State]; ok {
				return b.set(Failed, r, p.Detail)
			}
		}
	}
}

// askToJoin types the bot's name into the marked name field, if any, and clicks the marked join
// button.
func (b *Bot) askToJoin(br *browserRun, p probe) error {
	if p.marked("name") {
		err := act(br,
			chromedp.Evaluate[chromedp.Void](`window.__ledgerline.clear()`),
			chromedp.SendKeys(chromedp.CSS(marked("name")), b.cfg.Name),
		)
		if err != nil {
			return fmt.Errorf("type the name: %w", err)
		}
	}
	if !p.marked("join") {
		return errors.New("no join button")
	}
	return act(br, chromedp.Click(chromedp.CSS(marked("join"))))
}

// stay keeps the bot in the call until it ends, the bot is put out, told to leave, left alone
// or out of time; then it leaves.
func (b *Bot) stay(ctx context.Context, br *browserRun) Status {
	entered := time.Now()
	var aloneSince, lostSince, checked time.Time
	seenOthers := false
	consented := b.cfg.Consent == ""
	consentTries := 0
	seenChat := -1 // messages already read; -1 until the first look
	failedLooks := 0
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return b.leaveCall(br, Asked, "stopped")
		case <-b.leave:
			return b.leaveCall(br, Asked, "told to leave")
		case <-tick.C:
		}
		if time.Since(entered) >= b.cfg.MaxDuration {
			return b.leaveCall(br, TimeLimit, fmt.Sprintf("stayed %s", b.cfg.MaxDuration))
		}
		if time.Since(checked) >= 10*time.Second {
			checked = time.Now()
			if u := usageOf(br.pid()); u.MemoryMiB > float64(b.cfg.Browser.withDefaults().MaxMemoryMB) {
				return b.set(Failed, BrowserFailed, fmt.Sprintf("the browser used %.0f MiB, over its limit", u.MemoryMiB))
			}
		}
		p, err := b.look(br)
		if err != nil {
			if failedLooks++; gone(br, err) || failedLooks >= lookTries {
				return b.set(Failed, BrowserFailed, err.Error())
			}
			continue
		}
		failedLooks = 0
		switch p.State {
		case "in_call":
			lostSince = time.Time{}
		case string(PageEnded):
			return b.set(Ended, MeetingEnd, p.Detail)
		default:
			if r, ok := failures[p.State]; ok && r != NotStarted {
				return b.set(Failed, r, p.Detail)
			}
			// The call's page went away: wait a little for it to come back (a reload, a
			// reconnection) before giving up on it.
			if lostSince.IsZero() {
				lostSince = time.Now()
			} else if time.Since(lostSince) > 15*time.Second {
				return b.set(Ended, MeetingEnd, "the call's page closed")
			}
			continue
		}
		if p.marked("click") {
			_ = act(br, chromedp.Click(chromedp.CSS(marked("click"))))
		}
		if !consented && consentTries < 10 && time.Since(entered) > time.Duration(consentTries)*2*time.Second {
			consentTries++
			if err := b.say(br, p, b.cfg.Consent); err != nil {
				b.log.Info("post the consent message", "try", consentTries, "err", err)
			} else {
				consented = true
			}
		}
		if b.askedInChat(p.Chat, &seenChat) {
			return b.leaveCall(br, Asked, "asked in the chat")
		}
		others := 0
		for _, who := range p.Participants {
			if who.Name != b.cfg.Name {
				others++
			}
		}
		switch {
		case others > 0:
			seenOthers, aloneSince = true, time.Time{}
		case seenOthers && aloneSince.IsZero():
			// Only once others were seen: a page whose tiles the adapter cannot read never
			// looks empty.
			aloneSince = time.Now()
		case seenOthers && time.Since(aloneSince) >= b.cfg.AloneAfter:
			return b.leaveCall(br, Alone, fmt.Sprintf("alone for %s", b.cfg.AloneAfter))
		}
	}
}

// askedInChat reports whether a chat message the bot has not read yet asks it to leave. Messages
// from before the bot came are not for it: on the first look, or until its own message shows, the
// messages there are taken as read; a message after its own is read in any case.
func (b *Bot) askedInChat(chat []string, seen *int) bool {
	own := -1
	if b.cfg.Consent != "" {
		head, _, _ := strings.Cut(b.cfg.Consent, ".")
		for i, msg := range chat {
			if strings.Contains(msg, head) {
				own = i
			}
		}
	}
	if *seen < 0 || *seen > len(chat) {
		*seen = len(chat)
	}
	from := *seen
	if own >= 0 && own+1 < from {
		from = own + 1
	}
	*seen = len(chat)
	for _, msg := range chat[from:] {
		if strings.EqualFold(strings.TrimSpace(msg), b.cfg.LeaveCommand) {
			return true
		}
	}
	return false
}

// say posts text in the call's chat, opening the chat panel first when needed.
func (b *Bot) say(br *browserRun, p probe, text string) error {
	if !p.marked("chat-input") && p.marked("chat-open") {
		if err := act(br, chromedp.Click(chromedp.CSS(marked("chat-open")))); err != nil {
			return fmt.Errorf("open the chat: %w", err)
		}
		return errors.New("opened the chat panel; posting on the next look")
	}
	if !p.marked("chat-input") {
		return errors.New("no chat found on the page")
	}
	// Typed key by key, as the platforms' pages listen for it: each key is a round trip to the
	// browser, so the time allowed grows with the text (a busy machine must not cut it short).
	input := chromedp.CSS(marked("chat-input"))
	steps := []chromedp.Action[chromedp.Void]{chromedp.SendKeys(input, text)}
	if p.marked("chat-send") {
		steps = append(steps, chromedp.Click(chromedp.CSS(marked("chat-send"))))
	} else {
		steps = append(steps, chromedp.SendKeys(input, kb.Enter))
	}
	return actWithin(br, 5*time.Second+time.Duration(len(text))*100*time.Millisecond, steps...)
}

// leaveCall leaves the call by its leave button, as a person would, then ends.
func (b *Bot) leaveCall(br *browserRun, reason Reason, detail string) Status {
	b.set(Leaving, reason, detail)
	if p, err := b.look(br); err == nil && p.marked("leave") {
		if err := act(br, chromedp.Click(chromedp.CSS(marked("leave")))); err != nil {
			b.log.Info("click leave", "err", err)
		}
		for range 10 {
			if p, err := b.look(br); err != nil || p.State != "in_call" {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	return b.set(Ended, reason, detail)
}

// forward is the page's request to forward a track.
func (b *Bot) forward(ctx context.Context, c forwardCall) (string, error) {
	answer, err := b.fwd.offer(ctx, c.ID, c.SDP)
	if err != nil {
		b.log.Warn("forward a track", "track", c.ID, "err", err)
	}
	return answer, err
}

// report takes the page's samples.
func (b *Bot) report(ctx context.Context, r Report) (chromedp.Void, error) {
	b.hear.take(r)
	for _, id := range r.Ended {
		b.fwd.end(ctx, id)
	}
	return chromedp.Void{}, nil
}
