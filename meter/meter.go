// Package meter watches one channel's captured audio and says when capture is failing: how loud
// it is now (for a live level meter), and, in words with what to do, when it has been silent for
// long, clips, loses audio, or stops arriving at all.
//
// A Meter reads frames on the meeting clock, so a paused meeting (whose frames are dropped before
// they arrive) or a replayed file at any speed ages it as the audio does; only Stalled, for a
// device that sends nothing, is asked on the wall clock.
//
// Concurrency: a Meter is used by one goroutine at a time (the meeting's dispatcher).
package meter

import (
	"fmt"
	"math"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/stream"
)

// Defaults of a Config.
const (
	DefaultInterval     = 250 * time.Millisecond
	DefaultSilentAfter  = 60 * time.Second
	DefaultSilenceDB    = -60.0
	DefaultClipRatio    = 0.005
	DefaultClipClear    = 5 * time.Second
	DefaultLossClear    = 10 * time.Second
	DefaultStalledAfter = 5 * time.Second
)

// clipLevel is the sample magnitude counted as hitting full scale.
const clipLevel = 0.999

// floorDB is the level reported for digital silence, where the logarithm has no value.
const floorDB = -90.0

// Config tunes a Meter. Zero values take the defaults.
type Config struct {
	// Channel names the channel watched; Role says what it is to the user, in the messages, as
	// a noun phrase: "the microphone", "the call audio", "Dana's audio" [the channel's name].
	Channel string
	Role    string
	// Interval is how often a level is reported [250 ms of audio].
	Interval time.Duration
	// SilentAfter is how long a channel may stay below SilenceDB before it is reported silent
	// [60 s]; negative never reports silence (a participant's own track is silent whenever they
	// are muted).
	SilentAfter time.Duration
	SilenceDB   float64 // [-60 dBFS]
	// ClipRatio is the share of a report interval's samples at full scale that counts as
	// clipping [0.5 %]; ClipClear the time without any before it is over [5 s].
	ClipRatio float64
	ClipClear time.Duration
	// LossClear is how long after its last lost audio an overflow is over [10 s].
	LossClear time.Duration
	// StalledAfter is how long, on the wall clock, a channel that was sending may send nothing
	// before it is reported stalled [5 s]; negative never reports it (a participant who leaves,
	// a file that ends).
	StalledAfter time.Duration
}

func (c Config) withDefaults() Config {
	if c.Role == "" {
		c.Role = c.Channel
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.SilentAfter == 0 {
		c.SilentAfter = DefaultSilentAfter
	}
	if c.SilenceDB == 0 {
		c.SilenceDB = DefaultSilenceDB
	}
	if c.ClipRatio <= 0 {
		c.ClipRatio = DefaultClipRatio
	}
	if c.ClipClear <= 0 {
		c.ClipClear = DefaultClipClear
	}
	if c.LossClear <= 0 {
		c.LossClear = DefaultLossClear
	}
	if c.StalledAfter == 0 {
		c.StalledAfter = DefaultStalledAfter
	}
	return c
}

// Report is what a Meter has to say after a frame: a level for the meter when an interval ended
// (else nil), and the changes of health that happened, in order (a stall over, and at once a
// silence noticed).
type Report struct {
	Level  *ledger.CaptureInfo  // for a capture.level event
	Health []ledger.CaptureInfo // for capture.health events: a new problem, or Problem "" when it is over
}

// Meter watches one channel.
type Meter struct {
	cfg Config

	// The interval being measured.
	sumSq   float64
	peak    float32
	clipped int
	samples int
	start   time.Duration // meeting time the interval began

	lastLevel, lastPeak float64

	silentSince time.Duration // meeting time the channel went quiet; -1 while it is not
	lastClip    time.Duration // meeting time of the last clipping interval
	lastLoss    time.Duration // meeting time of the last lost audio
	lost        time.Duration // audio lost since the overflow began

	problem ledger.CaptureProblem // the problem reported now, "" for none
	lastAt  time.Duration         // meeting time of the end of the last frame
	seenAt  time.Time             // wall clock of the last frame
}

// New returns a Meter for one channel.
func New(cfg Config) *Meter {
	return &Meter{cfg: cfg.withDefaults(), silentSince: -1, lastClip: -1, lastLoss: -1, start: -1,
		lastLevel: floorDB, lastPeak: floorDB}
}

// Observe measures one frame of the channel, which arrived at now on the wall clock.
func (m *Meter) Observe(f stream.Frame, now time.Time) Report {
	m.seenAt = now
	if m.start < 0 {
		m.start = f.At
	}
	var r Report
	switch {
	case m.problem == ledger.CaptureStalled:
		// Audio again. What the device missed while it was away is no overflow.
		r.Health = append(r.Health, *m.set("", f.At))
	case f.Lost > 0:
		m.lost += f.Lost
		m.lastLoss = f.At
		if m.problem == "" || m.problem == ledger.CaptureSilent {
			r.Health = append(r.Health, *m.set(ledger.CaptureOverflow, f.At))
		}
	}
	for _, s := range f.Samples {
		m.sumSq += float64(s) * float64(s)
		a := float32(math.Abs(float64(s)))
		m.peak = max(m.peak, a)
		if a >= clipLevel {
			m.clipped++
		}
	}
	m.samples += len(f.Samples)
	m.lastAt = f.End()
	if m.lastAt-m.start < m.cfg.Interval {
		return r
	}
	if h := m.endInterval(); h != nil {
		r.Health = append(r.Health, *h)
	}
	r.Level = &ledger.CaptureInfo{Channel: m.cfg.Channel, LevelDB: m.lastLevel, PeakDB: m.lastPeak, AtMS: m.lastAt.Milliseconds()}
	return r
}

// endInterval closes the interval measured: its level, and what it says of the channel's health.
func (m *Meter) endInterval() *ledger.CaptureInfo {
	at := m.lastAt
	if m.samples > 0 {
		m.lastLevel = toDB(math.Sqrt(m.sumSq / float64(m.samples)))
		m.lastPeak = toDB(float64(m.peak))
	}
	clipping := m.samples > 0 && float64(m.clipped)/float64(m.samples) >= m.cfg.ClipRatio
	if clipping {
		m.lastClip = at
	}
	if m.lastLevel < m.cfg.SilenceDB {
		if m.silentSince < 0 {
			m.silentSince = m.start
		}
	} else {
		m.silentSince = -1
	}
	m.sumSq, m.peak, m.clipped, m.samples, m.start = 0, 0, 0, 0, at

	// One problem is reported at a time, the most pressing first.
	switch {
	case m.problem == ledger.CaptureOverflow && at-m.lastLoss < m.cfg.LossClear:
		return nil
	case clipping && m.problem != ledger.CaptureClipping:
		return m.set(ledger.CaptureClipping, at)
	case m.problem == ledger.CaptureClipping && at-m.lastClip < m.cfg.ClipClear:
		return nil
	case m.cfg.SilentAfter > 0 && m.silentSince >= 0 && at-m.silentSince >= m.cfg.SilentAfter:
		if m.problem == ledger.CaptureSilent {
			return nil
		}
		return m.set(ledger.CaptureSilent, at)
	case m.problem != "":
		return m.set("", at)
	}
	return nil
}

// Stalled reports, once, that a channel which was sending has sent nothing since StalledAfter
// before now on the wall clock; the next frame clears it. Ask it on a timer.
func (m *Meter) Stalled(now time.Time) *ledger.CaptureInfo {
	if m.cfg.StalledAfter < 0 || m.seenAt.IsZero() || m.problem == ledger.CaptureStalled ||
		now.Sub(m.seenAt) < m.cfg.StalledAfter {
		return nil
	}
	return m.set(ledger.CaptureStalled, m.lastAt)
}

// Pause tells the meter that no audio is expected at now (the meeting is paused), so that the
// time without frames does not count as a stall.
func (m *Meter) Pause(now time.Time) {
	if !m.seenAt.IsZero() {
		m.seenAt = now
	}
}

// Problem is what the meter reports wrong with the channel now; "" when nothing is.
func (m *Meter) Problem() ledger.CaptureProblem { return m.problem }

func (m *Meter) set(p ledger.CaptureProblem, at time.Duration) *ledger.CaptureInfo {
	if p != ledger.CaptureOverflow {
		m.lost = 0
	}
	m.problem = p
	return &ledger.CaptureInfo{Channel: m.cfg.Channel, LevelDB: m.lastLevel, PeakDB: m.lastPeak, Problem: p,
		Message: m.message(p), AtMS: at.Milliseconds()}
}

// message says a problem in words, with what to do about it.
func (m *Meter) message(p ledger.CaptureProblem) string {
	who := m.cfg.Role
	switch p {
	case ledger.CaptureSilent:
		if m.cfg.Channel == stream.ChannelSystem {
			return fmt.Sprintf("No call audio for %s — is the meeting playing through another device?", seconds(m.cfg.SilentAfter))
		}
		return fmt.Sprintf("Only silence from %s for %s — is it muted?", who, seconds(m.cfg.SilentAfter))
	case ledger.CaptureClipping:
		return capitalized(fmt.Sprintf("%s is so loud that it distorts — lower its input level.", who))
	case ledger.CaptureOverflow:
		return fmt.Sprintf("%s of audio from %s was lost: the computer is too busy to keep up — close other programs.", seconds(m.lost), who)
	case ledger.CaptureStalled:
		return fmt.Sprintf("No audio from %s for %s — was the device unplugged or switched?", who, seconds(m.cfg.StalledAfter))
	}
	return capitalized(fmt.Sprintf("%s is working again.", who))
}

func capitalized(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func seconds(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < 10*time.Second && d%time.Second != 0:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%d s", int(d.Round(time.Second).Seconds()))
}

func toDB(amplitude float64) float64 {
	if amplitude <= 0 {
		return floorDB
	}
	return max(floorDB, math.Round(20*math.Log10(amplitude)*10)/10)
}
