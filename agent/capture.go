package agent

import (
	"context"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/meter"
	"github.com/ledgerline/ledgerline/stream"
)

// stallCheck is how often the dispatcher asks whether a device stopped sending.
const stallCheck = time.Second

// healthQueue bounds the capture.health events waiting to be stored; they are rare (a change of a
// channel's health), so a full queue means the store is stuck, and the newest is dropped.
const healthQueue = 16

// captureWatch keeps a meter per channel for the dispatcher, which alone calls it: levels are
// published as they come, changes of health stored by a writer of their own, so that a slow
// store never holds up the audio.
type captureWatch struct {
	s      *Session
	meters map[string]*meter.Meter
	health chan ledger.Event
	done   chan struct{}
}

// watchCapture starts the writer of health events; stop ends it once the queued ones are stored.
func (s *Session) watchCapture(ctx context.Context) *captureWatch {
	w := &captureWatch{s: s, meters: map[string]*meter.Meter{}, health: make(chan ledger.Event, healthQueue),
		done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for e := range w.health {
			if _, err := s.cfg.Log.Append(ctx, e); err != nil {
				s.log.Warn("capture health not recorded", "channel", e.Capture.Channel, "problem", e.Capture.Problem, "error", err)
			}
		}
	}()
	return w
}

// stop ends the writer after the health events queued so far.
func (w *captureWatch) stop() {
	close(w.health)
	<-w.done
}

// observe measures one frame of a channel.
func (w *captureWatch) observe(f stream.Frame, now time.Time) {
	m := w.meters[f.Channel]
	if m == nil {
		m = meter.New(w.s.meterConfig(f.Channel))
		w.meters[f.Channel] = m
	}
	r := m.Observe(f, now)
	if r.Level != nil {
		if err := w.s.cfg.Log.Publish(ledger.Event{Type: ledger.TypeCaptureLevel, Meeting: w.s.cfg.Meeting, Capture: r.Level}); err != nil {
			w.s.log.Debug("capture level not published", "channel", f.Channel, "error", err)
		}
	}
	for i := range r.Health {
		w.report(&r.Health[i])
	}
}

// check asks each channel's meter whether its device stopped sending. A paused meeting sends
// nothing on purpose: the meters are told so, and are not asked.
func (w *captureWatch) check(now time.Time, paused bool) {
	for _, m := range w.meters {
		if paused {
			m.Pause(now)
			continue
		}
		w.report(m.Stalled(now))
	}
}

func (w *captureWatch) report(h *ledger.CaptureInfo) {
	if h == nil {
		return
	}
	w.s.log.Warn("capture", "channel", h.Channel, "problem", h.Problem, "message", h.Message)
	select {
	case w.health <- ledger.Event{Type: ledger.TypeCaptureHealth, Meeting: w.s.cfg.Meeting, Capture: h}:
	default:
		w.s.log.Warn("capture health dropped: the store is not keeping up", "channel", h.Channel)
	}
}

// meterConfig says what a channel is to the user, and which of its silences mean trouble: the
// laptop's own devices should always hear something; a participant's track is silent whenever
// they are muted, and a replayed file ends.
func (s *Session) meterConfig(channel string) meter.Config {
	cfg := meter.Config{Channel: channel, Role: channel, SilentAfter: -1, StalledAfter: -1}
	if sp, ok := s.knownSpeaker(channel); ok && sp.Name != "" {
		cfg.Role = sp.Name + "'s audio"
	}
	if !s.cfg.WatchDevices {
		return cfg
	}
	switch channel {
	case stream.ChannelMic:
		cfg.Role = "the microphone"
	case stream.ChannelSystem:
		cfg.Role = "the call audio device"
	default:
		return cfg
	}
	cfg.SilentAfter, cfg.StalledAfter = s.cfg.SilentAfter, 0
	return cfg
}
