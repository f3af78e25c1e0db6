package meetingfixture

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"gopkg.in/hraban/opus.v2"

	"github.com/ledgerline/ledgerline/internal/clock"
)

const (
	sampleRate   = 16000
	frameSamples = sampleRate / 50 // 20 ms
	frameTicks   = 960             // 20 ms of Opus's 48 kHz RTP clock
	opusPT       = 111
	audioLevel   = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
	csrcBase     = 0x4c4c0000 // participant i's CSRC is csrcBase+i+1
)

// newAPI is a WebRTC stack on loopback that sends Opus with audio levels.
func newAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType: opusPT,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("meetingfixture: %w", err)
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevel}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("meetingfixture: %w", err)
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)), nil
}

// outTrack is one audio track sent to a guest.
type outTrack struct {
	track *webrtc.TrackLocalStaticRTP
	enc   *opus.Encoder
	ext   uint8 // the audio level extension's ID; 0 when not negotiated
	seq   uint16
	ts    uint32
}

// media answers a guest's offer with the room's tracks and plays the script once connected.
func (s *Server) media(w http.ResponseWriter, r *http.Request) {
	offer, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	rm, g, ok := s.lookup(w, r)
	if ok && (g.state != "admitted" || g.pc != nil) {
		http.Error(w, "not admitted, or connected already", http.StatusConflict)
		ok = false
	}
	var n int
	if ok {
		n = rm.cfg.Mode.tracks(len(rm.cfg.Participants))
	}
	s.mu.Unlock()
	if !ok {
		return
	}
	pc, outs, err := s.answer(string(offer), n)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	ctx, stop := context.WithCancel(s.ctx)
	var once sync.Once
	start := func() {
		once.Do(func() {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.play(ctx, rm, g, pc, outs)
			}()
		})
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			start()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			stop()
		}
	})
	s.mu.Lock()
	if g.state != "admitted" || s.ctx.Err() != nil { // left or ended while answering
		s.mu.Unlock()
		stop()
		_ = pc.Close()
		http.Error(w, "no longer in the call", http.StatusConflict)
		return
	}
	g.pc, g.stop = pc, stop
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/sdp")
	_, _ = io.WriteString(w, pc.LocalDescription().SDP)
}

// answer makes the peer connection that sends n tracks to an offer.
func (s *Server) answer(offer string, n int) (*webrtc.PeerConnection, []*outTrack, error) {
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*webrtc.PeerConnection, []*outTrack, error) {
		_ = pc.Close()
		return nil, nil, err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(err)
	}
	var outs []*outTrack
	var senders []*webrtc.RTPSender
	for i := range n {
		t, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
			fmt.Sprintf("audio%d", i), fmt.Sprintf("stream%d", i))
		if err != nil {
			return fail(err)
		}
		sender, err := pc.AddTrack(t)
		if err != nil {
			return fail(err)
		}
		enc, err := opus.NewEncoder(sampleRate, 1, opus.AppVoIP)
		if err != nil {
			return fail(err)
		}
		outs = append(outs, &outTrack{track: t, enc: enc, seq: uint16(i * 1000)})
		senders = append(senders, sender)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(err)
	}
	<-gathered
	for i, sender := range senders {
		for _, h := range sender.GetParameters().HeaderExtensions {
			if h.URI == audioLevel {
				outs[i].ext = uint8(h.ID)
			}
		}
		s.wg.Add(1)
		go func() { // RTCP must be read for the stack to process it; ends with the connection
			defer s.wg.Done()
			for {
				if _, _, err := sender.ReadRTCP(); err != nil {
					return
				}
			}
		}()
	}
	return pc, outs, nil
}

// play sends the room's script to a guest, then silence, until ctx is done.
func (s *Server) play(ctx context.Context, rm *room, g *guest, pc *webrtc.PeerConnection, outs []*outTrack) {
	defer func() { _ = pc.Close() }()
	cfg := rm.cfg
	index := map[string]int{}
	for i, p := range cfg.Participants {
		index[p] = i
	}
	start := time.Now()
	frame := 0
	send := func(speaker string, audio []float32, slot int) bool {
		if clock.SleepUntil(ctx, start.Add(time.Duration(frame)*20*time.Millisecond)) != nil {
			return false
		}
		frame++
		if err := s.sendFrame(cfg.Mode, outs, index, speaker, audio, slot); err != nil {
			s.log.Warn("fixture send", "err", err)
			return false
		}
		return true
	}
	silence := func(d time.Duration) bool {
		for range int(d / (20 * time.Millisecond)) {
			if !send("", nil, 0) {
				return false
			}
		}
		return true
	}
	if !silence(cfg.Lead) {
		return
	}
	for i, line := range cfg.Script {
		if !silence(line.Pause) {
			return
		}
		s.speaking(g, line.Speaker, true)
		began := time.Now()
		var voiced []bool
		for at := 0; at < len(line.Audio); at += frameSamples {
			pcm := line.Audio[at:min(at+frameSamples, len(line.Audio))]
			voiced = append(voiced, levelByte(pcm)&0x80 != 0)
			if !send(line.Speaker, pcm, slotOf(i)) {
				s.speaking(g, line.Speaker, false)
				return
			}
		}
		s.mu.Lock()
		rm.played = append(rm.played, Played{Speaker: line.Speaker, Start: began, End: time.Now().Add(20 * time.Millisecond), Voiced: voiced})
		s.mu.Unlock()
		s.speaking(g, line.Speaker, false)
	}
	s.mu.Lock()
	select {
	case <-rm.done:
	default:
		close(rm.done)
	}
	s.mu.Unlock()
	// The script has played: the host's and the participants' next moves are due from now.
	doneAt := time.Now()
	ended, left, removed := false, false, false
	for send("", nil, 0) {
		since := time.Since(doneAt)
		if cfg.LeaveAfter > 0 && !left && since >= cfg.LeaveAfter {
			left = true
			s.mu.Lock()
			rm.left = true
			s.mu.Unlock()
		}
		if cfg.RemoveAfter > 0 && !removed && since >= cfg.RemoveAfter {
			removed = true
			s.Remove(rm.id) // ends this player too
		}
		if cfg.EndAfter > 0 && !ended && since >= cfg.EndAfter {
			ended = true
			s.End(rm.id) // ends this player too
		}
	}
}

// slotOf is the virtual stream that carries line i: streams are taken in turn, skipping one every
// third line, so that a participant comes on another stream from one line of theirs to the next
// (0, 1, 2, 1, 2, 0, 2, 0, 1, …).
func slotOf(i int) int { return (i + i/virtualStreams) % virtualStreams }

func (s *Server) speaking(g *guest, who string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.speaking == nil {
		g.speaking = map[string]bool{}
	}
	g.speaking[who] = on
}

// sendFrame sends one 20 ms frame on every track: speaker's audio (nil: silence) where the mode
// puts it; slot is the virtual stream of the line.
func (s *Server) sendFrame(mode Mode, outs []*outTrack, index map[string]int, speaker string, audio []float32, slot int) error {
	silent := make([]float32, frameSamples)
	voice := silent
	if audio != nil {
		voice = make([]float32, frameSamples)
		copy(voice, audio)
	}
	var csrc []uint32
	if speaker != "" {
		csrc = []uint32{csrcBase + uint32(index[speaker]) + 1}
	}
	for i, o := range outs {
		pcm, contributing := silent, []uint32(nil)
		switch mode {
		case PerTrack:
			if speaker != "" && index[speaker] == i {
				pcm = voice
			}
		case Mixed:
			pcm, contributing = voice, csrc
		case Virtual:
			if speaker != "" && slot == i {
				pcm, contributing = voice, csrc
			}
		}
		if err := o.write(pcm, contributing); err != nil {
			return err
		}
	}
	return nil
}

// write encodes and sends one frame.
func (o *outTrack) write(pcm []float32, csrc []uint32) error {
	buf := make([]byte, 1000)
	n, err := o.enc.EncodeFloat32(pcm, buf)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: opusPT, SequenceNumber: o.seq, Timestamp: o.ts, CSRC: csrc},
		Payload: buf[:n]}
	if o.ext != 0 {
		if err := pkt.Header.SetExtension(o.ext, []byte{levelByte(pcm)}); err != nil {
			return err
		}
	}
	o.seq++
	o.ts += frameTicks
	return o.track.WriteRTP(pkt)
}

// levelByte is the RFC 6464 audio level of a frame: its level in -dBov (0 loudest, 127 silent),
// with the voice bit set above a whisper.
func levelByte(pcm []float32) byte {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	rms := math.Sqrt(sum / float64(max(len(pcm), 1)))
	level := 127
	if rms > 0 {
		level = int(math.Round(-20 * math.Log10(rms)))
	}
	level = max(0, min(127, level))
	b := byte(level)
	if level < 60 {
		b |= 0x80
	}
	return b
}
