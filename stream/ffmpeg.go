package stream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"strings"
	"sync"
)

// ffmpegInstallHint tells a user how to get ffmpeg.
const ffmpegInstallHint = "install it with: sudo apt-get install ffmpeg (macOS: brew install ffmpeg)"

// ffmpegRate is the rate ffmpeg is asked to decode at: already the speech
// rate, so the resampler passes it through.
const ffmpegRate = SampleRate

// ffmpegFrames decodes a file through an ffmpeg process that writes 16 kHz
// mono float samples to a pipe, read as they come.
type ffmpegFrames struct {
	c      Container
	cmd    *exec.Cmd
	out    io.ReadCloser
	stderr *limitedBuffer
	f      Format
	done   int64
	buf    []byte
	waited bool
}

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := 4096 - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.TrimSpace(l.b.String())
}

// FFmpegAvailable reports whether ffmpeg, which decodes Ogg Vorbis, WebM,
// M4A/AAC and other formats, is installed.
func FFmpegAvailable() bool {
	_, err := exec.LookPath("ffmpeg")
	return err == nil
}

func openFFmpeg(path string, c Container) (frameSource, error) {
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, fmt.Errorf("%w: the file is %s; %s", ErrNeedsFFmpeg, c, ffmpegInstallHint)
	}
	cmd := exec.Command(bin, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", path,
		"-vn", "-ac", "1", "-ar", fmt.Sprint(ffmpegRate), "-f", "f32le", "-")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start ffmpeg: %w", err)
	}
	stderr := &limitedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ffmpeg: %w", err)
	}
	f := Format{SampleRate: ffmpegRate, Channels: 1, Encoding: EncodingFFmpeg}
	d := &ffmpegFrames{c: c, cmd: cmd, out: out, stderr: stderr, f: f, buf: make([]byte, 4*ffmpegRate/4)}
	// Decode the first block now, so a broken file is refused at open.
	p := &peekedFrames{ffmpegFrames: d}
	if err := p.peek(); err != nil {
		p.close()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the %s file holds no audio", ErrEmpty, c)
		}
		return nil, err
	}
	return p, nil
}

func (d *ffmpegFrames) next(dst []float32) ([]float32, error) {
	if d.waited {
		return dst, io.EOF
	}
	n, err := io.ReadFull(d.out, d.buf)
	n -= n % 4
	for i := 0; i < n; i += 4 {
		v := math.Float32frombits(binary.LittleEndian.Uint32(d.buf[i:]))
		dst = append(dst, clamp32(v))
	}
	d.done += int64(n / 4)
	if n > 0 {
		return dst, nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if werr := d.wait(); werr != nil {
			return dst, werr
		}
		return dst, io.EOF
	}
	return dst, fmt.Errorf("read from ffmpeg: %w", err)
}

// wait reaps the process and says why it failed, if it did.
func (d *ffmpegFrames) wait() error {
	if d.waited {
		return nil
	}
	d.waited = true
	if err := d.cmd.Wait(); err != nil {
		msg := d.stderr.String()
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%w: ffmpeg could not decode this %s file: %s", ErrUnsupported, d.c, msg)
	}
	return nil
}

func (d *ffmpegFrames) format() Format { return d.f }
func (d *ffmpegFrames) frames() int64  { return -1 }
func (d *ffmpegFrames) decoded() int64 { return d.done }

func (d *ffmpegFrames) close() error {
	if d.waited {
		return nil
	}
	_ = d.cmd.Process.Kill()
	d.out.Close()
	d.waited = true
	_ = d.cmd.Wait()
	return nil
}

// peekedFrames is an ffmpegFrames whose first block is decoded on the first
// call of next or peek.
type peekedFrames struct {
	*ffmpegFrames
	first []float32
	err   error
	read  bool
}

func (p *peekedFrames) peek() error {
	if !p.read {
		p.read = true
		p.first, p.err = p.ffmpegFrames.next(nil)
	}
	return p.err
}

func (p *peekedFrames) next(dst []float32) ([]float32, error) {
	if !p.read {
		return p.ffmpegFrames.next(dst)
	}
	if p.first != nil || p.err != nil {
		dst, err := append(dst, p.first...), p.err
		p.first, p.err = nil, nil
		if err == nil && len(dst) == 0 {
			return p.ffmpegFrames.next(dst)
		}
		return dst, err
	}
	return p.ffmpegFrames.next(dst)
}
