package bot

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Timeline is where the bot tells who speaks on the channels it forwards, on the meeting clock:
// turns of sources (the platform's identifiers of audio), and whose each source is once known.
// *diarize.Timeline is one.
type Timeline interface {
	Claim(channel string)
	Start(channel, source string, at time.Duration)
	End(channel, source string, at time.Duration)
	Person(source, id, name string)
	Forget(source string)
}

// Report is what the page sends the bot four times a second.
type Report struct {
	Samples []Sample `json:"samples"`
	Ended   []int    `json:"ended"` // tracks that ended since the last report
}

// Sample is one look at the page: which sources each forwarded track carried and whom the page
// showed speaking, at page time T (Unix milliseconds; the page runs on this machine's clock).
type Sample struct {
	T        int64         `json:"t"`
	Tracks   []TrackSample `json:"tracks"`
	Speaking []string      `json:"speaking"`
}

// TrackSample is one forwarded track in a Sample.
type TrackSample struct {
	ID    int      `json:"id"`
	SSRC  uint32   `json:"ssrc"`
	Level float64  `json:"level"` // the latest packet's audio level, 0..1; -1 when the platform sends none
	CSRCs []uint32 `json:"csrcs"` // the contributing sources of its latest packets
	Fresh bool     `json:"fresh"` // a packet came in the last 300 ms
}

const (
	// speechLevel is the audio level (linear, 1 = full scale) above which a track's own source
	// counts as heard: about -46 dBov, under the quietest speech and over comfort noise.
	speechLevel = 0.005
	// hangover keeps a source heard through the short pauses inside speech.
	hangover = 400 * time.Millisecond
	// csrcMemory is how long a track that carried contributing sources is read by them alone:
	// its silence is silence, not its own source.
	csrcMemory = 10 * time.Second
	// bindAfter is how many samples (a tenth of a second each) a source must be heard alone
	// while one participant alone is shown speaking before it is theirs; and that participant
	// must account for at least bindRatio times as many such samples as any other.
	bindAfter = 5
	bindRatio = 3
	// forgetAfter is how many samples that contradict a source's person, more than agree with
	// it, make the bot forget whose it is.
	forgetAfter = 10
)

// hearing turns the page's samples into the speaker timeline: turns of sources on each forwarded
// track's channel, and each source's person, learned from the page's speaking indicators.
// Safe for concurrent use (reports are handled on the goroutines the browser binding starts).
type hearing struct {
	tl      Timeline
	clock   func(time.Time) time.Duration
	channel func(track int) string
	self    string
	signals Signals

	mu       sync.Mutex
	stopped  bool // finish was called: reports that come later are dropped
	tracks   map[int]*trackState
	bound    map[string]string         // source → name
	evidence map[string]map[string]int // source → name → samples heard alone with that name alone
	agree    map[string]int
	disagree map[string]int
	epoch    map[string]int // per source as the page names it, how often it was forgotten
	last     time.Time      // the latest sample's time
}

type trackState struct {
	csrcAt time.Time             // the latest sample that carried contributing sources
	heard  map[string]*heardTurn // sources heard now
}

type heardTurn struct{ last time.Time }

func newHearing(tl Timeline, clock func(time.Time) time.Duration, channel func(int) string, self string, signals Signals) *hearing {
	return &hearing{tl: tl, clock: clock, channel: channel, self: self, signals: signals,
		tracks: map[int]*trackState{}, bound: map[string]string{}, evidence: map[string]map[string]int{},
		agree: map[string]int{}, disagree: map[string]int{}, epoch: map[string]int{}}
}

// take applies a report.
func (h *hearing) take(r Report) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return
	}
	for _, s := range r.Samples {
		h.sample(s)
	}
	for _, id := range r.Ended {
		h.endTrack(id, h.last)
	}
}

// finish ends every turn still open, at the latest sample.
func (h *hearing) finish() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	for id := range h.tracks {
		h.endTrack(id, h.last)
	}
}

func (h *hearing) endTrack(id int, at time.Time) {
	ts := h.tracks[id]
	if ts == nil {
		return
	}
	for src, turn := range ts.heard {
		end := turn.last
		if at.Before(end) {
			end = at
		}
		h.tl.End(h.channel(id), src, h.clock(end.Add(sampleStep)))
	}
	delete(h.tracks, id)
}

// sampleStep is the time between two samples of the page.
const sampleStep = 100 * time.Millisecond

func (h *hearing) sample(s Sample) {
	t := time.UnixMilli(s.T)
	if t.Before(h.last) {
		return // out of order: a report is never retried, so this does not happen
	}
	h.last = t
	speaking := []string{}
	for _, n := range s.Speaking {
		if n != "" && n != h.self && !slices.Contains(speaking, n) {
			speaking = append(speaking, n)
		}
	}
	live := 0
	for _, ts := range s.Tracks {
		if ts.Fresh {
			live++
		}
	}
	var heardNow []string // sources heard in this sample, to learn whose they are
	for _, ts := range s.Tracks {
		st := h.tracks[ts.ID]
		if st == nil {
			st = &trackState{heard: map[string]*heardTurn{}}
			h.tracks[ts.ID] = st
		}
		sources := h.sources(st, ts, t, speaking, live)
		for i, src := range sources {
			if n := h.epoch[src]; n > 0 {
				sources[i] = fmt.Sprintf("%s#%d", src, n)
			}
		}
		ch := h.channel(ts.ID)
		for _, src := range sources {
			if turn, ok := st.heard[src]; ok {
				turn.last = t
				continue
			}
			st.heard[src] = &heardTurn{last: t}
			h.tl.Start(ch, src, h.clock(t))
		}
		for src, turn := range st.heard {
			if !slices.Contains(sources, src) && t.Sub(turn.last) > hangover {
				h.tl.End(ch, src, h.clock(turn.last.Add(sampleStep)))
				delete(st.heard, src)
			}
		}
		for _, src := range sources {
			if !strings.HasPrefix(src, "n:") && !slices.Contains(heardNow, src) {
				heardNow = append(heardNow, src)
			}
		}
	}
	h.learn(heardNow, speaking)
}

// sources returns the sources a track carries in a sample, as timeline sources: "c:CSRC" for a
// contributing source, "s:SSRC" for the track's own, "n:NAME" for a participant the page names.
func (h *hearing) sources(st *trackState, ts TrackSample, t time.Time, speaking []string, live int) []string {
	var out []string
	switch {
	case len(ts.CSRCs) > 0:
		st.csrcAt = t
		for _, c := range ts.CSRCs {
			out = append(out, fmt.Sprintf("c:%d", c))
		}
	case !st.csrcAt.IsZero() && t.Sub(st.csrcAt) < csrcMemory:
		// A track that names its sources is silent when it names none.
	case !ts.Fresh:
	case h.signals == SignalsPage || ts.Level < 0 && live == 1:
		if ts.Level < 0 || ts.Level >= speechLevel {
			for _, n := range speaking {
				out = append(out, "n:"+n)
				h.tl.Person("n:"+n, personID(n), n)
			}
		}
	case ts.Level >= speechLevel:
		out = append(out, fmt.Sprintf("s:%d", ts.SSRC))
	}
	return out
}

// learn takes one sample's evidence of whose each source is: a source heard alone while one
// participant alone is shown speaking (the speakers already known accounted for) counts for
// that participant.
func (h *hearing) learn(heard, speaking []string) {
	unexplained := slices.Clone(speaking)
	var unknown []string
	for _, src := range heard {
		name, ok := h.bound[src]
		if !ok {
			unknown = append(unknown, src)
			continue
		}
		if i := slices.Index(unexplained, name); i >= 0 {
			unexplained = slices.Delete(unexplained, i, i+1)
			h.agree[src]++
		}
	}
	if len(unknown) == 1 && len(unexplained) == 1 {
		src, name := unknown[0], unexplained[0]
		if h.evidence[src] == nil {
			h.evidence[src] = map[string]int{}
		}
		h.evidence[src][name]++
		h.maybeBind(src)
	}
	if len(unknown) == 0 && len(unexplained) == 1 {
		for _, src := range heard {
			if name := h.bound[src]; name != unexplained[0] && !slices.Contains(speaking, name) {
				h.disagree[src]++
				if h.disagree[src] >= forgetAfter && h.disagree[src] > h.agree[src] {
					h.forget(src)
				}
			}
		}
	}
}

// forget unlearns whose src is: its turns so far are nobody's known, and what is heard of it from
// now on is a new source, learned afresh (a track taken over by someone else, or a mistake).
func (h *hearing) forget(src string) {
	h.tl.Forget(src)
	delete(h.bound, src)
	delete(h.evidence, src)
	delete(h.agree, src)
	delete(h.disagree, src)
	raw, _, _ := strings.Cut(src, "#")
	h.epoch[raw]++
	for id, st := range h.tracks {
		if turn, ok := st.heard[src]; ok {
			h.tl.End(h.channel(id), src, h.clock(turn.last.Add(sampleStep)))
			delete(st.heard, src)
		}
	}
}

func (h *hearing) maybeBind(src string) {
	best, n, rest := "", 0, 0
	for name, c := range h.evidence[src] {
		if c > n {
			best, n, rest = name, c, max(rest, n)
		} else {
			rest = max(rest, c)
		}
	}
	if n >= bindAfter && n >= bindRatio*rest {
		h.bound[src] = best
		h.tl.Person(src, personID(best), best)
	}
}

// people returns whose each source is, as learned so far (for tests and the log).
func (h *hearing) people() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]string, len(h.bound))
	for s, n := range h.bound {
		out[s] = n
	}
	return out
}

// personID is a participant's speaker ID: "p-" and their name in lower-case letters and digits.
func personID(name string) string {
	var b strings.Builder
	b.WriteString("p-")
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 2:
			b.WriteByte('-')
			dash = true
		}
	}
	id := b.String()
	if id != "p-" {
		id = strings.TrimSuffix(id, "-")
	}
	if id == "p-" || len(id) > 64 {
		// A name of other scripts, or a long one: its hash keeps people apart.
		return fmt.Sprintf("p-%08x", fnv32(name))
	}
	return id
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
