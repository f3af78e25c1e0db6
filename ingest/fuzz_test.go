package ingest

import (
	"encoding/binary"
	"net/http"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// FuzzTrackPackets feeds arbitrary packets (sequence, timestamp, payload) to
// a track's jitter buffer and decoder: whatever a peer sends, the track must
// not panic and its frames must stay contiguous.
func FuzzTrackPackets(f *testing.F) {
	src := loadFixture(f, "bob.wav")[:4000]
	seed := []byte{}
	for i, p := range encode(f, src) {
		seed = binary.BigEndian.AppendUint16(seed, uint16(65530+i))
		seed = binary.BigEndian.AppendUint32(seed, uint32(i*publishTicks))
		seed = append(seed, byte(len(p)))
		seed = append(seed, p...)
	}
	f.Add(seed)
	f.Add([]byte{0, 1, 0, 0, 0, 0, 1, 0xff, 0, 2, 0xff, 0xff, 0xff, 0xff, 2, 0x0b, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		var pkts []*rtp.Packet
		for len(data) >= 7 && len(pkts) < 50 {
			n := int(data[6])
			p := &rtp.Packet{Header: rtp.Header{
				SequenceNumber: binary.BigEndian.Uint16(data),
				Timestamp:      binary.BigEndian.Uint32(data[2:]),
			}}
			data = data[7:]
			n = min(n, len(data))
			p.Payload, data = data[:n], data[n:]
			pkts = append(pkts, p)
		}
		tr := newTrack("m1", "s1", "x", "")
		done := make(chan struct{})
		go func() {
			defer close(done)
			tr.run(&fakeReader{pkts: pkts}, trackConfig{idle: time.Second, depth: 3840, maxGap: 100 * time.Millisecond,
				clock: func(time.Time) time.Duration { return time.Second }, stopping: closed, log: discardLogger()})
		}()
		defer func() { <-done }()
		var prev time.Duration
		first := true
		for fr := range tr.Frames() {
			if !first && fr.At != prev {
				t.Fatalf("frame at %v, previous ended at %v", fr.At, prev)
			}
			first, prev = false, fr.End()
		}
	})
}

// FuzzCheckOffer: any body gets a status, never a panic.
func FuzzCheckOffer(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"))
	f.Add([]byte("m=audio"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		code, _ := checkOffer(body)
		switch code {
		case 0, http.StatusBadRequest, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("status %d", code)
		}
	})
}
