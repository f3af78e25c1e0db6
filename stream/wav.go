package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// SampleRate is the rate, in Hz, of every Audio this package produces. Audio is
// always mono.
const SampleRate = 16000

// Source rates accepted by ReadWAV, in Hz.
const (
	MinSourceRate = 8000
	MaxSourceRate = 192000
)

// maxChannels bounds the channel count a WAV header may declare.
const maxChannels = 64

// Sentinel errors. Every error DecodeWAV, ReadWAV and LoadWAV return about the
// content of a file wraps exactly one of them (test with errors.Is); failures
// to open, seek or read wrap the underlying error instead.
var (
	// ErrNotWAV: the input is not a well-formed RIFF/WAVE file.
	ErrNotWAV = errors.New("not a valid WAV file")
	// ErrUnsupported: a well-formed file in an encoding, rate or layout this
	// package does not decode.
	ErrUnsupported = errors.New("unsupported audio format")
	// ErrTruncated: the file ends before its header or data chunk says it
	// should.
	ErrTruncated = errors.New("truncated WAV file")
	// ErrEmpty: the file holds no audio frames.
	ErrEmpty = errors.New("WAV file holds no audio")
)

// convertHint tells a user how to turn any audio file into one we read best.
const convertHint = "convert it with: sox input-file -r 16000 -c 1 -b 16 output.wav"

// Encoding is how a sample is stored.
type Encoding int

// Sample encodings.
const (
	// EncodingPCM is linear integer PCM: unsigned for 8-bit, signed otherwise.
	EncodingPCM Encoding = iota + 1
	// EncodingFloat is IEEE 754 floating point.
	EncodingFloat
	// EncodingALaw is 8-bit G.711 A-law, as telephone systems record.
	EncodingALaw
	// EncodingMuLaw is 8-bit G.711 µ-law, as telephone systems record.
	EncodingMuLaw
	// EncodingFLAC is FLAC, decoded in-process.
	EncodingFLAC
	// EncodingMP3 is MPEG layer III, decoded in-process.
	EncodingMP3
	// EncodingOpus is Ogg Opus, decoded through libopusfile.
	EncodingOpus
	// EncodingFFmpeg is any codec ffmpeg decodes (Vorbis, AAC, Opus in
	// WebM): ffmpeg delivers it as 16 kHz mono.
	EncodingFFmpeg
)

func (e Encoding) String() string {
	switch e {
	case EncodingPCM:
		return "PCM"
	case EncodingFloat:
		return "float"
	case EncodingALaw:
		return "A-law"
	case EncodingMuLaw:
		return "µ-law"
	case EncodingFLAC:
		return "FLAC"
	case EncodingMP3:
		return "MP3"
	case EncodingOpus:
		return "Opus"
	case EncodingFFmpeg:
		return "decoded by ffmpeg"
	default:
		return "unknown"
	}
}

// Format is the sample format of a recording as stored.
type Format struct {
	SampleRate int // Hz
	Channels   int
	BitDepth   int // bits per stored sample: 8, 16, 24, 32 or 64
	Encoding   Encoding
	Extensible bool // the fmt chunk used WAVE_FORMAT_EXTENSIBLE
}

func (f Format) String() string {
	if f.Encoding >= EncodingFLAC {
		return fmt.Sprintf("%d Hz, %d ch, %s", f.SampleRate, f.Channels, f.Encoding)
	}
	return fmt.Sprintf("%d Hz, %d ch, %d-bit %s", f.SampleRate, f.Channels, f.BitDepth, f.Encoding)
}

func (f Format) blockAlign() int { return f.Channels * f.BitDepth / 8 }

// Decoded is the audio of a WAV file at its own rate, downmixed to mono by
// averaging the channels.
type Decoded struct {
	Format Format
	// Samples holds one value per frame, in [-1, 1].
	Samples []float32
}

// Duration is how long the decoded audio plays.
func (d *Decoded) Duration() time.Duration {
	return framesDuration(int64(len(d.Samples)), d.Format.SampleRate)
}

// Audio is speech-ready audio: 16 kHz mono float32.
type Audio struct {
	// Samples are at SampleRate, in [-1, 1] give or take resampling overshoot.
	Samples []float32
	// Source is the format the audio was decoded from.
	Source Format
	// Duration is the length of the source audio. len(Samples) is within one
	// sample of Duration at SampleRate.
	Duration time.Duration
}

// Convert resamples decoded audio to 16 kHz mono.
func (d *Decoded) Convert() *Audio {
	return &Audio{
		Samples:  Resample(d.Samples, d.Format.SampleRate, SampleRate),
		Source:   d.Format,
		Duration: d.Duration(),
	}
}

// LoadWAV reads the WAV file at path as 16 kHz mono audio. See ReadWAV and
// LoadWAVContext.
func LoadWAV(path string) (*Audio, error) {
	return LoadWAVContext(context.Background(), path, nil)
}

// ReadWAV decodes a WAV stream and converts it to 16 kHz mono.
//
// It accepts integer PCM of 8 (unsigned), 16, 24 and 32 bits and IEEE float of
// 32 and 64 bits, plain or WAVE_FORMAT_EXTENSIBLE, with any number of channels
// (averaged to mono) at 8000 to 192000 Hz.
//
// When the data chunk is cut short after at least one complete frame, ReadWAV
// returns the complete frames that are present together with an error wrapping
// ErrTruncated: callers that can live with partial audio may use them, everyone
// else must treat the error as fatal. With every other error the Audio is nil.
//
// The stream is decoded a chunk at a time (see WAVReader): memory use is the
// 16 kHz result and a few small buffers.
func ReadWAV(r io.ReadSeeker) (*Audio, error) {
	w, cut := newWAVReader(r, nil)
	if w == nil {
		return nil, cut
	}
	a, err := w.readAll(context.Background(), nil)
	if err != nil {
		return nil, err
	}
	return a, cut
}

// DecodeWAV decodes a WAV stream at its own rate, downmixed to mono. Errors and
// truncation behave as for ReadWAV.
//
// Memory use is bounded by the size of the input, whatever its header claims.
func DecodeWAV(r io.ReadSeeker) (*Decoded, error) {
	d, cut := openFrames(r)
	if d == nil {
		return nil, cut
	}
	samples := make([]float32, 0, d.layout.frames)
	for {
		var err error
		samples, err = d.next(samples)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return &Decoded{Format: d.layout.format, Samples: samples}, cut
}

// wavLayout is what scanWAV learns about a file.
type wavLayout struct {
	format    Format
	dataOff   int64 // offset of the first data byte
	frames    int64 // complete frames present
	declared  int64 // data chunk size from the header
	truncated bool  // fewer bytes present than declared
}

// scanWAV walks the RIFF chunks of r, whose total size is size, and validates
// the fmt chunk. It reads only chunk headers and the fmt chunk body.
func scanWAV(r io.ReadSeeker, size int64) (*wavLayout, error) {
	if size == 0 {
		return nil, fmt.Errorf("%w: the file is empty (0 bytes); record again or pick another file", ErrEmpty)
	}
	var riff [12]byte
	n, err := readAt(r, 0, riff[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("read WAV header: %w", err)
	}
	switch {
	case n >= 4 && (string(riff[:4]) == "RIFX" || string(riff[:4]) == "RF64"):
		return nil, fmt.Errorf("%w: %q WAV variant; %s", ErrUnsupported, riff[:4], convertHint)
	case n < 12 && string(riff[:min(n, 4)]) == "RIFF"[:min(n, 4)]:
		return nil, fmt.Errorf("%w: the file ends inside its %d-byte RIFF header (%d bytes); re-copy or re-export it",
			ErrTruncated, len(riff), n)
	case n < 12 || string(riff[:4]) != "RIFF" || string(riff[8:12]) != "WAVE":
		return nil, fmt.Errorf("%w: it does not start with a RIFF/WAVE header; if it is audio in another format, %s",
			ErrNotWAV, convertHint)
	}

	var (
		fmtBody             []byte
		dataOff, dataSize   int64 = -1, 0
		cut                 bool  // a chunk header or body runs past the end
		chunkHdr            [8]byte
		pos                 = int64(12)
		fmtDeclared, fmtPos int64
	)
	for pos < size {
		if size-pos < 8 {
			cut = true
			break
		}
		if _, err := readAt(r, pos, chunkHdr[:]); err != nil {
			return nil, fmt.Errorf("read WAV chunk header at byte %d: %w", pos, err)
		}
		id := string(chunkHdr[:4])
		sz := int64(binary.LittleEndian.Uint32(chunkHdr[4:]))
		body := pos + 8
		switch id {
		case "fmt ":
			if fmtBody != nil {
				break
			}
			fmtDeclared, fmtPos = sz, pos
			// The standard fields and the extensible part fit in 40 bytes;
			// anything after is ignored.
			fmtBody = make([]byte, min(sz, size-body, 40))
			if _, err := readAt(r, body, fmtBody); err != nil {
				return nil, fmt.Errorf("read WAV fmt chunk: %w", err)
			}
		case "data":
			if dataOff < 0 {
				dataOff, dataSize = body, sz
			}
		}
		if fmtBody != nil && dataOff >= 0 {
			break
		}
		if sz > size-body {
			cut = true
		}
		pos = body + sz + sz&1
	}

	if fmtBody == nil {
		if cut || dataOff >= 0 {
			return nil, fmt.Errorf("%w: the file ends before its fmt chunk; re-copy or re-export it", ErrTruncated)
		}
		return nil, fmt.Errorf("%w: it has no fmt chunk; %s", ErrNotWAV, convertHint)
	}
	if int64(len(fmtBody)) < min(fmtDeclared, 40) {
		return nil, fmt.Errorf("%w: the file ends inside its fmt chunk at byte %d; re-copy or re-export it",
			ErrTruncated, fmtPos)
	}
	f, err := parseFmt(fmtBody, fmtDeclared)
	if err != nil {
		return nil, err
	}
	if dataOff < 0 {
		if cut {
			return nil, fmt.Errorf("%w: the file ends before its data chunk; re-copy or re-export it", ErrTruncated)
		}
		return nil, fmt.Errorf("%w: it has no data chunk; record again or pick another file", ErrEmpty)
	}

	l := &wavLayout{format: f, dataOff: dataOff, declared: dataSize}
	present := min(dataSize, size-dataOff)
	l.truncated = present < dataSize
	l.frames = present / int64(f.blockAlign())
	if l.frames == 0 {
		if l.truncated {
			return nil, fmt.Errorf("%w: the data chunk declares %d bytes but the file ends after %d; "+
				"re-copy or re-export it", ErrTruncated, dataSize, present)
		}
		return nil, fmt.Errorf("%w: its data chunk holds no complete frame; record again or pick another file", ErrEmpty)
	}
	return l, nil
}

// WAV format tags (mmreg.h).
const (
	tagPCM        = 0x0001
	tagADPCM      = 0x0002
	tagFloat      = 0x0003
	tagALaw       = 0x0006
	tagMuLaw      = 0x0007
	tagIMAADPCM   = 0x0011
	tagGSM        = 0x0031
	tagMPEG       = 0x0050
	tagMP3        = 0x0055
	tagExtensible = 0xFFFE
)

// guidTail is bytes 2..15 of every KSDATAFORMAT_SUBTYPE GUID derived from a
// format tag (00000000-0000-0010-8000-00aa00389b71, stored little-endian).
var guidTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71}

// parseFmt validates a fmt chunk body (at most its first 40 bytes); declared
// is the chunk size from its header.
func parseFmt(b []byte, declared int64) (Format, error) {
	if len(b) < 16 {
		return Format{}, fmt.Errorf("%w: its fmt chunk is %d bytes, at least 16 are needed; %s",
			ErrNotWAV, declared, convertHint)
	}
	le := binary.LittleEndian
	tag := le.Uint16(b[0:])
	f := Format{
		Channels:   int(le.Uint16(b[2:])),
		SampleRate: int(le.Uint32(b[4:])),
		BitDepth:   int(le.Uint16(b[14:])),
	}
	align := int(le.Uint16(b[12:]))
	if tag == tagExtensible {
		if len(b) < 40 || le.Uint16(b[16:]) < 22 {
			return Format{}, fmt.Errorf("%w: its WAVE_FORMAT_EXTENSIBLE fmt chunk is incomplete; %s",
				ErrNotWAV, convertHint)
		}
		if [14]byte(b[26:40]) != guidTail {
			return Format{}, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE with a vendor-specific sub-format; %s",
				ErrUnsupported, convertHint)
		}
		f.Extensible = true
		tag = le.Uint16(b[24:])
	}
	switch tag {
	case tagPCM:
		f.Encoding = EncodingPCM
	case tagFloat:
		f.Encoding = EncodingFloat
	case tagALaw:
		f.Encoding = EncodingALaw
	case tagMuLaw:
		f.Encoding = EncodingMuLaw
	default:
		return Format{}, fmt.Errorf("%w: %s-encoded audio (format tag 0x%04x); %s",
			ErrUnsupported, tagName(tag), tag, convertHint)
	}
	if f.Channels == 0 {
		return Format{}, fmt.Errorf("%w: its header declares zero channels; %s", ErrNotWAV, convertHint)
	}
	if f.Channels > maxChannels {
		return Format{}, fmt.Errorf("%w: %d channels, at most %d are supported; %s",
			ErrUnsupported, f.Channels, maxChannels, convertHint)
	}
	if f.SampleRate < MinSourceRate || f.SampleRate > MaxSourceRate {
		return Format{}, fmt.Errorf("%w: sample rate %d Hz is outside %d to %d Hz; %s",
			ErrUnsupported, f.SampleRate, MinSourceRate, MaxSourceRate, convertHint)
	}
	okBits := map[Encoding][]int{EncodingPCM: {8, 16, 24, 32}, EncodingFloat: {32, 64}, EncodingALaw: {8}, EncodingMuLaw: {8}}[f.Encoding]
	if !contains(okBits, f.BitDepth) {
		return Format{}, fmt.Errorf("%w: %d-bit %s samples; %s", ErrUnsupported, f.BitDepth, f.Encoding, convertHint)
	}
	if align != f.blockAlign() {
		return Format{}, fmt.Errorf("%w: block alignment %d does not match %d channels of %d bits; %s",
			ErrNotWAV, align, f.Channels, f.BitDepth, convertHint)
	}
	return f, nil
}

func tagName(tag uint16) string {
	switch tag {
	case tagADPCM, tagIMAADPCM:
		return "ADPCM"
	case tagALaw:
		return "A-law"
	case tagMuLaw:
		return "µ-law"
	case tagGSM:
		return "GSM 6.10"
	case tagMPEG, tagMP3:
		return "MPEG"
	default:
		return "compressed"
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// readAt reads len(p) bytes at offset off. A short read returns the count and
// io.ErrUnexpectedEOF (or io.EOF when nothing was read).
func readAt(r io.ReadSeeker, off int64, p []byte) (int, error) {
	if _, err := r.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.ReadFull(r, p)
}

// framesDuration is frames/rate as a Duration, without overflowing for long
// inputs.
func framesDuration(frames int64, rate int) time.Duration {
	if rate <= 0 {
		return 0
	}
	r := int64(rate)
	return time.Duration(frames/r)*time.Second + time.Duration(frames%r)*time.Second/time.Duration(r)
}

func clampUnit(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case v > 1:
		return 1
	case v < -1:
		return -1
	}
	return v
}
