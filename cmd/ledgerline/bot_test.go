package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/bot"
	"github.com/ledgerline/ledgerline/diarize"
	"github.com/ledgerline/ledgerline/internal/meetingfixture"
	"github.com/ledgerline/ledgerline/ledger"
)

var _ bot.Timeline = (*diarize.Timeline)(nil)

// needChromium skips a test that runs a browser where there is none, or in -short mode.
func needChromium(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the Chromium test in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("skipping: no Chromium at %s (%v)", chromiumPath, err)
	}
}

// meetingPlatform starts the test meeting platform, closed with the test, and gives this test's
// bots a slot directory of their own.
func meetingPlatform(t testing.TB) *meetingfixture.Server {
	t.Helper()
	t.Setenv("LEDGERLINE_BOT_DIR", t.TempDir())
	fx, err := meetingfixture.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fx.Close() })
	return fx
}

// sampleLines is the bundled sample call's first n lines, as the platform's participants say them.
func sampleLines(t testing.TB, n int) ([]string, []meetingfixture.Line) {
	t.Helper()
	people, lines, err := meetingfixture.LoadCall("../../testdata/sample-call.wav", "../../testdata/sample-call.json", n, 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return people, lines
}

// botJoin starts `ledgerline bot join link` with the generic adapter, recording into db.
func botJoin(t testing.TB, link, db string, extra ...string) *runningAgent {
	t.Helper()
	args := []string{"bot", "join", link, "--platform", "generic", "--join-text", "Ask to join", "--model", testModel(t),
		"--language", "en", "--listen", "127.0.0.1:0", "--db", db, "--chromium", chromiumPath}
	return startServing(t, append(args, extra...)...)
}

// watched is what a viewer of the overlay saw of a meeting until it stopped.
type watched struct {
	names  map[string]string // speaker ID → name
	finals map[string]ledger.SegmentInfo
	bot    []ledger.BotInfo
}

// watch follows a meeting's overlay socket from its start until the meeting is stopped, telling
// onBot (when not nil) of each bot state.
func watch(t testing.TB, a *runningAgent, onBot func(ledger.BotInfo)) *watched {
	t.Helper()
	w, err := follow(a, onBot, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// follow is watch for any goroutine; onFinal (when not nil) is told of each final too.
func follow(a *runningAgent, onBot func(ledger.BotInfo), onFinal func(ledger.SegmentInfo)) (*watched, error) {
	ws, _, err := websocket.DefaultDialer.Dial(a.socket(), nil)
	if err != nil {
		return nil, err
	}
	defer ws.Close()
	w := &watched{names: map[string]string{}, finals: map[string]ledger.SegmentInfo{}}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		_ = ws.SetReadDeadline(deadline)
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return w, fmt.Errorf("socket: %w; bot join: %s", err, a.stderr.String())
		}
		var e ledger.Event
		if err := json.Unmarshal(msg, &e); err != nil {
			return w, err
		}
		switch e.Type {
		case ledger.TypeSpeakerUpdate:
			w.names[e.Speaker.ID] = e.Speaker.Name
		case ledger.TypeSegmentFinal:
			w.finals[e.Segment.ID] = *e.Segment
			if onFinal != nil {
				onFinal(*e.Segment)
			}
		case ledger.TypeBotState:
			w.bot = append(w.bot, *e.Bot)
			if onBot != nil {
				onBot(*e.Bot)
			}
		case ledger.TypeMeetingState:
			if e.State == ledger.MeetingStopped {
				return w, nil
			}
		}
	}
}

// botStates lists the states a viewer saw.
func (w *watched) botStates() []string {
	var out []string
	for _, b := range w.bot {
		s := string(b.State)
		if b.Reason != "" {
			s += "(" + string(b.Reason) + ")"
		}
		out = append(out, s)
	}
	return out
}

// playedAt returns who the platform played most of [start, end) of the meeting clock, whose zero
// is origin; "" when nobody spoke then.
func playedAt(played []meetingfixture.Played, origin time.Time, start, end time.Duration) string {
	best, most := "", time.Duration(0)
	for _, p := range played {
		a, b := max(p.Start.Sub(origin), start), min(p.End.Sub(origin), end)
		if b-a > most {
			best, most = p.Speaker, b-a
		}
	}
	return best
}

// playedWithin reports whether the platform played name's speech at some time between start and end.
func playedWithin(played []meetingfixture.Played, origin time.Time, name string, start, end time.Duration) bool {
	for _, p := range played {
		if p.Speaker == name && p.Start.Sub(origin) < end && p.End.Sub(origin) > start {
			return true
		}
	}
	return false
}

// The bot joins the platform's meeting by its link, waits in the lobby, is admitted, and each
// participant's speech reaches the overlay under that participant's name, as the platform played
// it: with one track per participant, with one mixed track naming its speakers by CSRC, and with
// Meet-style virtual streams whose participant changes from line to line.
func TestBotJoinAttributesSpeakers(t *testing.T) {
	needChromium(t)
	people, lines := sampleLines(t, 4)
	for _, mode := range []meetingfixture.Mode{meetingfixture.PerTrack, meetingfixture.Mixed, meetingfixture.Virtual} {
		t.Run(mode.String(), func(t *testing.T) {
			fx := meetingPlatform(t)
			link := fx.AddRoom("abc-defg-hij", meetingfixture.Room{Mode: mode, Participants: people, Script: lines,
				Admission: meetingfixture.Ignore, EndAfter: 2 * time.Second})
			db := filepath.Join(t.TempDir(), "meetings.db")
			a := botJoin(t, link, db)
			seen := watch(t, a, admitWhenWaiting(fx, "abc-defg-hij"))
			if code := a.wait(); code != 0 {
				t.Fatalf("bot join exited %d: %s", code, a.stderr.String())
			}
			want := []string{"requested", "launching", "joining", "waiting", "in_call", "ended(meeting_ended)"}
			if got := seen.botStates(); !slices.Equal(got, want) {
				t.Errorf("bot states %v, want %v", got, want)
			}
			checkAttribution(t, fx, "abc-defg-hij", seen, db, a.meeting, people)
			if chat := fx.Chat("abc-defg-hij"); len(chat) != 1 || !strings.Contains(chat[0].Text, "recorded") || !strings.Contains(chat[0].From, "recording") {
				t.Errorf("chat %+v, want the bot's one consent message; bot: %s", chat, a.stderr.String())
			}
		})
	}
}

// admitWhenWaiting has the host admit the bot once it waits in room's lobby.
func admitWhenWaiting(fx *meetingfixture.Server, room string) func(ledger.BotInfo) {
	return func(b ledger.BotInfo) {
		if b.State == ledger.BotWaiting {
			fx.Admit(room)
		}
	}
}

// clockSlack is how far apart the platform's playing and the meeting clock may be at a word's edge:
// both are read from wall clocks, in different processes, on a machine that may be busy.
const clockSlack = 300 * time.Millisecond

// checkAttribution checks that every final a viewer saw of a meeting that the platform played in
// room is attributed to the participant the platform played then, or to nobody known, and that
// each of people has some.
func checkAttribution(t testing.TB, fx *meetingfixture.Server, room string, seen *watched, db, meeting string, people []string) {
	t.Helper()
	store, err := ledger.OpenSQLite(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rec, err := store.Meeting(context.Background(), meeting)
	if err != nil {
		t.Fatal(err)
	}
	played := fx.Played(room)
	heard := map[string]bool{}
	for _, f := range seen.finals {
		name := seen.names[f.Speaker]
		start, end := time.Duration(f.StartMS)*time.Millisecond, time.Duration(f.EndMS)*time.Millisecond
		truth := playedAt(played, rec.StartedAt, start, end)
		switch {
		case name == diarize.UnknownName:
		case name != truth && !playedWithin(played, rec.StartedAt, name, start-clockSlack, end+clockSlack):
			t.Errorf("final %s at %d-%d ms is %q's; the platform played %q then", f.ID, f.StartMS, f.EndMS, name, truth)
		default:
			heard[name] = true
		}
	}
	for _, p := range people {
		if !heard[p] {
			t.Errorf("no final of %s in the overlay; speakers %v", p, seen.names)
		}
	}
}

// loggedBot returns the bot states a meeting's log holds, and its last meeting.state.
func loggedBot(t testing.TB, db, meeting string) ([]string, ledger.Event) {
	t.Helper()
	store, err := ledger.OpenSQLite(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	events, err := store.Since(context.Background(), meeting, 0)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	var last ledger.Event
	for _, e := range events {
		switch e.Type {
		case ledger.TypeBotState:
			s := string(e.Bot.State)
			if e.Bot.Reason != "" {
				s += "(" + string(e.Bot.Reason) + ")"
			}
			states = append(states, s)
		case ledger.TypeMeetingState:
			last = e
		}
	}
	return states, last
}

// A bot that does not get in ends with its typed reason on the meeting's log, the meeting is
// stopped, and the command fails saying why.
func TestBotJoinLobbyFailures(t *testing.T) {
	needChromium(t)
	fx := meetingPlatform(t)
	var overlayLink string
	for _, tc := range []struct {
		name  string
		room  meetingfixture.Room
		onBot func(room string) func(ledger.BotInfo)
		extra []string
		last  string
		says  string
	}{
		{name: "denied", room: meetingfixture.Room{Admission: meetingfixture.Ignore},
			onBot: func(room string) func(ledger.BotInfo) {
				return func(b ledger.BotInfo) {
					if b.State == ledger.BotWaiting {
						// The overlay shows the bot waiting, then the host refuses it.
						overlayShows(t, overlayLink, "#bot", "Bot waiting to be admitted")
						fx.Deny(room)
					}
				}
			},
			last: "failed(admission_denied)", says: "refused entry"},
		{name: "timeout", room: meetingfixture.Room{Admission: meetingfixture.Ignore}, extra: []string{"--admission-timeout", "3s"},
			last: "failed(admission_timeout)", says: "not admitted in time"},
		{name: "not started", room: meetingfixture.Room{NotStarted: true}, extra: []string{"--admission-timeout", "2s"},
			last: "failed(not_started)", says: "not started"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			room := strings.ReplaceAll(tc.name, " ", "-")
			link := fx.AddRoom(room, tc.room)
			db := filepath.Join(t.TempDir(), "meetings.db")
			a := botJoin(t, link, db, tc.extra...)
			overlayLink = a.base + "?t=" + a.token
			var onBot func(ledger.BotInfo)
			if tc.onBot != nil {
				onBot = tc.onBot(room)
			}
			watch(t, a, onBot)
			if code := a.wait(); code != 1 || !strings.Contains(a.stderr.String(), tc.says) {
				t.Errorf("exit %d, stderr %q; want 1 saying %q", code, a.stderr.String(), tc.says)
			}
			states, last := loggedBot(t, db, a.meeting)
			want := []string{"requested", "launching", "joining", "waiting", tc.last}
			if !slices.Equal(states, want) {
				t.Errorf("logged bot states %v, want %v", states, want)
			}
			if last.State != ledger.MeetingStopped {
				t.Errorf("the meeting's last state is %q, want stopped", last.State)
			}
		})
	}
}

// A bot whose browser is killed in the call leaves a meeting stopped cleanly, with what it heard
// recorded, and says why it failed.
func TestBotKilledMidCall(t *testing.T) {
	needChromium(t)
	people, lines := sampleLines(t, 4)
	fx := meetingPlatform(t)
	link := fx.AddRoom("killed", meetingfixture.Room{Mode: meetingfixture.PerTrack, Participants: people, Script: lines,
		Admission: meetingfixture.Ignore})
	db := filepath.Join(t.TempDir(), "meetings.db")
	a := botJoin(t, link, db)
	var killed []int
	seen, err := follow(a, admitWhenWaiting(fx, "killed"), func(ledger.SegmentInfo) {
		if killed == nil {
			killed = killBrowsers(t)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(killed) == 0 {
		t.Fatal("found no browser of the bot to kill")
	}
	if code := a.wait(); code != 1 || !strings.Contains(a.stderr.String(), "lost its browser") {
		t.Errorf("exit %d, stderr %q; want 1 saying the bot lost its browser", code, a.stderr.String())
	}
	states, last := loggedBot(t, db, a.meeting)
	if n := len(states); n == 0 || states[n-1] != "failed(browser_failed)" {
		t.Errorf("logged bot states %v, want them to end failed(browser_failed)", states)
	}
	if last.State != ledger.MeetingStopped {
		t.Errorf("the meeting's last state is %q, want stopped", last.State)
	}
	store, err := ledger.OpenSQLite(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	segs, err := store.Segments(context.Background(), a.meeting)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) == 0 || len(segs) < len(seen.finals) {
		t.Errorf("%d segments recorded, the overlay showed %d: want every one heard before the kill", len(segs), len(seen.finals))
	}
}

// killBrowsers kills, by their process IDs, the browsers this process started for its bots.
func killBrowsers(t testing.TB) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc to find the browser in: %v", err)
	}
	me := strconv.Itoa(os.Getpid())
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if len(fields) > 1 && fields[1] == me && bytes.Contains(cmdline, []byte("ledgerline-bot-")) {
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// Two bots record two meetings at once on one machine, each speaker under their name in their
// meeting; a third, beyond the machine's cap, is refused with "no capacity" before it starts
// anything.
func TestTwoBotsAtOnceAndTheCap(t *testing.T) {
	needChromium(t)
	people, lines := sampleLines(t, 3)
	fx := meetingPlatform(t)
	db := filepath.Join(t.TempDir(), "meetings.db")
	rooms := []string{"first-room", "second-room"}
	modes := []meetingfixture.Mode{meetingfixture.PerTrack, meetingfixture.Virtual}
	agents := make([]*runningAgent, len(rooms))
	for i, room := range rooms {
		link := fx.AddRoom(room, meetingfixture.Room{Mode: modes[i], Participants: people, Script: lines,
			Admission: meetingfixture.Ignore, EndAfter: 2 * time.Second})
		agents[i] = botJoin(t, link, db, "--max-bots", "2")
	}
	// Both hold their slots from before they print their overlay links.
	third := fx.AddRoom("third-room", meetingfixture.Room{Participants: people})
	code, out, errOut := ledgerline(t, "bot", "join", third, "--platform", "generic", "--model", testModel(t), "--db", db,
		"--listen", "127.0.0.1:0", "--max-bots", "2", "--chromium", chromiumPath)
	if code != 1 || out != "" || !strings.Contains(errOut, "no capacity") {
		t.Errorf("a third bot: exit %d, stdout %q, stderr %q; want 1 saying no capacity, and no meeting", code, out, errOut)
	}
	type result struct {
		seen *watched
		err  error
	}
	results := make([]chan result, len(rooms))
	for i := range rooms {
		results[i] = make(chan result, 1)
		go func() {
			w, err := follow(agents[i], admitWhenWaiting(fx, rooms[i]), nil)
			results[i] <- result{w, err}
		}()
	}
	for i, room := range rooms {
		r := <-results[i]
		if r.err != nil {
			t.Fatal(r.err)
		}
		if code := agents[i].wait(); code != 0 {
			t.Fatalf("%s: bot join exited %d: %s", room, code, agents[i].stderr.String())
		}
		checkAttribution(t, fx, room, r.seen, db, agents[i].meeting, people)
	}
}

// bot join --dry-run says what a link was recognised as, and refuses one it cannot use as a
// usage error that says what to do.
func TestBotJoinDryRun(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		platform string // in stdout
		opens    string // in stdout, or stderr when refused
	}{
		{[]string{"https://meet.google.com/abc-defg-hij?authuser=1&foo=bar"}, 0, "meet", "opens:     https://meet.google.com/abc-defg-hij?authuser=1\n"},
		{[]string{"https://teams.microsoft.com/l/meetup-join/19%3ameeting_X%40thread.v2/0?context=%7b%7d"}, 0, "teams", "/l/meetup-join/"},
		{[]string{"https://teams.live.com/meet/9876543210?p=abc"}, 0, "teams", "teams.live.com/meet/9876543210"},
		{[]string{"https://us02web.zoom.us/j/81234567890?pwd=secret"}, 0, "zoom", "https://us02web.zoom.us/wc/join/81234567890?pwd=secret"},
		{[]string{"https://meet.jit.si/LedgerlineStandup"}, 0, "jitsi", "https://meet.jit.si/LedgerlineStandup#config.prejoinConfig.enabled=true"},
		{[]string{"https://jitsi.example.com/Weekly", "--platform", "jitsi"}, 0, "jitsi", "https://jitsi.example.com/Weekly#"},
		{[]string{"https://calls.example.com/r/42", "--platform", "generic", "--join-text", "Knock"}, 0, "generic", "https://calls.example.com/r/42"},
		{[]string{"https://calls.example.com/r/42"}, 2, "", "--platform"},
		{[]string{"https://meet.google.com/landing"}, 2, "", "https://meet.google.com/abc-defg-hij"},
		{[]string{"https://zoom.us/signin"}, 2, "", "zoom.us/j/"},
		{[]string{"https://meet.jit.si/x", "--join-text", "Join"}, 2, "", "--platform generic"},
		{[]string{"https://meet.jit.si/x", "--platform", "webex"}, 2, "", "unknown platform"},
	} {
		args := append([]string{"bot", "join", "--dry-run"}, tc.args...)
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := ledgerline(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d", code, out, errOut, tc.code)
			}
			if tc.code != 0 {
				if !strings.Contains(errOut, tc.opens) {
					t.Errorf("stderr %q; want it to say %q", errOut, tc.opens)
				}
				return
			}
			tested := "never against the real platform"
			if tc.platform == "generic" {
				tested = "which the tests join with this adapter"
			}
			for _, want := range []string{"platform:  " + tc.platform + "\n", tc.opens, "joins as:  Ledgerline notetaker (recording)\n", tested} {
				if !strings.Contains(out, want) {
					t.Errorf("stdout %q; want it to say %q", out, want)
				}
			}
		})
	}
}

// overlayShows opens the overlay at link in a browser and waits until the element sel reads text.
func overlayShows(t testing.TB, link, sel, text string) {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(chromiumPath), chromedp.Headless,
		chromedp.NoSandbox, chromedp.Flag("disable-gpu", true), chromedp.UserDataDir(t.TempDir()))
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	err := chromedp.Do(bctx, chromedp.Navigate(link),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).textContent === %q`, sel, text),
			chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		got, _ := chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).textContent`, sel)))
		t.Errorf("the overlay's %s reads %q, want %q: %v", sel, got, text, err)
	}
}

// Every state and reason a bot reports is one the meeting's log takes, and a failure always
// carries its reason.
func TestBotStatesAreLogged(t *testing.T) {
	states := []bot.State{bot.Requested, bot.Launching, bot.Joining, bot.Waiting, bot.InCall, bot.Leaving, bot.Ended, bot.Failed}
	reasons := []bot.Reason{bot.InvalidLink, bot.NotStarted, bot.Denied, bot.AdmissionTimeout, bot.SignInRequired, bot.Captcha,
		bot.Removed, bot.Unrecognised, bot.BrowserFailed, bot.NoCapacity, bot.Asked, bot.MeetingEnd, bot.Alone, bot.TimeLimit}
	for _, st := range states {
		for _, r := range append([]bot.Reason{""}, reasons...) {
			e := ledger.Event{Type: ledger.TypeBotState, Meeting: "m",
				Bot: &ledger.BotInfo{State: ledger.BotState(st), Reason: ledger.BotReason(r), Platform: "meet"}}
			err := e.Validate()
			if wantErr := st == bot.Failed && r == ""; (err != nil) != wantErr {
				t.Errorf("%s (%q): %v", st, r, err)
			}
		}
	}
	for _, bad := range []ledger.BotInfo{{State: "sleeping"}, {State: ledger.BotEnded, Reason: "bored"}} {
		if err := (ledger.Event{Type: ledger.TypeBotState, Meeting: "m", Bot: &bad}).Validate(); err == nil {
			t.Errorf("%+v taken", bad)
		}
	}
	if err := (ledger.Event{Type: ledger.TypeBotState, Meeting: "m"}).Validate(); err == nil {
		t.Error("a bot.state without its bot taken")
	}
}

// Mixed audio whose speakers the page never shows is told apart by voice: its finals go to voices
// of the channel ("Speaker N"), never to a participant's name.
func TestBotJoinWithoutSignalsTellsVoicesApart(t *testing.T) {
	needChromium(t)
	people, lines := sampleLines(t, 4)
	fx := meetingPlatform(t)
	link := fx.AddRoom("silent-tiles", meetingfixture.Room{Mode: meetingfixture.Mixed, Participants: people, Script: lines,
		Admission: meetingfixture.Ignore, EndAfter: 2 * time.Second, NoIndicator: true})
	db := filepath.Join(t.TempDir(), "meetings.db")
	a := botJoin(t, link, db)
	seen := watch(t, a, admitWhenWaiting(fx, "silent-tiles"))
	if code := a.wait(); code != 0 {
		t.Fatalf("bot join exited %d: %s", code, a.stderr.String())
	}
	if len(seen.finals) == 0 {
		t.Fatal("no finals")
	}
	for _, f := range seen.finals {
		if name := seen.names[f.Speaker]; !strings.HasPrefix(name, "Speaker ") || f.Channel != "call-1" {
			t.Errorf("final %s on %s is %q's (%s); want a voice of the channel", f.ID, f.Channel, name, f.Speaker)
		}
	}
}
