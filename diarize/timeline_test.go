package diarize

import (
	"math"
	"sync"
	"testing"
	"time"
)

// recorder is a fallback attributor that says who it was asked about.
type recorder struct {
	pushed time.Duration
	asked  int
}

func (r *recorder) Push(_ time.Duration, samples []float32) error {
	r.pushed += samplesToDur(len(samples))
	return nil
}

func (r *recorder) Attribute(seg Segment) ([]Attributed, error) {
	r.asked++
	return []Attributed{{Segment: seg, Speaker: "spk0"}}, nil
}

func TestTimelineAttributesByPeople(t *testing.T) {
	tl := NewTimeline()
	tl.Claim("call-1")
	if !tl.Claims("call-1") || tl.Claims("mic") {
		t.Fatal("claims wrong")
	}
	a := tl.Attributor("call-1", nil)
	// Ana (source c:1) then Ben (c:2), whose source is not known yet when he starts.
	tl.Start("call-1", "c:1", sec(0.2))
	tl.End("call-1", "c:1", sec(2.1))
	tl.Start("call-1", "c:2", sec(2.5))
	tl.Person("c:1", "p-ana", "Ana")
	seg := Segment{Start: sec(0), End: sec(4), Text: "Hello there. Hi Ana.",
		Tokens: []Token{tok(" Hello", 0.2, 0.8), tok(" there.", 0.8, 1.8), tok(" Hi", 2.6, 3.0), tok(" Ana.", 3.0, 3.6)}}
	parts, err := a.Attribute(seg)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || parts[0].Speaker != "p-ana" || parts[0].Text != "Hello there." || parts[1].Speaker != Unknown || parts[1].Text != "Hi Ana." {
		t.Fatalf("parts %+v, want Ana's words, then unknown ones (Ben's source is nobody's yet)", parts)
	}
	// Once Ben's source is known, what he said is his, also what was said before.
	tl.Person("c:2", "p-ben", "Ben")
	parts, _ = a.Attribute(seg)
	if len(parts) != 2 || parts[1].Speaker != "p-ben" {
		t.Fatalf("parts %+v, want Ben's second part", parts)
	}
	if name, ok := a.(Namer).SpeakerName("p-ben"); !ok || name != "Ben" {
		t.Errorf("name of p-ben: %q %v", name, ok)
	}
	if name, ok := a.(Namer).SpeakerName(Unknown); !ok || name != UnknownName {
		t.Errorf("name of unknown: %q %v", name, ok)
	}
	// Forgotten, a source's speech is unknown again.
	tl.Forget("c:2")
	parts, _ = a.Attribute(seg)
	if parts[len(parts)-1].Speaker != Unknown {
		t.Errorf("parts %+v after forgetting Ben's source", parts)
	}
	// Speech with no turn near it is nobody's known; a turn just outside a segment still names it.
	if parts, _ := a.Attribute(Segment{Start: sec(20), End: sec(21), Text: "Anyone?"}); parts[0].Speaker != Unknown {
		t.Errorf("speech far from any turn: %+v", parts)
	}
	tl.End("call-1", "c:2", sec(30))
	tl.Start("call-1", "c:1", sec(31))
	tl.End("call-1", "c:1", sec(33))
	if parts, _ := a.Attribute(Segment{Start: sec(30.7), End: sec(33.2), Text: "Back again."}); len(parts) != 1 || parts[0].Speaker != "p-ana" {
		t.Errorf("a segment padded around Ana's turn: %+v", parts)
	}
}

func TestTimelineOverlapAndSameSpeakerAcrossChannels(t *testing.T) {
	tl := NewTimeline()
	tl.Person("c:1", "p-ana", "Ana")
	tl.Person("c:2", "p-ben", "Ben")
	tl.Start("v1", "c:1", sec(0))
	tl.End("v1", "c:1", sec(3))
	tl.Start("v1", "c:2", sec(2))
	tl.End("v1", "c:2", sec(4))
	tl.Start("v2", "c:1", sec(5))
	tl.End("v2", "c:1", sec(6))
	turns := tl.Turns("v1", 0, sec(10))
	if len(turns) != 2 || !turns[0].Overlap || !turns[1].Overlap {
		t.Errorf("turns %+v, want both marked overlapped", turns)
	}
	parts, _ := tl.Attributor("v2", nil).Attribute(Segment{Start: sec(5), End: sec(6), Text: "Yes."})
	if parts[0].Speaker != "p-ana" {
		t.Errorf("Ana on a second channel: %+v", parts)
	}
}

func TestTimelineFallsBackWhileItHearsNothing(t *testing.T) {
	tl := NewTimeline()
	fb := &recorder{}
	a := tl.Attributor("mix", fb)
	samples := make([]float32, sampleRate)
	if err := a.Push(0, samples); err != nil {
		t.Fatal(err)
	}
	parts, _ := a.Attribute(Segment{Start: 0, End: sec(1), Text: "Hello."})
	if fb.pushed != time.Second || fb.asked != 1 || parts[0].Speaker != "spk0" {
		t.Fatalf("no signal yet: pushed %v, asked %d, parts %+v; want the voices told apart", fb.pushed, fb.asked, parts)
	}
	if _, ok := a.(Namer).SpeakerName("spk0"); ok {
		t.Error("a voice of the fallback has a name: it is the channel's own")
	}
	// Turns of a source nobody is known to be tell nothing of who speaks.
	tl.Start("mix", "c:9", sec(0.5))
	tl.End("mix", "c:9", sec(0.9))
	_ = a.Push(sec(0.5), samples[:sampleRate/2])
	if parts, _ := a.Attribute(Segment{Start: sec(0.5), End: sec(0.9), Text: "Mm."}); parts[0].Speaker != "spk0" || fb.asked != 2 {
		t.Fatalf("an unknown source only: %+v; want the voices told apart", parts)
	}
	tl.Start("mix", "n:Ana", sec(1))
	tl.Person("n:Ana", "p-ana", "Ana")
	_ = a.Push(sec(1), samples)
	parts, _ = a.Attribute(Segment{Start: sec(1), End: sec(2), Text: "Hi."})
	if fb.pushed != 1500*time.Millisecond || fb.asked != 2 || parts[0].Speaker != "p-ana" {
		t.Fatalf("with a signal: pushed %v, asked %d, parts %+v; want the timeline alone", fb.pushed, fb.asked, parts)
	}
}

func TestTimelineBoundsItsTurns(t *testing.T) {
	tl := NewTimeline()
	tl.maxTurns = 100
	a := tl.Attributor("c", nil)
	for i := range 1000 {
		tl.Start("c", "s", sec(float64(i)))
		tl.End("c", "s", sec(float64(i)+0.5))
		if i%50 == 0 {
			_, _ = a.Attribute(Segment{Start: sec(float64(i)), End: sec(float64(i) + 0.5), Text: "x"})
		}
	}
	if n := len(tl.turns["c"]); n > 100 {
		t.Errorf("%d turns kept, want at most 100", n)
	}
	tl.Start("c", "s", sec(2000))
	if turns := tl.Turns("c", sec(1999), sec(2001)); len(turns) != 1 || turns[0].End != sec(2001) {
		t.Errorf("the open turn after pruning: %+v", turns)
	}
}

// The bot writes the timeline while channels read it.
func TestTimelineConcurrentUse(t *testing.T) {
	tl := NewTimeline()
	var wg sync.WaitGroup
	for c := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := tl.Attributor(string(rune('a'+c)), nil)
			for i := range 200 {
				_, _ = a.Attribute(Segment{Start: sec(float64(i)), End: sec(float64(i) + 1), Text: "x"})
			}
		}()
	}
	for i := range 200 {
		for c := range 3 {
			ch := string(rune('a' + c))
			tl.Start(ch, "s", sec(float64(i)))
			tl.End(ch, "s", sec(math.Nextafter(float64(i)+0.5, 1000)))
		}
		tl.Person("s", "p", "P")
	}
	wg.Wait()
}
