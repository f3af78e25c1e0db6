package ingest

import (
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"

	"github.com/ledgerline/ledgerline/stream"
)

func loadFixture(tb testing.TB, name string) []float32 {
	tb.Helper()
	a, err := stream.LoadWAV("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return a.Samples
}

// encode turns 16 kHz audio into 20 ms Opus packets as the publisher does.
func encode(tb testing.TB, pcm []float32) [][]byte {
	tb.Helper()
	enc, err := opus.NewEncoder(stream.SampleRate, 1, opus.AppVoIP)
	if err != nil {
		tb.Fatal(err)
	}
	if err := enc.SetInBandFEC(true); err != nil {
		tb.Fatal(err)
	}
	if err := enc.SetPacketLossPerc(10); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for i := 0; i+publishFrame <= len(pcm); i += publishFrame {
		buf := make([]byte, 1500)
		n, err := enc.EncodeFloat32(pcm[i:i+publishFrame], buf)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, buf[:n])
	}
	return out
}

// rtpPackets numbers payloads from firstSeq, 20 ms apart from firstTS.
func rtpPackets(payloads [][]byte, firstSeq uint16, firstTS uint32) []*rtp.Packet {
	out := make([]*rtp.Packet, len(payloads))
	for i, p := range payloads {
		out[i] = &rtp.Packet{
			Header: rtp.Header{Version: 2, PayloadType: opusPayloadType,
				SequenceNumber: firstSeq + uint16(i), Timestamp: firstTS + uint32(i*publishTicks)},
			Payload: p,
		}
	}
	return out
}

// fakeReader replays packets, then fails with end (io.EOF when nil).
type fakeReader struct {
	pkts []*rtp.Packet
	end  error
}

func (f *fakeReader) ReadRTP() (*rtp.Packet, interceptor.Attributes, error) {
	if len(f.pkts) == 0 {
		if f.end != nil {
			return nil, nil, f.end
		}
		return nil, nil, io.EOF
	}
	p := f.pkts[0]
	f.pkts = f.pkts[1:]
	return p, nil, nil
}

func (f *fakeReader) SetReadDeadline(time.Time) error { return nil }

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// closed is a closed channel: the fake track's end comes from its session.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// runFake decodes pkts as a track would and returns its frames and track.
func runFake(t *testing.T, pkts []*rtp.Packet, end error, at time.Duration) ([]stream.Frame, *Track) {
	t.Helper()
	return runFakeArriving(t, pkts, end, at, nil)
}

// runFakeArriving is runFake with the packets' arrival times taken from now.
func runFakeArriving(t *testing.T, pkts []*rtp.Packet, end error, at time.Duration, now func() time.Time) ([]stream.Frame, *Track) {
	t.Helper()
	tr := newTrack("m1", "s1", "alice", "")
	tr.run(&fakeReader{pkts: pkts, end: end}, trackConfig{
		idle: time.Second, depth: 80 * opusRate / 1000, maxGap: 10 * time.Second,
		clock:    func(time.Time) time.Duration { return at },
		now:      now,
		stopping: closed,
		log:      discardLogger(),
	})
	var frames []stream.Frame
	for f := range tr.Frames() {
		frames = append(frames, f)
	}
	checkContiguous(t, frames)
	return frames, tr
}

func checkContiguous(t *testing.T, frames []stream.Frame) {
	t.Helper()
	for i := 1; i < len(frames); i++ {
		if frames[i].At != frames[i-1].End() {
			t.Fatalf("frame %d at %v, previous ends at %v", i, frames[i].At, frames[i-1].End())
		}
	}
}

func audioOf(frames []stream.Frame) []float32 {
	var out []float32
	for _, f := range frames {
		out = append(out, f.Samples...)
	}
	return out
}

func checkLength(t *testing.T, got []float32, want int) {
	t.Helper()
	if d := len(got) - want; d > frameSamples || d < -frameSamples {
		t.Fatalf("decoded %d samples (%v), want %d (%v) within one frame",
			len(got), samples16(int64(len(got))), want, samples16(int64(want)))
	}
}

// corr is the best normalized correlation of got against want over the lags
// an Opus round trip can add (got delayed by 0 to 50 ms).
func corr(got, want []float32) float64 {
	best := -1.0
	for lag := 0; lag <= stream.SampleRate/20; lag += 2 {
		var xy, xx, yy float64
		for i := 0; i < len(want) && i+lag < len(got); i++ {
			x, y := float64(got[i+lag]), float64(want[i])
			xy += x * y
			xx += x * x
			yy += y * y
		}
		if xx > 0 && yy > 0 {
			best = max(best, xy/math.Sqrt(xx*yy))
		}
	}
	return best
}

func TestPacketSamples(t *testing.T) {
	for _, c := range []struct {
		pkt  []byte
		want int
		bad  bool
	}{
		{pkt: []byte{1 << 3}, want: 960},        // SILK 20 ms
		{pkt: []byte{3 << 3}, want: 2880},       // SILK 60 ms
		{pkt: []byte{13 << 3}, want: 960},       // hybrid 20 ms
		{pkt: []byte{16 << 3}, want: 120},       // CELT 2.5 ms
		{pkt: []byte{31<<3 | 1}, want: 1920},    // CELT 20 ms, two frames
		{pkt: []byte{31<<3 | 3, 6}, want: 5760}, // six 20 ms frames: 120 ms
		{pkt: []byte{31<<3 | 3, 7}, bad: true},  // 140 ms
		{pkt: []byte{31<<3 | 3, 0}, bad: true},  // zero frames
		{pkt: []byte{31<<3 | 3}, bad: true},     // count byte missing
		{pkt: nil, bad: true},                   // empty
	} {
		n, err := packetSamples(c.pkt)
		if c.bad != (err != nil) || (!c.bad && n != c.want) {
			t.Errorf("packetSamples(%v) = %d, %v; want %d, bad=%v", c.pkt, n, err, c.want, c.bad)
		}
	}
}

func TestJitterReordersAcrossWrap(t *testing.T) {
	pkts := rtpPackets(make([][]byte, 10), 65532, math.MaxUint32-2*publishTicks)
	order := []int{1, 0, 2, 4, 3, 5, 6, 8, 7, 9}
	j := newJitter(3 * publishTicks)
	var got []int64
	for _, i := range order {
		j.push(pkts[i], time.Time{})
		for {
			p, lost, ok := j.pop(false)
			if !ok {
				break
			}
			if lost != 0 {
				t.Fatalf("lost %d before seq %d", lost, p.seq)
			}
			got = append(got, p.seq)
		}
	}
	for {
		p, _, ok := j.pop(true)
		if !ok {
			break
		}
		got = append(got, p.seq)
	}
	if len(got) != 10 {
		t.Fatalf("released %d packets, want 10: %v", len(got), got)
	}
	for i := range got {
		if got[i] != 65532+int64(i) {
			t.Fatalf("released %v, want 65532.. in order", got)
		}
	}
}

func TestJitterDeclaresLossAfterDepth(t *testing.T) {
	pkts := rtpPackets(make([][]byte, 10), 100, 0)
	j := newJitter(3 * publishTicks)
	var lost int64
	var seqs []int64
	for i, p := range pkts {
		if i == 4 {
			continue // never arrives
		}
		j.push(p, time.Time{})
		for {
			q, l, ok := j.pop(false)
			if !ok {
				break
			}
			lost += l
			seqs = append(seqs, q.seq)
		}
	}
	if lost != 1 || len(seqs) < 6 || seqs[4] != 105 {
		t.Fatalf("lost %d, released %v; want seq 104 lost and the rest in order", lost, seqs)
	}
	// A late packet whose turn has passed is dropped, not replayed.
	j.push(pkts[4], time.Time{})
	if j.late != 1 {
		t.Fatalf("late = %d, want 1", j.late)
	}
}

func TestTrackLossAndReorder(t *testing.T) {
	src := loadFixture(t, "alice.wav")
	pkts := rtpPackets(encode(t, src), 65500, 12345)
	var sent []*rtp.Packet
	dropped := 0
	for i := 0; i < len(pkts); i++ {
		switch {
		case i%20 == 7:
			dropped++
		case i%10 == 3 && i+1 < len(pkts):
			sent = append(sent, pkts[i+1], pkts[i])
			i++
		default:
			sent = append(sent, pkts[i])
		}
	}
	frames, tr := runFake(t, sent, nil, 0)
	got := audioOf(frames)
	checkLength(t, got, len(pkts)*publishFrame)
	st := tr.Stats()
	if st.Lost != int64(dropped) || st.FEC != int64(dropped) || st.Late != 0 {
		t.Errorf("stats %+v, want %d lost and repaired, none late", st, dropped)
	}
	if c := corr(got, src); c < 0.5 {
		t.Errorf("correlation with the source %.2f, want > 0.5", c)
	}
	if tr.Err() != nil {
		t.Errorf("track ended with %v, want nil at end of stream", tr.Err())
	}
}

func TestTrackTimestampGaps(t *testing.T) {
	payloads := encode(t, loadFixture(t, "alice.wav")[:stream.SampleRate])
	pkts := rtpPackets(payloads, 10, 0)
	half := len(pkts) / 2
	// DTX: a second of no packets in an unbroken sequence is a second of
	// silence.
	for _, p := range pkts[half:] {
		p.Timestamp += opusRate
	}
	frames, tr := runFake(t, pkts, nil, 0)
	checkLength(t, audioOf(frames), (len(pkts)+50)*publishFrame)
	if st := tr.Stats(); st.Silence != time.Second {
		t.Errorf("silence %v, want 1s", st.Silence)
	}

	// A jump no pause explains (an hour) is a clock reset: no hour of
	// silence.
	pkts = rtpPackets(payloads, 10, 0)
	for _, p := range pkts[half:] {
		p.Timestamp += 3600 * opusRate
	}
	frames, _ = runFake(t, pkts, nil, 0)
	if got := samples16(int64(len(audioOf(frames)))); got > 2*time.Second {
		t.Errorf("decoded %v after a timestamp jump, want about 1s", got)
	}
}

// Many small claimed gaps add up like one big one: a sender cannot make the
// agent produce more audio than the time that passed, plus the slack.
func TestTrackGapsCannotOutrunTime(t *testing.T) {
	payloads := encode(t, loadFixture(t, "alice.wav")[:stream.SampleRate])
	pkts := rtpPackets(payloads, 10, 0)
	for i, p := range pkts {
		p.Timestamp += uint32(i) * opusRate * 3 / 2 // each packet claims 1.5 s more than it carries
	}
	// Every packet arrives at the same instant, however busy the machine: no
	// time passes to make the gaps real.
	arrived := time.Now()
	frames, _ := runFakeArriving(t, pkts, nil, 0, func() time.Time { return arrived })
	if got := samples16(int64(len(audioOf(frames)))); got > time.Second+2*time.Second+200*time.Millisecond {
		t.Errorf("decoded %v from 1 s of packets claiming %v of gaps, want at most about 3 s", got, time.Duration(len(pkts))*1500*time.Millisecond)
	}
}

func TestTrackStartsAtArrivalMeetingTime(t *testing.T) {
	payloads := encode(t, loadFixture(t, "bob.wav")[:stream.SampleRate/2])
	frames, _ := runFake(t, rtpPackets(payloads, 1, 777), nil, 3*time.Second+123*time.Microsecond)
	if len(frames) == 0 || frames[0].At != 3*time.Second+125*time.Microsecond {
		t.Fatalf("first frame at %v, want 3.000125s (arrival, on a 16 kHz sample)", frames[0].At)
	}
	if frames[0].Channel != "alice" {
		t.Fatalf("channel %q", frames[0].Channel)
	}
}

func TestTrackIdle(t *testing.T) {
	payloads := encode(t, loadFixture(t, "bob.wav")[:stream.SampleRate/2])
	frames, tr := runFake(t, rtpPackets(payloads, 1, 0), timeoutErr{}, 0)
	checkLength(t, audioOf(frames), len(payloads)*publishFrame)
	if !errors.Is(tr.Err(), ErrIdle) {
		t.Fatalf("Err() = %v, want ErrIdle", tr.Err())
	}
}

func TestTrackBadPayloads(t *testing.T) {
	pkts := rtpPackets([][]byte{{}, {0xff, 0xff}, {31<<3 | 3, 0}, {1 << 3, 1, 2, 3}}, 1, 0)
	frames, tr := runFake(t, pkts, nil, 0)
	_ = frames
	if st := tr.Stats(); st.Bad < 2 {
		t.Fatalf("stats %+v, want the malformed packets counted", st)
	}
}

// A consumer that falls more than frameBuffer frames behind loses the frames that do not fit, and
// is told: the next frame it takes, or an empty one at the end, carries the dropped audio as Lost,
// so that the meeting's record shows a hole rather than losing the audio unseen. The track's reader
// never waits for it.
func TestTrackDropsForASlowConsumerAndSaysHowMuch(t *testing.T) {
	src := loadFixture(t, "alice.wav")
	var long []float32
	for len(long) < 3*frameBuffer*frameSamples*3 { // three times the buffer, at 48 kHz
		long = append(long, src...)
	}
	pkts := rtpPackets(encode(t, long), 100, 5000)
	tr := newTrack("m1", "s1", "alice", "")
	reader := &fakeReader{pkts: pkts}
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		tr.run(reader, trackConfig{idle: time.Second, depth: 80 * opusRate / 1000, maxGap: 10 * time.Second,
			clock: func(time.Time) time.Duration { return 0 }, stopping: closed, log: discardLogger()})
	}()
	// Nobody reads until every packet has been read: the reader did not wait for the consumer.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if tr.Stats().Packets == int64(len(pkts)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the track read %d of %d packets and waits for its consumer", tr.Stats().Packets, len(pkts))
		}
	}
	var frames []stream.Frame
	for f := range tr.Frames() {
		frames = append(frames, f)
	}
	<-ran
	var heard, lost time.Duration
	for i, f := range frames {
		heard += f.End() - f.At
		lost += f.Lost
		if i > 0 && f.At != frames[i-1].End()+f.Lost {
			t.Fatalf("frame %d at %v: the previous ended at %v and %v was said lost", i, f.At, frames[i-1].End(), f.Lost)
		}
	}
	st := tr.Stats()
	if lost == 0 || lost != st.Dropped {
		t.Fatalf("frames say %v lost, stats %v dropped: want the same, not zero", lost, st.Dropped)
	}
	if heard+lost != st.Audio {
		t.Fatalf("%v heard + %v lost, want all %v of the track", heard, lost, st.Audio)
	}
	if last := frames[len(frames)-1]; len(last.Samples) != 0 || last.Lost == 0 {
		t.Fatalf("the last frame %v samples, lost %v: want an empty frame reporting what was dropped at the end", len(last.Samples), last.Lost)
	}
}
