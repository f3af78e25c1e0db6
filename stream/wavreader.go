package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// maxChunkSamples bounds the interleaved samples decoded at once: a chunk is
// one second of source audio, or less where that would hold more samples
// (many channels at a high rate).
const maxChunkSamples = 1 << 17

// wavFrames decodes one WAV stream a chunk at a time, at its own rate and
// downmixed to mono. It is the one decoder behind DecodeWAV, ReadWAV, LoadWAV,
// WAVReader and the file Replay.
type wavFrames struct {
	layout *wavLayout
	data   *dataFrames
	mix    downmixer
	chunk  int64 // frames per call of next
	done   int64 // frames decoded
}

// openFrames reads the header of r and readies its data for decoding. When
// the data chunk is cut short it returns the decoder of the complete frames
// together with an error wrapping ErrTruncated; with any other error the
// decoder is nil.
func openFrames(r io.ReadSeeker) (*wavFrames, error) {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("read WAV: find its size: %w", err)
	}
	l, err := scanWAV(r, size)
	if err != nil {
		return nil, err
	}
	f := l.format
	// Never more than the frames present, so a hostile header costs nothing.
	chunk := min(int64(f.SampleRate), max(maxChunkSamples/int64(f.Channels), 1), l.frames)
	d := &wavFrames{layout: l, chunk: chunk, mix: downmixer{channels: f.Channels}}
	d.data = &dataFrames{r: r, format: f, pos: l.dataOff, raw: make([]byte, chunk*int64(f.blockAlign()))}
	if l.truncated {
		return d, fmt.Errorf("%w: the data chunk declares %d bytes but only %d are present; "+
			"decoded the first %s; re-copy or re-export the recording",
			ErrTruncated, l.declared, size-l.dataOff, framesDuration(l.frames, f.SampleRate))
	}
	return d, nil
}

// next appends the next chunk of mono frames to dst. After the last frame it
// returns io.EOF.
func (d *wavFrames) next(dst []float32) ([]float32, error) {
	n := min(d.chunk, d.layout.frames-d.done)
	if n == 0 {
		return dst, io.EOF
	}
	d.mix.out = dst
	err := d.data.decode(&d.mix, n)
	dst, d.mix.out = d.mix.out, nil
	if err != nil {
		return dst, fmt.Errorf("read WAV data: %w", err)
	}
	d.done += n
	return dst, nil
}

// frameSource decodes one recording a chunk at a time, at its own rate and
// downmixed to mono. Every decoder of this package is one.
type frameSource interface {
	// next appends the next chunk of mono frames to dst. After the last
	// frame it returns io.EOF.
	next(dst []float32) ([]float32, error)
	// format is the recording's format as stored.
	format() Format
	// frames is the number of frames in all, or -1 when unknown until the
	// end is decoded.
	frames() int64
	// decoded is the number of frames decoded so far.
	decoded() int64
	// close frees what the decoder holds (not the file it reads).
	close() error
}

var _ frameSource = (*wavFrames)(nil)

func (d *wavFrames) format() Format { return d.layout.format }
func (d *wavFrames) frames() int64  { return d.layout.frames }
func (d *wavFrames) decoded() int64 { return d.done }
func (d *wavFrames) close() error   { return nil }

// AudioReader decodes a recording as 16 kHz mono audio a chunk at a time:
// each Read decodes about one second of the file (or one block of a
// compressed one), so memory use does not grow with its length, and a reader
// stops between two chunks when its context ends. The chunks are exactly the
// audio LoadAudio returns, cut into pieces: the band-limited resampler keeps
// its state from one chunk to the next.
//
// An AudioReader is not safe for concurrent use.
type AudioReader struct {
	src     frameSource
	rs      *Resampler
	closer  io.Closer
	total   int64 // 16 kHz samples in all; -1 when unknown
	out     int64 // 16 kHz samples returned
	flushed bool  // the resampler's tail is out
	mono    []float32
	err     error // sticky: io.EOF or a read failure
}

// WAVReader is the AudioReader of a WAV file.
type WAVReader = AudioReader

// OpenWAV opens the WAV file at path for reading a chunk at a time. It reads
// only the file's header: formats and errors are as for ReadWAV, except that a
// file whose data chunk is cut short is refused with an error wrapping
// ErrTruncated (LoadWAV returns what such a file holds). The caller must Close
// the reader. OpenAudio reads other formats as well.
func OpenWAV(path string) (*WAVReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open audio file: %w", err)
	}
	w, err := newWAVReader(f, f)
	if err != nil {
		if w == nil {
			f.Close()
		} else {
			w.Close()
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// newWAVReader reads the header of r. Errors and truncation are as for
// openFrames. Close closes closer, which may be nil.
func newWAVReader(r io.ReadSeeker, closer io.Closer) (*WAVReader, error) {
	d, cut := openFrames(r)
	if d == nil {
		return nil, cut
	}
	w, err := newAudioReader(d, closer)
	if err != nil {
		return nil, err
	}
	return w, cut
}

// newAudioReader reads src through the resampler. Close closes src, then
// closer, which may be nil.
func newAudioReader(src frameSource, closer io.Closer) (*AudioReader, error) {
	rate := src.format().SampleRate
	rs, err := NewResampler(rate, SampleRate)
	if err != nil {
		src.close()
		if closer != nil {
			closer.Close()
		}
		return nil, err
	}
	w := &AudioReader{src: src, rs: rs, closer: closer, total: -1}
	if n := src.frames(); n >= 0 {
		w.total = (n*SampleRate + int64(rate) - 1) / int64(rate)
	}
	return w, nil
}

// Format is the sample format of the file as stored.
func (w *AudioReader) Format() Format { return w.src.format() }

// Duration is the length of the file's audio; while the length of a file is
// unknown (Len is -1), how much has been decoded so far.
func (w *AudioReader) Duration() time.Duration {
	n := w.src.frames()
	if n < 0 {
		n = w.src.decoded()
	}
	return framesDuration(n, w.src.format().SampleRate)
}

// Position is how much of the file's audio has been decoded.
func (w *AudioReader) Position() time.Duration {
	return framesDuration(w.src.decoded(), w.src.format().SampleRate)
}

// Len is the number of 16 kHz samples the reader returns in all, or -1 when
// the file does not say how long it is.
func (w *AudioReader) Len() int64 { return w.total }

// Read decodes the next chunk of the file and returns it as 16 kHz mono
// samples, which the caller owns. After the last chunk it returns io.EOF.
// When ctx is done it decodes nothing and returns an error wrapping ctx.Err();
// a later Read with a live context goes on where this one stopped. Any other
// error ends the reader.
func (w *AudioReader) Read(ctx context.Context) ([]float32, error) {
	return w.read(ctx, nil)
}

// read is Read appending to dst. Without room in dst it allocates just enough
// for the chunk.
func (w *AudioReader) read(ctx context.Context, dst []float32) ([]float32, error) {
	if w.err != nil {
		return dst, w.err
	}
	if err := ctx.Err(); err != nil {
		return dst, fmt.Errorf("read audio: stopped after %v of %v: %w",
			w.Position().Round(10*time.Millisecond), w.Duration().Round(10*time.Millisecond), err)
	}
	var err error
	w.mono, err = w.src.next(w.mono[:0])
	if errors.Is(err, io.EOF) && !w.flushed && len(w.mono) == 0 {
		// A source that did not say its length ends here.
		w.flushed = true
		return w.rs.Flush(dst), nil
	}
	if err != nil && !errors.Is(err, io.EOF) || err != nil && len(w.mono) == 0 {
		w.err = err
		return dst, err
	}
	// At most the samples the input so far makes, less those already out.
	rate := int64(w.src.format().SampleRate)
	room := (w.src.decoded()*SampleRate+rate-1)/rate - w.out
	if int64(cap(dst)-len(dst)) < room {
		dst = append(make([]float32, 0, int64(len(dst))+room), dst...)
	}
	n := len(dst)
	dst = w.rs.Process(dst, w.mono)
	if w.src.decoded() == w.src.frames() || errors.Is(err, io.EOF) {
		dst = w.rs.Flush(dst)
		w.flushed = true
	}
	w.out += int64(len(dst) - n)
	return dst, nil
}

// readAll reads the rest of the file into one Audio, reporting progress (when
// not nil) after each chunk.
func (w *AudioReader) readAll(ctx context.Context, progress func(done, total time.Duration)) (*Audio, error) {
	samples := make([]float32, 0, max(w.total-w.out, 0))
	if progress != nil {
		progress(w.Position(), w.Duration())
	}
	for {
		var err error
		samples, err = w.read(ctx, samples)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if progress != nil {
			progress(w.Position(), w.Duration())
		}
	}
	return &Audio{Samples: samples, Source: w.Format(), Duration: w.Duration()}, nil
}

// Close closes the file. Reads after Close fail.
func (w *AudioReader) Close() error {
	if w.err == nil || errors.Is(w.err, io.EOF) {
		w.err = errors.New("read audio: the reader is closed")
	}
	err := w.src.close()
	if w.closer == nil {
		return err
	}
	c := w.closer
	w.closer = nil
	return errors.Join(err, c.Close())
}

// LoadWAVContext reads the recording at path as 16 kHz mono audio, as LoadWAV
// does, a chunk at a time: besides the result it holds only a few small
// buffers. It stops between two chunks once ctx is done, returning an error
// that wraps ctx.Err(). progress, when not nil, is called on the calling
// goroutine before the first chunk and after each one with how much of the
// file's audio has been decoded and how long it is. It reads every format
// LoadAudioContext reads.
func LoadWAVContext(ctx context.Context, path string, progress func(done, total time.Duration)) (*Audio, error) {
	return LoadAudioContext(ctx, path, progress)
}
