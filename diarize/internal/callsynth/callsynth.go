// Package callsynth synthesises mixed co-selling calls, with a reference
// diarization, for the tests and benchmarks of package diarize. It shells
// out to espeak-ng, which must be installed.
//
// Concurrency: calls are independent; each writes only into the directory
// it is given.
package callsynth

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ledgerline/ledgerline/internal/espeak"

	"github.com/ledgerline/ledgerline/diarize"
	"github.com/ledgerline/ledgerline/stream"
)

// ErrNoEspeak is returned by Generate when espeak-ng is not installed.
var ErrNoEspeak = errors.New("callsynth: espeak-ng not found: install it (apt-get install espeak-ng) to generate calls")

const sampleRate = stream.SampleRate

// Spec describes a synthetic co-selling call.
type Spec struct {
	// Speakers is how many people talk, 2 to 4.
	Speakers int
	// Turns is how many turns the call has [12].
	Turns int
	// Overlap is the share of turns, 0 to 1, that start before the previous
	// one has ended.
	Overlap float64
	// NoiseSNR adds pink noise this many dB below the speech; 0 adds none.
	NoiseSNR float64
	// Seed makes the call: the same spec gives the same audio.
	Seed int64
	// Voices, when set, are the speakers' voices in order; otherwise the
	// first Speakers of the package's Voices.
	Voices []Voice
}

// Voice is an espeak-ng voice with its pitch (-p, 0–99) and speed (-s,
// words per minute).
type Voice struct {
	Name  string
	Pitch int
	Speed int
}

// Voices are the four speakers of a synthetic call, in order.
var Voices = []Voice{
	{Name: "en-us+m3", Pitch: 35, Speed: 165},
	{Name: "en-gb+f2", Pitch: 60, Speed: 150},
	{Name: "en-us+f4", Pitch: 80, Speed: 180},
	{Name: "en+m7", Pitch: 15, Speed: 140},
}

// script is what the speakers of a synthetic call say: a vendor, a partner
// and a buyer working out a deal.
var script = []string{
	"Thanks for joining today, everyone.",
	"Let me share where we are with the rollout plan.",
	"We need single sign on before security will approve anything.",
	"Our integration team can have that ready in two weeks.",
	"I will send the pricing sheet by Friday.",
	"Can you include the partner discount in that proposal?",
	"What does the support contract cover after the first year?",
	"Premium support includes a named engineer and a four hour response time.",
	"Our procurement team will want the security questionnaire first.",
	"We can run the pilot with fifty seats in March.",
	"Who owns the data migration, you or the partner?",
	"We handle migration end to end, including validation.",
	"Let us book a follow up call next Tuesday.",
	"I will loop in our legal counsel for the contract review.",
	"The budget is approved for this quarter, but not beyond.",
	"That works for us.",
	"Sounds good.",
	"Could you walk us through the reporting dashboard?",
	"Sure, the dashboard refreshes every fifteen minutes and exports to spreadsheets.",
	"We also need it to run in the European region.",
	"Yes, we host in Frankfurt and Dublin.",
	"Great, send over the data processing agreement.",
	"Right.",
	"I agree with that approach, let us move forward.",
}

// synthTurn is one spoken turn placed on the call's timeline.
type synthTurn struct {
	speaker int
	at      int // first sample
	audio   []float32
}

// Generate synthesises a call with espeak-ng, mixes it into one 16 kHz
// mono channel and writes call.wav and the reference call.rttm (speaker ids
// spk1, spk2, …) into dir. The reference marks each stretch of speech,
// split at pauses of 0.4 s or more, with overlaps kept.
func Generate(ctx context.Context, spec Spec, dir string) (wavPath, rttmPath string, err error) {
	voices := Voices
	if len(spec.Voices) > 0 {
		voices = spec.Voices
	}
	if spec.Speakers < 2 || spec.Speakers > len(voices) || spec.Speakers > 4 {
		return "", "", fmt.Errorf("callsynth: a synthetic call has 2 to %d speakers, not %d", min(4, len(voices)), spec.Speakers)
	}
	if spec.Turns <= 0 {
		spec.Turns = 12
	}
	if spec.Overlap < 0 || spec.Overlap > 1 {
		return "", "", fmt.Errorf("callsynth: overlap share %g is outside 0–1", spec.Overlap)
	}
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		return "", "", ErrNoEspeak
	}
	rng := rand.New(rand.NewPCG(uint64(spec.Seed), 0x1ed9e11e))

	turns := make([]synthTurn, 0, spec.Turns)
	cursor := sampleRate / 2
	prevEnd, prev := 0, -1
	for i := range spec.Turns {
		sp := rng.IntN(spec.Speakers)
		if i < spec.Speakers {
			sp = i // everyone speaks early on
		} else if sp == prev {
			sp = (sp + 1 + rng.IntN(spec.Speakers-1)) % spec.Speakers
		}
		n := 1 + rng.IntN(2)
		text := ""
		for j := range n {
			if j > 0 {
				text += " "
			}
			text += script[rng.IntN(len(script))]
		}
		audio, err := Speak(ctx, voices[sp], text)
		if err != nil {
			return "", "", err
		}
		gain := float32(math.Pow(10, (rng.Float64()*4-2)/20)) * 0.5
		for k := range audio {
			audio[k] *= gain
		}
		at := cursor + int(float64(sampleRate)*(0.3+rng.Float64()*0.9))
		if i > 0 && rng.Float64() < spec.Overlap {
			// Start before the previous turn ends, by up to half of it.
			prevLen := prevEnd - turns[len(turns)-1].at
			back := int(float64(sampleRate) * (0.5 + rng.Float64()*1.0))
			at = prevEnd - min(back, prevLen/2)
		}
		turns = append(turns, synthTurn{speaker: sp, at: at, audio: audio})
		prevEnd, prev = at+len(audio), sp
		cursor = max(cursor, prevEnd)
	}

	mix := make([]float32, cursor+sampleRate/2)
	var ref []diarize.Turn
	for _, t := range turns {
		for k, v := range t.audio {
			mix[t.at+k] += v
		}
		for _, r := range speechRuns(t.audio, 400*time.Millisecond) {
			ref = append(ref, diarize.Turn{
				Start:   samplesToDur(t.at + r[0]),
				End:     samplesToDur(t.at + r[1]),
				Speaker: fmt.Sprintf("spk%d", t.speaker+1),
			})
		}
	}
	if spec.NoiseSNR != 0 {
		addPinkNoise(mix, ref, spec.NoiseSNR, rng)
	}
	for i, v := range mix {
		mix[i] = float32(math.Max(-1, math.Min(1, float64(v))))
	}
	diarize.SortTurns(ref)

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("callsynth: create call folder: %w", err)
	}
	wavPath = filepath.Join(dir, "call.wav")
	rttmPath = filepath.Join(dir, "call.rttm")
	if err := writeWAVFile(wavPath, mix); err != nil {
		return "", "", err
	}
	f, err := os.Create(rttmPath)
	if err != nil {
		return "", "", fmt.Errorf("callsynth: create reference: %w", err)
	}
	w := bufio.NewWriter(f)
	werr := diarize.WriteRTTM(w, "call", ref)
	if werr == nil {
		werr = w.Flush()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", "", fmt.Errorf("callsynth: write reference: %w", werr)
	}
	return wavPath, rttmPath, nil
}

// Speak says text in voice v with espeak-ng and returns the speech at
// 16 kHz, without the silence espeak-ng leaves before and after it.
func Speak(ctx context.Context, v Voice, text string) ([]float32, error) {
	speech, err := espeak.Say(ctx, text, "-v", v.Name, "-p", fmt.Sprint(v.Pitch), "-s", fmt.Sprint(v.Speed))
	if err != nil {
		return nil, fmt.Errorf("callsynth: %w", err)
	}
	return trimSilence(speech), nil
}

// speechFrameDB is the level, below a stretch's loudest 10 ms frame, under
// which a frame counts as silence for references and trimming.
const speechFrameDB = 40

// speechRuns returns the [start, end) sample ranges of speech in audio,
// bridging pauses shorter than gap.
func speechRuns(audio []float32, gap time.Duration) [][2]int {
	const hop = sampleRate / 100
	n := len(audio) / hop
	db := make([]float64, n)
	loud := math.Inf(-1)
	for f := range n {
		var s float64
		for _, v := range audio[f*hop : (f+1)*hop] {
			s += float64(v) * float64(v)
		}
		db[f] = 10 * math.Log10(s/hop+1e-12)
		loud = max(loud, db[f])
	}
	maxGap := int(gap / (10 * time.Millisecond))
	var runs [][2]int
	start, last := -1, -1
	for f := range n {
		if db[f] < loud-speechFrameDB {
			continue
		}
		switch {
		case start < 0:
			start = f
		case f-last > maxGap:
			runs = append(runs, [2]int{start * hop, (last + 1) * hop})
			start = f
		}
		last = f
	}
	if start >= 0 {
		runs = append(runs, [2]int{start * hop, (last + 1) * hop})
	}
	return runs
}

// trimSilence cuts the silence espeak-ng leaves before and after speech.
func trimSilence(audio []float32) []float32 {
	runs := speechRuns(audio, time.Hour)
	if len(runs) == 0 {
		return audio[:0]
	}
	return audio[runs[0][0]:runs[0][1]]
}

// addPinkNoise adds pink noise at snr dB below the mean power of the
// reference speech.
func addPinkNoise(mix []float32, ref []diarize.Turn, snr float64, rng *rand.Rand) {
	var p float64
	var n int
	for _, t := range ref {
		for i := durToSamples(t.Start); i < min(len(mix), durToSamples(t.End)); i++ {
			p += float64(mix[i]) * float64(mix[i])
			n++
		}
	}
	if n == 0 {
		return
	}
	p /= float64(n)
	// Paul Kellet's economy filter turns white noise pink.
	noise := make([]float64, len(mix))
	var b0, b1, b2, np float64
	for i := range noise {
		w := rng.NormFloat64()
		b0 = 0.99765*b0 + w*0.0990460
		b1 = 0.96300*b1 + w*0.2965164
		b2 = 0.57000*b2 + w*1.0526913
		noise[i] = b0 + b1 + b2 + w*0.1848
		np += noise[i] * noise[i]
	}
	np /= float64(len(noise))
	g := math.Sqrt(p / np / math.Pow(10, snr/10))
	for i := range mix {
		mix[i] += float32(g * noise[i])
	}
}

// writeWAVFile writes 16-bit PCM mono at 16 kHz.
func writeWAVFile(path string, samples []float32) error {
	var buf bytes.Buffer
	if err := writeWAV(&buf, samples); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("callsynth: write audio: %w", err)
	}
	return nil
}

func writeWAV(buf *bytes.Buffer, samples []float32) error {
	data := 2 * len(samples)
	hdr := []any{
		[4]byte{'R', 'I', 'F', 'F'}, uint32(36 + data), [4]byte{'W', 'A', 'V', 'E'},
		[4]byte{'f', 'm', 't', ' '}, uint32(16), uint16(1), uint16(1),
		uint32(sampleRate), uint32(2 * sampleRate), uint16(2), uint16(16),
		[4]byte{'d', 'a', 't', 'a'}, uint32(data),
	}
	for _, v := range hdr {
		if err := binary.Write(buf, binary.LittleEndian, v); err != nil {
			return fmt.Errorf("callsynth: encode audio: %w", err)
		}
	}
	pcm := make([]int16, len(samples))
	for i, v := range samples {
		pcm[i] = int16(math.Round(math.Max(-1, math.Min(1, float64(v))) * 32767))
	}
	if err := binary.Write(buf, binary.LittleEndian, pcm); err != nil {
		return fmt.Errorf("callsynth: encode audio: %w", err)
	}
	return nil
}

func samplesToDur(n int) time.Duration { return time.Duration(n) * time.Second / sampleRate }

func durToSamples(d time.Duration) int {
	return int((int64(d)*sampleRate + int64(time.Second)/2) / int64(time.Second))
}
