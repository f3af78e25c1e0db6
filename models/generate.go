package models

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/x448/float16"
)

// Shape names a preset of hyper-parameters for generated models.
type Shape string

const (
	// ShapeTest is the smallest model whisper.cpp runs with a multilingual
	// vocabulary: about 8 MB, loads in milliseconds; for unit tests.
	ShapeTest Shape = "test"
	// ShapeTiny has the real tiny model's dimensions (about 78 MB); for benchmarks.
	ShapeTiny Shape = "tiny"
)

// Hparams returns the hyper-parameters of a preset shape.
func (s Shape) Hparams() (Hparams, error) {
	h := Hparams{NVocab: multilingualVocab, NAudioCtx: 1500, NTextCtx: 448, NMels: 80, FType: 1}
	switch s {
	case ShapeTest:
		h.NAudioState, h.NAudioHead, h.NAudioLayer = 64, 2, 1
		h.NTextState, h.NTextHead, h.NTextLayer = 64, 2, 1
	case ShapeTiny:
		h.NAudioState, h.NAudioHead, h.NAudioLayer = 384, 6, 4
		h.NTextState, h.NTextHead, h.NTextLayer = 384, 6, 4
	default:
		return Hparams{}, fmt.Errorf("unknown model shape %q: use %q or %q", s, ShapeTest, ShapeTiny)
	}
	return h, nil
}

// weightStd is the spread of generated matrices and embeddings. Small
// decoder embeddings keep random decoding short: with large ones every pass
// runs to the token cap.
const weightStd = 0.02

// GenerateRandom writes a Whisper-format ggml model with random weights and
// the given hyper-parameters to w. The same seed gives the same bytes. Matrices
// and convolution kernels are f16 (whisper.cpp's f32 path aborts in the
// convolutions); biases, norms and positional embeddings are f32. The mel
// filters are real Slaney filters and the vocabulary is multilingual-sized
// with the space token at id 220 as in GPT-2's.
func GenerateRandom(w io.Writer, h Hparams, seed uint64) error {
	if h.FType != 1 {
		return fmt.Errorf("generate model: only f16 weights (ftype 1) are supported, got %d", h.FType)
	}
	if h.NAudioState != h.NTextState || h.NAudioState%h.NAudioHead != 0 || h.NTextState%h.NTextHead != 0 {
		return fmt.Errorf("generate model: state %d must be shared by encoder and decoder and divisible by the heads", h.NAudioState)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	le := binary.LittleEndian
	put := func(v any) error { return binary.Write(bw, le, v) }

	if err := put(uint32(ggmlMagic)); err != nil {
		return fmt.Errorf("generate model: %w", err)
	}
	if err := put(h); err != nil {
		return fmt.Errorf("generate model: %w", err)
	}
	if err := put([]int32{h.NMels, melFFTBins}); err != nil {
		return fmt.Errorf("generate model: %w", err)
	}
	if err := put(MelFilters(16000, 2*(melFFTBins-1), int(h.NMels))); err != nil {
		return fmt.Errorf("generate model: %w", err)
	}
	if err := writeVocab(bw); err != nil {
		return fmt.Errorf("generate model: %w", err)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for _, t := range tensorSpecs(h) {
		if err := writeTensor(bw, t, rng); err != nil {
			return fmt.Errorf("generate model: tensor %s: %w", t.name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("generate model: %w", err)
	}
	return nil
}

// GenerateRandomFile writes a random model of the given shape to path
// atomically: a partial file never appears under that name.
func GenerateRandomFile(path string, shape Shape, seed uint64) error {
	h, err := shape.Hparams()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("generate model %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("generate model %s: %w", path, err)
	}
	if err := GenerateRandom(tmp, h, seed); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("generate model %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("generate model %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("generate model %s: %w", path, err)
	}
	return nil
}

// writeVocab writes textVocab distinct pseudo-words so that random decoding
// yields readable ASCII; the special tokens are added by whisper.cpp.
func writeVocab(w io.Writer) error {
	const consonants, vowels = "bdfgklmnprstvz", "aeiou"
	if err := binary.Write(w, binary.LittleEndian, int32(textVocab)); err != nil {
		return err
	}
	var sb strings.Builder
	for id := 0; id < textVocab; id++ {
		sb.Reset()
		switch {
		case id == 220:
			sb.WriteString(spaceToken)
		case id == textVocab-1:
			// whisper's multilingual vocabularies end with an empty token.
		default:
			if id%3 != 0 {
				sb.WriteByte(' ')
			}
			for n := id; ; n /= len(consonants) * len(vowels) {
				r := n % (len(consonants) * len(vowels))
				sb.WriteByte(consonants[r/len(vowels)])
				sb.WriteByte(vowels[r%len(vowels)])
				if n < len(consonants)*len(vowels) {
					break
				}
			}
			if id%3 == 0 {
				sb.WriteByte('-') // keeps word-internal tokens distinct from word-initial ones
			}
		}
		if err := binary.Write(w, binary.LittleEndian, uint32(sb.Len())); err != nil {
			return err
		}
		if _, err := io.WriteString(w, sb.String()); err != nil {
			return err
		}
	}
	return nil
}

func writeTensor(w io.Writer, t tensorSpec, rng *rand.Rand) error {
	le := binary.LittleEndian
	ttype := int32(1)
	if t.f32 {
		ttype = 0
	}
	if err := binary.Write(w, le, []int32{int32(len(t.ne)), int32(len(t.name)), ttype}); err != nil {
		return err
	}
	if err := binary.Write(w, le, t.ne); err != nil {
		return err
	}
	if _, err := io.WriteString(w, t.name); err != nil {
		return err
	}
	n := 1
	for _, d := range t.ne {
		n *= int(d)
	}
	value := func(i int) float32 {
		switch t.init {
		case initOne:
			return 1
		case initNormal:
			return float32(rng.NormFloat64() * weightStd)
		case initSinusoid:
			// whisper's encoder positions: sin on the first half of the
			// channels, cos on the second, over log-spaced timescales.
			channels := int(t.ne[0])
			pos, c := i/channels, i%channels
			half := channels / 2
			k := c % half
			scale := math.Exp(-math.Log(10000) * float64(k) / float64(half-1))
			if c < half {
				return float32(math.Sin(float64(pos) * scale))
			}
			return float32(math.Cos(float64(pos) * scale))
		default:
			return 0
		}
	}
	encode, width := func(b []byte, v float32) []byte {
		return le.AppendUint16(b, float16.Fromfloat32(v).Bits())
	}, 2
	if t.f32 {
		encode, width = func(b []byte, v float32) []byte { return le.AppendUint32(b, math.Float32bits(v)) }, 4
	}
	buf := make([]byte, 0, width<<14)
	for i := 0; i < n; i++ {
		buf = encode(buf, value(i))
		if len(buf) == cap(buf) || i == n-1 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}
