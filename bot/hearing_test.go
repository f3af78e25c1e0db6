package bot

import (
	"strconv"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/diarize"
)

// fakePage plays samples at a tenth of a second each, from t0, into a hearing whose meeting clock
// starts at t0.
type fakePage struct {
	t0 time.Time
	n  int
	h  *hearing
	tl *diarize.Timeline
}

func newPage(signals Signals) *fakePage {
	t0 := time.UnixMilli(1_800_000_000_000)
	tl := diarize.NewTimeline()
	ch := func(id int) string { return "call-" + strconv.Itoa(id) }
	return &fakePage{t0: t0, tl: tl, h: newHearing(tl, func(t time.Time) time.Duration { return t.Sub(t0) }, ch, "Notetaker (recording)", signals)}
}

// play sends count samples of the same look.
func (p *fakePage) play(count int, tracks []TrackSample, speaking ...string) {
	for range count {
		p.h.take(Report{Samples: []Sample{{T: p.t0.Add(time.Duration(p.n) * sampleStep).UnixMilli(), Tracks: tracks, Speaking: speaking}}})
		p.n++
	}
}

// who returns the people the timeline names on channel over [a, b) seconds.
func (p *fakePage) who(channel string, a, b float64) []string {
	var out []string
	for _, t := range p.tl.Turns(channel, time.Duration(a*float64(time.Second)), time.Duration(b*float64(time.Second))) {
		out = append(out, t.Speaker)
	}
	return out
}

func level(id int, ssrc uint32, l float64) TrackSample {
	return TrackSample{ID: id, SSRC: ssrc, Level: l, Fresh: true}
}

func csrc(id int, sources ...uint32) TrackSample {
	ts := TrackSample{ID: id, SSRC: uint32(100 + id), CSRCs: sources, Fresh: true}
	if len(sources) > 0 {
		ts.Level = 0.2
	}
	return ts
}

func equal(a []string, b ...string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestHearingNamesTracksByWhoIsShownSpeaking(t *testing.T) {
	p := newPage(SignalsAuto)
	quiet := []TrackSample{level(1, 11, 0), level(2, 22, 0)}
	p.play(5, quiet)
	// Ana speaks on track 1; the page shows her speaking a little late, and the bot itself
	// (its own tile) speaking all along, which counts for nothing.
	ana := []TrackSample{level(1, 11, 0.2), level(2, 22, 0)}
	p.play(2, ana, "Notetaker (recording)")
	p.play(20, ana, "Ana Lima", "Notetaker (recording)")
	p.play(10, quiet)
	// Ben on track 2; the page still shows Ana for two looks.
	ben := []TrackSample{level(1, 11, 0), level(2, 22, 0.3)}
	p.play(2, ben, "Ana Lima")
	p.play(20, ben, "Ben Ode")
	p.play(10, quiet)
	if got := p.h.people(); got["s:11"] != "Ana Lima" || got["s:22"] != "Ben Ode" || len(got) != 2 {
		t.Fatalf("learned %v, want track 1's source Ana Lima's and track 2's Ben Ode's", got)
	}
	// Ana's turn is hers from its start, before the page showed her.
	if got := p.who("call-1", 0.5, 3); !equal(got, "p-ana-lima") {
		t.Errorf("call-1 0.5-3 s: %v, want Ana", got)
	}
	if got := p.who("call-2", 4, 6.5); !equal(got, "p-ben-ode") {
		t.Errorf("call-2 4-6.5 s: %v, want Ben", got)
	}
	if got := p.who("call-1", 0, 0.5); len(got) != 0 {
		t.Errorf("call-1 before anyone spoke: %v, want nobody", got)
	}
}

func TestHearingFollowsContributingSourcesAcrossTracks(t *testing.T) {
	// Meet-style virtual streams: the same participant's CSRC comes on one stream, then another.
	p := newPage(SignalsAuto)
	silent := []TrackSample{csrc(1), csrc(2), csrc(3)}
	p.play(5, silent)
	p.play(20, []TrackSample{csrc(1, 7001), csrc(2), csrc(3)}, "Ana Lima")
	p.play(5, silent)
	p.play(20, []TrackSample{csrc(1), csrc(2, 7002), csrc(3)}, "Ben Ode")
	p.play(5, silent)
	p.play(20, []TrackSample{csrc(1), csrc(2), csrc(3, 7001)}, "Ana Lima")
	p.play(5, silent)
	if got := p.h.people(); got["c:7001"] != "Ana Lima" || got["c:7002"] != "Ben Ode" {
		t.Fatalf("learned %v", got)
	}
	if got := p.who("call-3", 5.5, 7.5); !equal(got, "p-ana-lima") {
		t.Errorf("call-3: %v, want Ana, whose source moved there", got)
	}
	// A track that names its sources is silent when it names none, whatever its level says.
	if got := p.who("call-1", 0, 0.5); len(got) != 0 {
		t.Errorf("call-1 before anyone spoke: %v", got)
	}
}

func TestHearingNeverGuesses(t *testing.T) {
	p := newPage(SignalsAuto)
	both := []TrackSample{level(1, 11, 0.2), level(2, 22, 0.2)}
	// Two sources heard while two people are shown speaking: either could be either.
	p.play(30, both, "Ana Lima", "Ben Ode")
	// A source heard while nobody is shown speaking.
	p.play(5, []TrackSample{level(1, 11, 0), level(2, 22, 0)})
	p.play(30, []TrackSample{level(1, 11, 0.2), level(2, 22, 0)})
	if got := p.h.people(); len(got) != 0 {
		t.Fatalf("learned %v, want nothing", got)
	}
	if got := p.who("call-1", 0, 6); !equal(got, diarize.Unknown, diarize.Unknown) {
		t.Errorf("call-1: %v, want two unknown turns", got)
	}
}

func TestHearingForgetsASourceThePageContradicts(t *testing.T) {
	p := newPage(SignalsAuto)
	one := []TrackSample{level(1, 11, 0.2)}
	p.play(10, one, "Ana Lima")
	if got := p.h.people(); got["s:11"] != "Ana Lima" {
		t.Fatalf("learned %v", got)
	}
	p.play(40, one, "Ben Ode")
	if got := p.h.people(); got["s:11"] != "" || got["s:11#1"] != "Ben Ode" {
		t.Errorf("learned %v after the page showed only Ben while the source spoke: want it forgotten, and heard afresh as Ben's", got)
	}
	// What the source said before it was forgotten is nobody's known; after, Ben's.
	if got := p.who("call-1", 0, 1); !equal(got, diarize.Unknown) {
		t.Errorf("before: %v, want unknown", got)
	}
	if got := p.who("call-1", 4, 5); !equal(got, "p-ben-ode") {
		t.Errorf("after: %v, want Ben", got)
	}
}

func TestHearingByThePageAlone(t *testing.T) {
	// Zoom: one mixed track without contributing sources; the page's active speaker names it.
	p := newPage(SignalsPage)
	p.play(10, []TrackSample{level(1, 11, 0.3)}, "Ana Lima")
	p.play(10, []TrackSample{level(1, 11, 0.3)}, "Ben Ode")
	p.play(10, []TrackSample{level(1, 11, 0)}, "Ben Ode") // shown, but the track is silent
	if got := p.who("call-1", 0, 0.9); !equal(got, "p-ana-lima") {
		t.Errorf("0-0.9 s: %v, want Ana", got)
	}
	if got := p.who("call-1", 1.1, 1.9); !equal(got, "p-ben-ode") {
		t.Errorf("1.1-1.9 s: %v, want Ben", got)
	}
	if got := p.who("call-1", 2.6, 3); len(got) != 0 {
		t.Errorf("2.6-3 s: %v, want nobody: the track was silent", got)
	}
}

func TestHearingEndsTurnsOfEndedTracks(t *testing.T) {
	p := newPage(SignalsAuto)
	p.play(10, []TrackSample{level(1, 11, 0.3)}, "Ana Lima")
	p.h.take(Report{Ended: []int{1}})
	p.h.finish()
	p.play(10, []TrackSample{level(1, 11, 0.3)}, "Ana Lima") // after finish: dropped
	turns := p.tl.Turns("call-1", 0, time.Hour)
	if len(turns) != 1 || turns[0].End > 2*time.Second {
		t.Errorf("turns %+v, want one, ended with its track", turns)
	}
}

func TestPersonID(t *testing.T) {
	for name, want := range map[string]string{
		"Dana Whitfield":         "p-dana-whitfield",
		"  O'Brien, Seán (Host)": "p-o-brien-se-n-host",
		"李雷":                     "p-" + strconv.FormatUint(uint64(fnv32("李雷")), 16),
	} {
		got := personID(name)
		if name == "李雷" {
			want = "p-" + leftPad(strconv.FormatUint(uint64(fnv32(name)), 16))
		}
		if got != want {
			t.Errorf("personID(%q) = %q, want %q", name, got, want)
		}
	}
}

func leftPad(s string) string {
	for len(s) < 8 {
		s = "0" + s
	}
	return s
}
