package agent

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/stream"
)

// slowEngine takes a set time for every decode, as a big model on a busy
// machine does, and says one sentence over whatever it was given.
type slowEngine struct {
	took time.Duration
	say  sayingEngine

	mu      sync.Mutex
	decoded time.Duration // audio of every window decoded
}

func (e *slowEngine) Transcribe(ctx context.Context, pcm []float32, opt asr.Options) (asr.Result, error) {
	select {
	case <-time.After(e.took):
	case <-ctx.Done():
		return asr.Result{}, ctx.Err()
	}
	e.mu.Lock()
	e.decoded += samplesDur(len(pcm))
	e.mu.Unlock()
	return e.say.Transcribe(ctx, pcm, opt)
}

var _ asr.Engine = (*slowEngine)(nil)

// pacedSilence sends silence at the live pace and notes the longest time a
// send had to wait: how long the meeting held this channel up.
type pacedSilence struct {
	channel string
	dur     time.Duration

	mu      sync.Mutex
	longest time.Duration
}

func (p *pacedSilence) Channels() []string { return []string{p.channel} }

func (p *pacedSilence) Start(ctx context.Context, out chan<- stream.Frame) error {
	const frame = 20 * time.Millisecond
	tick := time.NewTicker(frame)
	defer tick.Stop()
	for at := time.Duration(0); at < p.dur; at += frame {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		f := stream.Frame{Channel: p.channel, At: at, Samples: make([]float32, samplesOf(frame))}
		began := time.Now()
		select {
		case out <- f:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.mu.Lock()
		p.longest = max(p.longest, time.Since(began))
		p.mu.Unlock()
	}
	return nil
}

// runToEnd runs a session of meeting m1 on cfg, logging into log, until its
// sources end, and returns it with what it stored.
func runToEnd(t *testing.T, log *ledger.MemLog, cfg Config) (*Session, []ledger.Event) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	events, err := log.Since(context.Background(), "m1", 0)
	if err != nil {
		t.Fatal(err)
	}
	return s, events
}

// speechOf is how much speech the segmenter finds in samples framed as a
// replay frames them: what a channel must hand to its speech stream.
func speechOf(t *testing.T, samples []float32) time.Duration {
	t.Helper()
	src, err := stream.NewReplaySamples(samples, "mic", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan stream.Frame, 1<<12)
	go func() {
		_ = src.Start(context.Background(), frames)
		close(frames)
	}()
	seg := stream.NewSegmenter(stream.SegmenterConfig{})
	var total time.Duration
	count := func(chunks []stream.Chunk) {
		for _, c := range chunks {
			total += chunkDur(c)
		}
	}
	for f := range frames {
		count(seg.Push(f))
	}
	count(seg.Flush())
	return total
}

// A decode that takes 4 s on one channel holds up neither the meeting's
// other channels nor its sources, and its own channel loses no speech that
// fits its queue.
func TestSlowDecodeHoldsUpNoOtherChannel(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	speech := sampleSpeech(t, 6)
	mic, err := stream.NewReplaySamples(speech, "mic", 0, 0) // all at once: the slow channel's backlog
	if err != nil {
		t.Fatal(err)
	}
	quiet := &pacedSilence{channel: "system", dur: 5 * time.Second}
	eng := &slowEngine{took: 4 * time.Second, say: sayingEngine{"we will send the pricing"}}
	s, events := runToEnd(t, log, Config{Meeting: "m1", Engine: eng, Log: log, Sources: []stream.Source{mic, quiet},
		Speakers: map[string]Speaker{"mic": {Name: "Dana"}, "system": {Name: "Omar"}}})

	quiet.mu.Lock()
	longest := quiet.longest
	quiet.mu.Unlock()
	if longest > 100*time.Millisecond {
		t.Errorf("the paced channel was held up for %v by the other channel's decode; want under 100ms", longest)
	}
	want := speechOf(t, speech)
	st := s.Stats()["mic"]
	if want == 0 || st.AudioPushed != want || st.AudioDiscarded != 0 {
		t.Errorf("slow channel: %v of speech reached its stream (%v discarded), want all %v", st.AudioPushed, st.AudioDiscarded, want)
	}
	if st.Decodes == 0 {
		t.Error("the slow channel never decoded")
	}
	finals := 0
	for _, e := range events {
		switch e.Type {
		case ledger.TypeChannelLoss:
			t.Errorf("speech that fits the queue was reported lost: %+v", *e.Loss)
		case ledger.TypeSegmentFinal:
			finals++
		}
	}
	if finals == 0 {
		t.Error("no final from the slow channel")
	}
}

// Speech that outgrows a channel's queue while its decode is stuck is
// dropped oldest first, counted, and reported to viewers; the rest is decoded.
func TestChannelQueueDropsOldestSpeechAndReportsIt(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	speech := sampleSpeech(t, 12)
	mic, err := stream.NewReplaySamples(speech, "mic", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	eng := &slowEngine{took: time.Second, say: sayingEngine{"hello there"}}
	s, events := runToEnd(t, log, Config{Meeting: "m1", Engine: eng, Log: log, Sources: []stream.Source{mic},
		Speakers: map[string]Speaker{"mic": {Name: "Dana"}}, SpeechQueue: 2*time.Second + 30*time.Microsecond}) // between two sample times
	var loss *ledger.LossInfo
	for _, e := range events {
		if e.Type == ledger.TypeChannelLoss {
			loss = e.Loss
		}
	}
	total := speechOf(t, speech)
	st := s.Stats()["mic"]
	if loss == nil || loss.Channel != "mic" || loss.UndecodedMS <= 0 || loss.CaptureMS != 0 {
		t.Fatalf("last channel.loss = %+v, want undecoded speech on mic", loss)
	}
	if got := st.AudioPushed + time.Duration(loss.UndecodedMS)*time.Millisecond; got < total-time.Millisecond || got > total {
		t.Errorf("decoded %v + dropped %dms = %v, want the %v of speech accounted for", st.AudioPushed, loss.UndecodedMS, got, total)
	}
}

// lossySource plays silence with a hole in it, as a capture device that
// overflowed reports one.
type lossySource struct{}

func (lossySource) Channels() []string { return []string{"mic"} }

func (lossySource) Start(ctx context.Context, out chan<- stream.Frame) error {
	frame := 20 * time.Millisecond
	at := time.Duration(0)
	for i := range 50 {
		f := stream.Frame{Channel: "mic", At: at, Samples: make([]float32, samplesOf(frame))}
		if i == 10 {
			f.Lost = 300 * time.Millisecond
			f.At += f.Lost
			at += f.Lost
		}
		select {
		case out <- f:
		case <-ctx.Done():
			return ctx.Err()
		}
		at += frame
	}
	return nil
}

// Audio a capture device lost is recorded for viewers, with where it was lost.
func TestCaptureLossIsRecorded(t *testing.T) {
	log := ledger.NewMemLog()
	defer log.Close()
	_, events := runToEnd(t, log, Config{Meeting: "m1", Engine: sayingEngine{"hello"}, Log: log, Sources: []stream.Source{lossySource{}},
		Speakers: map[string]Speaker{"mic": {Name: "Dana"}}})
	var losses []ledger.LossInfo
	for _, e := range events {
		if e.Type == ledger.TypeChannelLoss {
			losses = append(losses, *e.Loss)
		}
	}
	want := ledger.LossInfo{Channel: "mic", CaptureMS: 300, AtMS: 500}
	if len(losses) != 1 || losses[0] != want {
		t.Errorf("channel.loss events %+v, want one %+v", losses, want)
	}
}
