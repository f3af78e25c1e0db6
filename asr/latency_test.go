package asr

import (
	"slices"
	"testing"
	"time"
)

// pushFrames pushes d of speech from at in 20 ms frames, as live capture
// delivers it.
func pushFrames(t *testing.T, s *Stream, at, d time.Duration) []Update {
	t.Helper()
	const frame = 20 * time.Millisecond
	var ups []Update
	for off := time.Duration(0); off < d; off += frame {
		ups = append(ups, push(t, s, loud(frame), at+off)...)
	}
	return ups
}

func TestStreamFirstDecodeOfUtteranceComesEarly(t *testing.T) {
	e := &scripted{results: []func([]float32) Result{say("we"), say("we ship"), say("we ship it"), say("next")}}
	s := newTestStream(t, StreamConfig{Engine: e})
	ups := pushFrames(t, s, 0, firstStep)
	if got := texts(ups, false); !slices.Equal(got, []string{"we"}) {
		t.Fatalf("partials after %v of speech = %q, want [we]", firstStep, got)
	}
	pushFrames(t, s, firstStep, time.Second-20*time.Millisecond)
	if len(e.windows) != 1 {
		t.Fatalf("%d decodes before a whole step followed the first, want 1", len(e.windows))
	}
	pushFrames(t, s, firstStep+time.Second-20*time.Millisecond, 20*time.Millisecond)
	end(t, s)
	want := []int{int(samplesOf(firstStep)), int(samplesOf(firstStep + time.Second))}
	if len(e.windows) < 2 || !slices.Equal(e.windows[:2], want) {
		t.Errorf("windows = %v, want the first at %v of speech and the next a step later %v", e.windows, firstStep, want)
	}
	// Every utterance starts with a short first decode.
	n := len(e.windows)
	pushFrames(t, s, 10*time.Second, firstStep)
	if len(e.windows) != n+1 || e.windows[n] != int(samplesOf(firstStep)) {
		t.Errorf("next utterance: windows %v, want one more of %v", e.windows[n:], firstStep)
	}
}

func TestStreamFirstStepNeverExceedsStep(t *testing.T) {
	e := &scripted{}
	s := newTestStream(t, StreamConfig{Engine: e, Step: 100 * time.Millisecond, MaxBuffer: time.Second})
	pushFrames(t, s, 0, 300*time.Millisecond)
	if !slices.Equal(e.windows, []int{1600, 3200, 4800}) {
		t.Errorf("windows = %v, want one every 100 ms step", e.windows)
	}
}

func TestStreamPartialDecodesRunWithoutFallbacks(t *testing.T) {
	e := &scripted{results: []func([]float32) Result{say("we"), say("we ship"), say("we ship it")}}
	s := newTestStream(t, StreamConfig{Engine: e, Options: Options{MaxFallbacks: 2, Threads: 3}})
	pushFrames(t, s, 0, 2*time.Second)
	end(t, s)
	if len(e.opts) < 2 {
		t.Fatalf("%d decodes, want partial decodes and the ending one", len(e.opts))
	}
	last := len(e.opts) - 1
	for i, o := range e.opts {
		want := -1
		if i == last {
			want = 2
		}
		if o.Urgent != (i == last) || o.MaxFallbacks != want || o.Threads != 3 {
			t.Errorf("decode %d of %d: urgent %v, fallbacks %d, threads %d; want urgent only for the last, fallbacks %d, threads 3",
				i+1, len(e.opts), o.Urgent, o.MaxFallbacks, o.Threads, want)
		}
	}
}
