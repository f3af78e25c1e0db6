package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// session is one WHIP resource: one peer connection and its audio tracks.
// Its run goroutine, owned by the WHIP endpoint, is the only one that ends
// it; everything else asks through events or stop.
type session struct {
	h                   *WHIP
	id, meeting, prefer string
	query               string // raw query of the POST that created it, for its tracks
	log                 *slog.Logger
	pc                  *webrtc.PeerConnection

	events  chan sessionEvent
	end     chan struct{} // closed by stop
	endOnce sync.Once
	closing chan struct{} // closed when teardown begins

	mu        sync.Mutex
	closed    bool // no new tracks
	abandoned bool // consumers gone: tracks drop their frames
	tracks    []*Track
	names     []string // channel names this session holds
	tracksWG  sync.WaitGroup
}

type eventKind int

const (
	evConnected eventKind = iota + 1
	evLost
	evTrackStarted
	evTrackEnded
)

type sessionEvent struct {
	kind  eventKind
	state webrtc.PeerConnectionState
}

func newSession(h *WHIP, meeting, id, channel, query string) *session {
	return &session{
		h: h, id: id, meeting: meeting, prefer: channel, query: query,
		log:     h.log.With("meeting", meeting, "session", id),
		events:  make(chan sessionEvent, 8),
		end:     make(chan struct{}),
		closing: make(chan struct{}),
	}
}

// negotiate answers offer, ICE candidates gathered.
func (s *session) negotiate(ctx context.Context, offer string) (string, error) {
	pc, err := s.h.cfg.API.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", fmt.Errorf("new peer connection: %w", err)
	}
	s.pc = pc
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			s.notify(sessionEvent{kind: evConnected, state: st})
		case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed,
			webrtc.PeerConnectionStateClosed:
			s.notify(sessionEvent{kind: evLost, state: st})
		}
	})
	pc.OnTrack(s.onTrack)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", &offerError{err}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", &offerError{err}
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}
	if err := gather(ctx, gathered); err != nil {
		return "", err
	}
	return pc.LocalDescription().SDP, nil
}

// notify passes an event to run unless the session is already ending.
func (s *session) notify(ev sessionEvent) {
	select {
	case s.events <- ev:
	case <-s.closing:
	}
}

// stop asks run to end the session. It does not wait.
func (s *session) stop() { s.endOnce.Do(func() { close(s.end) }) }

// abandonTracks drops the frames of every track, now and to come.
func (s *session) abandonTracks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abandoned = true
	for _, t := range s.tracks {
		t.Close()
	}
}

// run waits for a reason to end the session, then closes the peer connection,
// waits for the track readers and releases the session.
func (s *session) run() {
	defer s.h.wg.Done()
	timer := time.NewTimer(s.h.cfg.ConnectTimeout)
	defer timer.Stop()
	deadline := timer.C
	live := 0
	var reason error
loop:
	for {
		select {
		case <-s.end:
			break loop
		case <-deadline:
			reason = fmt.Errorf("%w: no audio track in time", ErrIdle)
			break loop
		case ev := <-s.events:
			switch ev.kind {
			case evConnected:
				if live == 0 {
					timer.Reset(s.h.cfg.IdleTimeout)
					deadline = timer.C
				}
			case evLost:
				reason = fmt.Errorf("%w: connection %s", ErrDisconnected, ev.state)
				break loop
			case evTrackStarted:
				live++
				timer.Stop()
				deadline = nil
			case evTrackEnded:
				live--
				if live == 0 {
					break loop // every track has ended
				}
			}
		}
	}
	close(s.closing)
	s.mu.Lock()
	s.closed = true
	tracks := s.tracks
	s.mu.Unlock()
	for _, t := range tracks {
		t.end(reason)
	}
	if err := s.pc.Close(); err != nil {
		s.log.Warn("close peer connection", "err", err)
	}
	s.tracksWG.Wait()
	s.h.release(s)
	s.log.Info("WHIP session ended", "reason", reason)
}

// maxTracksPerSession bounds the audio tracks one WHIP session may send.
const maxTracksPerSession = 2

// onTrack runs on the goroutine the WebRTC stack starts for a new remote
// track; it reads the track until the session closes it.
func (s *session) onTrack(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if remote.Kind() != webrtc.RTPCodecTypeAudio {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(s.tracks) >= maxTracksPerSession {
		// A participant sends a microphone and perhaps a tab; an offer with
		// more audio tracks would have each transcribed at the others' cost.
		s.mu.Unlock()
		s.log.Warn("ignored an audio track beyond the limit of a session", "limit", maxTracksPerSession)
		return
	}
	s.tracksWG.Add(1)
	defer s.tracksWG.Done()
	name := s.trackName(remote)
	t := newTrack(s.meeting, s.id, name, s.query)
	s.tracks = append(s.tracks, t)
	if s.abandoned {
		t.Close()
	}
	s.mu.Unlock()

	s.notify(sessionEvent{kind: evTrackStarted})
	s.log.Info("WHIP track started", "channel", name, "codec", remote.Codec().MimeType)
	s.h.cfg.OnTrack(s.meeting, t)
	t.run(remote, trackConfig{
		idle:     s.h.cfg.IdleTimeout,
		depth:    int64(s.h.cfg.JitterDepth.Seconds() * opusRate),
		maxGap:   s.h.cfg.MaxGap,
		clock:    s.h.clock(s.meeting),
		stopping: s.closing,
		log:      s.log,
	})
	s.notify(sessionEvent{kind: evTrackEnded})
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// trackName names a new track's channel; s.mu is held. The first track takes
// the channel the publisher asked for (already claimed); later ones and
// unnamed ones get a free name.
func (s *session) trackName(remote *webrtc.TrackRemote) string {
	if s.prefer != "" && len(s.tracks) == 0 {
		return s.prefer
	}
	want := s.prefer
	if want == "" {
		for _, id := range []string{remote.StreamID(), remote.ID()} {
			if id = unsafeName.ReplaceAllString(id, "_"); id != "" && id != "_" {
				want = id
				break
			}
		}
	}
	if len(want) > 64 {
		want = want[:64]
	}
	if want == "" {
		want = "whip-" + s.id[:8]
	}
	name := s.h.claim(s.meeting, want)
	s.names = append(s.names, name)
	return name
}
