package ingest

import (
	"fmt"
	"net"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/webrtc/v4"
)

// opusPayloadType is the payload type offered for Opus, as browsers do.
const opusPayloadType = 111

// APIConfig sets up the WebRTC stack both the WHIP endpoint and the publisher
// use. The zero value suits a server with public host candidates.
type APIConfig struct {
	// Loopback restricts ICE to host candidates on loopback addresses over
	// UDP/IPv4, without mDNS or STUN: for tests and for an agent whose
	// publishers run on the same machine.
	Loopback bool
	// UDPPortMin and UDPPortMax bound the local UDP ports ICE uses (both
	// zero: any port).
	UDPPortMin, UDPPortMax uint16
	// ReportInterval is how often RTCP receiver and sender reports go out;
	// zero means one second. A publisher waits for a receiver report to
	// know its last packets arrived before it ends a session.
	ReportInterval time.Duration
	// DisconnectedTimeout and FailedTimeout tune how fast ICE gives up on a
	// silent peer; zero keeps the stack's defaults (5 s and 25 s).
	DisconnectedTimeout, FailedTimeout time.Duration
}

// NewAPI builds a WebRTC API that negotiates Opus audio only, with RTCP
// reports.
func NewAPI(cfg APIConfig) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: opusRate, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: opusPayloadType,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("%w: register Opus: %w", ErrConfig, err)
	}
	interval := cfg.ReportInterval
	if interval <= 0 {
		interval = time.Second
	}
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReportsWithOptions(reg,
		[]report.ReceiverOption{report.ReceiverInterval(interval)},
		report.SenderInterval(interval)); err != nil {
		return nil, fmt.Errorf("%w: RTCP reports: %w", ErrConfig, err)
	}

	var s webrtc.SettingEngine
	if cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0 {
		if err := s.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, fmt.Errorf("%w: UDP ports %d-%d: %w", ErrConfig, cfg.UDPPortMin, cfg.UDPPortMax, err)
		}
	}
	if cfg.DisconnectedTimeout > 0 || cfg.FailedTimeout > 0 {
		disc, failed := cfg.DisconnectedTimeout, cfg.FailedTimeout
		if disc <= 0 {
			disc = 5 * time.Second
		}
		if failed <= 0 {
			failed = 25 * time.Second
		}
		s.SetICETimeouts(disc, failed, 2*time.Second)
	}
	if cfg.Loopback {
		s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		s.SetIncludeLoopbackCandidate(true)
		s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(s)), nil
}
