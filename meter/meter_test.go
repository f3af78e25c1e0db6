package meter

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/stream"
)

const frameDur = 20 * time.Millisecond

// feed sends d of a tone of amplitude amp (0 for silence) to m in 20 ms frames from at on, and
// returns the health changes reported and the last level.
func feed(m *Meter, at *time.Duration, d time.Duration, amp float64, wall *time.Time) (changes []ledger.CaptureInfo, level *ledger.CaptureInfo) {
	n := int(frameDur * stream.SampleRate / time.Second)
	for end := *at + d; *at < end; *at += frameDur {
		samples := make([]float32, n)
		for i := range samples {
			v := amp * math.Sin(2*math.Pi*440*float64(i)/stream.SampleRate)
			samples[i] = float32(max(-1, min(1, v)))
		}
		*wall = wall.Add(frameDur)
		r := m.Observe(stream.Frame{Channel: m.cfg.Channel, At: *at, Samples: samples}, *wall)
		changes = append(changes, r.Health...)
		if r.Level != nil {
			level = r.Level
		}
	}
	return changes, level
}

func TestLevelsFollowTheAudio(t *testing.T) {
	m := New(Config{Channel: stream.ChannelMic, Role: "the microphone"})
	var at time.Duration
	wall := time.Unix(0, 0)
	_, loud := feed(m, &at, time.Second, 0.5, &wall)
	_, quiet := feed(m, &at, time.Second, 0.005, &wall)
	if loud == nil || quiet == nil {
		t.Fatal("no level reported within a second of audio")
	}
	// A sine of amplitude a has an RMS of a/√2: -9 dBFS at 0.5, -49 dBFS at 0.005.
	if math.Abs(loud.LevelDB-(-9)) > 0.5 || math.Abs(quiet.LevelDB-(-49)) > 0.5 {
		t.Errorf("levels %.1f and %.1f dBFS, want about -9 and -49", loud.LevelDB, quiet.LevelDB)
	}
	if math.Abs(loud.PeakDB-(-6)) > 0.5 {
		t.Errorf("peak %.1f dBFS, want about -6", loud.PeakDB)
	}
	// A level every 260 ms (the first whole frames past 250 ms): the last ones within each second.
	if loud.AtMS <= 750 || loud.AtMS > 1000 || quiet.AtMS <= 1750 || quiet.AtMS > 2000 {
		t.Errorf("levels at %d and %d ms, want the last quarter of each second", loud.AtMS, quiet.AtMS)
	}
}

func TestSilentCallAudioIsReportedAndCleared(t *testing.T) {
	m := New(Config{Channel: stream.ChannelSystem, Role: "the call audio"})
	var at time.Duration
	wall := time.Unix(0, 0)
	if ch, _ := feed(m, &at, 10*time.Second, 0.3, &wall); len(ch) != 0 {
		t.Fatalf("speech reported as %+v", ch)
	}
	ch, _ := feed(m, &at, 59*time.Second, 0, &wall)
	if len(ch) != 0 {
		t.Fatalf("59 s of silence reported as %+v", ch)
	}
	ch, _ = feed(m, &at, 2*time.Second, 0, &wall)
	if len(ch) != 1 || ch[0].Problem != ledger.CaptureSilent {
		t.Fatalf("after 61 s of silence: %+v, want one silent report", ch)
	}
	if want := "No call audio for 60 s — is the meeting playing through another device?"; ch[0].Message != want {
		t.Errorf("message %q, want %q", ch[0].Message, want)
	}
	if ch, _ = feed(m, &at, 30*time.Second, 0, &wall); len(ch) != 0 {
		t.Errorf("silence reported again: %+v", ch)
	}
	ch, _ = feed(m, &at, time.Second, 0.3, &wall)
	if len(ch) != 1 || ch[0].Problem != "" || !strings.Contains(ch[0].Message, "working again") {
		t.Errorf("audio back: %+v, want the problem cleared", ch)
	}
}

func TestParticipantTracksMayBeSilent(t *testing.T) {
	m := New(Config{Channel: "call-1", Role: "Dana's audio", SilentAfter: -1})
	var at time.Duration
	wall := time.Unix(0, 0)
	if ch, _ := feed(m, &at, 3*time.Minute, 0, &wall); len(ch) != 0 {
		t.Errorf("a muted participant reported as %+v", ch)
	}
}

func TestClippingIsReportedUntilItStops(t *testing.T) {
	m := New(Config{Channel: stream.ChannelMic, Role: "the microphone"})
	var at time.Duration
	wall := time.Unix(0, 0)
	ch, _ := feed(m, &at, 2*time.Second, 3, &wall) // driven far past full scale
	if len(ch) != 1 || ch[0].Problem != ledger.CaptureClipping || !strings.Contains(ch[0].Message, "lower its input level") {
		t.Fatalf("clipping audio: %+v", ch)
	}
	if ch, _ = feed(m, &at, 4*time.Second, 0.3, &wall); len(ch) != 0 {
		t.Errorf("cleared %+v before 5 s without clipping", ch)
	}
	if ch, _ = feed(m, &at, 2*time.Second, 0.3, &wall); len(ch) != 1 || ch[0].Problem != "" {
		t.Errorf("after 6 s of clean audio: %+v, want cleared", ch)
	}
}

func TestLostAudioIsReported(t *testing.T) {
	m := New(Config{Channel: stream.ChannelMic, Role: "the microphone"})
	wall := time.Unix(0, 0)
	var at time.Duration
	feed(m, &at, time.Second, 0.3, &wall)
	r := m.Observe(stream.Frame{Channel: stream.ChannelMic, At: at, Samples: make([]float32, 320), Lost: 1500 * time.Millisecond}, wall)
	if len(r.Health) != 1 || r.Health[0].Problem != ledger.CaptureOverflow || !strings.HasPrefix(r.Health[0].Message, "1.5 s of audio from the microphone was lost") {
		t.Fatalf("lost audio: %+v", r.Health)
	}
	at += frameDur
	if ch, _ := feed(m, &at, 12*time.Second, 0.3, &wall); len(ch) != 1 || ch[0].Problem != "" {
		t.Errorf("10 s after the loss: %+v, want cleared", ch)
	}
}

// A participant who stops publishing has left (or their file ended): no device of ours is at fault.
func TestAParticipantWhoStopsSendingIsNotStalled(t *testing.T) {
	m := New(Config{Channel: "dana", Role: "Dana's audio", SilentAfter: -1, StalledAfter: -1})
	wall := time.Unix(0, 0)
	var at time.Duration
	feed(m, &at, time.Second, 0.3, &wall)
	if h := m.Stalled(wall.Add(time.Minute)); h != nil {
		t.Errorf("a participant's track that ended is reported as %+v", h)
	}
}

func TestAStalledDeviceIsReportedOnceAndClearedByAudio(t *testing.T) {
	m := New(Config{Channel: stream.ChannelSystem, Role: "the call audio"})
	wall := time.Unix(0, 0)
	if m.Stalled(wall.Add(time.Hour)) != nil {
		t.Error("a channel that never sent is reported stalled")
	}
	var at time.Duration
	feed(m, &at, time.Second, 0.3, &wall)
	if m.Stalled(wall.Add(4*time.Second)) != nil {
		t.Error("reported stalled after 4 s")
	}
	h := m.Stalled(wall.Add(6 * time.Second))
	if h == nil || h.Problem != ledger.CaptureStalled || !strings.Contains(h.Message, "unplugged or switched") {
		t.Fatalf("after 6 s without audio: %+v", h)
	}
	if m.Stalled(wall.Add(10*time.Second)) != nil {
		t.Error("stalled reported twice")
	}
	wall = wall.Add(10 * time.Second)
	if ch, _ := feed(m, &at, frameDur, 0.3, &wall); len(ch) != 1 || ch[0].Problem != "" {
		t.Errorf("audio again: %+v, want cleared", ch)
	}
}

func TestAPausedMeetingIsNotStalled(t *testing.T) {
	m := New(Config{Channel: stream.ChannelMic, Role: "the microphone"})
	wall := time.Unix(0, 0)
	var at time.Duration
	feed(m, &at, time.Second, 0.3, &wall)
	for range 10 { // ten seconds paused: no frames, as the meeting drops them
		wall = wall.Add(time.Second)
		m.Pause(wall)
	}
	if h := m.Stalled(wall.Add(time.Second)); h != nil {
		t.Errorf("stalled right after a pause: %+v", h)
	}
	if h := m.Stalled(wall.Add(6 * time.Second)); h == nil {
		t.Error("not stalled 6 s after the pause ended")
	}
}

func TestAStallOverAndASilenceAreBothReported(t *testing.T) {
	m := New(Config{Channel: stream.ChannelMic, Role: "the microphone", SilentAfter: time.Second})
	wall := time.Unix(0, 0)
	var at time.Duration
	feed(m, &at, 2*time.Second, 0, &wall) // silent
	if m.Problem() != ledger.CaptureSilent {
		t.Fatalf("problem %q after 2 s of silence", m.Problem())
	}
	wall = wall.Add(time.Minute)
	if h := m.Stalled(wall); h == nil {
		t.Fatal("no stall after a minute without frames")
	}
	ch, _ := feed(m, &at, 2*time.Second, 0, &wall) // back, and still silent
	if len(ch) != 2 || ch[0].Problem != "" || ch[1].Problem != ledger.CaptureSilent {
		t.Errorf("after the stall: %+v, want it over, then the silence again", ch)
	}
}
