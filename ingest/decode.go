package ingest

import (
	"errors"
	"fmt"
	"time"

	"gopkg.in/hraban/opus.v2"

	"github.com/ledgerline/ledgerline/stream"
)

// Opus over RTP always counts time at 48 kHz (RFC 7587).
const (
	opusRate       = 48000
	opusMaxSamples = opusRate * 120 / 1000 // the longest packet: 120 ms
	plcStep        = opusRate * 25 / 10000 // PLC lengths are multiples of 2.5 ms
)

// gapSlack is how much longer than the wall-clock time between two packets
// their timestamp gap may be before it counts as a jump: bursts after a
// network stall arrive close together, but no real gap between packets is
// longer than a DTX interval (400 ms).
const gapSlack = 2 * opusRate

// frameSamples is the length of the frames a track sends: 20 ms at 16 kHz.
const frameSamples = stream.SampleRate * 20 / 1000

// errBadPacket: a payload that is not a well-formed Opus packet.
var errBadPacket = errors.New("malformed Opus packet")

// packetSamples is the duration of an Opus packet in 48 kHz samples, read from
// its TOC byte (RFC 6716, section 3.1).
func packetSamples(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("%w: empty", errBadPacket)
	}
	toc := b[0]
	cfg := int(toc >> 3)
	var frame int
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		frame = [4]int{480, 960, 1920, 2880}[cfg%4]
	case cfg < 16: // hybrid: 10, 20 ms
		frame = [2]int{480, 960}[cfg%2]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = [4]int{120, 240, 480, 960}[cfg%4]
	}
	count := 1
	switch toc & 3 {
	case 1, 2:
		count = 2
	case 3:
		if len(b) < 2 || b[1]&0x3f == 0 {
			return 0, fmt.Errorf("%w: bad frame count", errBadPacket)
		}
		count = int(b[1] & 0x3f)
	}
	if n := frame * count; n <= opusMaxSamples {
		return n, nil
	}
	return 0, fmt.Errorf("%w: longer than 120 ms", errBadPacket)
}

// TrackStats counts what happened to a track's packets.
type TrackStats struct {
	Packets   int64         // packets decoded
	Lost      int64         // packets never received
	Late      int64         // packets dropped because they came after their turn
	Bad       int64         // packets that were not valid Opus
	FEC       int64         // losses repaired from the next packet's in-band FEC (or PLC where it had none)
	Concealed time.Duration // audio synthesized by packet loss concealment or FEC
	Silence   time.Duration // silence inserted for timestamp gaps (DTX, muted senders)
	Audio     time.Duration // all audio sent as frames
	Dropped   time.Duration // audio dropped because its consumer fell too far behind (see Track)
}

// decoder turns the in-order packets of one Opus track into 16 kHz frames on
// the meeting clock.
//
// Time mapping: the first packet's timestamp is pinned to a meeting time (the
// wall-clock time it arrived, since the meeting started). From then on meeting
// time advances only with the samples of the stream: a packet is placed by its
// RTP timestamp, lost packets are concealed for the time they covered, and
// timestamp gaps in a continuous sequence (DTX, a muted sender) become
// silence. Clock drift is not corrected: the sender's sample clock is the
// channel's clock, so a sender whose clock runs 100 ppm fast drifts 0.36 s an
// hour against other channels. Correcting it would take the RTCP sender
// reports' NTP/RTP pairs, which browsers send, and resampling by the measured
// ratio.
//
// A decoder is not safe for concurrent use.
type decoder struct {
	channel string
	dec     *opus.Decoder
	rs      *stream.Resampler

	maxConceal int64 // most PLC samples for one loss; silence beyond
	maxGap     int64 // a bigger timestamp jump is a discontinuity, not audio

	anchored  bool
	anchorTS  int64 // an RTP timestamp pinned to a meeting time
	anchorAt  time.Duration
	started   bool
	start     time.Duration // meeting time of the first output sample
	pos       int64         // RTP timestamp of the next expected sample
	lastSeen  time.Time     // arrival of the previous packet
	firstSeen time.Time     // arrival of the first packet
	synth     int64         // 48 kHz samples made up so far: silence and loss concealment
	emitted   int64         // 16 kHz samples sent as frames

	pcm   []float32 // 48 kHz scratch
	out   []float32 // 16 kHz samples not yet framed
	stats TrackStats
}

func newDecoder(channel string, maxGap time.Duration) (*decoder, error) {
	dec, err := opus.NewDecoder(opusRate, 1)
	if err != nil {
		return nil, fmt.Errorf("create Opus decoder: %w", err)
	}
	rs, err := stream.NewResampler(opusRate, stream.SampleRate)
	if err != nil {
		return nil, fmt.Errorf("create resampler: %w", err)
	}
	return &decoder{
		channel:    channel,
		dec:        dec,
		rs:         rs,
		maxConceal: opusRate / 2, // PLC fades to silence well before 500 ms
		maxGap:     int64(maxGap.Seconds() * opusRate),
		pcm:        make([]float32, opusMaxSamples),
	}, nil
}

// anchor pins the RTP timestamp ts to meeting time at.
func (d *decoder) anchor(ts int64, at time.Duration) {
	d.anchored, d.anchorTS, d.anchorAt = true, ts, at
}

// packet decodes p, which follows lost missing packets, and appends the
// frames it completes to frames.
func (d *decoder) packet(p packet, lost int64, frames []stream.Frame) []stream.Frame {
	d.stats.Lost += lost
	n, err := packetSamples(p.payload)
	if err != nil {
		d.stats.Bad++
		d.lastSeen = p.arrival
		return frames
	}
	if !d.started {
		if !d.anchored {
			d.anchor(p.ts, 0)
		}
		d.started, d.pos = true, p.ts
		d.start = snap(max(d.anchorAt+samples48(p.ts-d.anchorTS), 0))
	}
	gap := p.ts - d.pos
	wall := int64(0) // arrival time since the previous packet, in samples
	if !d.lastSeen.IsZero() {
		wall = max(int64(p.arrival.Sub(d.lastSeen).Seconds()*opusRate), 0)
	}
	if d.firstSeen.IsZero() {
		d.firstSeen = p.arrival
	}
	// Audio made up for gaps may not add up to more than the time that really
	// passed since the first packet: many small claimed gaps count like one big one.
	ahead := gap > 0 && d.synth+gap > int64(p.arrival.Sub(d.firstSeen).Seconds()*opusRate)+gapSlack
	switch {
	case gap > d.maxGap || gap < -d.maxGap || (gap > gapSlack && gap > wall+gapSlack) || ahead:
		// A timestamp jump no real pause explains (the sender reset its
		// clock, or claims more time passed than did): keep the time that
		// really passed, within the cap, and go on from the new
		// timestamps. This also bounds the audio a peer can make the
		// agent synthesize to about real time.
		d.silence(min(wall, d.maxGap))
		d.pos, gap = p.ts, 0
	case gap > 0 && lost > 0:
		d.conceal(gap, p.payload, n)
	case gap > 0:
		d.silence(gap)
	}
	d.lastSeen = p.arrival
	got, err := d.dec.DecodeFloat32(p.payload, d.pcm[:opusMaxSamples])
	if err != nil {
		d.stats.Bad++
		d.pos = p.ts + int64(n)
		return frames
	}
	d.stats.Packets++
	pcm := d.pcm[:got]
	if gap < 0 {
		// Overlaps audio already played out: keep only what is new.
		pcm = pcm[min(int(-gap), len(pcm)):]
	}
	d.push(pcm)
	d.pos = max(d.pos, p.ts+int64(got))
	return d.frames(frames)
}

// conceal fills gap samples lost before a packet of n samples: FEC from that
// packet for the frame just before it, PLC before that, silence past
// maxConceal.
func (d *decoder) conceal(gap int64, next []byte, n int) {
	fec := min(gap, int64(n))
	fec -= fec % plcStep
	rest := gap - fec
	plc := min(rest, d.maxConceal)
	plc -= plc % plcStep
	for left := plc; left > 0; {
		k := min(left, opusMaxSamples)
		buf := d.pcm[:k:k]
		if err := d.dec.DecodePLCFloat32(buf); err != nil {
			clear(buf)
		}
		d.push(buf)
		left -= k
	}
	d.stats.Concealed += samples48(plc)
	d.synth += plc
	d.silence(rest - plc)
	if fec > 0 {
		buf := d.pcm[:fec:fec]
		if err := d.dec.DecodeFECFloat32(next, buf); err != nil {
			clear(buf)
		}
		d.push(buf)
		d.stats.FEC++
		d.stats.Concealed += samples48(fec)
	}
	d.pos += gap
}

// silence inserts n samples of silence and advances the stream position.
func (d *decoder) silence(n int64) {
	if n <= 0 {
		return
	}
	d.stats.Silence += samples48(n)
	d.synth += n
	clear(d.pcm)
	for left := n; left > 0; {
		k := min(left, int64(len(d.pcm)))
		d.push(d.pcm[:k])
		left -= k
	}
	d.pos += n
}

func (d *decoder) push(pcm48 []float32) { d.out = d.rs.Process(d.out, pcm48) }

// frames moves every whole frame of pending output into frames.
func (d *decoder) frames(frames []stream.Frame) []stream.Frame {
	i := 0
	for ; len(d.out)-i >= frameSamples; i += frameSamples {
		frames = d.frame(frames, d.out[i:i+frameSamples])
	}
	d.out = d.out[:copy(d.out, d.out[i:])]
	return frames
}

func (d *decoder) frame(frames []stream.Frame, s []float32) []stream.Frame {
	f := stream.Frame{
		Channel: d.channel,
		At:      d.clockEnd(),
		Samples: append([]float32(nil), s...),
	}
	d.emitted += int64(len(s))
	d.stats.Audio = samples16(d.emitted)
	return append(frames, f)
}

// clockEnd is the meeting time just after the last sample sent as a frame.
func (d *decoder) clockEnd() time.Duration { return d.start + samples16(d.emitted) }

// flush ends the stream: the resampler's tail and the last, possibly short,
// frame.
func (d *decoder) flush(frames []stream.Frame) []stream.Frame {
	if !d.started {
		return frames
	}
	d.out = d.rs.Flush(d.out)
	frames = d.frames(frames)
	if len(d.out) > 0 {
		frames = d.frame(frames, d.out)
		d.out = d.out[:0]
	}
	return frames
}

func samples48(n int64) time.Duration { return time.Duration(n) * time.Second / opusRate }

// samples16 is the duration of n samples at 16 kHz: exactly 62.5 µs each.
func samples16(n int64) time.Duration { return time.Duration(n) * time.Second / stream.SampleRate }

// snap rounds d to a whole 16 kHz sample.
func snap(d time.Duration) time.Duration {
	const per = time.Second / stream.SampleRate
	return (d + per/2) / per * per
}
