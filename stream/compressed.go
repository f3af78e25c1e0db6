package stream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hajimehoshi/go-mp3"
	"github.com/mewkiz/flac"
	"gopkg.in/hraban/opus.v2"
)

// badFile wraps the error of a decoder that found a file of container c
// broken.
func badFile(c Container, err error) error {
	return fmt.Errorf("%w: not a valid %s file: %v", ErrUnsupported, c, err)
}

// flacFrames decodes a FLAC stream, one FLAC block at a time.
type flacFrames struct {
	s    *flac.Stream
	f    Format
	done int64
}

func openFLAC(r io.Reader) (fs frameSource, err error) {
	defer recoverDecoder(ContainerFLAC, &err)
	s, err := flac.New(r)
	if err != nil {
		return nil, badFile(ContainerFLAC, err)
	}
	i := s.Info
	f := Format{SampleRate: int(i.SampleRate), Channels: int(i.NChannels),
		BitDepth: int(i.BitsPerSample), Encoding: EncodingFLAC}
	if err := checkRate(ContainerFLAC, f); err != nil {
		return nil, err
	}
	if f.BitDepth < 4 || f.BitDepth > 32 {
		return nil, badFile(ContainerFLAC, fmt.Errorf("%d-bit samples", f.BitDepth))
	}
	if i.NSamples == 0 {
		return nil, fmt.Errorf("%w: the FLAC file holds no audio (or does not say how long it is)", ErrEmpty)
	}
	return &flacFrames{s: s, f: f}, nil
}

func (d *flacFrames) next(dst []float32) (out []float32, err error) {
	defer recoverDecoder(ContainerFLAC, &err)
	if d.done >= d.frames() {
		return dst, io.EOF
	}
	fr, err := d.s.ParseNext()
	if errors.Is(err, io.EOF) {
		return dst, io.EOF
	}
	if err != nil {
		return dst, badFile(ContainerFLAC, err)
	}
	if len(fr.Subframes) != d.f.Channels {
		return dst, badFile(ContainerFLAC, errors.New("a block's channel count differs from the header's"))
	}
	n := min(int64(fr.BlockSize), d.frames()-d.done)
	scale := 1 / (float64(int64(1)<<(d.f.BitDepth-1)) * float64(d.f.Channels))
	for i := range int(n) {
		var sum float64
		for _, sf := range fr.Subframes {
			if i < len(sf.Samples) {
				sum += float64(sf.Samples[i])
			}
		}
		dst = append(dst, float32(sum*scale))
	}
	d.done += n
	return dst, nil
}

func (d *flacFrames) format() Format { return d.f }
func (d *flacFrames) frames() int64  { return int64(d.s.Info.NSamples) }
func (d *flacFrames) decoded() int64 { return d.done }
func (d *flacFrames) close() error   { return nil }

// mp3Frames decodes an MP3 stream, which go-mp3 gives as 16-bit stereo.
type mp3Frames struct {
	d     *mp3.Decoder
	f     Format
	total int64
	done  int64
	buf   []byte
}

func openMP3(r io.ReadSeeker) (fs frameSource, err error) {
	defer recoverDecoder(ContainerMP3, &err)
	d, err := mp3.NewDecoder(r)
	if err != nil {
		return nil, badFile(ContainerMP3, err)
	}
	f := Format{SampleRate: d.SampleRate(), Channels: 2, Encoding: EncodingMP3}
	if err := checkRate(ContainerMP3, f); err != nil {
		return nil, err
	}
	total := d.Length() / 4
	if total <= 0 {
		return nil, fmt.Errorf("%w: the MP3 file holds no audio", ErrEmpty)
	}
	return &mp3Frames{d: d, f: f, total: total, buf: make([]byte, 4*4608)}, nil
}

func (d *mp3Frames) next(dst []float32) (out []float32, err error) {
	defer recoverDecoder(ContainerMP3, &err)
	if d.done >= d.total {
		return dst, io.EOF
	}
	n, err := io.ReadFull(d.d, d.buf)
	if n == 0 && err != nil {
		if errors.Is(err, io.EOF) {
			return dst, io.EOF
		}
		return dst, badFile(ContainerMP3, err)
	}
	frames := min(int64(n/4), d.total-d.done)
	for i := range frames {
		l := int16(binary.LittleEndian.Uint16(d.buf[4*i:]))
		r := int16(binary.LittleEndian.Uint16(d.buf[4*i+2:]))
		dst = append(dst, float32((float64(l)+float64(r))/(2<<15)))
	}
	d.done += frames
	return dst, nil
}

func (d *mp3Frames) format() Format { return d.f }
func (d *mp3Frames) frames() int64  { return d.total }
func (d *mp3Frames) decoded() int64 { return d.done }
func (d *mp3Frames) close() error   { return nil }

// opusFrames decodes an Ogg Opus stream through libopusfile, at 48 kHz.
type opusFrames struct {
	s     *opus.Stream
	f     Format
	total int64 // -1 when the last page could not be read
	done  int64
	pcm   []float32
}

// opusRate is the rate libopusfile decodes at.
const opusRate = 48000

// noCloser hides a file's Close from libopusfile's stream, which would
// otherwise close it.
type noCloser struct{ io.Reader }

func openOpus(r io.ReadSeeker) (frameSource, error) {
	head := make([]byte, sniffLen)
	n, _ := io.ReadFull(r, head)
	head = head[:n]
	i := bytes.Index(head, []byte("OpusHead"))
	if i < 0 || len(head) < i+19 {
		return nil, badFile(ContainerOggOpus, errors.New("no complete OpusHead header"))
	}
	channels := int(head[i+9])
	preSkip := int64(binary.LittleEndian.Uint16(head[i+10:]))
	if channels < 1 || channels > 8 {
		return nil, fmt.Errorf("%w: Ogg Opus with %d channels", ErrUnsupported, channels)
	}
	total := lastGranule(r)
	if total >= 0 {
		total = max(total-preSkip, 0)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read audio file: %w", err)
	}
	s, err := opus.NewStream(noCloser{r})
	if err != nil {
		return nil, badFile(ContainerOggOpus, err)
	}
	f := Format{SampleRate: opusRate, Channels: channels, Encoding: EncodingOpus}
	return &opusFrames{s: s, f: f, total: total, pcm: make([]float32, 5760*channels)}, nil
}

// lastGranule is the granule position of the last Ogg page of r: the
// stream's length in 48 kHz frames, counting the pre-skip. It is -1 when
// no page is found near the end.
func lastGranule(r io.ReadSeeker) int64 {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return -1
	}
	off := max(size-65536, 0)
	if _, err := r.Seek(off, io.SeekStart); err != nil {
		return -1
	}
	tail, err := io.ReadAll(io.LimitReader(r, size-off))
	if err != nil {
		return -1
	}
	i := bytes.LastIndex(tail, []byte("OggS"))
	if i < 0 || len(tail) < i+14 {
		return -1
	}
	g := int64(binary.LittleEndian.Uint64(tail[i+6:]))
	if g < 0 {
		return -1
	}
	return g
}

func (d *opusFrames) next(dst []float32) ([]float32, error) {
	if d.total >= 0 && d.done >= d.total {
		return dst, io.EOF
	}
	n, err := d.s.ReadFloat32(d.pcm)
	if errors.Is(err, io.EOF) {
		if d.total > d.done {
			d.total = d.done // the file was shorter than its last page said
		}
		return dst, io.EOF
	}
	if err != nil {
		return dst, badFile(ContainerOggOpus, err)
	}
	c := d.f.Channels
	n = min(n, len(d.pcm)/c)
	if d.total >= 0 {
		n = int(min(int64(n), d.total-d.done))
	}
	for i := range n {
		var sum float32
		for _, v := range d.pcm[i*c : i*c+c] {
			sum += v
		}
		dst = append(dst, clamp32(sum/float32(c)))
	}
	d.done += int64(n)
	return dst, nil
}

func clamp32(v float32) float32 {
	if v != v { // NaN
		return 0
	}
	return min(max(v, -1), 1)
}

func (d *opusFrames) format() Format { return d.f }
func (d *opusFrames) frames() int64  { return d.total }
func (d *opusFrames) decoded() int64 { return d.done }
func (d *opusFrames) close() error   { return d.s.Close() }

// checkRate refuses rates the resampler does not take.
func checkRate(c Container, f Format) error {
	if f.Channels < 1 {
		return fmt.Errorf("%w: the %s header declares no channels", ErrUnsupported, c)
	}
	if f.SampleRate < MinSourceRate || f.SampleRate > MaxSourceRate {
		return fmt.Errorf("%w: %s at %d Hz, outside %d to %d Hz", ErrUnsupported, c,
			f.SampleRate, MinSourceRate, MaxSourceRate)
	}
	return nil
}

// recoverDecoder turns a panic in a third-party decoder on a malformed file
// into an error.
func recoverDecoder(c Container, err *error) {
	if p := recover(); p != nil {
		*err = badFile(c, fmt.Errorf("decoder failed: %v", p))
	}
}
