package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gordonklaus/portaudio"
)

// PortAudioConfig chooses the devices a PortAudio source records from.
type PortAudioConfig struct {
	// Mic is the device for channel "mic": a number from ListDevices, or
	// its name or a unique part of it (any case). Empty means the system's
	// default input.
	Mic string
	// System is the device for channel "system", the audio the computer
	// plays — a loopback or monitor input such as PulseAudio's
	// "Monitor of …" or BlackHole. Empty means no system channel.
	System string
	// FrameDur is the length of each frame [DefaultFrameDur].
	FrameDur time.Duration
	// Logger receives warnings such as lost input; nil discards them.
	Logger *slog.Logger
}

// PortAudio records a meeting from the computer's audio devices: channel
// "mic" and, when a System device is named, channel "system". Audio at other
// rates is resampled to 16 kHz, and devices with several channels are
// averaged to mono.
//
// Each channel's meeting clock counts the samples its device recorded since
// Start, so channels started together line up to within the few
// milliseconds it takes to open a device. Audio the device drops when frames
// are not taken fast enough (an input overflow) is counted on the clock
// too, as the stream's own clock measures it, and the next frame says how
// much was lost (Frame.Lost), so the channels stay on one meeting clock.
type PortAudio struct {
	cfg      PortAudioConfig
	log      *slog.Logger
	audio    audioSystem
	frame    int // samples per frame at 16 kHz
	chosen   map[string]Device
	channels []string
	started  atomic.Bool
}

var _ Source = (*PortAudio)(nil)

// audioSystem is what a PortAudio source needs from the platform; tests
// stand in for PortAudio with it.
type audioSystem interface {
	acquire() error
	release()
	devices() ([]Device, error)
	// open starts recording d with the given channel count, rate in Hz and
	// frames per read.
	open(d Device, channels, rate, frames int) (inputStream, error)
}

// inputStream is one device recording.
type inputStream interface {
	// Read blocks until the next buffer of interleaved samples is in and
	// returns it; it is reused by the next Read. An *overflowError comes
	// with a valid buffer: input was lost before it.
	Read() ([]float32, error)
	Close() error
}

var errInputOverflow = errors.New("input overflowed")

// overflowError reports input lost before a buffer: frames at the device's
// rate, as well as the stream can tell.
type overflowError struct {
	frames int64
	err    error
}

func (e *overflowError) Error() string {
	return fmt.Sprintf("%v: %d frames lost: %v", errInputOverflow, e.frames, e.err)
}
func (e *overflowError) Unwrap() []error { return []error{errInputOverflow, e.err} }

// NewPortAudio checks that the configured devices exist, so that a wrong
// name fails before the meeting starts. Errors about devices wrap
// ErrNoDevice and say how to choose one.
func NewPortAudio(cfg PortAudioConfig) (*PortAudio, error) {
	return newPortAudio(cfg, paBackend{})
}

func newPortAudio(cfg PortAudioConfig, audio audioSystem) (*PortAudio, error) {
	if cfg.FrameDur < 0 || (cfg.FrameDur > 0 && durationSamples(cfg.FrameDur) < 1) {
		return nil, fmt.Errorf("audio capture: frame length %v: use at least one sample (62.5µs), or 0 for %v",
			cfg.FrameDur, DefaultFrameDur)
	}
	if cfg.FrameDur == 0 {
		cfg.FrameDur = DefaultFrameDur
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &PortAudio{cfg: cfg, log: log, audio: audio, frame: int(durationSamples(cfg.FrameDur))}
	p.channels = []string{ChannelMic}
	if cfg.System != "" {
		p.channels = append(p.channels, ChannelSystem)
	}
	if err := audio.acquire(); err != nil {
		return nil, err
	}
	defer audio.release()
	chosen, err := p.choose()
	if err != nil {
		return nil, err
	}
	p.chosen = chosen
	return p, nil
}

// choose finds the device of each channel.
func (p *PortAudio) choose() (map[string]Device, error) {
	devs, err := p.audio.devices()
	if err != nil {
		return nil, err
	}
	chosen := make(map[string]Device, 2)
	mic, err := selectDevice(devs, p.cfg.Mic, "--mic")
	if err != nil {
		return nil, fmt.Errorf("microphone: %w", err)
	}
	chosen[ChannelMic] = mic
	if p.cfg.System != "" {
		sys, err := selectDevice(devs, p.cfg.System, "--system")
		if err != nil {
			return nil, fmt.Errorf("system audio: %w", err)
		}
		if sys.Index == mic.Index {
			return nil, fmt.Errorf("%w: the microphone and the system audio are both %v; "+
				"choose a loopback or monitor device with --system (see `ledgerline devices`)", ErrNoDevice, mic)
		}
		chosen[ChannelSystem] = sys
	}
	return chosen, nil
}

// Channels reports "mic", and "system" when a system device is configured.
func (p *PortAudio) Channels() []string { return append([]string(nil), p.channels...) }

// Devices reports the device chosen for each channel by NewPortAudio. Start
// looks them up again by the configured names.
func (p *PortAudio) Devices() map[string]Device {
	out := make(map[string]Device, len(p.chosen))
	for k, v := range p.chosen {
		out[k] = v
	}
	return out
}

// Start records every channel until ctx is done, then returns ctx.Err(). A
// device that fails while recording is reopened (see capture); Start returns
// early with an error only when a device cannot be used at all (it will not
// open, or records at a rate that cannot be resampled), and stops the other
// channels first. Each channel is read by its own goroutine, which Start
// waits for. A device read blocks for up to one frame, so Start returns
// within about a frame of ctx being done.
func (p *PortAudio) Start(ctx context.Context, out chan<- Frame) error {
	if p.started.Swap(true) {
		return fmt.Errorf("audio capture: %w", ErrStarted)
	}
	if err := p.audio.acquire(); err != nil {
		return err
	}
	defer p.audio.release()
	chosen, err := p.choose()
	if err != nil {
		return err
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(p.channels))
	var wg sync.WaitGroup
	for i, ch := range p.channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = p.capture(runCtx, out, ch, chosen[ch]); errs[i] != nil {
				cancel() // one channel alone would misattribute the meeting
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	var failed []error
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

// capture records one channel from dev until ctx is done. A device that fails once it has
// recorded (unplugged, switched off, taken by the system) is reopened, again and again until it
// comes back or ctx is done: a meeting never stops silently because a headset was unplugged.
// The time it was away counts as lost audio, so the channel stays on the meeting clock.
func (p *PortAudio) capture(ctx context.Context, out chan<- Frame, channel string, dev Device) error {
	rate := int(math.Round(dev.DefaultSampleRate))
	rs, err := NewResampler(rate, SampleRate)
	if err != nil {
		return fmt.Errorf("%s: device %v records at %v Hz: %w; choose another device (see `ledgerline devices`)",
			channel, dev, dev.DefaultSampleRate, err)
	}
	channels := min(dev.MaxInputChannels, 2)
	perRead := max(1, int(int64(rate)*int64(p.cfg.FrameDur)/int64(time.Second)))
	st, err := p.audio.open(dev, channels, rate, perRead)
	if err != nil {
		return fmt.Errorf("%s: open %v: %w; check that no other program holds it, or choose another with %s (see `ledgerline devices`)",
			channel, dev, err, "--"+channel)
	}
	p.log.Info("recording", "channel", channel, "device", dev.Name, "index", dev.Index,
		"rate", rate, "channels", channels)
	c := &channelCapture{p: p, out: out, channel: channel, rate: rate, channels: channels, rs: rs}
	for {
		err := c.record(ctx, st)
		st.Close() //nolint:errcheck // a failed device may fail to close too; nothing more to do
		if ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return ctx.Err()
		}
		p.log.Warn("audio device failed; reopening it", "channel", channel, "device", dev.Name, "error", err)
		gone := time.Now()
		if st, err = p.reopen(ctx, dev, channels, rate, perRead); err != nil {
			return err
		}
		away := int64(time.Since(gone).Seconds() * SampleRate)
		c.lost += away
		p.log.Info("audio device back", "channel", channel, "device", dev.Name, "away", samplesDuration(away))
	}
}

// reopen opens dev again, retrying with a growing pause until it opens or ctx is done.
func (p *PortAudio) reopen(ctx context.Context, dev Device, channels, rate, perRead int) (inputStream, error) {
	wait := 200 * time.Millisecond
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		st, err := p.audio.open(dev, channels, rate, perRead)
		if err == nil {
			return st, nil
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// channelCapture is one channel's recording, carried over the device's reopenings.
type channelCapture struct {
	p              *PortAudio
	out            chan<- Frame
	channel        string
	rate, channels int
	rs             *Resampler
	mono, pending  []float32
	at             int64 // samples sent or lost
	lost           int64 // samples lost since the last frame sent
}

// record reads st until ctx is done or the device fails.
func (c *channelCapture) record(ctx context.Context, st inputStream) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		buf, err := st.Read()
		var overflow *overflowError
		if errors.As(err, &overflow) {
			// The lost audio is skipped on the clock at the next frame boundary,
			// within a frame of where it was lost.
			n := overflow.frames * SampleRate / int64(c.rate)
			c.lost += n
			c.p.log.Warn("audio input lost: frames were not taken fast enough", "channel", c.channel,
				"at", samplesDuration(c.at), "lost", samplesDuration(n))
		} else if err != nil {
			return fmt.Errorf("%s: read: %w", c.channel, err)
		}
		c.mono = downmix(c.mono[:0], buf, c.channels)
		c.pending = c.rs.Process(c.pending, c.mono)
		n := 0
		frame := c.p.frame
		for ; len(c.pending)-n >= frame; n += frame {
			c.at += c.lost
			f := Frame{Channel: c.channel, At: samplesDuration(c.at), Samples: append([]float32(nil), c.pending[n:n+frame]...),
				Lost: samplesDuration(c.lost)}
			c.lost = 0
			if err := send(ctx, c.out, f); err != nil {
				return err
			}
			c.at += int64(frame)
		}
		c.pending = c.pending[:copy(c.pending, c.pending[n:])]
	}
}

// downmix appends the average of each frame of interleaved samples to dst.
func downmix(dst, in []float32, channels int) []float32 {
	if channels <= 1 {
		return append(dst, in...)
	}
	scale := 1 / float32(channels)
	for i := 0; i+channels <= len(in); i += channels {
		var sum float32
		for _, v := range in[i : i+channels] {
			sum += v
		}
		dst = append(dst, sum*scale)
	}
	return dst
}

func (paBackend) open(d Device, channels, rate, frames int) (inputStream, error) {
	paMu.Lock()
	defer paMu.Unlock()
	infos, err := portaudio.Devices()
	if err != nil {
		return nil, err
	}
	if d.Index < 0 || d.Index >= len(infos) || infos[d.Index].Name != d.Name {
		return nil, fmt.Errorf("%w: device %v is gone", ErrNoDevice, d)
	}
	info := infos[d.Index]
	buf := make([]float32, frames*channels)
	params := portaudio.StreamParameters{
		Input:           portaudio.StreamDeviceParameters{Device: info, Channels: channels, Latency: info.DefaultHighInputLatency},
		SampleRate:      float64(rate),
		FramesPerBuffer: frames,
	}
	s, err := portaudio.OpenStream(params, buf)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		_ = s.Close()
		return nil, err
	}
	return &paStream{s: s, buf: buf, frames: int64(frames), rate: float64(rate), start: s.Time()}, nil
}

type paStream struct {
	s      *portaudio.Stream
	buf    []float32
	frames int64 // per read
	rate   float64
	start  time.Duration // stream clock at start
	read   int64         // frames read
	lost   int64         // frames reported lost
}

func (s *paStream) Read() ([]float32, error) {
	err := s.s.Read()
	s.read += s.frames
	if errors.Is(err, portaudio.InputOverflowed) {
		return s.buf, &overflowError{frames: s.lostFrames(), err: err}
	}
	return s.buf, err
}

// lostFrames tells how much input an overflow lost, by the stream's clock:
// what the device recorded since the start that was neither read nor is
// waiting to be read. Where the host gives no clock, a lost buffer is the
// least an overflow means.
func (s *paStream) lostFrames() int64 {
	avail, err := s.s.AvailableToRead()
	now := s.s.Time()
	if err != nil || now <= s.start {
		s.lost += s.frames
		return s.frames
	}
	recorded := int64((now - s.start).Seconds() * s.rate)
	n := max(recorded-s.read-int64(avail)-s.lost, 0)
	s.lost += n
	return n
}

func (s *paStream) Close() error {
	paMu.Lock()
	defer paMu.Unlock()
	return errors.Join(s.s.Abort(), s.s.Close())
}
