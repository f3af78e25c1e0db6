package asr

import (
	"slices"
	"testing"
	"time"
)

// frame is the length of the frames live capture delivers.
const frame = 10 * time.Millisecond

// pushFrames pushes d of speech from at in frames, as live capture delivers it.
func pushFrames(t *testing.T, s *Stream, at, d time.Duration) []Update {
	t.Helper()
	var ups []Update
	for off := time.Duration(0); off < d; off += frame {
		ups = append(ups, push(t, s, loud(frame), at+off)...)
	}
	return ups
}

func TestStreamFirstDecodeOfUtteranceComesEarly(t *testing.T) {
	e := &scripted{results: []func([]float32) Result{say("we"), say("we ship"), say("we ship it"), say("next")}}
	const preRoll = 200 * time.Millisecond
	s := newTestStream(t, StreamConfig{Engine: e, PreRoll: preRoll})
	first := preRoll + firstStep // the pre-roll, then the first word or so of speech
	pushFrames(t, s, 0, first-frame)
	if len(e.windows) != 0 {
		t.Fatalf("decoded %v before %v of speech followed the pre-roll", e.windows, firstStep)
	}
	ups := pushFrames(t, s, first-frame, frame)
	if got := texts(ups, false); !slices.Equal(got, []string{"we"}) {
		t.Fatalf("partials after %v of speech = %q, want [we]", firstStep, got)
	}
	// The early look does not move the cadence: the next decode comes a
	// whole step after the pre-roll.
	second := preRoll + time.Second
	pushFrames(t, s, first, second-first-frame)
	if len(e.windows) != 1 {
		t.Fatalf("%d decodes before a step of speech after the pre-roll, want 1", len(e.windows))
	}
	pushFrames(t, s, second-frame, frame)
	if want := []int{int(samplesOf(first)), int(samplesOf(second))}; !slices.Equal(e.windows, want) {
		t.Errorf("windows = %v, want the first at %v of speech after the pre-roll and the next a step after the pre-roll: %v", e.windows, firstStep, want)
	}
	pushFrames(t, s, second, time.Second)
	if len(e.windows) != 3 {
		t.Errorf("%d decodes after another step, want 3", len(e.windows))
	}
	end(t, s)
	// Every utterance starts with a short first decode.
	n := len(e.windows)
	pushFrames(t, s, 10*time.Second, first)
	if len(e.windows) != n+1 || e.windows[n] != int(samplesOf(first)) {
		t.Errorf("next utterance: windows %v, want one more of %v", e.windows[n:], first)
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
	pushFrames(t, s, 0, 1900*time.Millisecond)
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
