package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"gopkg.in/hraban/opus.v2"

	"github.com/ledgerline/ledgerline/internal/clock"
	"github.com/ledgerline/ledgerline/stream"
)

// Publisher encoding: 20 ms Opus frames from 16 kHz mono.
const (
	publishFrame   = stream.SampleRate * 20 / 1000 // input samples per packet
	publishTicks   = opusRate * 20 / 1000          // RTP timestamp per packet
	publishBitrate = 32000
)

// PublishOptions configures a Publisher. The zero value publishes in real
// time on a default WebRTC stack.
type PublishOptions struct {
	// Channel is sent as the channel query parameter: the channel name the
	// agent gives the track.
	Channel string
	// Speed paces sending: 1 (or 0) is real time, 4 sends four seconds of
	// audio a second. RTP timestamps always count real audio time.
	Speed float64
	// API is the WebRTC stack; nil means NewAPI(APIConfig{}).
	API *webrtc.API
	// HTTPClient sends the WHIP requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// ConfirmTimeout bounds how long Close waits for a receiver report
	// saying the last packet arrived. Default 2 s.
	ConfirmTimeout time.Duration
	// Logger receives the publisher's logs; nil discards them.
	Logger *slog.Logger

	// firstSeq, when set, is the first RTP sequence number (tests use it to
	// cross the 16-bit wrap).
	firstSeq *uint16
	// mangle, when set, sees each outgoing packet and returns what to send
	// instead (tests drop and reorder with it); a final call with nil
	// flushes what it holds.
	mangle func(*rtp.Packet) []*rtp.Packet
}

// Publisher sends one Opus audio track to a WHIP endpoint. Send and Close
// must be called from one goroutine; Close ends the session and stops the
// publisher's goroutine.
type Publisher struct {
	opts     PublishOptions
	client   *http.Client
	log      *slog.Logger
	pc       *webrtc.PeerConnection
	track    *webrtc.TrackLocalStaticRTP
	ssrc     uint32
	resource string
	token    string
	enc      *opus.Encoder

	pending []float32 // input short of a whole frame
	seq     int64     // extended sequence number of the next packet
	ts      uint32
	sent    int64 // packets written
	paceAt  time.Time
	paced   int64 // packets since paceAt

	// state is the peer connection's state as last reported: once it has failed (the server died,
	// or dropped the session), sending says so rather than streaming into nothing.
	state     atomic.Int32
	acked     atomic.Int64 // highest extended sequence a receiver reported
	ackSignal chan struct{}
	wg        sync.WaitGroup
	closed    bool
}

// Publish opens a WHIP session at endpoint with a bearer token (none if
// empty) and waits until the peer connection is up.
func Publish(ctx context.Context, endpoint, token string, opts PublishOptions) (*Publisher, error) {
	if opts.Speed < 0 {
		return nil, fmt.Errorf("%w: speed %g", ErrConfig, opts.Speed)
	}
	if opts.Speed == 0 {
		opts.Speed = 1
	}
	if opts.ConfirmTimeout <= 0 {
		opts.ConfirmTimeout = 2 * time.Second
	}
	p := &Publisher{opts: opts, client: opts.HTTPClient, log: opts.Logger, token: token,
		ackSignal: make(chan struct{}, 1)}
	if p.client == nil {
		p.client = http.DefaultClient
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	api := opts.API
	if api == nil {
		var err error
		if api, err = NewAPI(APIConfig{}); err != nil {
			return nil, err
		}
	}
	enc, err := newEncoder()
	if err != nil {
		return nil, err
	}
	p.enc = enc
	p.seq = int64(rand.N[uint16](math.MaxUint16))
	if opts.firstSeq != nil {
		p.seq = int64(*opts.firstSeq)
	}

	if err := p.connect(ctx, api, endpoint); err != nil {
		p.shutdown(ctx)
		return nil, err
	}
	return p, nil
}

// connect does the WHIP exchange and waits for the connection.
func (p *Publisher) connect(ctx context.Context, api *webrtc.API, endpoint string) error {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("new peer connection: %w", err)
	}
	p.pc = pc
	up := make(chan webrtc.PeerConnectionState, 4)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		p.state.Store(int32(st))
		select {
		case up <- st:
		default:
		}
	})
	name := p.opts.Channel
	if name == "" {
		name = "audio"
	}
	p.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: opusRate, Channels: 2,
	}, name, "ledgerline")
	if err != nil {
		return fmt.Errorf("new track: %w", err)
	}
	tr, err := pc.AddTransceiverFromTrack(p.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return fmt.Errorf("add track: %w", err)
	}
	sender := tr.Sender()
	p.ssrc = uint32(sender.GetParameters().Encodings[0].SSRC)
	p.wg.Add(1)
	go p.readRTCP(sender)

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set local description: %w", err)
	}
	if err := gather(ctx, gathered); err != nil {
		return err
	}

	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("%w: endpoint %q: %w", ErrConfig, endpoint, err)
	}
	if p.opts.Channel != "" {
		q := u.Query()
		q.Set("channel", p.opts.Channel)
		u.RawQuery = q.Encode()
	}
	resp, err := p.post(ctx, u, pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	u = resp.Request.URL
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOfferBytes))
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("WHIP POST %s: read answer: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%w: POST %s: %s: %s", ErrWHIP, u.Redacted(), resp.Status, bytes.TrimSpace(body))
	}
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("%w: POST %s: answer without Location: %w", ErrWHIP, u.Redacted(), err)
	}
	p.resource = loc.String()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		return fmt.Errorf("%w: bad SDP answer: %w", ErrWHIP, err)
	}
	for {
		select {
		case st := <-up:
			switch st {
			case webrtc.PeerConnectionStateConnected:
				p.log.Debug("WHIP publisher connected", "resource", p.resource)
				return nil
			case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
				return fmt.Errorf("%w: connection %s", ErrDisconnected, st)
			}
		case <-ctx.Done():
			return fmt.Errorf("wait for connection: %w", ctx.Err())
		}
	}
}

// maxRedirects bounds the redirects a WHIP POST follows.
const maxRedirects = 5

// post sends the offer to u and returns the response, after following redirects itself: a team
// server's replica that does not run the meeting answers 307 with the URL of the one that does,
// which may be another host, to which Go's client would not send the bearer token (RFC 9725
// section 4.5 asks publishers to follow redirects). The token is sent again to each URL; a
// redirect from https to http is refused, so that the token is never sent in the clear.
func (p *Publisher) post(ctx context.Context, u *url.URL, sdp string) (*http.Response, error) {
	client := *p.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for redirects := 0; ; redirects++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(sdp))
		if err != nil {
			return nil, fmt.Errorf("WHIP request: %w", err)
		}
		req.Header.Set("Content-Type", sdpType)
		p.authorize(req)
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("WHIP POST %s: %w", u.Redacted(), err)
		}
		if resp.StatusCode != http.StatusTemporaryRedirect && resp.StatusCode != http.StatusPermanentRedirect {
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxOfferBytes))
		_ = resp.Body.Close()
		next, err := resp.Location()
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: POST %s: %s without Location: %w", ErrWHIP, u.Redacted(), resp.Status, err)
		case redirects == maxRedirects:
			return nil, fmt.Errorf("%w: POST %s: more than %d redirects", ErrWHIP, u.Redacted(), maxRedirects)
		case next.Scheme != "http" && next.Scheme != "https", u.Scheme == "https" && next.Scheme == "http":
			return nil, fmt.Errorf("%w: POST %s: refused a redirect to %s", ErrWHIP, u.Redacted(), next.Redacted())
		}
		p.log.Debug("WHIP endpoint redirected", "from", u.Redacted(), "to", next.Redacted())
		u = next
	}
}

func (p *Publisher) authorize(req *http.Request) {
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
}

// readRTCP tracks the receiver's reports of the highest sequence number it
// got, until the peer connection closes.
func (p *Publisher) readRTCP(sender *webrtc.RTPSender) {
	defer p.wg.Done()
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			rr, ok := pkt.(*rtcp.ReceiverReport)
			if !ok {
				continue
			}
			for _, r := range rr.Reports {
				if r.SSRC != p.ssrc {
					continue
				}
				if int64(r.LastSequenceNumber) > p.acked.Load() {
					p.acked.Store(int64(r.LastSequenceNumber))
					select {
					case p.ackSignal <- struct{}{}:
					default:
					}
				}
			}
		}
	}
}

// newEncoder makes the Opus encoder of a publisher: voice, 32 kb/s, with in-band FEC for 10 % loss.
func newEncoder() (*opus.Encoder, error) {
	enc, err := opus.NewEncoder(stream.SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("create Opus encoder: %w", err)
	}
	for _, set := range []func() error{
		func() error { return enc.SetBitrate(publishBitrate) },
		func() error { return enc.SetInBandFEC(true) },
		func() error { return enc.SetPacketLossPerc(10) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("configure Opus encoder: %w", err)
		}
	}
	return enc, nil
}

// EncodeOpus encodes 16 kHz mono audio into the 20 ms Opus frames a Publisher sends, the last one
// padded with silence, for SendOpus: audio encoded once can be sent by many publishers, each
// sparing its own encoder.
func EncodeOpus(pcm []float32) ([][]byte, error) {
	enc, err := newEncoder()
	if err != nil {
		return nil, err
	}
	var frames [][]byte
	for i := 0; i < len(pcm); i += publishFrame {
		frame := pcm[i:min(i+publishFrame, len(pcm))]
		if len(frame) < publishFrame {
			frame = append(slices.Clone(frame), make([]float32, publishFrame-len(frame))...)
		}
		buf := make([]byte, 1500)
		n, err := enc.EncodeFloat32(frame, buf)
		if err != nil {
			return nil, fmt.Errorf("encode Opus: %w", err)
		}
		frames = append(frames, buf[:n])
	}
	return frames, nil
}

// SendOpus sends 20 ms Opus frames as they are, paced like Send. Audio given to Send and not yet
// sent (short of a whole frame) goes first, padded with silence.
func (p *Publisher) SendOpus(ctx context.Context, frames [][]byte) error {
	if p.closed {
		return ErrClosed
	}
	if err := p.flushPending(ctx); err != nil {
		return err
	}
	for _, f := range frames {
		if err := p.sendPayload(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// Send encodes 16 kHz mono audio and sends it, paced at the configured speed.
// Input short of a whole 20 ms frame waits for the next Send or for Close.
func (p *Publisher) Send(ctx context.Context, pcm []float32) error {
	if p.closed {
		return ErrClosed
	}
	p.pending = append(p.pending, pcm...)
	i := 0
	for ; len(p.pending)-i >= publishFrame; i += publishFrame {
		if err := p.sendFrame(ctx, p.pending[i:i+publishFrame]); err != nil {
			p.pending = p.pending[:copy(p.pending, p.pending[i:])]
			return err
		}
	}
	p.pending = p.pending[:copy(p.pending, p.pending[i:])]
	return nil
}

// flushPending sends the audio short of a whole frame, padded with silence.
func (p *Publisher) flushPending(ctx context.Context) error {
	if len(p.pending) == 0 {
		return nil
	}
	return p.Send(ctx, make([]float32, publishFrame-len(p.pending)))
}

// Sent is the duration of audio sent so far.
func (p *Publisher) Sent() time.Duration { return samples48(p.sent * publishTicks) }

func (p *Publisher) sendFrame(ctx context.Context, frame []float32) error {
	buf := make([]byte, 1500)
	n, err := p.enc.EncodeFloat32(frame, buf)
	if err != nil {
		return fmt.Errorf("encode Opus: %w", err)
	}
	return p.sendPayload(ctx, buf[:n])
}

// sendPayload sends one 20 ms Opus frame when it is due.
func (p *Publisher) sendPayload(ctx context.Context, payload []byte) error {
	if err := p.pace(ctx); err != nil {
		return err
	}
	pkt := &rtp.Packet{
		Header: rtp.Header{
			Version: 2, Marker: p.sent == 0, PayloadType: opusPayloadType,
			SequenceNumber: uint16(p.seq), Timestamp: p.ts,
		},
		Payload: payload,
	}
	p.seq++
	p.ts += publishTicks
	p.sent++
	return p.write(pkt)
}

func (p *Publisher) write(pkt *rtp.Packet) error {
	if st := webrtc.PeerConnectionState(p.state.Load()); st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
		return fmt.Errorf("%w: the connection to the meeting %s: the server stopped taking the audio (it may have restarted: publish again to go on)",
			ErrDisconnected, st)
	}
	out := []*rtp.Packet{pkt}
	if p.opts.mangle != nil {
		out = p.opts.mangle(pkt)
	}
	for _, q := range out {
		if err := p.track.WriteRTP(q); err != nil {
			return fmt.Errorf("send RTP: %w", err)
		}
	}
	return nil
}

// pace waits until the next packet is due.
func (p *Publisher) pace(ctx context.Context) error {
	if p.paceAt.IsZero() {
		p.paceAt = time.Now()
	}
	due := p.paceAt.Add(time.Duration(float64(p.paced) * float64(20*time.Millisecond) / p.opts.Speed))
	p.paced++
	if time.Until(due) <= 0 {
		return nil // behind: catch up without waiting
	}
	return clock.SleepUntil(ctx, due)
}

// Close sends what remains (padded to a whole frame with silence), waits for
// the receiver to confirm the last packet (up to ConfirmTimeout), ends the
// session with DELETE and closes the peer connection. A session the endpoint
// already ended (404) is not an error.
func (p *Publisher) Close(ctx context.Context) error {
	if p.closed {
		return nil
	}
	var errs []error
	if err := p.flushPending(ctx); err != nil {
		errs = append(errs, err)
	}
	if p.opts.mangle != nil {
		for _, q := range p.opts.mangle(nil) {
			if err := p.track.WriteRTP(q); err != nil {
				errs = append(errs, fmt.Errorf("send RTP: %w", err))
			}
		}
	}
	if p.sent > 0 {
		p.confirm(ctx, p.seq-1)
	}
	errs = append(errs, p.shutdown(ctx))
	return errors.Join(errs...)
}

// confirm waits until a receiver report covers sequence last, ctx is done or
// the confirm timeout passes.
func (p *Publisher) confirm(ctx context.Context, last int64) {
	t := time.NewTimer(p.opts.ConfirmTimeout)
	defer t.Stop()
	for p.acked.Load() < last {
		select {
		case <-p.ackSignal:
		case <-t.C:
			p.log.Debug("no receiver report for the last packet", "seq", last, "acked", p.acked.Load())
			return
		case <-ctx.Done():
			return
		}
	}
}

// shutdown deletes the session (when one was created), closes the peer
// connection and waits for the RTCP reader.
func (p *Publisher) shutdown(ctx context.Context) error {
	p.closed = true
	// End the session even when ctx was what stopped the publisher.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var errs []error
	if p.resource != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, p.resource, nil)
		if err == nil {
			p.authorize(req)
			var resp *http.Response
			if resp, err = p.client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent &&
					resp.StatusCode != http.StatusNotFound {
					err = fmt.Errorf("%w: DELETE: %s", ErrWHIP, resp.Status)
				}
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("end WHIP session: %w", err))
		}
	}
	if p.pc != nil {
		if err := p.pc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close peer connection: %w", err))
		}
	}
	p.wg.Wait()
	return errors.Join(errs...)
}

// PublishWAV sends a WAV file (any rate and channel count LoadWAV reads) to a
// WHIP endpoint as one Opus track, then ends the session. It returns how much
// audio it sent.
func PublishWAV(ctx context.Context, endpoint, token, wavPath string, opts PublishOptions) (time.Duration, error) {
	a, err := stream.LoadWAV(wavPath)
	if err != nil {
		return 0, err
	}
	p, err := Publish(ctx, endpoint, token, opts)
	if err != nil {
		return 0, err
	}
	if err := p.Send(ctx, a.Samples); err != nil {
		_ = p.shutdown(ctx)
		return p.Sent(), err
	}
	err = p.Close(ctx)
	return p.Sent(), err
}

// Resource is the URL of the publisher's WHIP session.
func (p *Publisher) Resource() string { return p.resource }
