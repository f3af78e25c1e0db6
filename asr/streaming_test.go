package asr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// scripted is an Engine that answers each decode with the next of its
// results, built from the window it is given, and records what it was asked.
type scripted struct {
	results []func(pcm []float32) Result
	errs    map[int]error // call index → error returned instead
	windows []int         // samples of each window decoded
	opts    []Options
}

func (e *scripted) Transcribe(_ context.Context, pcm []float32, opt Options) (Result, error) {
	i := len(e.windows)
	e.windows = append(e.windows, len(pcm))
	e.opts = append(e.opts, opt)
	if err := e.errs[i]; err != nil {
		return Result{}, err
	}
	if i >= len(e.results) {
		return Result{Language: "en"}, nil
	}
	return e.results[i](pcm), nil
}

var _ Engine = (*scripted)(nil)

// say returns a result of one confident segment whose words each take 300 ms
// from the start of the window.
func say(text string) func([]float32) Result {
	return sayWith(0.01, 0.9, text)
}

func sayWith(noSpeech, p float32, text string) func([]float32) Result {
	return func([]float32) Result {
		return Result{Language: "en", Segments: []Segment{segment(noSpeech, p, 0, text)}}
	}
}

func segment(noSpeech, p float32, start time.Duration, text string) Segment {
	seg := Segment{Start: start, Text: text, Language: "en", NoSpeechProb: noSpeech}
	at := start
	for i, w := range strings.Fields(text) {
		if i > 0 {
			w = " " + w
		}
		seg.Tokens = append(seg.Tokens, Token{ID: 1000 + i, Text: w, P: p, Start: at, End: at + 300*time.Millisecond})
		at += 300 * time.Millisecond
	}
	seg.End = at
	return seg
}

// loud is speech-level audio of the given length.
func loud(d time.Duration) []float32 {
	pcm := make([]float32, samplesOf(d))
	for i := range pcm {
		pcm[i] = float32(0.2 * math.Sin(2*math.Pi*220*float64(i)/SampleRate))
	}
	return pcm
}

// fakeClock stands in for the wall clock a Stream times its decodes by. It
// moves only when a test moves it, so pacing follows the test's script
// however busy the machine is.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// newTestStream returns a Stream on a fake clock that nothing moves: its
// decodes take no time, so it keeps the configured step. The tests push whole
// seconds of speech and count on a decode for each, so a Step left unset is
// one second here.
func newTestStream(t testing.TB, cfg StreamConfig) *Stream {
	t.Helper()
	if cfg.Step == 0 {
		cfg.Step = time.Second
	}
	s, err := NewStream(cfg)
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	s.now = new(fakeClock).Now
	return s
}

func push(t testing.TB, s *Stream, pcm []float32, at time.Duration) []Update {
	t.Helper()
	ups, err := s.Push(context.Background(), pcm, at)
	if err != nil {
		t.Fatalf("Push at %v: %v", at, err)
	}
	return ups
}

func end(t testing.TB, s *Stream) []Update {
	t.Helper()
	ups, err := s.EndUtterance(context.Background())
	if err != nil {
		t.Fatalf("EndUtterance: %v", err)
	}
	return ups
}

func texts(ups []Update, final bool) []string {
	var out []string
	for _, u := range ups {
		if u.Final == final {
			out = append(out, u.Text)
		}
	}
	return out
}

func TestStreamAgreementCommitsCommonPrefixOnly(t *testing.T) {
	e := &scripted{results: []func([]float32) Result{say("the cat sat"), say("the cat is here")}}
	s := newTestStream(t, StreamConfig{Engine: e})
	first := push(t, s, loud(time.Second), 0)
	if got := texts(first, true); len(got) != 0 {
		t.Errorf("first hypothesis committed %q; one hypothesis alone must stay partial", got)
	}
	if got := texts(first, false); !slices.Equal(got, []string{"the cat sat"}) {
		t.Errorf("first partials = %q, want [the cat sat]", got)
	}
	second := push(t, s, loud(time.Second), time.Second)
	if got := texts(second, true); !slices.Equal(got, []string{"the cat"}) {
		t.Errorf("finals = %q, want [the cat]", got)
	}
	if got := texts(second, false); !slices.Equal(got, []string{"is here"}) {
		t.Errorf("partials = %q, want [is here]", got)
	}
	if len(second) != 2 || !second[0].Final {
		t.Errorf("updates %+v: want the final first, then the partial", second)
	}
}

func TestStreamChangingTailStaysPartialUntilTheEnd(t *testing.T) {
	e := &scripted{results: []func([]float32) Result{say("a b"), say("c d"), say("e f")}}
	s := newTestStream(t, StreamConfig{Engine: e})
	var ups []Update
	for i := range 3 {
		ups = append(ups, push(t, s, loud(time.Second), time.Duration(i)*time.Second)...)
	}
	if got := texts(ups, true); len(got) != 0 {
		t.Fatalf("finals %q from hypotheses that never agreed", got)
	}
	if got := texts(ups, false); !slices.Equal(got, []string{"a b", "c d", "e f"}) {
		t.Errorf("partials = %q, want each hypothesis once", got)
	}
	last := end(t, s)
	if got := texts(last, true); !slices.Equal(got, []string{"e f"}) {
		t.Errorf("EndUtterance finals = %q, want [e f]", got)
	}
	if got := texts(last, false); !slices.Equal(got, []string{""}) {
		t.Errorf("EndUtterance partials = %q, want one empty partial clearing the tail", got)
	}
	if n := s.Stats().Decodes; n != 3 {
		t.Errorf("decodes = %d, want 3: nothing new to decode at the end", n)
	}
}

func TestStreamEndUtteranceDecodesTheRest(t *testing.T) {
	e := &scripted{results: []func([]float32) Result{say("hello"), say("hello world")}}
	s := newTestStream(t, StreamConfig{Engine: e})
	push(t, s, loud(time.Second), 0)
	push(t, s, loud(500*time.Millisecond), time.Second)
	ups := end(t, s)
	if got := texts(ups, true); !slices.Equal(got, []string{"hello world"}) {
		t.Errorf("finals = %q, want [hello world]", got)
	}
	if len(e.windows) != 2 || e.windows[1] != int(samplesOf(1500*time.Millisecond)) {
		t.Errorf("windows = %v, want the whole 1.5 s decoded again at the end", e.windows)
	}
	// The next utterance starts afresh.
	e.results = append(e.results, say("next"))
	push(t, s, loud(time.Second), 5*time.Second)
	if got := e.windows[2]; got != SampleRate {
		t.Errorf("next utterance window = %d samples, want only its own %d", got, SampleRate)
	}
}

// oracle is an Engine that hears perfectly: audio encodes words as runs of a
// constant level (0.1 + k/1000 for word k); a word cut by the end of the
// window is misheard. It checks that no committed word is decoded again.
type oracle struct {
	wordLen   int
	committed *int // highest word committed so far, kept by the test
	calls     int
	windows   []int
	t         testing.TB
}

func (o *oracle) Transcribe(_ context.Context, pcm []float32, _ Options) (Result, error) {
	o.calls++
	o.windows = append(o.windows, len(pcm))
	seg := Segment{Language: "en", NoSpeechProb: 0.01}
	for i := 0; i < len(pcm); {
		j := i
		for j < len(pcm) && pcm[j] == pcm[i] {
			j++
		}
		k := int(math.Round(float64(pcm[i]-0.1) * 1000))
		if k > 0 {
			if k <= *o.committed {
				o.t.Errorf("decode %d hears word %d, already committed", o.calls, k)
			}
			text := fmt.Sprintf(" w%d", k)
			if j == len(pcm) && j-i < o.wordLen {
				text = fmt.Sprintf(" u%d", k)
			}
			seg.Tokens = append(seg.Tokens, Token{ID: k, Text: text, P: 0.9, Start: durationOf(int64(i)), End: durationOf(int64(j))})
			seg.Text += text
		}
		i = j
	}
	if len(seg.Tokens) == 0 {
		return Result{Language: "en"}, nil
	}
	seg.Start, seg.End = seg.Tokens[0].Start, seg.Tokens[len(seg.Tokens)-1].End
	return Result{Language: "en", Segments: []Segment{seg}}, nil
}

// words returns speech of words first..last, each wordLen samples long.
func words(first, last, wordLen int) []float32 {
	var pcm []float32
	for k := first; k <= last; k++ {
		for range wordLen {
			pcm = append(pcm, 0.1+float32(k)/1000)
		}
	}
	return pcm
}

func TestStreamFinalsAreExactOnTheMeetingClock(t *testing.T) {
	const wordLen = SampleRate * 4 / 10 // 400 ms
	committed := 0
	o := &oracle{wordLen: wordLen, committed: &committed, t: t}
	s := newTestStream(t, StreamConfig{Engine: o})

	// Words 1-11 from 10 s; VAD then skips 2 s of silence; words 12-18 follow.
	start1, start2 := 10*time.Second, 16400*time.Millisecond
	wantStart := func(k int) time.Duration {
		if k <= 11 {
			return start1 + time.Duration(k-1)*400*time.Millisecond
		}
		return start2 + time.Duration(k-12)*400*time.Millisecond
	}
	var ups []Update
	feed := func(pcm []float32, at time.Duration) {
		chunk := SampleRate / 4
		for i := 0; i < len(pcm); i += chunk {
			part := pcm[i:min(i+chunk, len(pcm))]
			got := push(t, s, part, at+durationOf(int64(i)))
			ups = append(ups, got...)
			for _, u := range got {
				if u.Final {
					fmt.Sscanf(u.Text[strings.LastIndex(u.Text, "w")+1:], "%d", &committed)
				}
			}
		}
	}
	feed(words(1, 11, wordLen), start1)
	feed(words(12, 18, wordLen), start2)
	ups = append(ups, end(t, s)...)

	var all []string
	var lastEnd time.Duration
	final := map[string]bool{}
	for _, u := range ups {
		if !u.Final {
			for _, w := range strings.Fields(u.Text) {
				if final[w] {
					t.Errorf("partial %q repeats the committed word %s", u.Text, w)
				}
			}
		} else {
			if u.Start < lastEnd {
				t.Errorf("final %q starts at %v, before the previous final ends (%v)", u.Text, u.Start, lastEnd)
			}
			lastEnd = u.End
		}
		for _, tok := range u.Tokens {
			w := strings.TrimSpace(tok.Text)
			if u.Final {
				all = append(all, w)
				final[w] = true
			}
			var k int
			if _, err := fmt.Sscanf(w, "w%d", &k); err != nil {
				continue // a misheard word cut by the window's end
			}
			if tok.Start != wantStart(k) || tok.End != wantStart(k)+400*time.Millisecond {
				t.Errorf("%s (final %v) at [%v, %v], want [%v, %v]", w, u.Final, tok.Start, tok.End, wantStart(k), wantStart(k)+400*time.Millisecond)
			}
		}
	}
	var want []string
	for k := 1; k <= 18; k++ {
		want = append(want, fmt.Sprintf("w%d", k))
	}
	if !slices.Equal(all, want) {
		t.Errorf("final words = %v, want %v (each once, in order)", all, want)
	}
	if len(texts(ups, true)) < 4 {
		t.Errorf("only %d finals: words should be committed as they agree, not all at the end", len(texts(ups, true)))
	}
	for i, n := range o.windows {
		if n > 3*SampleRate {
			t.Errorf("window %d is %v long: committed audio is not being cut", i, durationOf(int64(n)))
		}
	}
}

func TestStreamDropsRepeatedCommittedTail(t *testing.T) {
	e := &scripted{results: []func([]float32) Result{
		say("we ship friday"), say("we ship friday"), say("friday and monday"), say("friday and monday"),
	}}
	s := newTestStream(t, StreamConfig{Engine: e})
	var ups []Update
	for i := range 4 {
		ups = append(ups, push(t, s, loud(time.Second), time.Duration(i)*time.Second)...)
	}
	ups = append(ups, end(t, s)...)
	if got := texts(ups, true); !slices.Equal(got, []string{"we ship friday", "and monday"}) {
		t.Errorf("finals = %q, want [we ship friday] [and monday]", got)
	}
	for _, p := range texts(ups, false) {
		if strings.Contains(p, "friday") && !strings.Contains(p, "ship") {
			t.Errorf("partial %q repeats the committed word", p)
		}
	}
	if got, want := e.windows[2], int(samplesOf(2100*time.Millisecond)); got != want {
		t.Errorf("third window is %d samples, want %d: the committed 0.9 s cut from 3 s", got, want)
	}
}

// wandering answers every decode differently, one word per 500 ms of window,
// so that hypotheses never agree.
func wandering(calls int) []func([]float32) Result {
	var out []func([]float32) Result
	for c := range calls {
		out = append(out, func(pcm []float32) Result {
			seg := Segment{Language: "en", NoSpeechProb: 0.01}
			n := int(durationOf(int64(len(pcm))) / (500 * time.Millisecond))
			for i := range n {
				tok := Token{ID: i, Text: fmt.Sprintf(" c%dw%d", c, i), P: 0.9, Start: time.Duration(i) * 500 * time.Millisecond}
				tok.End = tok.Start + 500*time.Millisecond
				seg.Tokens = append(seg.Tokens, tok)
				seg.Text += tok.Text
			}
			seg.End = time.Duration(n) * 500 * time.Millisecond
			return Result{Language: "en", Segments: []Segment{seg}}
		})
	}
	return out
}

func TestStreamBufferBoundForcesCommitAndCuts(t *testing.T) {
	e := &scripted{results: wandering(40)}
	s := newTestStream(t, StreamConfig{Engine: e, MaxBuffer: 4 * time.Second})
	var ups []Update
	for i := range 20 {
		ups = append(ups, push(t, s, loud(time.Second), time.Duration(i)*time.Second)...)
	}
	for i, n := range e.windows {
		if d := durationOf(int64(n)); d > 4*time.Second {
			t.Errorf("window %d is %v, above the 4 s bound", i, d)
		}
	}
	finals := texts(ups, true)
	if len(finals) == 0 || s.Stats().ForcedCommits == 0 {
		t.Fatalf("no forced commit in 20 s of disagreeing hypotheses (finals %q)", finals)
	}
	var lastEnd time.Duration
	for _, u := range ups {
		if u.Final {
			if u.Start < lastEnd {
				t.Errorf("forced final %q at %v overlaps the previous one (ends %v)", u.Text, u.Start, lastEnd)
			}
			lastEnd = u.End
		}
	}
	if lastEnd < 10*time.Second {
		t.Errorf("finals reach only %v of 20 s: the bound should keep committing", lastEnd)
	}
}

func TestStreamDropsHallucinatedPhrases(t *testing.T) {
	for _, tc := range []struct {
		name   string
		result func([]float32) Result
		audio  []float32
		keep   bool
	}{
		{"no-speech window", sayWith(0.8, 0.2, "Thank you."), loud(time.Second), false},
		{"doubtful sign-off", sayWith(0.4, 0.9, "Thank you."), loud(time.Second), false},
		{"quiet audio", sayWith(0.05, 0.9, "¡Gracias!"), make([]float32, SampleRate), false},
		{"credit line on a short utterance", sayWith(0.05, 0.9, "Sous-titres réalisés par la communauté d'Amara.org"), loud(time.Second), false},
		{"German credit", sayWith(0.5, 0.9, "Untertitel im Auftrag des ZDF, 2021"), loud(time.Second), false},
		{"spoken thanks", sayWith(0.01, 0.9, "Thank you."), loud(time.Second), true},
		{"thanks in a sentence", sayWith(0.4, 0.9, "Thank you for the numbers."), loud(time.Second), true},
		{"annotation", sayWith(0.01, 0.9, "[Music]"), loud(time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &scripted{results: []func([]float32) Result{tc.result, tc.result}}
			s := newTestStream(t, StreamConfig{Engine: e})
			ups := push(t, s, tc.audio, 0)
			ups = append(ups, end(t, s)...)
			for _, u := range ups {
				if u.Text != "" && !tc.keep {
					t.Errorf("update %q was not dropped", u.Text)
				}
			}
			finals := texts(ups, true)
			if tc.keep && len(finals) != 1 {
				t.Errorf("finals = %q, want the speech kept", finals)
			}
			if !tc.keep && s.Stats().Dropped == 0 {
				t.Errorf("Dropped = 0 after dropping a hallucination")
			}
		})
	}
}

func TestStreamCutsRepetitionLoops(t *testing.T) {
	e := &scripted{results: []func([]float32) Result{
		say("we will we will we will we will we will rock"),
		say("we will we will we will we will we will rock"),
	}}
	s := newTestStream(t, StreamConfig{Engine: e})
	ups := push(t, s, loud(time.Second), 0)
	ups = append(ups, push(t, s, loud(time.Second), time.Second)...)
	if got := texts(ups, true); !slices.Equal(got, []string{"we will"}) {
		t.Errorf("finals = %q, want the loop cut to [we will]", got)
	}
	for _, p := range texts(ups, false) {
		if strings.Count(p, "will") > 1 {
			t.Errorf("partial %q keeps the loop", p)
		}
	}

	// A long period escapes the n-gram check; the compression ratio catches it.
	loop := strings.Repeat("one two three four five six seven eight nine ten ", 4)
	e = &scripted{results: []func([]float32) Result{say(loop)}}
	s = newTestStream(t, StreamConfig{Engine: e})
	ups = push(t, s, loud(time.Second), 0)
	ups = append(ups, end(t, s)...)
	if got := texts(ups, true); len(got) != 0 {
		t.Errorf("finals = %q, want the repetitive window dropped", got)
	}
}

func TestStreamPromptCarriesRecentFinals(t *testing.T) {
	long := "the quick brown fox jumps over the lazy dog while seven bold engineers review our budget plans " +
		"before lunch and everyone agrees that shipping on friday needs careful testing of every single " +
		"feature in production so we meet again after the quarterly numbers"
	e := &scripted{results: []func([]float32) Result{say("ship it"), say("ship it"), say(long), say(long), say("next")}}
	s := newTestStream(t, StreamConfig{
		Engine:  e,
		Prompt:  "Acme, Priya Raman",
		Options: Options{Language: "en", AudioCtx: 300, InitialPrompt: "ignored"},
	})
	for i := range 5 {
		push(t, s, loud(time.Second), time.Duration(i)*time.Second)
	}
	if got := e.opts[0].InitialPrompt; got != "Acme, Priya Raman" {
		t.Errorf("first prompt = %q, want the fixed names only", got)
	}
	if got := e.opts[2].InitialPrompt; got != "Acme, Priya Raman ship it" {
		t.Errorf("prompt after a final = %q, want names then the final text", got)
	}
	last := e.opts[4].InitialPrompt
	history := strings.TrimPrefix(last, "Acme, Priya Raman ")
	if history == last || len(history) > promptHistory || !strings.HasSuffix(history, "quarterly numbers") {
		t.Errorf("prompt = %q: want the names and at most %d bytes of the latest final text", last, promptHistory)
	}
	if first, _, _ := strings.Cut(history, " "); !strings.Contains(" "+long+" ", " "+first+" ") {
		t.Errorf("history %q starts inside a word", history)
	}
	for i, o := range e.opts {
		if o.AudioCtx != 0 || o.Language != "en" {
			t.Errorf("decode %d options %+v: want AudioCtx 0 (sized to the window) and the caller's language", i, o)
		}
	}
}

func TestStreamDecodeErrors(t *testing.T) {
	boom := errors.New("boom")
	e := &scripted{
		results: []func([]float32) Result{nil, say("a b"), say("a b c")},
		errs:    map[int]error{0: boom, 3: context.Canceled},
	}
	s := newTestStream(t, StreamConfig{Engine: e})
	_, err := s.Push(context.Background(), loud(time.Second), 0)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap the engine's error", err)
	}
	push(t, s, loud(500*time.Millisecond), time.Second) // retried: 1.5 s decoded
	if got := e.windows[1]; got != int(samplesOf(1500*time.Millisecond)) {
		t.Errorf("retry window = %d samples, want the kept 1.5 s", got)
	}
	ups := push(t, s, loud(time.Second), 1500*time.Millisecond)
	if got := texts(ups, true); !slices.Equal(got, []string{"a b"}) {
		t.Errorf("finals = %q, want [a b]", got)
	}
	push(t, s, loud(300*time.Millisecond), 2500*time.Millisecond)
	ups, err = s.EndUtterance(context.Background())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("EndUtterance err = %v, want context.Canceled", err)
	}
	if got := texts(ups, true); !slices.Equal(got, []string{"c"}) {
		t.Errorf("finals after a failed last decode = %q, want the last hypothesis [c]", got)
	}
}

func TestNewStreamValidates(t *testing.T) {
	e := &scripted{}
	for _, cfg := range []StreamConfig{
		{},
		{Engine: e, Step: 50 * time.Millisecond},
		{Engine: e, Step: 2 * time.Second, MaxBuffer: 3 * time.Second},
		{Engine: e, MaxBuffer: 40 * time.Second},
		{Engine: e, PreRoll: -time.Millisecond},
	} {
		if _, err := NewStream(cfg); !errors.Is(err, ErrStreamConfig) {
			t.Errorf("NewStream(%+v) err = %v, want ErrStreamConfig", cfg, err)
		}
	}
	s, err := NewStream(StreamConfig{Engine: e})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Step != DefaultStep || s.cfg.MaxBuffer != DefaultMaxBuffer {
		t.Errorf("defaults = %v, %v", s.cfg.Step, s.cfg.MaxBuffer)
	}
}

// A live decode may produce a number of tokens that grows with its window, far above speech's; a
// caller's own cap stands.
func TestStreamBoundsTokensByTheWindow(t *testing.T) {
	e := &scripted{results: []func([]float32) Result{say("a"), say("a b"), say("a b c")}}
	s := newTestStream(t, StreamConfig{Engine: e, Options: Options{Language: "en"}})
	for i := range 3 {
		push(t, s, loud(time.Second), time.Duration(i)*time.Second)
	}
	if len(e.opts) == 0 {
		t.Fatal("no decode")
	}
	for i, o := range e.opts {
		want := tokenBudget(e.windows[i])
		if o.MaxTokens != want {
			t.Errorf("decode %d of %d samples: MaxTokens %d, want %d", i, e.windows[i], o.MaxTokens, want)
		}
		if seconds := float64(e.windows[i]) / SampleRate; float64(o.MaxTokens) < 10*seconds+20 {
			t.Errorf("decode %d: %d tokens for %.1f s leaves no room for fast speech", i, o.MaxTokens, seconds)
		}
	}
	if e.windows[len(e.windows)-1] <= e.windows[0] || e.opts[len(e.opts)-1].MaxTokens <= e.opts[0].MaxTokens {
		t.Errorf("windows %v: the budget should grow with the window", e.windows)
	}

	own := &scripted{results: []func([]float32) Result{say("a")}}
	s = newTestStream(t, StreamConfig{Engine: own, Options: Options{MaxTokens: 7}})
	push(t, s, loud(time.Second), 0)
	if len(own.opts) == 0 || own.opts[0].MaxTokens != 7 {
		t.Errorf("a caller's MaxTokens 7 became %+v", own.opts)
	}
}
