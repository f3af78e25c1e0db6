package ingest

import (
	"time"

	"github.com/pion/rtp"
)

// packet is one RTP packet as the jitter buffer holds it, with its sequence
// number and timestamp extended to 64 bits so wraparound needs no care later.
type packet struct {
	seq     int64 // extended sequence number
	ts      int64 // extended RTP timestamp, 48 kHz units for Opus
	payload []byte
	arrival time.Time
}

// maxBuffered bounds the packets a jitter buffer holds whatever their
// timestamps say, so a sender that lies cannot grow it.
const maxBuffered = 64

// jitter reorders the packets of one RTP stream by sequence number. It holds
// packets until they are in order or until a hole has waited depth (in RTP
// timestamp units): then the hole is declared lost and playout moves past it.
// Waiting is measured in the stream's own timestamps, not a wall clock, so the
// buffer is deterministic; a hole at the very end of a stream is released by
// flushing.
//
// A jitter buffer is not safe for concurrent use.
type jitter struct {
	depth int64
	buf   []packet // sorted by seq, no duplicates

	started bool
	next    int64 // the next sequence number to release

	seen    bool
	lastSeq int64 // extended seq and ts of the latest packet pushed
	lastTS  int64

	late int64 // packets dropped because they came after their turn
}

func newJitter(depth int64) *jitter { return &jitter{depth: depth} }

// push adds a packet. A packet whose turn has passed, or a duplicate, is
// dropped.
func (j *jitter) push(p *rtp.Packet, arrival time.Time) {
	seq, ts := int64(p.SequenceNumber), int64(p.Timestamp)
	if j.seen {
		seq = j.lastSeq + int64(int16(p.SequenceNumber-uint16(j.lastSeq)))
		ts = j.lastTS + int64(int32(p.Timestamp-uint32(j.lastTS)))
	}
	j.seen, j.lastSeq, j.lastTS = true, seq, ts
	if j.started && seq < j.next {
		j.late++
		return
	}
	i := len(j.buf)
	for i > 0 && j.buf[i-1].seq > seq {
		i--
	}
	if i > 0 && j.buf[i-1].seq == seq {
		return // duplicate
	}
	j.buf = append(j.buf, packet{})
	copy(j.buf[i+1:], j.buf[i:])
	j.buf[i] = packet{seq: seq, ts: ts, payload: p.Payload, arrival: arrival}
}

// pop releases the next packet when it is due, with the number of packets
// declared lost just before it. With flush set it releases whatever it holds,
// in order, without waiting.
func (j *jitter) pop(flush bool) (p packet, lost int64, ok bool) {
	if len(j.buf) == 0 {
		return packet{}, 0, false
	}
	waited := j.buf[len(j.buf)-1].ts - j.buf[0].ts
	if !j.started {
		// Wait for the first packets too: the first to arrive need not be
		// the first sent.
		if !flush && waited < j.depth && len(j.buf) < maxBuffered {
			return packet{}, 0, false
		}
		j.started, j.next = true, j.buf[0].seq
	}
	head := j.buf[0]
	if head.seq != j.next && !flush && waited < j.depth && len(j.buf) < maxBuffered {
		return packet{}, 0, false
	}
	lost = head.seq - j.next
	j.buf = j.buf[:copy(j.buf, j.buf[1:])]
	j.next = head.seq + 1
	return head, lost, true
}
