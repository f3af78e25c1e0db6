package echo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/laptopcall"
	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/stream"
)

// calls caches the generated calls: each takes espeak-ng and sox a while.
var calls sync.Map

func call(tb testing.TB, spec laptopcall.Spec) *laptopcall.Call {
	tb.Helper()
	key := fmt.Sprint(spec)
	if c, ok := calls.Load(key); ok {
		return c.(*laptopcall.Call)
	}
	c, err := laptopcall.Generate(context.Background(), spec)
	if errors.Is(err, laptopcall.ErrTools) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	calls.Store(key, c)
	return c
}

// result is what a Canceller made of a call.
type result struct {
	mic, system []float32 // the channels as they came out
	delay       time.Duration
	measured    bool
	delays      []measured // as logged
}

// measured is a delay the canceller logged, and when it did on the meeting
// clock (as far as the mic had come out).
type measured struct{ at, delay time.Duration }

// delayLog records the delays a Canceller logs.
type delayLog struct {
	mu     sync.Mutex
	at     func() time.Duration
	delays []measured
}

func (l *delayLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *delayLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *delayLog) WithGroup(string) slog.Handler            { return l }
func (l *delayLog) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "delay_ms" {
			l.mu.Lock()
			l.delays = append(l.delays, measured{at: l.at(), delay: time.Duration(a.Value.Int64()) * time.Millisecond})
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

// cancelCall plays c through a Canceller as a two-channel source, in
// frames of frameDur, and collects what comes out.
func cancelCall(tb testing.TB, c *laptopcall.Call, frameDur time.Duration) result {
	tb.Helper()
	src, err := stream.NewReplayTracks([][]float32{c.Mic, c.System},
		[]string{stream.ChannelMic, stream.ChannelSystem}, 0, frameDur)
	if err != nil {
		tb.Fatal(err)
	}
	var r result
	var micLen atomic.Int64
	log := &delayLog{at: func() time.Duration { return samplesDur(micLen.Load()) }}
	aec, err := New(src, Config{Logger: slog.New(log)})
	if err != nil {
		tb.Fatal(err)
	}
	out := make(chan stream.Frame)
	errc := make(chan error, 1)
	go func() {
		errc <- aec.Start(context.Background(), out)
		close(out)
	}()
	for f := range out {
		switch f.Channel {
		case stream.ChannelMic:
			if want := samplesDur(int64(len(r.mic))); f.At != want {
				tb.Fatalf("mic frame at %v, want %v: frames must follow each other without gaps", f.At, want)
			}
			r.mic = append(r.mic, f.Samples...)
			micLen.Store(int64(len(r.mic)))
		case stream.ChannelSystem:
			r.system = append(r.system, f.Samples...)
		default:
			tb.Fatalf("frame of channel %q", f.Channel)
		}
	}
	if err := <-errc; err != nil {
		tb.Fatal(err)
	}
	r.delay, r.measured = aec.Delay()
	r.delays = log.delays
	return r
}

// energy is the energy of s over the spans, skipping skip at the start of
// each.
func energy(s []float32, spans []laptopcall.Span, skip time.Duration) float64 {
	var e float64
	for _, sp := range spans {
		for i := samplesOf(sp.Start + skip); i < min(samplesOf(sp.End), int64(len(s))); i++ {
			e += float64(s[i]) * float64(s[i])
		}
	}
	return e
}

// erle is the echo return loss enhancement over the spans, in dB: how much
// quieter the echo is after cancellation.
func erle(before, after []float32, spans []laptopcall.Span, skip time.Duration) float64 {
	return 10 * math.Log10(energy(before, spans, skip)/energy(after, spans, skip))
}

// correlation is the normalised correlation of a and b over the spans.
func correlation(a, b []float32, spans []laptopcall.Span) float64 {
	var ab, aa, bb float64
	for _, sp := range spans {
		for i := samplesOf(sp.Start); i < min(samplesOf(sp.End), int64(len(a)), int64(len(b))); i++ {
			ab += float64(a[i]) * float64(b[i])
			aa += float64(a[i]) * float64(a[i])
			bb += float64(b[i]) * float64(b[i])
		}
	}
	return ab / math.Sqrt(aa*bb)
}

// convergence is how long into the first echo the canceller may take to
// measure the delay and learn the path.
const convergence = 2500 * time.Millisecond

func TestCancelsEchoAtEveryDelay(t *testing.T) {
	leaktest.Check(t)
	for _, delay := range []time.Duration{20 * time.Millisecond, 60 * time.Millisecond, 120 * time.Millisecond, 200 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			c := call(t, laptopcall.Spec{Delay: delay})
			r := cancelCall(t, c, stream.DefaultFrameDur)
			if len(r.mic) != len(c.Mic) || len(r.system) != len(c.System) {
				t.Fatalf("out: %d mic and %d system samples, want %d of each", len(r.mic), len(r.system), len(c.Mic))
			}
			for i := range c.System {
				if r.system[i] != c.System[i] {
					t.Fatalf("system sample %d changed: %v, want %v", i, r.system[i], c.System[i])
				}
			}
			first := erle(c.Mic, r.mic, c.RemoteOnly[:1], convergence)
			later := erle(c.Mic, r.mic, c.RemoteOnly[1:], 0)
			keptSeller := correlation(r.mic, c.Seller, c.SellerOnly)
			sellerDB := 10 * math.Log10(energy(r.mic, c.SellerOnly, 0)/energy(c.Seller, c.SellerOnly, 0))
			rawBoth, cleanBoth := correlation(c.Mic, c.Seller, c.Both), correlation(r.mic, c.Seller, c.Both)
			t.Logf("delay %v (measured %v): ERLE %.1f dB after convergence, %.1f dB on the later echo; seller alone: correlation %.3f, level %+.1f dB; double-talk: correlation with the seller %.3f raw, %.3f cleaned",
				delay, r.delay, first, later, keptSeller, sellerDB, rawBoth, cleanBoth)
			if !r.measured || (r.delay-delay).Abs() > 2*time.Millisecond {
				t.Errorf("delay measured %v (%v), want %v within 2ms", r.delay, r.measured, delay)
			}
			if first < 15 || later < 30 {
				t.Errorf("ERLE %.1f dB after convergence and %.1f dB later, want at least 15 and 30", first, later)
			}
			if keptSeller < 0.95 || math.Abs(sellerDB) > 1 {
				t.Errorf("the seller alone comes out with correlation %.3f and level %+.1f dB, want at least 0.95 and within 1 dB", keptSeller, sellerDB)
			}
			// In double-talk the seller must stay while the echo goes: the
			// cleaned mic is closer to the seller's voice than the raw one.
			if cleanBoth < 0.95 || cleanBoth <= rawBoth {
				t.Errorf("double-talk: correlation with the seller %.3f cleaned, %.3f raw; want at least 0.95 and above raw", cleanBoth, rawBoth)
			}
		})
	}
}

func TestFollowsADelayChange(t *testing.T) {
	leaktest.Check(t)
	c := call(t, laptopcall.Spec{Delay: 60 * time.Millisecond, Delay2: 150 * time.Millisecond, ChangeAt: 15 * time.Second})
	r := cancelCall(t, c, stream.DefaultFrameDur)
	later := erle(c.Mic, r.mic, c.RemoteOnly[1:], convergence)
	t.Logf("measured %v at the end; ERLE after the change %.1f dB", r.delay, later)
	if !r.measured || (r.delay-150*time.Millisecond).Abs() > 2*time.Millisecond {
		t.Errorf("delay measured %v (%v) after the change, want 150ms within 2ms", r.delay, r.measured)
	}
	if later < 25 {
		t.Errorf("ERLE after the change %.1f dB, want at least 25", later)
	}
	var before []time.Duration
	for _, d := range r.delays {
		if d.at < c.Spec.ChangeAt {
			before = append(before, d.delay)
		}
	}
	if len(before) == 0 || (before[len(before)-1]-60*time.Millisecond).Abs() > 2*time.Millisecond {
		t.Errorf("delays measured before the change: %v, want the last within 2ms of 60ms", before)
	}
}
