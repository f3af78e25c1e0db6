// Package laptopcall synthesises what a laptop records in a call taken without
// headphones, for the tests and benchmarks of echo cancellation: the system
// channel is the remote side as the laptop plays it; the mic channel is the
// seller's own speech plus that playback heard back through the room (delayed,
// quieter, its highs lost) plus room noise. The voices come from espeak-ng,
// the room's filtering and noise from sox; both must be installed.
//
// Concurrency: calls are independent; each works in a temporary directory of
// its own.
package laptopcall

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ledgerline/ledgerline/internal/espeak"

	"github.com/ledgerline/ledgerline/stream"
)

// ErrTools is returned by Generate when espeak-ng or sox is missing.
var ErrTools = errors.New("laptopcall: espeak-ng and sox are needed: install them (scripts/deps.sh)")

// Span is a stretch of the call, in meeting time.
type Span struct{ Start, End time.Duration }

// Spec describes a call. The zero value of a field takes its default.
type Spec struct {
	// Delay is how long the playback takes to reach the microphone [80ms].
	Delay time.Duration
	// Delay2, when not zero, replaces Delay from ChangeAt on, as when the
	// audio device's buffering changes mid-call.
	Delay2   time.Duration
	ChangeAt time.Duration
	// EchoDB is the level of the echo relative to the playback [-6 dB].
	EchoDB float64
	// LowpassHz is where the laptop's speaker and room cut the highs [3400].
	LowpassHz int
}

// Call is a generated call: equal-length tracks at 16 kHz, and where each
// side speaks.
type Call struct {
	Spec Spec
	// Mic is what the microphone records; System what the laptop plays.
	Mic, System []float32
	// Seller is the seller's speech alone, as it reaches Mic.
	Seller []float32
	// RemoteOnly are stretches where only the remote side speaks (echo
	// only on Mic); SellerOnly where only the seller does; Both where they
	// talk at once.
	RemoteOnly, SellerOnly, Both []Span
}

// The call's script: who speaks when. Each turn starts at the given time.
var (
	remoteVoice = []string{"-v", "en-us", "-p", "70", "-s", "165"}
	sellerVoice = []string{"-v", "en-gb", "-p", "30", "-s", "150"}
	remoteTurns = []turn{
		{500 * time.Millisecond, "Thanks for joining today. We looked at the proposal and the pricing for the second year worries our finance team."},
		{9500 * time.Millisecond, "That could work, but we would need the security review finished before the end of the quarter."},
		{16 * time.Second, "Great. Please send the updated contract and the implementation plan to our procurement office next week."},
	}
	sellerTurns = []turn{
		{7 * time.Second, "I understand. I will send a revised quote with a multi year discount by Friday."},
		{12 * time.Second, "Our security team can start the review on Monday and share the report with you."},
		{23 * time.Second, "Perfect, I will email both documents tomorrow morning."},
	}
)

type turn struct {
	at   time.Duration
	text string
}

// Generate makes the call spec describes.
func Generate(ctx context.Context, spec Spec) (*Call, error) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		return nil, ErrTools
	}
	if _, err := exec.LookPath("sox"); err != nil {
		return nil, ErrTools
	}
	if spec.Delay == 0 {
		spec.Delay = 80 * time.Millisecond
	}
	if spec.EchoDB == 0 {
		spec.EchoDB = -6
	}
	if spec.LowpassHz == 0 {
		spec.LowpassHz = 3400
	}
	dir, err := os.MkdirTemp("", "laptopcall-")
	if err != nil {
		return nil, fmt.Errorf("laptopcall: %w", err)
	}
	defer os.RemoveAll(dir)
	t := tools{ctx: ctx, dir: dir}

	system, remoteSpans, err := t.track(remoteVoice, remoteTurns)
	if err != nil {
		return nil, err
	}
	seller, sellerSpans, err := t.track(sellerVoice, sellerTurns)
	if err != nil {
		return nil, err
	}
	n := max(len(system), len(seller)) + durSamples(time.Second)
	system, seller = pad(system, n), pad(seller, n)
	// The room: the playback through a small speaker, heard across the desk.
	heard, err := t.sox(system, "heard", "lowpass", fmt.Sprint(spec.LowpassHz), "highpass", "200", "gain", fmt.Sprint(spec.EchoDB))
	if err != nil {
		return nil, err
	}
	noise, err := t.sox(make([]float32, n), "noise", "synth", "pinknoise", "vol", "0.004")
	if err != nil {
		return nil, err
	}
	mic := make([]float32, n)
	for i := range mic {
		d := spec.Delay
		if spec.Delay2 != 0 && samplesDur(i) >= spec.ChangeAt {
			d = spec.Delay2
		}
		var echo float32
		if j := i - durSamples(d); j >= 0 && j < len(heard) {
			echo = heard[j]
		}
		mic[i] = seller[i] + echo + noise[min(i, len(noise)-1)]
	}
	c := &Call{Spec: spec, Mic: mic, System: system, Seller: seller}
	c.split(remoteSpans, sellerSpans, samplesDur(n), spec.Delay)
	return c, nil
}

// split sorts the call's time into who is speaking. A remote span reaches
// the mic up to delay later, so it counts as lasting that much longer.
func (c *Call) split(remote, seller []Span, length, delay time.Duration) {
	for i := range remote {
		remote[i].End += max(delay, c.Spec.Delay2)
	}
	step := 10 * time.Millisecond
	in := func(spans []Span, t time.Duration) bool {
		for _, s := range spans {
			if t >= s.Start && t < s.End {
				return true
			}
		}
		return false
	}
	add := func(spans *[]Span, t time.Duration) {
		if k := len(*spans); k > 0 && (*spans)[k-1].End == t {
			(*spans)[k-1].End = t + step
			return
		}
		*spans = append(*spans, Span{t, t + step})
	}
	for t := time.Duration(0); t+step <= length; t += step {
		r, s := in(remote, t), in(seller, t)
		switch {
		case r && s:
			add(&c.Both, t)
		case r:
			add(&c.RemoteOnly, t)
		case s:
			add(&c.SellerOnly, t)
		}
	}
}

// WriteStereo writes the call as a 16-bit stereo WAV at 16 kHz: left the
// mic, right the system, as `ledgerline run --channels mic,system` reads it.
func (c *Call) WriteStereo(path string) error {
	return os.WriteFile(path, wav([][]float32{c.Mic, c.System}), 0o644)
}

type tools struct {
	ctx context.Context
	dir string
}

// track says each turn in voice and places it at its time.
func (t tools) track(voice []string, turns []turn) ([]float32, []Span, error) {
	var out []float32
	var spans []Span
	for _, tn := range turns {
		said, err := espeak.Say(t.ctx, tn.text, voice...)
		if err != nil {
			return nil, nil, fmt.Errorf("laptopcall: %w", err)
		}
		speech := trim(said)
		at := durSamples(tn.at)
		out = pad(out, at)
		out = append(out[:at], speech...)
		spans = append(spans, Span{tn.at, tn.at + samplesDur(len(speech))})
	}
	return out, spans, nil
}

// sox runs in through sox's effects and returns the result, as long as in.
func (t tools) sox(in []float32, name string, effects ...string) ([]float32, error) {
	src, dst := filepath.Join(t.dir, name+"-in.wav"), filepath.Join(t.dir, name+".wav")
	if err := os.WriteFile(src, wav([][]float32{in}), 0o644); err != nil {
		return nil, fmt.Errorf("laptopcall: %w", err)
	}
	// -R: the same noise on every run, so a test's figures repeat.
	if err := t.run("sox", append([]string{"-R", src, dst}, effects...)...); err != nil {
		return nil, err
	}
	a, err := stream.LoadWAV(dst)
	if err != nil {
		return nil, fmt.Errorf("laptopcall: %w", err)
	}
	return pad(a.Samples, len(in))[:len(in)], nil
}

func (t tools) run(name string, args ...string) error {
	cmd := exec.CommandContext(t.ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("laptopcall: %s: %w: %s", name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// trim cuts the silence espeak-ng leaves around its speech.
func trim(s []float32) []float32 {
	const floor = 1e-3
	a, b := 0, len(s)
	for a < b && math.Abs(float64(s[a])) < floor {
		a++
	}
	for b > a && math.Abs(float64(s[b-1])) < floor {
		b--
	}
	return s[a:b]
}

func pad(s []float32, n int) []float32 {
	for len(s) < n {
		s = append(s, 0)
	}
	return s
}

// wav encodes tracks of equal length as one 16-bit PCM WAV at 16 kHz, a
// channel per track.
func wav(tracks [][]float32) []byte {
	ch, n := len(tracks), len(tracks[0])
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(36+2*ch*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(ch), uint32(stream.SampleRate),
		uint32(2 * ch * stream.SampleRate), uint16(2 * ch), uint16(16)} {
		_ = binary.Write(&b, le, v) // a bytes.Buffer takes every write
	}
	b.WriteString("data")
	_ = binary.Write(&b, le, uint32(2*ch*n))
	pcm := make([]int16, 0, ch*n)
	for i := range n {
		for _, tr := range tracks {
			pcm = append(pcm, int16(math.Round(math.Max(-1, math.Min(1, float64(tr[i])))*32767)))
		}
	}
	_ = binary.Write(&b, le, pcm)
	return b.Bytes()
}

func durSamples(d time.Duration) int { return int(d * stream.SampleRate / time.Second) }

func samplesDur(n int) time.Duration { return time.Duration(n) * time.Second / stream.SampleRate }
