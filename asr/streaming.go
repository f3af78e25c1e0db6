package asr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"
)

// Streaming policy.
//
// A Stream holds one channel's current utterance. Every Step of new speech it
// re-decodes the audio not yet committed and compares the hypothesis with the
// previous one: the words both agree on, from the start, become final
// (LocalAgreement-2, as in whisper_streaming by Macháček et al., 2023); the
// rest is published as a partial that the next one replaces. The audio of
// committed words is cut from the buffer, so a final is never rewritten and
// no audio is decoded twice once committed. The recent final text goes into
// the prompt to keep the context the cut audio carried.
//
// Two choices serve latency. An utterance's first decode comes after only
// firstStep of speech (past the pre-roll the utterance begins with), so its
// first words show soon after they are said. Partial re-decodes run without
// temperature fallbacks, so they cost one pass and do not hold up the decode
// that ends the utterance, which keeps them unless other decodes are waiting
// for a shared engine.

// Stream defaults. A Step of 1.2 s rather than 1 s: on the sample call it cut the encoder's work
// from 2.13 to 1.81 seconds of audio per second of speech (BenchmarkLiveLatency's
// encoder-amplification), and finals came sooner with the engine less busy, while partials still
// change about once a second.
const (
	DefaultStep      = 1200 * time.Millisecond
	DefaultMaxBuffer = 15 * time.Second
)

const (
	// promptHistory bounds the recent final text carried in the prompt.
	promptHistory = 200
	// minDecode is the shortest audio whisper.cpp decodes at all.
	minDecode = 100 * time.Millisecond
	// firstStep is the speech an utterance's first decode waits for after
	// its pre-roll, when less than Step: about a first word, and a short
	// window decodes fast, so that word shows soon after it is said; the
	// second decode still comes a Step after the pre-roll (see due).
	firstStep = 200 * time.Millisecond
	// shortUtterance is the length under which credit lines are dropped
	// whatever the model's confidence.
	shortUtterance = 3 * time.Second
	// A hypothesis that starts within dedupWindow of the last committed word
	// and repeats up to dedupWords of the committed tail loses that prefix.
	dedupWords  = 5
	dedupWindow = time.Second
	// maxWindow is the encoder's whole context.
	maxWindow = 30 * time.Second
)

// ErrStreamConfig is returned by NewStream for settings it cannot run with.
var ErrStreamConfig = errors.New("asr: invalid stream configuration")

// StreamConfig sets up a Stream. Zero durations take the defaults.
type StreamConfig struct {
	Engine Engine
	// Options are used for every decode (language, threads, beam…). The
	// stream sets InitialPrompt (which carries the context) and AudioCtx
	// (0, sized to the window) itself.
	Options Options
	// Step is how much new speech accumulates between decodes [1 s], at least 100 ms.
	Step time.Duration
	// MaxBuffer bounds the audio decoded at once [15 s], at least two Steps
	// and at most 30 s. When no word is committed before the bound, the
	// oldest words are committed without agreement.
	MaxBuffer time.Duration
	// PreRoll is the audio from before the detected start of speech that
	// each utterance begins with (the segmenter's pre-roll): the first decode
	// waits for firstStep of speech after it, not of pre-roll.
	PreRoll time.Duration
	// Prompt names the people, companies and products to expect. When empty,
	// Options.InitialPrompt is used in its place.
	Prompt string
	// Logger receives debug records of dropped hallucinations; nil discards them.
	Logger *slog.Logger
}

// Update is one result of a Stream. A final is never rewritten; a partial
// holds the whole uncommitted tail of the utterance and replaces the previous
// partial (an empty Text clears it). Every final is followed by a partial.
type Update struct {
	Final        bool
	Text         string
	Start, End   time.Duration // meeting clock
	Language     string
	Tokens       []Token // times on the meeting clock
	NoSpeechProb float32 // the highest of the segments the words came from
}

// StreamStats counts a Stream's work.
type StreamStats struct {
	Decodes        int           // encoder passes
	AudioDecoded   time.Duration // total length of the windows decoded
	AudioPushed    time.Duration // speech received
	Finals         int
	Partials       int
	ForcedCommits  int           // times the buffer bound committed or cut without agreement
	Dropped        int           // segments and words removed as hallucinations
	AudioDiscarded time.Duration // speech dropped undecoded after failed decodes
	Step           time.Duration // new speech between decodes now: Step, or more when decoding is slow
}

// Stream turns one channel's speech into partial and final text. Push the
// audio that voice activity detection judged speech and call EndUtterance when
// the utterance ends. A Stream is not safe for concurrent use: give each
// channel its own, and let them share one Engine.
type Stream struct {
	cfg          StreamConfig
	log          *slog.Logger
	step, maxBuf int              // samples
	now          func() time.Time // the wall clock that times decodes

	buf       []float32
	bufStart  int64 // stream position (samples since the first push) of buf[0]
	pending   int   // samples pushed since the last decode
	utterance int   // samples pushed in this utterance
	looks     int   // decodes of this utterance
	spans     []span

	prev        []word // uncommitted tail of the last hypothesis
	tail        []word // last committed words of this utterance
	lastCommit  int64  // stream position where the last committed word ends
	lastPartial string
	lastFinal   time.Duration // meeting time where the last final ends
	history     string        // recent final text of the channel

	stats StreamStats
}

// span maps stream positions from pos on to the meeting clock.
type span struct {
	pos int64
	at  time.Duration
}

const sampleDur = time.Second / SampleRate

func samplesOf(d time.Duration) int64  { return int64(d / sampleDur) }
func durationOf(n int64) time.Duration { return time.Duration(n) * sampleDur }

// NewStream checks cfg and returns a Stream for one channel.
func NewStream(cfg StreamConfig) (*Stream, error) {
	if cfg.Engine == nil {
		return nil, fmt.Errorf("%w: no engine", ErrStreamConfig)
	}
	if cfg.Step == 0 {
		cfg.Step = DefaultStep
	}
	if cfg.MaxBuffer == 0 {
		cfg.MaxBuffer = DefaultMaxBuffer
	}
	if cfg.PreRoll < 0 {
		return nil, fmt.Errorf("%w: negative pre-roll %v", ErrStreamConfig, cfg.PreRoll)
	}
	if cfg.Step < minDecode {
		return nil, fmt.Errorf("%w: step %v is below %v", ErrStreamConfig, cfg.Step, minDecode)
	}
	if cfg.MaxBuffer < 2*cfg.Step || cfg.MaxBuffer > maxWindow {
		return nil, fmt.Errorf("%w: max buffer %v must lie between two steps (%v) and %v", ErrStreamConfig, cfg.MaxBuffer, 2*cfg.Step, maxWindow)
	}
	if cfg.Prompt == "" {
		cfg.Prompt = cfg.Options.InitialPrompt
	}
	cfg.Prompt = strings.TrimSpace(cfg.Prompt)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Stream{
		cfg:    cfg,
		log:    log,
		step:   int(samplesOf(cfg.Step)),
		maxBuf: int(samplesOf(cfg.MaxBuffer)),
		now:    time.Now,
	}, nil
}

// Stats returns the counts so far.
func (s *Stream) Stats() StreamStats { return s.stats }

// Push appends speech (16 kHz mono) whose first sample lies at meeting time
// at, and decodes once a Step of new speech has accumulated. A long push (a
// caller that fell behind hands over all it has) is decoded as the newest
// window, not step by step: it is cut only where the buffer bound needs it,
// so no speech is dropped undecoded. A gap before at is skipped on the
// meeting clock; an at earlier than the end of the speech already pushed is
// read as continuing it. On a decode error the audio is kept and the next
// Push tries again; the updates made before the error are returned with it.
func (s *Stream) Push(ctx context.Context, pcm []float32, at time.Duration) ([]Update, error) {
	if len(pcm) == 0 {
		return nil, nil
	}
	s.place(at)
	var out []Update
	for len(pcm) > 0 {
		// As much as the buffer holds, and at least what completes a step.
		due := s.due()
		n := min(len(pcm), max(s.maxBuf-len(s.buf), due-s.pending))
		s.append(pcm[:n])
		pcm = pcm[n:]
		if s.pending < due {
			continue
		}
		words, err := s.decode(ctx, false)
		if err != nil {
			s.append(pcm)
			return out, err
		}
		out = append(out, s.advance(words)...)
	}
	return out, nil
}

// EndUtterance decodes the speech not yet decoded and commits every word of
// the utterance. The utterance ends even when the decode fails: the last
// hypothesis is committed then, and the error returned with it.
func (s *Stream) EndUtterance(ctx context.Context) ([]Update, error) {
	// The last hypothesis stands when the rest of the audio is too short to
	// decode, when the decode fails, or when it finds nothing left to say.
	words := s.prev
	var err error
	if s.pending > 0 && durationOf(int64(len(s.buf))) >= minDecode {
		var fresh []word
		fresh, err = s.decode(ctx, true)
		if err == nil && len(fresh) > 0 {
			words = fresh
		}
	}
	out := s.commit(words)
	s.prev = nil
	out = append(out, s.partial(len(out) > 0)...)

	s.bufStart += int64(len(s.buf))
	s.buf = s.buf[:0]
	s.pending, s.utterance, s.looks = 0, 0, 0
	s.tail = nil
	s.prune()
	return out, err
}

// due is how much new speech the next decode waits for: a Step, but only
// the pre-roll and firstStep for an utterance's first decode. That early look
// does not move the cadence: the second decode comes a Step after the
// pre-roll, as it would without it.
func (s *Stream) due() int {
	switch first := min(s.step, int(samplesOf(s.cfg.PreRoll+firstStep))); s.looks {
	case 0:
		return first
	case 1:
		if rest := int(samplesOf(s.cfg.PreRoll)) + s.step - (s.utterance - s.pending); rest > 0 {
			return rest
		}
	}
	return s.step
}

func (s *Stream) append(pcm []float32) {
	s.buf = append(s.buf, pcm...)
	s.pending += len(pcm)
	s.utterance += len(pcm)
	s.stats.AudioPushed += durationOf(int64(len(pcm)))
}

// place maps the next pushed sample to meeting time at.
func (s *Stream) place(at time.Duration) {
	end := s.bufStart + int64(len(s.buf))
	if len(s.spans) > 0 && at <= s.meeting(end, false) {
		return
	}
	s.spans = append(s.spans, span{pos: end, at: at})
}

// meeting converts a stream position to the meeting clock. An end position
// on a gap belongs to the audio before the gap.
func (s *Stream) meeting(pos int64, end bool) time.Duration {
	if len(s.spans) == 0 {
		return durationOf(pos)
	}
	sp := s.spans[0]
	for _, c := range s.spans[1:] {
		if c.pos > pos || (end && c.pos == pos) {
			break
		}
		sp = c
	}
	return sp.at + durationOf(pos-sp.pos)
}

// prune forgets spans wholly before the buffer.
func (s *Stream) prune() {
	i := 0
	for i+1 < len(s.spans) && s.spans[i+1].pos <= s.bufStart {
		i++
	}
	s.spans = s.spans[i:]
}

func (s *Stream) options(urgent bool, samples int) Options {
	opt := s.cfg.Options
	if opt.MaxTokens == 0 {
		opt.MaxTokens = tokenBudget(samples)
	}
	opt.InitialPrompt = s.prompt()
	opt.AudioCtx = 0
	opt.Progress = nil
	opt.Urgent = urgent
	if !urgent {
		// A partial re-decode runs without temperature fallbacks: its text
		// stands only until the next decode, and its words become final only
		// when that decode agrees with them, while each fallback pass repeats
		// the decode and delays the decodes waiting for the engine, the ending
		// one included. The decode that ends an utterance keeps them.
		opt.MaxFallbacks = -1
	}
	return opt
}

// tokenBudget bounds the tokens a live decode of samples may produce: the most a fast speaker's
// words take (some 5 tokens a second in English, 10 in Japanese) with a wide margin. Speech never
// reaches it; a decode stuck in a repetition loop, or a model that makes no sense of the audio,
// would otherwise run to whisper.cpp's cap of 220 tokens, which on a short window costs several
// times the encoder's work and holds up every decode waiting for the engine.
func tokenBudget(samples int) int {
	const base, perSecond = 24, 12
	return base + perSecond*samples/SampleRate
}

// prompt is the fixed prompt followed by the channel's recent final text.
func (s *Stream) prompt() string {
	switch {
	case s.cfg.Prompt == "":
		return s.history
	case s.history == "":
		return s.cfg.Prompt
	default:
		return s.cfg.Prompt + " " + s.history
	}
}

// decode transcribes the buffer and returns its hypothesis with the
// hallucinations and the repeated committed tail removed. An urgent decode
// ends an utterance: it goes ahead of other streams' decodes.
func (s *Stream) decode(ctx context.Context, urgent bool) ([]word, error) {
	if len(s.buf) > s.maxBuf {
		// Only after failed decodes: keep the newest audio within the bound.
		cut := s.bufStart + int64(len(s.buf)-s.maxBuf)
		s.stats.AudioDiscarded += durationOf(cut - s.bufStart)
		s.trim(cut)
		s.prev = dropBefore(s.prev, cut)
	}
	window := s.buf
	dur := durationOf(int64(len(window)))
	began := s.now()
	res, err := s.cfg.Engine.Transcribe(ctx, window, s.options(urgent, len(window)))
	s.stats.Decodes++
	s.stats.AudioDecoded += dur
	if err != nil {
		return nil, fmt.Errorf("asr: decode %v of speech: %w", dur, engineError{err})
	}
	s.pace(s.now().Sub(began))
	s.pending = 0
	s.looks++
	words := s.hypothesis(res, window)
	return s.dropRepeatedTail(words), nil
}

// engineError is an Engine's error as a Stream reports it. The Stream's
// message carries the package's prefix, so the prefix of this package's own
// engine's errors is not repeated after it; errors.Is and errors.As still
// reach the cause.
type engineError struct{ err error }

func (e engineError) Error() string { return strings.TrimPrefix(e.err.Error(), "asr: ") }
func (e engineError) Unwrap() error { return e.err }

// pace spaces decodes by how long the last one took: when decoding a window
// takes longer than Step (a big model, a busy machine, many channels on one
// engine), the stream decodes less often instead of falling behind the live
// audio. Partials then come less often; nothing said is lost. The step never
// exceeds half the buffer bound, so agreement between two decodes stays possible.
func (s *Stream) pace(took time.Duration) {
	step := max(s.cfg.Step, took+took/4)
	s.step = int(samplesOf(min(step, s.cfg.MaxBuffer/2)))
	s.stats.Step = durationOf(int64(s.step))
}

// advance applies LocalAgreement-2 to a new hypothesis: the longest prefix it
// shares with the previous one is committed. When the buffer nears its bound
// without enough committed, its oldest words are committed too.
func (s *Stream) advance(words []word) []Update {
	n := 0
	for n < len(words) && n < len(s.prev) && words[n].key == s.prev[n].key {
		n++
	}
	commit, rest := words[:n:n], words[n:]
	if len(s.buf)-int(s.lastCommitAfter(commit)) > s.maxBuf-s.step {
		// The next decode would pass the bound: commit the words in the
		// older half of the buffer and cut the audio there.
		cut := s.bufStart + int64(len(s.buf)-s.maxBuf/2)
		k := 0
		for k < len(rest) && rest[k].end <= cut {
			k++
		}
		commit = append(commit, rest[:k]...)
		rest = rest[k:]
		s.stats.ForcedCommits++
		out := s.commit(commit)
		if len(s.buf) > s.maxBuf-s.step {
			// No word ends where it could be cut: cut the audio anyway.
			s.trim(cut)
			rest = dropBefore(rest, cut)
		}
		s.prev = rest
		return append(out, s.partial(len(out) > 0)...)
	}
	out := s.commit(commit)
	s.prev = rest
	return append(out, s.partial(len(out) > 0)...)
}

// lastCommitAfter is how many buffered samples committing words would cut.
func (s *Stream) lastCommitAfter(words []word) int64 {
	if len(words) == 0 {
		return 0
	}
	return min(max(words[len(words)-1].end-s.bufStart, 0), int64(len(s.buf)))
}

// commit publishes words as one final, cuts their audio from the buffer and
// adds their text to the prompt history.
func (s *Stream) commit(words []word) []Update {
	if len(words) == 0 {
		return nil
	}
	u := s.update(words, true)
	s.lastFinal = u.End
	s.stats.Finals++

	end := words[len(words)-1].end
	s.trim(end)
	s.lastCommit = max(s.lastCommit, end)
	s.tail = append(s.tail, words...)
	if len(s.tail) > dedupWords {
		s.tail = append([]word(nil), s.tail[len(s.tail)-dedupWords:]...)
	}
	s.remember(u.Text)
	return []Update{u}
}

// partial publishes the uncommitted tail when it changed or a final was
// just published.
func (s *Stream) partial(afterFinal bool) []Update {
	text := joinWords(s.prev)
	if text == s.lastPartial && !afterFinal {
		return nil
	}
	if text == "" && s.lastPartial == "" && !afterFinal {
		return nil
	}
	s.lastPartial = text
	s.stats.Partials++
	if len(s.prev) == 0 {
		at := max(s.lastFinal, s.meeting(s.bufStart, false))
		return []Update{{Start: at, End: at}}
	}
	return []Update{s.update(s.prev, false)}
}

// update builds an Update on the meeting clock; nothing in it starts before
// the last final ends.
func (s *Stream) update(words []word, final bool) Update {
	u := Update{Final: final, Text: joinWords(words), Language: words[0].lang}
	u.Start = max(s.meeting(words[0].start, false), s.lastFinal)
	u.End = max(s.meeting(words[len(words)-1].end, true), u.Start)
	for _, w := range words {
		u.NoSpeechProb = max(u.NoSpeechProb, w.noSpeech)
		for _, t := range w.tokens {
			tok := t.Token
			tok.Start = min(max(s.meeting(t.start, false), u.Start), u.End)
			tok.End = min(max(s.meeting(t.end, true), tok.Start), u.End)
			u.Tokens = append(u.Tokens, tok)
		}
	}
	return u
}

// trim cuts the buffer's audio before stream position pos.
func (s *Stream) trim(pos int64) {
	n := int(min(max(pos-s.bufStart, 0), int64(len(s.buf))))
	if n == 0 {
		return
	}
	s.buf = append(s.buf[:0], s.buf[n:]...)
	s.bufStart += int64(n)
	s.prune()
}

// remember adds final text to the prompt history, keeping its last
// promptHistory bytes from a word boundary on.
func (s *Stream) remember(text string) {
	h := strings.TrimSpace(s.history + " " + text)
	if len(h) > promptHistory {
		h = h[len(h)-promptHistory:]
		if i := strings.IndexByte(h, ' '); i >= 0 {
			h = h[i+1:]
		} else {
			for len(h) > 0 && !utf8.RuneStart(h[0]) {
				h = h[1:]
			}
		}
	}
	s.history = h
}
