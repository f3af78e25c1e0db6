package bot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/bot"
	"github.com/ledgerline/ledgerline/diarize"
	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/internal/meetingfixture"
)

const chromium = "/usr/bin/chromium"

// needBrowser skips a test that runs Chromium where there is none, or in -short mode.
func needBrowser(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping a Chromium test in -short mode")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("skipping: no Chromium at %s (%v)", chromium, err)
	}
}

// endpoint is a WHIP endpoint that takes every track and drains it, counting its audio.
type endpoint struct {
	url string

	mu       sync.Mutex
	channels map[string]time.Duration
}

func newEndpoint(t testing.TB) *endpoint {
	t.Helper()
	e := &endpoint{channels: map[string]time.Duration{}}
	api, err := ingest.NewAPI(ingest.APIConfig{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	whip, err := ingest.NewWHIP(ingest.WHIPConfig{
		API:       api,
		Authorize: func(*http.Request, string) error { return nil },
		OnTrack: func(_ string, tr *ingest.Track) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for f := range tr.Frames() {
					e.mu.Lock()
					e.channels[tr.Channel()] += time.Duration(len(f.Samples)) * time.Second / 16000
					e.mu.Unlock()
				}
			}()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/whip/{meeting}", whip)
	mux.Handle("/whip/{meeting}/{session}", whip)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		_ = whip.Close()
		wg.Wait()
	})
	e.url = srv.URL + "/whip/m1"
	return e
}

func (e *endpoint) heard() map[string]time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]time.Duration{}
	for k, v := range e.channels {
		out[k] = v
	}
	return out
}

// fixture starts a meeting fixture, closed with the test.
func fixture(t testing.TB) *meetingfixture.Server {
	t.Helper()
	fx, err := meetingfixture.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fx.Close() })
	return fx
}

// sampleCall is the first n lines of the bundled sample call.
func sampleCall(t testing.TB, n int) ([]string, []meetingfixture.Line) {
	t.Helper()
	people, lines, err := meetingfixture.LoadCall("../testdata/sample-call.wav", "../testdata/sample-call.json", n, 1200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return people, lines
}

// states collects a bot's states.
type states struct {
	mu  sync.Mutex
	all []bot.Status
}

func (s *states) add(st bot.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, st)
}

func (s *states) list() []bot.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []bot.State
	for _, st := range s.all {
		out = append(out, st.State)
	}
	return out
}

// run joins link with the generic adapter, forwarding to e and telling tl, and returns how it ended.
func run(t testing.TB, ctx context.Context, link string, e *endpoint, tl bot.Timeline, cfg bot.Config) (bot.Status, *states) {
	t.Helper()
	a, page, err := bot.Recognise(link, "generic", bot.GenericOptions{JoinText: "Ask to join"})
	if err != nil {
		t.Fatal(err)
	}
	seen := &states{}
	cfg.Adapter, cfg.Page, cfg.Timeline = a, page, tl
	if cfg.Name == "" {
		cfg.Name = "Ledgerline notetaker (recording)"
	}
	cfg.Forward = bot.Forward{Endpoint: e.url}
	also := cfg.OnState
	cfg.OnState = func(st bot.Status) {
		seen.add(st)
		if also != nil {
			also(st)
		}
	}
	cfg.Browser.Path = chromium
	b, err := bot.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b.Run(ctx), seen
}

// score compares the timeline's turns on channels with what the room played: of the speech it
// played (the voiced frames of its lines), the share where the timeline names its speaker and
// nobody else (right), names somebody else (wrong), or nobody (unknown). origin is the meeting
// clock's zero.
func score(played []meetingfixture.Played, tl *diarize.Timeline, channels []string, origin time.Time) (right, wrong, unknown float64) {
	var total, r, w, u time.Duration
	const step = 20 * time.Millisecond
	for _, p := range played {
		for i, voiced := range p.Voiced {
			if !voiced {
				continue
			}
			mt := p.Start.Add(time.Duration(i) * step).Sub(origin)
			who := map[string]bool{}
			for _, ch := range channels {
				for _, turn := range tl.Turns(ch, mt, mt+step) {
					who[turn.Speaker] = true
				}
			}
			total += step
			want := "p-" + strings.ReplaceAll(strings.ToLower(p.Speaker), " ", "-")
			switch {
			case who[want] && len(who) == 1:
				r += step
			case len(who) == 0 || len(who) == 1 && who[diarize.Unknown]:
				u += step
			default:
				w += step
			}
		}
	}
	if total == 0 {
		return 0, 0, 0
	}
	return float64(r) / float64(total), float64(w) / float64(total), float64(u) / float64(total)
}

func TestJoinHearsEachParticipant(t *testing.T) {
	needBrowser(t)
	people, lines := sampleCall(t, 4)
	for _, mode := range []meetingfixture.Mode{meetingfixture.PerTrack, meetingfixture.Mixed, meetingfixture.Virtual} {
		t.Run(mode.String(), func(t *testing.T) {
			fx := fixture(t)
			link := fx.AddRoom("abc-defg-hij", meetingfixture.Room{Mode: mode, Participants: people, Script: lines,
				AdmitAfter: 500 * time.Millisecond, EndAfter: 1500 * time.Millisecond})
			e := newEndpoint(t)
			tl := diarize.NewTimeline()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			origin := time.Now()
			st, seen := run(t, ctx, link, e, tl, bot.Config{Consent: "This call is recorded.",
				Clock: func(at time.Time) time.Duration { return at.Sub(origin) }})
			if st.State != bot.Ended || st.Reason != bot.MeetingEnd {
				t.Fatalf("ended as %+v, want ended (meeting_ended); states %v", st, seen.list())
			}
			heard := e.heard()
			if want := map[meetingfixture.Mode]int{meetingfixture.PerTrack: 3, meetingfixture.Mixed: 1, meetingfixture.Virtual: 3}[mode]; len(heard) != want {
				t.Errorf("forwarded %v, want %d tracks", heard, want)
			}
			var channels []string
			for ch := range heard {
				channels = append(channels, ch)
			}
			if chat := fx.Chat("abc-defg-hij"); len(chat) != 1 || chat[0].Text != "This call is recorded." {
				t.Errorf("chat %+v, want the consent message once", chat)
			}
			r, w, u := score(fx.Played("abc-defg-hij"), tl, channels, origin)
			t.Logf("right %.3f wrong %.3f unknown %.3f", r, w, u)
			// Most of the speech is named rightly, next to none wrongly (the benchmark measures it).
			if r < 0.6 || w > 0.05 {
				t.Errorf("the timeline names %.0f%% of the speech rightly and %.0f%% wrongly", 100*r, 100*w)
			}
		})
	}
}
