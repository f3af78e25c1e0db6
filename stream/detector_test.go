package stream

import (
	"testing"
	"time"
)

// gate is a FrameDetector of another frame size: a plain energy gate that also records what the
// VAD asked of it.
type gate struct {
	size          int
	frames, short int
	resets        int
	closed        bool
}

func (g *gate) FrameSize() int { return g.size }

func (g *gate) Speech(frame []float32) bool {
	g.frames++
	if len(frame) != g.size {
		g.short++
	}
	return rms(frame) > dbfs(-40)
}

func (g *gate) Reset() { g.resets++ }

func (g *gate) Close() error { g.closed = true; return nil }

var _ FrameDetector = (*gate)(nil)

func TestSegmenterRunsTheDetectorItIsGiven(t *testing.T) {
	x := pad(time.Second, meetingFixture(t), time.Second)
	g := &gate{size: 512}
	cfg := SegmenterConfig{VAD: VADConfig{Detector: g}}
	seg := NewSegmenter(cfg)
	utts := join(t, runSegmenter(seg, "mic", x, 0, 320), "mic", x, 0)
	if g.frames < len(x)/512 || g.short > 1 {
		t.Errorf("the detector judged %d frames, %d of them short; want %d frames of 512 samples", g.frames, g.short, len(x)/512)
	}
	if g.resets == 0 {
		t.Error("Flush did not reset the detector")
	}
	// The sentences are found, with the same rolls as with the rule-based detector.
	want := truth(x)
	if len(utts) < len(want) {
		t.Fatalf("utterances %v, want at least the %d sentences %v", utts, len(want), want)
	}
	def := cfg.withDefaults()
	frame := 512 * time.Second / SampleRate
	for _, u := range utts {
		if u.at < want[0].start-def.PreRoll-frame || u.end() > want[len(want)-1].end+def.PostRoll+frame {
			t.Errorf("utterance %v reaches into the silence around the sentences %v", u, want)
		}
	}
	if err := seg.Close(); err != nil || !g.closed {
		t.Errorf("Close: %v; detector closed: %v", err, g.closed)
	}
}

func TestRuleDetectorIsTheDefault(t *testing.T) {
	v := NewVAD(VADConfig{})
	if _, ok := v.det.(*RuleDetector); !ok || v.FrameSize() != 480 {
		t.Fatalf("default detector %T with frames of %d", v.det, v.FrameSize())
	}
	if err := v.Close(); err != nil {
		t.Errorf("closing the rule-based detector: %v", err)
	}
}
