package stream

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// dataFrames decodes the samples of a data chunk: integer PCM (8-bit
// unsigned, 16-, 24- and 32-bit signed) and IEEE float (32 and 64 bits), all
// little-endian. It reads one chunk of bytes at a time into the same buffer,
// so decoding a file of any length allocates nothing after the first call.
//
// It does not use go-audio/wav's decoder: PCMBuffer allocates a new byte
// buffer on every call and reads sample by sample, so a long file made as
// much garbage as it is long, which doubled the peak heap of a streamed load.
type dataFrames struct {
	r      io.ReadSeeker
	format Format
	pos    int64  // offset of the next frame in r
	raw    []byte // room for one chunk
}

// decode adds the next frames complete frames to m.
func (d *dataFrames) decode(m *downmixer, frames int64) error {
	align := int64(d.format.blockAlign())
	for frames > 0 {
		n := min(frames, int64(len(d.raw))/align)
		chunk := d.raw[:n*align]
		if _, err := readAt(d.r, d.pos, chunk); err != nil {
			return fmt.Errorf("read %d bytes at byte %d (did the file change while it was read?): %w",
				len(chunk), d.pos, err)
		}
		d.pos += int64(len(chunk))
		frames -= n
		d.convert(m, chunk)
	}
	return nil
}

// convert adds the whole frames of b to m, each sample scaled to [-1, 1].
// NaN and infinities become 0; float values beyond ±1 are clipped.
func (d *dataFrames) convert(m *downmixer, b []byte) {
	le := binary.LittleEndian
	switch f := d.format; {
	case f.Encoding == EncodingFloat && f.BitDepth == 32:
		for i := 0; i+4 <= len(b); i += 4 {
			m.add(clampUnit(float64(math.Float32frombits(le.Uint32(b[i:])))))
		}
	case f.Encoding == EncodingFloat:
		for i := 0; i+8 <= len(b); i += 8 {
			m.add(clampUnit(math.Float64frombits(le.Uint64(b[i:]))))
		}
	case f.Encoding == EncodingALaw:
		for _, v := range b {
			m.add(float64(alaw(v)) / (1 << 15))
		}
	case f.Encoding == EncodingMuLaw:
		for _, v := range b {
			m.add(float64(mulaw(v)) / (1 << 15))
		}
	case f.BitDepth == 8: // unsigned, 128 is zero
		for _, v := range b {
			m.add((float64(v) - 128) / (1 << 7))
		}
	case f.BitDepth == 16:
		for i := 0; i+2 <= len(b); i += 2 {
			m.add(float64(int16(le.Uint16(b[i:]))) / (1 << 15))
		}
	case f.BitDepth == 24:
		for i := 0; i+3 <= len(b); i += 3 {
			v := int32(uint32(b[i])<<8|uint32(b[i+1])<<16|uint32(b[i+2])<<24) >> 8 // sign-extended
			m.add(float64(v) / (1 << 23))
		}
	default: // 32-bit
		for i := 0; i+4 <= len(b); i += 4 {
			m.add(float64(int32(le.Uint32(b[i:]))) / (1 << 31))
		}
	}
}

// downmixer averages interleaved samples into mono frames.
type downmixer struct {
	out      []float32
	channels int
	sum      float64
	n        int
}

func (m *downmixer) add(v float64) {
	m.sum += v
	m.n++
	if m.n == m.channels {
		m.out = append(m.out, float32(m.sum/float64(m.channels)))
		m.sum, m.n = 0, 0
	}
}
