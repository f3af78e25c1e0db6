package stream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// decodePCM decodes integer PCM data with go-audio/wav.
//
// go-audio/wav trusts chunk sizes from the header (it allocates LIST, smpl and
// fmt chunk bodies of any declared size), drops the extensible sub-format, and
// does not check short reads. So it never sees the original header: it reads a
// canonical 44-byte header written from the validated layout, followed by
// exactly the complete frames present in the source.
func decodePCM(r io.ReadSeeker, l *wavLayout) ([]float32, error) {
	f := l.format
	src := &canonicalWAV{
		header:  canonicalHeader(f, l.frames),
		src:     r,
		dataOff: l.dataOff,
		dataLen: l.frames * int64(f.blockAlign()),
	}
	dec := wav.NewDecoder(src)
	buf := &audio.IntBuffer{Data: make([]int, 4096*f.Channels)}
	m := downmixer{out: make([]float32, 0, l.frames), channels: f.Channels}
	// 8-bit WAV is unsigned with 128 as zero; wider samples are signed.
	offset, scale := 0.0, 1/float64(int64(1)<<(f.BitDepth-1))
	if f.BitDepth == 8 {
		offset = -128
	}
	for {
		n, err := dec.PCMBuffer(buf)
		if err != nil {
			return nil, fmt.Errorf("decode %s samples: %w", f, err)
		}
		if n == 0 {
			break
		}
		for _, v := range buf.Data[:n] {
			m.add((float64(v) + offset) * scale)
		}
	}
	if err := dec.Err(); err != nil {
		return nil, fmt.Errorf("decode %s samples: %w", f, err)
	}
	if int64(len(m.out)) != l.frames {
		return nil, fmt.Errorf("decode %s samples: got %d frames, expected %d", f, len(m.out), l.frames)
	}
	return m.out, nil
}

// canonicalHeader is a minimal 44-byte PCM WAV header for frames of f.
func canonicalHeader(f Format, frames int64) []byte {
	dataLen := uint32(frames * int64(f.blockAlign()))
	h := make([]byte, 44)
	le := binary.LittleEndian
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], 36+dataLen)
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], 16)
	le.PutUint16(h[20:], tagPCM)
	le.PutUint16(h[22:], uint16(f.Channels))
	le.PutUint32(h[24:], uint32(f.SampleRate))
	le.PutUint32(h[28:], uint32(f.SampleRate*f.blockAlign()))
	le.PutUint16(h[32:], uint16(f.blockAlign()))
	le.PutUint16(h[34:], uint16(f.BitDepth))
	copy(h[36:], "data")
	le.PutUint32(h[40:], dataLen)
	return h
}

// canonicalWAV is an io.ReadSeeker over header followed by dataLen bytes of
// src starting at dataOff. Reads into the data fill the buffer whenever the
// bytes exist, so a sample never straddles two reads.
type canonicalWAV struct {
	header  []byte
	src     io.ReadSeeker
	dataOff int64
	dataLen int64
	pos     int64
}

var _ io.ReadSeeker = (*canonicalWAV)(nil)

func (c *canonicalWAV) size() int64 { return int64(len(c.header)) + c.dataLen }

func (c *canonicalWAV) Read(p []byte) (int, error) {
	if c.pos >= c.size() {
		return 0, io.EOF
	}
	n := 0
	if c.pos < int64(len(c.header)) {
		n = copy(p, c.header[c.pos:])
		c.pos += int64(n)
		p = p[n:]
	}
	if len(p) == 0 || c.pos >= c.size() {
		return n, nil
	}
	p = p[:min(int64(len(p)), c.size()-c.pos)]
	m, err := readAt(c.src, c.dataOff+c.pos-int64(len(c.header)), p)
	c.pos += int64(m)
	n += m
	if errors.Is(err, io.ErrUnexpectedEOF) || (errors.Is(err, io.EOF) && n > 0) {
		// The source shrank after it was measured.
		err = nil
		c.dataLen = c.pos - int64(len(c.header))
	}
	return n, err
}

func (c *canonicalWAV) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += c.pos
	case io.SeekEnd:
		offset += c.size()
	default:
		return c.pos, fmt.Errorf("seek: invalid whence %d", whence)
	}
	if offset < 0 {
		return c.pos, fmt.Errorf("seek: negative position %d", offset)
	}
	c.pos = offset
	return offset, nil
}
