package bot_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/bot"
	"github.com/ledgerline/ledgerline/diarize"
	"github.com/ledgerline/ledgerline/internal/meetingfixture"
)

// BenchmarkBotJoin measures, against the test platform (a lobby that admits at once, three
// participants on three tracks), how long a bot takes from its request to being in the call
// (ms-to-in-call: the browser's start, the page, the name, the lobby), and what its browser uses
// in the call while it forwards three tracks: CPU (cores, all its processes together) and
// resident memory (MiB).
func BenchmarkBotJoin(b *testing.B) {
	needBrowser(b)
	people, lines := sampleCall(b, 2)
	fx := fixture(b)
	var toCall, cores time.Duration
	var memMiB float64
	window := 5 * time.Second
	for i := 0; b.Loop(); i++ {
		room := fmt.Sprintf("bench-%d", i)
		link := fx.AddRoom(room, meetingfixture.Room{Admission: meetingfixture.Open, Participants: people, Script: lines})
		a, page, err := bot.Recognise(link, "generic", bot.GenericOptions{JoinText: "Ask to join"})
		if err != nil {
			b.Fatal(err)
		}
		e := newEndpoint(b)
		var bt *bot.Bot
		var wg sync.WaitGroup
		start := time.Now()
		inCall := make(chan struct{})
		bt, err = bot.New(bot.Config{Adapter: a, Page: page, Name: "Notetaker (recording)", Forward: bot.Forward{Endpoint: e.url},
			Timeline: diarize.NewTimeline(), Browser: bot.Browser{Path: chromium},
			OnState: func(st bot.Status) {
				if st.State == bot.InCall {
					toCall += time.Since(start)
					close(inCall)
				}
			}})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-inCall:
			case <-time.After(time.Minute):
				bt.Leave()
				return
			}
			// Let the tracks start, then measure a window of the call.
			time.Sleep(2 * time.Second)
			u1, t1 := bt.Usage(), time.Now()
			time.Sleep(window)
			u2 := bt.Usage()
			cores += time.Duration((u2.CPU - u1.CPU) / time.Since(t1).Seconds() * float64(time.Second))
			memMiB += u2.MemoryMiB
			bt.Leave()
		}()
		st := bt.Run(context.Background())
		wg.Wait()
		if st.State != bot.Ended {
			b.Fatalf("ended as %+v", st)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(toCall.Milliseconds())/n, "ms-to-in-call")
	b.ReportMetric(cores.Seconds()/n, "browser-cores")
	b.ReportMetric(memMiB/n, "browser-MiB")
}

// BenchmarkAttribution measures, per way the platform sends audio, how much of the time each
// participant of the sample call was played the bot's timeline names them alone (right), names
// someone else (wrong), or names nobody (unknown: the signal said nobody spoke, or not who).
func BenchmarkAttribution(b *testing.B) {
	needBrowser(b)
	people, lines := sampleCall(b, 7)
	for _, mode := range []meetingfixture.Mode{meetingfixture.PerTrack, meetingfixture.Mixed, meetingfixture.Virtual} {
		b.Run(mode.String(), func(b *testing.B) {
			var right, wrong, unknown float64
			for b.Loop() {
				fx := fixture(b)
				link := fx.AddRoom("call", meetingfixture.Room{Mode: mode, Participants: people, Script: lines,
					Admission: meetingfixture.Open, EndAfter: time.Second})
				e := newEndpoint(b)
				tl := diarize.NewTimeline()
				origin := time.Now()
				st, _ := run(b, context.Background(), link, e, tl, bot.Config{Clock: func(at time.Time) time.Duration { return at.Sub(origin) }})
				if st.State != bot.Ended {
					b.Fatalf("ended as %+v", st)
				}
				var channels []string
				for ch := range e.heard() {
					channels = append(channels, ch)
				}
				r, w, u := score(fx.Played("call"), tl, channels, origin)
				right, wrong, unknown = right+r, wrong+w, unknown+u
			}
			n := float64(b.N)
			b.ReportMetric(100*right/n, "%right")
			b.ReportMetric(100*wrong/n, "%wrong")
			b.ReportMetric(100*unknown/n, "%unknown")
		})
	}
}
