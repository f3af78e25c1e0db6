package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/internal/clock"
	"github.com/ledgerline/ledgerline/models"
)

// Live capacity: how many channels, each a live asr.Stream fed at real time, a set of decode slots
// keeps up with. A probe runs k channels at once, each on LEDGERLINE_BENCH_PROBE_SECONDS of
// speech (default 30), their starts spread over the longest step (7.5 s) as meetings' speech is
// not in step: every channel is handed the audio that has arrived by now (in 100 ms chunks, or all
// that arrived while its stream was decoding, as a channel's decode goroutine takes everything
// queued at once), and its stream decodes it, pacing itself (asr.Stream's pace) when decodes take
// long. The lag of a channel is the age of the oldest speech not yet handed to its stream, sampled
// every 20 ms on every channel while all k are live (from the last one's start to the first one's
// end). The channels keep up when its 95th percentile stays under 3 s (the bound of the WHIP
// capacity benchmark's caption lag) and no speech is dropped undecoded; a probe stops as soon as
// more than 5 % of its samples are over. With pacing, the lag grows with the load rather than
// without bound until the longest step, so a lag bound is what tells real time from slowly falling
// behind. The capacity is the largest k whose probe passes. The engines compared are searched in
// turns, probe by probe, so that they share whatever else the machine is doing at the time; each
// search starts from a guess made from the decode time of one 15 s window. Probes are short, so
// the lag has not always levelled off by their end: the figures compare engines under the same
// probe, they are not a forecast for hours of meetings.
//
// The model is random-weight, of the tiny model's shape (models.ShapeTiny): its decoding costs
// what the real tiny model's does, but its text is noise, so consecutive hypotheses rarely agree
// and windows run to the buffer's bound (forced commits), as they would for speech the model
// cannot make out: a heavier load than real speech gives. Decoding is greedy with no temperature
// fallback (which a random-weight model would trigger on every window).
const probeEnv = "LEDGERLINE_BENCH_PROBE_SECONDS"

const (
	// lagLimit bounds the lag of channels that keep up, at lagQuantile of the samples.
	lagLimit    = 3 * time.Second
	lagQuantile = 0.95
	// spread is how far apart the first and the last channel of a probe start: the longest step.
	spread = asr.DefaultMaxBuffer / 2
	// lagTick is how often each channel's lag is sampled.
	lagTick = 20 * time.Millisecond
	// feedChunk is how often new speech arrives for a channel.
	feedChunk = 100 * time.Millisecond
	// maxProbes bounds one search.
	maxProbes = 10
)

// liveOptions are the decode options of every probe's streams.
var liveOptions = asr.Options{Language: "en", MaxFallbacks: -1}

// liveSlots are the decodes one engine runs at once: whisperModel's decoder states, and the slots
// of each worker.
const liveSlots = 2

// liveThreads is each decode's threads: as `serve --workers 2` sizes them, the cores shared
// between the slots.
func liveThreads() int { return max(runtime.NumCPU()/liveSlots, 1) }

// BenchmarkRemoteCapacity finds, in one run, the live channels sustained at real time by two
// decode slots in this process (whisper.cpp, random-weight tiny-shaped model) and by the same
// engine's two slots decoding through one worker on the embedded broker (asr/remote), and reports
// both per slot and the remote path's loss of capacity (target: at most 10 %). The two share the
// process's CPUs with nothing but the broker (and whatever else runs on the machine).
func BenchmarkRemoteCapacity(b *testing.B) {
	threads := liveThreads()
	w, sum := whisperModel(b, models.ShapeTiny, threads)
	r := newRigModel(b, sum)
	r.worker(w, sum, "bench", liveSlots)
	seconds := probeSeconds(b)
	for b.Loop() {
		guess := guessChannels(b, w, liveSlots)
		local := newSearch("in-process", liveSlots, guess, func(k int) probe { return runProbe(b, w, k, seconds, nil) })
		remote := newSearch("one worker", liveSlots, guess, func(k int) probe { return runProbe(b, r.engine, k, seconds, r.drained) })
		searchAlternately(b, local, remote)
		b.ReportMetric(liveSlots, "slots")
		b.ReportMetric(float64(threads), "threads/decode")
		b.ReportMetric(float64(local.channels), "local-channels")
		b.ReportMetric(float64(remote.channels), "remote-channels")
		b.ReportMetric(local.perSlot(), "local-channels/slot")
		b.ReportMetric(remote.perSlot(), "remote-channels/slot")
		b.ReportMetric(ratio(remote.channels, local.channels), "remote/local")
		b.ReportMetric(100*(1-ratio(remote.channels, local.channels)), "capacity-lost-%")
		b.ReportMetric(float64(local.at.lag.Milliseconds()), "local-lag-p95-ms")
		b.ReportMetric(float64(remote.at.lag.Milliseconds()), "remote-lag-p95-ms")
		b.ReportMetric(float64(local.probes+remote.probes), "probes")
		b.Logf("random-weight %s-shaped model, %d cores, %d slots × %d threads, %.0f s probes: in-process %d channels sustained "+
			"(%d failed), through one worker %d (%d failed)", models.ShapeTiny, runtime.NumCPU(), liveSlots, threads,
			seconds.Seconds(), local.channels, local.failed, remote.channels, remote.failed)
	}
}

// BenchmarkRemoteWorkers finds, in one run, the live channels sustained at real time through one
// worker and through two, each worker with its own engine (its own copy of the random-weight
// tiny-shaped model) and the same slots and threads, all in this process: the growth of capacity
// with a second worker. On a machine whose cores the first worker's slots already fill, the second
// competes with it for the same CPUs, and the figure says so.
func BenchmarkRemoteWorkers(b *testing.B) {
	threads := liveThreads()
	w1, sum := whisperModel(b, models.ShapeTiny, threads)
	w2, sum2 := whisperModel(b, models.ShapeTiny, threads)
	if sum2 != sum {
		b.Fatalf("two random-weight models made alike have checksums %s and %s", sum, sum2)
	}
	one := newRigModel(b, sum)
	one.worker(w1, sum, "a", liveSlots)
	two := newRigModel(b, sum)
	two.worker(w1, sum, "a", liveSlots)
	two.worker(w2, sum, "b", liveSlots)
	seconds := probeSeconds(b)
	for b.Loop() {
		guess := guessChannels(b, w1, liveSlots)
		single := newSearch("one worker", liveSlots, guess, func(k int) probe { return runProbe(b, one.engine, k, seconds, one.drained) })
		double := newSearch("two workers", 2*liveSlots, guess, func(k int) probe { return runProbe(b, two.engine, k, seconds, two.drained) })
		searchAlternately(b, single, double)
		b.ReportMetric(float64(runtime.NumCPU()), "cores")
		b.ReportMetric(liveSlots, "slots/worker")
		b.ReportMetric(float64(threads), "threads/decode")
		b.ReportMetric(float64(single.channels), "1-worker-channels")
		b.ReportMetric(float64(double.channels), "2-worker-channels")
		b.ReportMetric(single.perSlot(), "1-worker-channels/slot")
		b.ReportMetric(double.perSlot(), "2-worker-channels/slot")
		b.ReportMetric(ratio(double.channels, single.channels), "2/1-workers")
		b.ReportMetric(float64(single.at.lag.Milliseconds()), "1-worker-lag-p95-ms")
		b.ReportMetric(float64(double.at.lag.Milliseconds()), "2-worker-lag-p95-ms")
		b.ReportMetric(float64(single.probes+double.probes), "probes")
		b.Logf("random-weight %s-shaped model, %d cores, %d slots × %d threads per worker (%d threads busy with two workers), "+
			"%.0f s probes: one worker %d channels sustained (%d failed), two workers %d (%d failed)", models.ShapeTiny,
			runtime.NumCPU(), liveSlots, threads, 2*liveSlots*threads, seconds.Seconds(), single.channels, single.failed,
			double.channels, double.failed)
	}
}

func probeSeconds(b *testing.B) time.Duration {
	v := os.Getenv(probeEnv)
	if v == "" {
		return 30 * time.Second
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 5 {
		b.Fatalf("%s=%q: give a whole number of seconds ≥ 5", probeEnv, v)
	}
	return time.Duration(n) * time.Second
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// guessChannels estimates the capacity of slots decodes from the time d one 15 s window takes: a
// paced stream waits 1.25 times its last decode between decodes, so k streams on slots decodes of
// about d each wait some k·d/(1.25·slots) per decode, and that is their lag.
func guessChannels(b *testing.B, engine asr.Engine, slots int) int {
	pcm := speech(asr.DefaultMaxBuffer.Seconds(), 1)
	if _, err := engine.Transcribe(b.Context(), pcm, liveOptions); err != nil { // warms the decoder states
		b.Fatal(err)
	}
	began := time.Now()
	if _, err := engine.Transcribe(b.Context(), pcm, liveOptions); err != nil {
		b.Fatal(err)
	}
	took := time.Since(began)
	guess := max(int(1.25*float64(slots)*lagLimit.Seconds()/took.Seconds()), 1)
	b.Logf("a 15 s window decodes in %s: starting from %d channels", took.Round(time.Millisecond), guess)
	return guess
}

// capacity is what a search found.
type capacity struct {
	channels int // the largest k whose probe passed; 0 if none did
	slots    int
	at       probe // the probe of channels
	probes   int
	failed   int // the smallest k whose probe failed; 0 if none did
}

func (c capacity) perSlot() float64 { return float64(c.channels) / float64(c.slots) }

// search looks for the capacity of one engine: from a guess up or down until it finds k that
// passes and k+1 that fails.
type search struct {
	name string
	run  func(k int) probe
	capacity
	k      int
	done   bool
	probed []string
}

func newSearch(name string, slots, guess int, run func(k int) probe) *search {
	return &search{name: name, run: run, capacity: capacity{slots: slots}, k: max(guess, 1)}
}

// step runs the next probe.
func (s *search) step(b *testing.B) {
	p := s.run(s.k)
	s.probes++
	s.probed = append(s.probed, p.String())
	if p.ok {
		s.channels, s.at = s.k, p
	} else {
		s.failed = s.k
	}
	lo, hi := s.channels, s.failed
	switch {
	case hi == lo+1:
		s.done = true
		b.Logf("%s: %s", s.name, strings.Join(s.probed, ", "))
	case s.probes == maxProbes:
		s.done = true
		b.Logf("%s: %s; no bound found in %d probes", s.name, strings.Join(s.probed, ", "), maxProbes)
	case hi == 0:
		s.k = lo + max(1, lo/4)
	case lo == 0:
		s.k = hi - max(1, hi/4)
	default:
		s.k = (lo + hi) / 2
	}
}

// searchAlternately runs the searches' probes in turn, so that they share whatever else the
// machine is doing at the time, until each has found its capacity.
func searchAlternately(b *testing.B, searches ...*search) {
	for {
		ran := false
		for _, s := range searches {
			if !s.done {
				s.step(b)
				ran = true
			}
		}
		if !ran {
			return
		}
	}
}

// probe is what one probe of k channels measured.
type probe struct {
	ok        bool
	channels  int
	lag       time.Duration // the lagQuantile of the lag samples
	maxLag    time.Duration // the largest
	discarded time.Duration // speech the streams dropped undecoded
	decodes   int
	step      time.Duration // the mean of the streams' last steps
}

func (p probe) String() string {
	verdict := "kept up"
	if !p.ok {
		verdict = "behind"
	}
	s := fmt.Sprintf("%d %s (lag p%.0f %.1f s, max %.1f s, step %.1f s", p.channels, verdict, 100*lagQuantile, p.lag.Seconds(),
		p.maxLag.Seconds(), p.step.Seconds())
	if p.discarded > 0 {
		s += fmt.Sprintf(", %s undecoded", p.discarded)
	}
	return s + ")"
}

// runProbe runs k live channels on engine, each fed seconds of speech at real time, and measures
// their lag while all k are live: from the last one's start to the first one's end, or until too
// many samples are over the limit. drained, when set, waits until the engine has nothing left
// queued or decoding, so that the next probe starts on idle workers.
func runProbe(b *testing.B, engine asr.Engine, k int, seconds time.Duration, drained func(context.Context) error) probe {
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	audio := make([][]float32, k) // each its own, so that the channels' decodes do not go in step
	for i := range audio {
		audio[i] = speech(seconds.Seconds(), i+1)
	}
	chunk := int(feedChunk * asr.SampleRate / time.Second)
	start := time.Now().Add(100 * time.Millisecond)
	// Channels start spread over the longest step, as meetings' speech does, not in step.
	begins := make([]time.Time, k)
	for i := range begins {
		begins[i] = start.Add(time.Duration(i) * spread / time.Duration(k))
	}
	judged, judgedEnd := begins[k-1], begins[0].Add(seconds)
	given := make([]atomic.Int64, k) // samples handed to each stream
	stats := make([]asr.StreamStats, k)
	errs := make(chan error, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- feedChannel(ctx, engine, audio[i], begins[i], chunk, &given[i], &stats[i])
		}()
	}

	p := probe{ok: true, channels: k}
	expected := k * int(judgedEnd.Sub(judged)/lagTick)
	var samples []time.Duration
	over := 0
	tick := time.NewTicker(lagTick)
	for now := range tick.C {
		if now.After(judgedEnd) {
			break
		}
		for i := range given {
			if now.Before(begins[i]) {
				continue
			}
			if now.Before(judged) {
				continue
			}
			lag := now.Sub(begins[i].Add(time.Duration(given[i].Load()) * time.Second / asr.SampleRate))
			p.maxLag = max(p.maxLag, lag)
			samples = append(samples, lag)
			if lag > lagLimit {
				over++
			}
		}
		if float64(over) > (1-lagQuantile)*float64(expected) {
			break // the quantile is over the limit whatever follows
		}
	}
	tick.Stop()
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			b.Fatalf("%d channels: %v", k, err)
		}
	}
	if len(samples) == 0 {
		b.Fatalf("%d channels: no lag sampled", k)
	}
	slices.Sort(samples)
	p.lag = samples[int(lagQuantile*float64(len(samples)-1))]
	if over > 0 && float64(over) > (1-lagQuantile)*float64(len(samples)) {
		p.lag = max(p.lag, lagLimit+time.Millisecond) // stopped early: over the limit
	}
	for _, st := range stats {
		p.discarded += st.AudioDiscarded
		p.decodes += st.Decodes
		p.step += st.Step
	}
	p.step /= time.Duration(k)
	p.ok = p.lag <= lagLimit && p.discarded == 0
	if drained != nil {
		if err := drained(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// feedChannel hands audio to a new stream as it arrives from begin on, feedChunk at a time or all
// that arrived while the stream was decoding, until ctx is done or all was handed over. given is
// kept at the samples handed over (counted once Push returns).
func feedChannel(ctx context.Context, engine asr.Engine, audio []float32, begin time.Time, chunk int,
	given *atomic.Int64, stats *asr.StreamStats) error {
	st, err := asr.NewStream(asr.StreamConfig{Engine: engine, Options: liveOptions})
	if err != nil {
		return err
	}
	defer func() { *stats = st.Stats() }()
	if err := clock.SleepUntil(ctx, begin); err != nil {
		return err
	}
	n := 0
	for n < len(audio) {
		chunks := int(time.Since(begin) / feedChunk)
		arrived := min(chunks*chunk, len(audio))
		if arrived <= n {
			if err := clock.SleepUntil(ctx, begin.Add(time.Duration(chunks+1)*feedChunk)); err != nil {
				return err
			}
			continue
		}
		at := time.Duration(n) * time.Second / asr.SampleRate
		if _, err := st.Push(ctx, audio[n:arrived], at); err != nil {
			return err
		}
		n = arrived
		given.Store(int64(n))
	}
	return nil
}

// drained waits until the rig's job queue is empty: every job sent has been answered (or dropped
// as expired) and acknowledged, so that no worker is still decoding for a probe that ended.
func (r *rig) drained(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := r.engine.js.Stream(ctx, StreamName)
	if err != nil {
		return err
	}
	for {
		info, err := s.Info(ctx)
		if err != nil {
			return fmt.Errorf("the job queue did not empty: %w", err)
		}
		if info.State.Msgs == 0 {
			return nil
		}
		if err := clock.Sleep(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("the job queue did not empty: %d jobs left", info.State.Msgs)
		}
	}
}
