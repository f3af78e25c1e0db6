package stream

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// meetingFixture is two spoken sentences (espeak-ng) with 1.2 s between them
// and 0.5 s of silence either side, 16 kHz mono.
func meetingFixture(t testing.TB) []float32 {
	t.Helper()
	a, err := LoadWAV(filepath.Join("testdata", "meeting-16k-mono-16.wav"))
	if err != nil {
		t.Fatal(err)
	}
	return a.Samples
}

// pad surrounds x with silence.
func pad(before time.Duration, x []float32, after time.Duration) []float32 {
	out := make([]float32, durationSamples(before), int(durationSamples(before))+len(x)+int(durationSamples(after)))
	out = append(out, x...)
	return append(out, make([]float32, durationSamples(after))...)
}

func addNoise(x, noise []float32) []float32 {
	out := slices.Clone(x)
	for i := range out {
		out[i] += noise[i]
	}
	return out
}

// runSegmenter pushes x, starting at meeting time at0, in frames of size samples,
// then flushes.
func runSegmenter(s *Segmenter, channel string, x []float32, at0 time.Duration, size int) []Chunk {
	var out []Chunk
	base := durationSamples(at0)
	for i := 0; i < len(x); i += size {
		f := Frame{Channel: channel, At: samplesDuration(base + int64(i)), Samples: slices.Clone(x[i:min(i+size, len(x))])}
		out = append(out, s.Push(f)...)
	}
	return append(out, s.Flush()...)
}

// utterance is the chunks of one utterance joined.
type utterance struct {
	at      time.Duration
	samples []float32
}

func (u utterance) end() time.Duration { return u.at + samplesDuration(int64(len(u.samples))) }

func (u utterance) String() string { return fmt.Sprintf("[%v, %v]", u.at, u.end()) }

// join checks the chunk invariants and groups the chunks into utterances:
// chunks of an utterance are contiguous, utterances are ordered and apart,
// every chunk names the channel and every sample is the input sample at that
// meeting time (x starts at at0).
func join(t *testing.T, chunks []Chunk, channel string, x []float32, at0 time.Duration) []utterance {
	t.Helper()
	var utts []utterance
	open := false
	for i, c := range chunks {
		if c.Channel != channel {
			t.Fatalf("chunk %d is on channel %q, want %q", i, c.Channel, channel)
		}
		if !open {
			if n := len(utts); n > 0 && c.At < utts[n-1].end() {
				t.Fatalf("chunk %d at %v starts inside the previous utterance %v", i, c.At, utts[n-1])
			}
			utts = append(utts, utterance{at: c.At})
			open = true
		}
		u := &utts[len(utts)-1]
		if c.At != u.end() {
			t.Fatalf("chunk %d at %v leaves a gap or overlap: its utterance has reached %v", i, c.At, u.end())
		}
		if len(c.Samples) == 0 && !c.End {
			t.Fatalf("chunk %d at %v is empty and does not end the utterance", i, c.At)
		}
		from := durationSamples(c.At - at0)
		if from < 0 || from+int64(len(c.Samples)) > int64(len(x)) {
			t.Fatalf("chunk %d [%v, %v] lies outside the input", i, c.At, c.EndAt())
		}
		if !slices.Equal(c.Samples, x[from:from+int64(len(c.Samples))]) {
			t.Fatalf("chunk %d at %v does not hold the input audio of that time", i, c.At)
		}
		u.samples = append(u.samples, c.Samples...)
		if c.End {
			open = false
		}
	}
	if open {
		t.Fatalf("the last utterance %v was never ended", utts[len(utts)-1])
	}
	return utts
}

func TestSegmenterFindsUtterancesInNoise(t *testing.T) {
	clean := pad(time.Second, meetingFixture(t), time.Second)
	want := truth(clean)
	if len(want) != 2 {
		t.Fatalf("truth has %d segments, want the 2 sentences: %v", len(want), want)
	}
	cfg := SegmenterConfig{}.withDefaults()
	const at0 = 90 * time.Second // the channel joined the meeting late
	for i, level := range []float64{-200, -50, -40} {
		t.Run(fmt.Sprintf("pink noise %v dBFS", level), func(t *testing.T) {
			x := addNoise(clean, pinkNoise(rand.New(rand.NewPCG(uint64(i), 5)), len(clean), dbfs(level)))
			utts := join(t, runSegmenter(NewSegmenter(SegmenterConfig{}), "mic", x, at0, 320), "mic", x, at0)
			// A pause inside a sentence may split it, but every utterance
			// lies within a sentence widened by the rolls (and one VAD frame
			// of slack): the silence around the sentences is never sent.
			slack := 30 * time.Millisecond
			for _, u := range utts {
				start, end := u.at-at0, u.end()-at0
				if !slices.ContainsFunc(want, func(w segment) bool {
					return start >= w.start-cfg.PreRoll-slack && end <= w.end+cfg.PostRoll+slack
				}) {
					t.Errorf("utterance [%v, %v] reaches into the silence around the sentences %v", start, end, want)
				}
			}
			// Every sentence is sent, give or take one VAD frame at its edges.
			for _, w := range want {
				for at := w.start + slack; at < w.end-slack; at += 10 * time.Millisecond {
					if !slices.ContainsFunc(utts, func(u utterance) bool { return u.at <= at0+at && at0+at < u.end() }) {
						t.Errorf("sentence %v: %v was not sent (utterances %v)", w, at, utts)
						break
					}
				}
			}
		})
	}
}

func TestSegmenterRollsAroundVADBoundaries(t *testing.T) {
	x := pad(time.Second, meetingFixture(t), time.Second)
	vad := detect(t, x)
	cfg := SegmenterConfig{PreRoll: 250 * time.Millisecond, PostRoll: 50 * time.Millisecond}
	utts := join(t, runSegmenter(NewSegmenter(cfg), "system", x, 0, 320), "system", x, 0)
	if len(utts) != len(vad) {
		t.Fatalf("utterances %v, VAD found %v", utts, vad)
	}
	for k, v := range vad {
		if utts[k].at != v.start-cfg.PreRoll || utts[k].end() != v.end+cfg.PostRoll {
			t.Errorf("utterance %d is %v; want the VAD's %v widened by %v before and %v after",
				k, utts[k], v, cfg.PreRoll, cfg.PostRoll)
		}
	}
}

// While a speaker talks, the segmenter holds nothing back: a recogniser hears
// each frame of speech as soon as it is pushed, and only a pause waits for the
// VAD to tell whether it ends the utterance.
func TestSegmenterSendsSpeechAsItComes(t *testing.T) {
	x := pad(time.Second, meetingFixture(t), time.Second)
	const size = 320
	s := NewSegmenter(SegmenterConfig{})
	var lags []time.Duration // inside speech, audio pushed but not yet sent
	var sent int64
	for i := 0; i < len(x); i += size {
		for _, c := range s.Push(Frame{Channel: "mic", At: samplesDuration(int64(i)), Samples: x[i:min(i+size, len(x))]}) {
			sent = durationSamples(c.EndAt())
		}
		if s.speaking {
			lags = append(lags, samplesDuration(int64(min(i+size, len(x)))-sent))
		}
	}
	if len(lags) == 0 {
		t.Fatal("the segmenter never found speech")
	}
	slices.Sort(lags)
	frame := samplesDuration(size)
	if p50 := lags[len(lags)/2]; p50 > frame {
		t.Errorf("inside speech, half the frames wait %v or more to be sent; want no more than one frame (%v)", p50, frame)
	}
	if most := lags[len(lags)-1]; most > (VADConfig{}).withDefaults().Hangover+frame {
		t.Errorf("audio waited %v to be sent, more than the VAD's hangover", most)
	}
}

func TestSegmenterSendsNothingForSilenceOrNoise(t *testing.T) {
	const n = 10 * SampleRate
	rng := rand.New(rand.NewPCG(9, 9))
	inputs := map[string][]float32{
		"digital silence":    make([]float32, n),
		"white -40 dBFS":     whiteNoise(rng, n, dbfs(-40)),
		"pink -25 dBFS":      pinkNoise(rng, n, dbfs(-25)),
		"50 Hz hum -20 dBFS": sine(50, SampleRate, n, dbfs(-17)),
	}
	for name, x := range inputs {
		t.Run(name, func(t *testing.T) {
			if got := runSegmenter(NewSegmenter(SegmenterConfig{}), "mic", x, 0, 320); len(got) != 0 {
				t.Fatalf("%d chunks sent, the first at %v", len(got), got[0].At)
			}
		})
	}
}

func TestSegmenterFrameSizeDoesNotMatter(t *testing.T) {
	x := pad(300*time.Millisecond, meetingFixture(t), 0)
	const at0 = 2 * time.Second
	want := join(t, runSegmenter(NewSegmenter(SegmenterConfig{}), "mic", x, at0, 480), "mic", x, at0)
	for _, size := range []int{1, 7, 320, 1000, 16000, len(x)} {
		got := join(t, runSegmenter(NewSegmenter(SegmenterConfig{}), "mic", x, at0, size), "mic", x, at0)
		if len(got) != len(want) {
			t.Fatalf("frames of %d samples: utterances %v, want %v", size, got, want)
		}
		for k := range want {
			if got[k].at != want[k].at || !slices.Equal(got[k].samples, want[k].samples) {
				t.Errorf("frames of %d samples: utterance %d is %v, want %v", size, k, got[k], want[k])
			}
		}
	}
}

func TestSegmenterCutsLongSpeech(t *testing.T) {
	x := pad(time.Second, meetingFixture(t), time.Second)
	whole := join(t, runSegmenter(NewSegmenter(SegmenterConfig{}), "mic", x, 0, 320), "mic", x, 0)
	const limit = 700 * time.Millisecond
	cut := join(t, runSegmenter(NewSegmenter(SegmenterConfig{MaxUtterance: limit}), "mic", x, 0, 320), "mic", x, 0)
	if len(cut) <= len(whole) {
		t.Fatalf("%d utterances with a %v limit, %d without: nothing was cut", len(cut), limit, len(whole))
	}
	// Cutting only splits: the pieces rejoin into the uncut utterances.
	var rejoined []utterance
	for _, u := range cut {
		if d := u.end() - u.at; d > limit {
			t.Errorf("utterance %v lasts %v, over the %v limit", u, d, limit)
		}
		if n := len(rejoined); n > 0 && rejoined[n-1].end() == u.at {
			rejoined[n-1].samples = append(rejoined[n-1].samples, u.samples...)
			continue
		}
		rejoined = append(rejoined, utterance{u.at, slices.Clone(u.samples)})
	}
	if len(rejoined) != len(whole) {
		t.Fatalf("pieces rejoin into %v, want %v", rejoined, whole)
	}
	for k := range whole {
		if rejoined[k].at != whole[k].at || !slices.Equal(rejoined[k].samples, whole[k].samples) {
			t.Errorf("pieces of utterance %d rejoin into %v, want %v", k, rejoined[k], whole[k])
		}
	}
}

func TestSegmenterFlushEndsOpenUtterance(t *testing.T) {
	x := pad(time.Second, meetingFixture(t), 0)
	x = x[:len(x)-2*SampleRate] // stop in the middle of the second sentence
	utts := join(t, runSegmenter(NewSegmenter(SegmenterConfig{}), "mic", x, 0, 320), "mic", x, 0)
	if len(utts) != 2 {
		t.Fatalf("utterances %v, want two", utts)
	}
	if end := samplesDuration(int64(len(x))); utts[1].end() != end {
		t.Errorf("the open utterance ends at %v, the audio at %v", utts[1].end(), end)
	}
}

func TestSegmenterGapEndsUtterance(t *testing.T) {
	x := pad(time.Second, meetingFixture(t), time.Second)
	mid := int(durationSamples(2500 * time.Millisecond)) // inside the first sentence
	s := NewSegmenter(SegmenterConfig{})
	var chunks []Chunk
	for i := 0; i < mid; i += 320 {
		chunks = append(chunks, s.Push(Frame{Channel: "mic", At: samplesDuration(int64(i)), Samples: x[i:min(i+320, mid)]})...)
	}
	// The same audio again is dropped as an overlap.
	if got := s.Push(Frame{Channel: "mic", At: 0, Samples: x[:mid]}); len(got) != 0 {
		t.Fatalf("overlapping audio produced %d chunks", len(got))
	}
	// The rest arrives after a 10 s gap.
	const gap = 10 * time.Second
	rest := x[mid:]
	for i := 0; i < len(rest); i += 320 {
		at := gap + samplesDuration(int64(mid+i))
		chunks = append(chunks, s.Push(Frame{Channel: "mic", At: at, Samples: rest[i:min(i+320, len(rest))]})...)
	}
	chunks = append(chunks, s.Flush()...)

	var before, after []Chunk
	for _, c := range chunks {
		if c.At < gap {
			before = append(before, c)
		} else {
			after = append(after, c)
		}
	}
	first := join(t, before, "mic", x, 0)
	if len(first) != 1 || first[0].end() != samplesDuration(int64(mid)) {
		t.Fatalf("before the gap: %v, want one utterance ending where the audio stopped, at %v",
			first, samplesDuration(int64(mid)))
	}
	shifted := pad(gap, x, 0) // x as it lies on the meeting clock after the gap
	later := join(t, after, "mic", shifted, 0)
	if len(later) == 0 || later[0].at < gap+samplesDuration(int64(mid)) {
		t.Fatalf("after the gap: %v, want utterances after %v", later, gap+samplesDuration(int64(mid)))
	}
}

func BenchmarkSegmenter(b *testing.B) {
	x := pad(time.Second, meetingFixture(b), time.Second)
	b.SetBytes(int64(len(x) * 4))
	for b.Loop() {
		s := NewSegmenter(SegmenterConfig{})
		for i := 0; i < len(x); i += 320 {
			s.Push(Frame{Channel: "mic", At: samplesDuration(int64(i)), Samples: x[i:min(i+320, len(x))]})
		}
		s.Flush()
	}
}
