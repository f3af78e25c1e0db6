package asr

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestStreamWithWhisper(t *testing.T) {
	w := loadTest(t, 1)
	s := newTestStream(t, StreamConfig{Engine: w, Options: Options{Language: "en", Threads: 2}, Prompt: "Ledgerline"})
	const at = 42 * time.Second
	audio := chirp(4)
	chunk := SampleRate / 4
	var ups []Update
	for i := 0; i < len(audio); i += chunk {
		got, err := s.Push(context.Background(), audio[i:i+chunk], at+durationOf(int64(i)))
		if err != nil {
			t.Fatalf("Push: %v", err)
		}
		ups = append(ups, got...)
	}
	got, err := s.EndUtterance(context.Background())
	if err != nil {
		t.Fatalf("EndUtterance: %v", err)
	}
	ups = append(ups, got...)

	var lastEnd time.Duration
	seen := map[string]bool{}
	for i, u := range ups {
		if u.Start < at || u.End > at+4*time.Second || u.End < u.Start {
			t.Errorf("update %d %q at [%v, %v] lies outside the pushed audio [%v, %v]", i, u.Text, u.Start, u.End, at, at+4*time.Second)
		}
		for _, tok := range u.Tokens {
			if tok.Start < u.Start || tok.End > u.End || tok.End < tok.Start {
				t.Errorf("update %d token %q at [%v, %v] outside its update", i, tok.Text, tok.Start, tok.End)
			}
		}
		if !u.Final {
			continue
		}
		if u.Start < lastEnd {
			t.Errorf("final %q starts at %v, before the previous final ends (%v)", u.Text, u.Start, lastEnd)
		}
		lastEnd = u.End
		if seen[u.Text] {
			t.Errorf("final text %q appears twice", u.Text)
		}
		seen[u.Text] = true
	}
	st := s.Stats()
	// The first decode after the first quarter second's push (firstStep), then one a second.
	if st.Decodes != 5 {
		t.Errorf("decodes = %d for 4 s at a 1 s step, want 5 (the first after 250 ms, none left for the end)", st.Decodes)
	}
	if st.AudioPushed != 4*time.Second {
		t.Errorf("AudioPushed = %v, want 4s", st.AudioPushed)
	}
	t.Logf("%d updates, stats %+v: %+v", len(ups), st, ups)
}

func BenchmarkStreamDecodes(b *testing.B) {
	w, err := NewWhisper(WhisperConfig{ModelPath: testModel(b), Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	audio := chirp(8)
	chunk := SampleRate / 4
	var decodes int
	var decoded, speech time.Duration
	for b.Loop() {
		s, err := NewStream(StreamConfig{Engine: w, Options: Options{Language: "en", Threads: 2}})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(audio); i += chunk {
			if _, err := s.Push(context.Background(), audio[i:i+chunk], durationOf(int64(i))); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := s.EndUtterance(context.Background()); err != nil {
			b.Fatal(err)
		}
		st := s.Stats()
		decodes += st.Decodes
		decoded += st.AudioDecoded
		speech += st.AudioPushed
	}
	b.ReportMetric(float64(decodes)/speech.Seconds(), "decodes/s_speech")
	b.ReportMetric(decoded.Seconds()/speech.Seconds(), "decoded/speech")
}

// slowEngine moves the fake clock on by took in each decode: an engine
// slower than the live audio.
type slowEngine struct {
	scripted
	clock *fakeClock
	took  time.Duration
}

func (e *slowEngine) Transcribe(ctx context.Context, pcm []float32, opt Options) (Result, error) {
	e.clock.now = e.clock.now.Add(e.took)
	return e.scripted.Transcribe(ctx, pcm, opt)
}

// A stream whose decodes take longer than a step decodes less often, so it
// keeps up with the live audio instead of falling further behind it.
func TestStreamSlowsDownWhenDecodingIsSlow(t *testing.T) {
	for _, tc := range []struct {
		took     time.Duration
		decodes  int // at most, for 12 s of speech
		wantStep time.Duration
	}{
		{took: 200 * time.Millisecond, decodes: 13, wantStep: time.Second}, // the early look, then one a step
		{took: 3 * time.Second, decodes: 4, wantStep: 3750 * time.Millisecond},
		{took: 20 * time.Second, decodes: 2, wantStep: DefaultMaxBuffer / 2},
	} {
		clock := new(fakeClock)
		e := &slowEngine{clock: clock, took: tc.took}
		s := newTestStream(t, StreamConfig{Engine: e, Options: Options{Language: "en"}})
		s.now = clock.Now
		chunk := make([]float32, SampleRate/10)
		for i := range 120 {
			if _, err := s.Push(context.Background(), chunk, time.Duration(i)*100*time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
		if got := len(e.windows); got > tc.decodes || got == 0 {
			t.Errorf("decodes taking %v: %d decodes of 12 s of speech, want 1..%d", tc.took, got, tc.decodes)
		}
		if st := s.Stats(); st.Step != tc.wantStep {
			t.Errorf("decodes taking %v: step %v, want %v", tc.took, st.Step, tc.wantStep)
		}
	}
}

// A caller that fell behind pushes all it has at once: the stream decodes the
// newest window in one go instead of catching up step by step, and cuts a
// push longer than its buffer only where the bound needs it, dropping nothing.
func TestStreamDecodesABacklogAsTheNewestWindow(t *testing.T) {
	e := &scripted{}
	s := newTestStream(t, StreamConfig{Engine: e})
	push(t, s, loud(12*time.Second), 0)
	if !slices.Equal(e.windows, []int{int(samplesOf(12 * time.Second))}) {
		t.Errorf("windows = %v, want one decode of all 12 s", e.windows)
	}

	e = &scripted{}
	s = newTestStream(t, StreamConfig{Engine: e})
	push(t, s, loud(40*time.Second), 0)
	end(t, s)
	st := s.Stats()
	if st.AudioDiscarded != 0 || st.AudioPushed != 40*time.Second {
		t.Errorf("pushed %v, discarded %v: want all 40 s kept", st.AudioPushed, st.AudioDiscarded)
	}
	if len(e.windows) > 6 {
		t.Errorf("%d decodes for a 40 s backlog (windows %v): want it caught up in few", len(e.windows), e.windows)
	}
	for _, w := range e.windows {
		if w > int(samplesOf(DefaultMaxBuffer)) {
			t.Errorf("window of %d samples passes the buffer bound", w)
		}
	}
}
