package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Container names the kind of file a recording is stored in, found from its
// first bytes (never from its name).
type Container string

// The containers DetectContainer recognises. Those marked in-process are
// decoded by this package; the others need ffmpeg.
const (
	ContainerUnknown   Container = ""
	ContainerWAV       Container = "WAV"              // in-process
	ContainerFLAC      Container = "FLAC"             // in-process
	ContainerMP3       Container = "MP3"              // in-process
	ContainerOggOpus   Container = "Ogg Opus"         // in-process (libopusfile)
	ContainerOggVorbis Container = "Ogg Vorbis"       // ffmpeg
	ContainerOggFLAC   Container = "Ogg FLAC"         // ffmpeg
	ContainerOgg       Container = "Ogg"              // ffmpeg
	ContainerWebM      Container = "WebM"             // ffmpeg
	ContainerMatroska  Container = "Matroska"         // ffmpeg
	ContainerMP4       Container = "M4A/MP4"          // ffmpeg
	ContainerAAC       Container = "AAC (ADTS)"       // ffmpeg
	ContainerAIFF      Container = "AIFF"             // ffmpeg
	ContainerAMR       Container = "AMR"              // ffmpeg
	ContainerCAF       Container = "Core Audio (CAF)" // ffmpeg
)

// sniffLen is how many leading bytes DetectContainer looks at.
const sniffLen = 512

// ErrUnknownFormat: the file is in no audio format this package recognises.
var ErrUnknownFormat = errors.New("unrecognised audio format")

// ErrNeedsFFmpeg: the file is in a format decoded through ffmpeg, which is
// not installed.
var ErrNeedsFFmpeg = errors.New("ffmpeg is needed to decode this format")

// DetectContainer names the container of a file from its first bytes (up to
// 512 are looked at).
func DetectContainer(head []byte) Container {
	has := func(off int, s string) bool {
		return len(head) >= off+len(s) && string(head[off:off+len(s)]) == s
	}
	switch {
	case (has(0, "RIFF") || has(0, "RF64") || has(0, "RIFX")) && has(8, "WAVE"):
		return ContainerWAV
	case has(0, "fLaC"):
		return ContainerFLAC
	case has(0, "OggS"):
		switch {
		case bytes.Contains(head, []byte("OpusHead")):
			return ContainerOggOpus
		case bytes.Contains(head, []byte("\x01vorbis")):
			return ContainerOggVorbis
		case bytes.Contains(head, []byte("\x7fFLAC")):
			return ContainerOggFLAC
		}
		return ContainerOgg
	case has(0, "\x1a\x45\xdf\xa3"):
		if bytes.Contains(head[:min(len(head), 64)], []byte("webm")) {
			return ContainerWebM
		}
		return ContainerMatroska
	case has(4, "ftyp"):
		return ContainerMP4
	case has(0, "FORM") && (has(8, "AIFF") || has(8, "AIFC")):
		return ContainerAIFF
	case has(0, "#!AMR"):
		return ContainerAMR
	case has(0, "caff"):
		return ContainerCAF
	case has(0, "ID3"):
		return ContainerMP3
	case len(head) >= 2 && head[0] == 0xff && head[1]&0xf0 == 0xf0 && head[1]&0x06 == 0:
		return ContainerAAC // ADTS: MPEG sync word, layer 0
	case len(head) >= 2 && head[0] == 0xff && head[1]&0xe0 == 0xe0 && head[1]&0x06 == 0x02:
		return ContainerMP3 // MPEG audio layer III frame
	}
	return ContainerUnknown
}

// openDecoder readies the decoder of the file r holds. path, when not empty,
// is the file's name, which lets formats that need ffmpeg be decoded.
func openDecoder(r io.ReadSeeker, path string) (frameSource, error) {
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read audio file: %w", err)
	}
	head = head[:n]
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read audio file: %w", err)
	}
	c := DetectContainer(head)
	switch c {
	case ContainerWAV:
		d, err := openFrames(r)
		if d == nil {
			return nil, err
		}
		return d, err
	case ContainerFLAC:
		return openFLAC(r)
	case ContainerMP3:
		return openMP3(r)
	case ContainerOggOpus:
		return openOpus(r)
	case ContainerUnknown:
		return nil, fmt.Errorf("%w (it starts with % x): record or export it as WAV, FLAC, MP3, Ogg, WebM or M4A",
			ErrUnknownFormat, head[:min(len(head), 8)])
	}
	if path == "" {
		return nil, fmt.Errorf("%w: %s is decoded from a file through ffmpeg", ErrUnsupported, c)
	}
	return openFFmpeg(path, c)
}

// OpenAudio opens the recording at path for reading a chunk at a time as
// 16 kHz mono audio, whatever its format: WAV (PCM, float, A-law, µ-law),
// FLAC, MP3 and Ogg Opus in-process; Ogg Vorbis, WebM, M4A/AAC and others
// through ffmpeg when it is installed. The format is found from the file's
// first bytes. A WAV file whose data chunk is cut short is refused with an
// error wrapping ErrTruncated. The caller must Close the reader.
func OpenAudio(path string) (*AudioReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open audio file: %w", err)
	}
	src, err := openDecoder(f, path)
	if err != nil {
		if src != nil {
			src.close()
		}
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return newAudioReader(src, f)
}

// LoadAudio reads the recording at path, in any format OpenAudio reads, as
// 16 kHz mono audio.
func LoadAudio(path string) (*Audio, error) {
	return LoadAudioContext(context.Background(), path, nil)
}

// LoadAudioContext reads the recording at path, in any format OpenAudio
// reads, as 16 kHz mono audio, a chunk at a time, as LoadWAVContext does for
// WAV files: it stops between two chunks once ctx is done, and progress (when
// not nil) is told how much has been decoded. A WAV file whose data chunk is
// cut short gives the audio it holds with an error wrapping ErrTruncated.
func LoadAudioContext(ctx context.Context, path string, progress func(done, total time.Duration)) (*Audio, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open audio file: %w", err)
	}
	defer f.Close()
	src, cut := openDecoder(f, path)
	if src == nil {
		return nil, fmt.Errorf("%s: %w", path, cut)
	}
	w, err := newAudioReader(src, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer w.Close()
	a, err := w.readAll(ctx, progress)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if cut != nil {
		return a, fmt.Errorf("%s: %w", path, cut)
	}
	return a, nil
}
