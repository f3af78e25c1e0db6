package diarize

import (
	"slices"
	"sync"
	"time"
)

// Unknown is the speaker a Timeline gives speech it cannot name: heard while no source was
// active on its channel, or while the active source was not yet known to be anyone. It is never
// a guess.
const Unknown = "unknown"

// UnknownName is the display name of Unknown.
const UnknownName = "Unknown speaker"

// Timeline is who spoke when on the channels of a meeting whose speakers are told by something
// other than their voices: a meeting bot reads the platform's signals (which participant's audio
// each packet carries, who the page shows as speaking) and reports turns of sources, the
// platform's identifiers of audio, on the channels it forwards. A source becomes a person once
// the bot learns whose it is; until then, and after the bot unlearns it, its speech is Unknown.
//
// The attributor of a channel the timeline claims (Attributor) splits each segment where the
// speaker changes and names each part by the people whose sources were active in it. A channel
// on which the timeline has not yet named anyone (mixed audio without any usable signal) is
// attributed by a fallback attributor instead, a Diarizer, which tells voices apart acoustically.
//
// Times are on the meeting clock. Concurrency: a Timeline is safe for concurrent use; its
// attributors each belong to one goroutine at a time, as every Attributor does.
type Timeline struct {
	mu       sync.Mutex
	claimed  map[string]bool
	turns    map[string][]Turn         // per channel, ordered by start; End is openEnd while open
	open     map[string]map[string]int // per channel, source → index of its open turn in turns
	people   map[string]person         // source → who it is
	names    map[string]string         // person ID → display name
	named    map[string]bool           // channels that have had a turn of a known person
	maxTurns int
}

type person struct{ id, name string }

// openEnd marks a turn still going on.
const openEnd = time.Duration(1<<63 - 1)

// maxTurnsPerChannel bounds the turns a channel keeps: the oldest are dropped beyond it (a
// segment is attributed seconds after it was said, never hours).
const maxTurnsPerChannel = 4096

// NewTimeline returns an empty timeline.
func NewTimeline() *Timeline {
	return &Timeline{claimed: map[string]bool{}, turns: map[string][]Turn{}, open: map[string]map[string]int{},
		people: map[string]person{}, names: map[string]string{Unknown: UnknownName}, named: map[string]bool{},
		maxTurns: maxTurnsPerChannel}
}

// Claim marks channel as one whose speakers the timeline tells.
func (tl *Timeline) Claim(channel string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.claimed[channel] = true
}

// Claims reports whether Claim was called for channel.
func (tl *Timeline) Claims(channel string) bool {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.claimed[channel]
}

// Start records that source began to be heard on channel at meeting time at. A source already
// heard there goes on.
func (tl *Timeline) Start(channel, source string, at time.Duration) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if _, ok := tl.open[channel][source]; ok {
		return
	}
	if tl.open[channel] == nil {
		tl.open[channel] = map[string]int{}
	}
	turns := tl.turns[channel]
	if len(turns) >= tl.maxTurns {
		tl.dropOldest(channel)
		turns = tl.turns[channel]
	}
	tl.turns[channel] = append(turns, Turn{Start: at, End: openEnd, Speaker: source})
	tl.open[channel][source] = len(tl.turns[channel]) - 1
}

// End records that source stopped being heard on channel at meeting time at.
func (tl *Timeline) End(channel, source string, at time.Duration) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	i, ok := tl.open[channel][source]
	if !ok {
		return
	}
	delete(tl.open[channel], source)
	t := &tl.turns[channel][i]
	t.End = max(at, t.Start)
}

// dropOldest drops the first half of a channel's turns, keeping open ones; mu held.
func (tl *Timeline) dropOldest(channel string) {
	turns := tl.turns[channel]
	cut := len(turns) / 2
	var kept []Turn
	for i, t := range turns {
		if i >= cut || t.End == openEnd {
			kept = append(kept, t)
		}
	}
	tl.turns[channel] = kept
	tl.open[channel] = map[string]int{}
	for i, t := range kept {
		if t.End == openEnd {
			tl.open[channel][t.Speaker] = i
		}
	}
}

// Person records that source is the person id, shown as name: speech of the source, before and
// after, is theirs. The same person may have several sources.
func (tl *Timeline) Person(source, id, name string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.people[source] = person{id: id, name: name}
	tl.names[id] = name
}

// Forget records that whose source is is not known after all: its speech is Unknown again.
func (tl *Timeline) Forget(source string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	delete(tl.people, source)
}

// Turns returns channel's turns as people, from start to end, open ones cut at end: what the
// timeline says of the channel. Sources not known to be anyone are Unknown.
func (tl *Timeline) Turns(channel string, start, end time.Duration) []Turn {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.turnsLocked(channel, start, end)
}

func (tl *Timeline) turnsLocked(channel string, start, end time.Duration) []Turn {
	var out []Turn
	for _, t := range tl.turns[channel] {
		if t.End <= start || t.Start >= end {
			continue
		}
		who := Unknown
		if p, ok := tl.people[t.Speaker]; ok {
			who = p.id
		}
		out = append(out, Turn{Start: max(t.Start, start), End: min(t.End, end), Speaker: who})
	}
	markOverlaps(out)
	return out
}

// markOverlaps marks the turns during which someone else speaks too.
func markOverlaps(turns []Turn) {
	for i := range turns {
		for j := range turns {
			if i != j && turns[i].Speaker != turns[j].Speaker && turns[i].Start < turns[j].End && turns[j].Start < turns[i].End {
				turns[i].Overlap = true
			}
		}
	}
}

// SpeakerName returns the display name of a person ID the timeline's attributors return.
func (tl *Timeline) SpeakerName(id string) (string, bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	name, ok := tl.names[id]
	return name, ok
}

// heard reports whether channel has had a turn of a known person: whether the platform's signals
// tell its speakers. Once it has, it stays so. mu held.
func (tl *Timeline) heard(channel string) bool {
	if tl.named[channel] {
		return true
	}
	for _, t := range tl.turns[channel] {
		if _, ok := tl.people[t.Speaker]; ok {
			tl.named[channel] = true
			return true
		}
	}
	return false
}

// forget drops channel's closed turns that ended before at; mu held.
func (tl *Timeline) forgetBefore(channel string, at time.Duration) {
	turns := tl.turns[channel]
	n := 0
	for n < len(turns) && turns[n].End < at {
		n++
	}
	if n == 0 {
		return
	}
	// Keep one, so that the channel stays heard.
	n = min(n, len(turns)-1)
	if n <= 0 {
		return
	}
	tl.turns[channel] = slices.Delete(turns, 0, n)
	for src, i := range tl.open[channel] {
		tl.open[channel][src] = i - n
	}
}

// Namer is implemented by an Attributor whose speakers are people it knows by name across
// channels (a Timeline's): their IDs are the same on every channel, and SpeakerName gives the
// name of each. A speaker it cannot name (a Diarizer's voice, when it falls back to one) is the
// channel's own.
type Namer interface {
	SpeakerName(id string) (string, bool)
}

// Attributor returns the attributor of channel: by the timeline's turns, or by fallback while no
// turn on the channel is of a known person (nil: Unknown). It pushes audio to fallback only until
// the first such turn.
func (tl *Timeline) Attributor(channel string, fallback Attributor) Attributor {
	return &timelineAttributor{tl: tl, channel: channel, fallback: fallback}
}

// timelineAttributor attributes one channel by its timeline.
type timelineAttributor struct {
	tl       *Timeline
	channel  string
	fallback Attributor // nil once the channel has a turn
}

var (
	_ Attributor = (*timelineAttributor)(nil)
	_ Namer      = (*timelineAttributor)(nil)
)

// Slack is how far outside a segment a turn still names its speaker, when no turn falls inside
// it: the voice-activity detector pads utterances, and the platform's signals lag the audio by a
// little.
const Slack = 500 * time.Millisecond

// pruneAfter is how long a channel keeps turns behind the segment being attributed.
const pruneAfter = 30 * time.Second

func (a *timelineAttributor) Push(at time.Duration, samples []float32) error {
	if a.fallback == nil {
		return nil
	}
	a.tl.mu.Lock()
	heard := a.tl.heard(a.channel)
	a.tl.mu.Unlock()
	if heard {
		a.fallback = nil // the platform's signals tell this channel's speakers: no voices needed
		return nil
	}
	return a.fallback.Push(at, samples)
}

func (a *timelineAttributor) Attribute(seg Segment) ([]Attributed, error) {
	a.tl.mu.Lock()
	heard := a.tl.heard(a.channel)
	var turns []Turn
	if heard {
		turns = a.tl.turnsLocked(a.channel, seg.Start-Slack, seg.End+Slack)
		a.tl.forgetBefore(a.channel, seg.Start-pruneAfter)
	}
	a.tl.mu.Unlock()
	if !heard && a.fallback != nil {
		return a.fallback.Attribute(seg)
	}
	out := attribute(seg, turns)
	for i := range out {
		if out[i].Speaker == "" {
			out[i].Speaker = Unknown
		}
	}
	return mergeSame(out), nil
}

// mergeSame joins neighbouring parts of one speaker.
func mergeSame(parts []Attributed) []Attributed {
	var out []Attributed
	for _, p := range parts {
		if n := len(out); n > 0 && out[n-1].Speaker == p.Speaker {
			out[n-1].End = p.End
			out[n-1].Tokens = append(slices.Clip(out[n-1].Tokens), p.Tokens...)
			out[n-1].Text = joinText(out[n-1].Text, p.Text)
			out[n-1].Overlap = out[n-1].Overlap || p.Overlap
			continue
		}
		out = append(out, p)
	}
	return out
}

func joinText(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}

// SpeakerName implements Namer. The fallback's voices are not the timeline's people: they are
// the channel's own.
func (a *timelineAttributor) SpeakerName(id string) (string, bool) { return a.tl.SpeakerName(id) }
