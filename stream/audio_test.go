package stream

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sampleCall is the repository's sample speech, 16 kHz mono WAV.
const sampleCall = "../testdata/sample-call.wav"

// encoder makes a file of one format from a WAV file with a Debian tool.
type encoder struct {
	name   string
	ext    string
	tool   string // the program, from the Debian package pkg
	pkg    string
	args   func(in, out string) []string
	tol    float64 // seconds the decoded length may differ from the WAV's
	ffmpeg bool    // decoded through ffmpeg
}

// encoders covers every format OpenAudio reads.
var encoders = []encoder{
	{"WAV A-law", "wav", "sox", "sox", func(in, out string) []string { return []string{in, "-e", "a-law", "-r", "8000", out} }, 0.005, false},
	{"WAV µ-law", "wav", "sox", "sox", func(in, out string) []string { return []string{in, "-e", "u-law", out} }, 0.005, false},
	{"WAV 192 kHz", "wav", "sox", "sox", func(in, out string) []string { return []string{in, "-b", "24", "-r", "192000", "-c", "2", out} }, 0.005, false},
	{"FLAC", "flac", "flac", "flac", func(in, out string) []string { return []string{"-s", "-f", "-o", out, in} }, 0.005, false},
	{"Ogg Opus", "opus", "opusenc", "opus-tools", func(in, out string) []string { return []string{"--quiet", in, out} }, 0.005, false},
	{"MP3", "mp3", "lame", "lame", func(in, out string) []string { return []string{"--quiet", in, out} }, 0.12, false},
	{"Ogg Vorbis", "ogg", "oggenc", "vorbis-tools", func(in, out string) []string { return []string{"-Q", "-o", out, in} }, 0.005, true},
	{"WebM Opus", "webm", "ffmpeg", "ffmpeg", func(in, out string) []string {
		return []string{"-v", "error", "-y", "-i", in, "-c:a", "libopus", out}
	}, 0.03, true},
	{"M4A AAC", "m4a", "ffmpeg", "ffmpeg", func(in, out string) []string {
		return []string{"-v", "error", "-y", "-i", in, "-c:a", "aac", out}
	}, 0.07, true}, // up to one 1024-sample AAC frame of padding at the end
}

// encode writes the sample call in e's format under dir, skipping the test
// when the tool is missing.
func (e encoder) encode(t testing.TB, in, dir string) string {
	t.Helper()
	if _, err := exec.LookPath(e.tool); err != nil {
		t.Skipf("%s not installed: sudo apt-get install %s", e.tool, e.pkg)
	}
	if e.ffmpeg && !FFmpegAvailable() {
		t.Skip("ffmpeg not installed: sudo apt-get install ffmpeg")
	}
	out := filepath.Join(dir, strings.NewReplacer(" ", "-", "µ", "u").Replace(e.name)+"."+e.ext)
	if b, err := exec.Command(e.tool, e.args(in, out)...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", e.tool, err, b)
	}
	return out
}

// envelope is the RMS level of each 20 ms of a.
func envelope(a []float32) []float64 {
	const win = SampleRate / 50
	var env []float64
	for i := 0; i+win <= len(a); i += win {
		var s float64
		for _, v := range a[i : i+win] {
			s += float64(v) * float64(v)
		}
		env = append(env, math.Sqrt(s/win))
	}
	return env
}

// correlation is Pearson's correlation of the common length of a and b.
func correlation(a, b []float64) float64 {
	n := min(len(a), len(b))
	var ma, mb float64
	for i := range n {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(n)
	mb /= float64(n)
	var sab, saa, sbb float64
	for i := range n {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}

func TestLoadAudioEveryFormat(t *testing.T) {
	ref, err := LoadWAV(sampleCall)
	if err != nil {
		t.Fatal(err)
	}
	refEnv := envelope(ref.Samples)
	dir := t.TempDir()
	for _, e := range encoders {
		t.Run(e.name, func(t *testing.T) {
			path := e.encode(t, sampleCall, dir)
			a, err := LoadAudio(path)
			if err != nil {
				t.Fatal(err)
			}
			diff := math.Abs(float64(len(a.Samples)-len(ref.Samples))) / SampleRate
			if diff > e.tol {
				t.Errorf("%d samples, the WAV has %d: %.1f ms apart, want at most %.0f ms",
					len(a.Samples), len(ref.Samples), diff*1000, e.tol*1000)
			}
			// The speech is where it is in the WAV, give or take the
			// codec's delay (MP3 encoders add about 70 ms).
			env, best := envelope(a.Samples), -1.0
			for shift := 0; shift <= int(e.tol*50); shift++ {
				best = max(best, correlation(env[shift:], refEnv))
			}
			if best < 0.95 {
				t.Errorf("speech energy correlates %.3f with the WAV's, want ≥ 0.95", best)
			}
			// Streamed reading gives the same audio.
			w, err := OpenAudio(path)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			got := 0
			for _, c := range readChunks(t, w) {
				got += len(c)
			}
			if got != len(a.Samples) {
				t.Errorf("streamed %d samples, loaded %d", got, len(a.Samples))
			}
		})
	}
}

func TestOpenAudioNamesTheFormat(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		content string
		want    error
		text    string
	}{
		{"notes.wav", "meeting notes, not audio", ErrUnknownFormat, "unrecognised audio format"},
		{"call.flac", "fLaC\x00\x00\x00\x22garbage", ErrUnsupported, "not a valid FLAC file"},
		{"call.opus", "OggS\x00\x02" + strings.Repeat("\x00", 22) + "OpusHead\x01", ErrUnsupported, "Ogg Opus"},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := OpenAudio(path)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error = %v, want %v naming %q and the path", c.name, err, c.want, c.text)
		}
	}
}

func TestDetectContainer(t *testing.T) {
	cases := map[string]Container{
		"RIFF\x00\x00\x00\x00WAVEfmt ":                  ContainerWAV,
		"fLaC\x00":                                      ContainerFLAC,
		"ID3\x04\x00":                                   ContainerMP3,
		"\xff\xfb\x90\x00":                              ContainerMP3,
		"\xff\xf1\x50\x80":                              ContainerAAC,
		"OggS\x00\x02........OpusHead":                  ContainerOggOpus,
		"OggS\x00\x02........\x01vorbis":                ContainerOggVorbis,
		"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01B\x82webm": ContainerWebM,
		"\x00\x00\x00\x20ftypM4A ":                      ContainerMP4,
		"hello":                                         ContainerUnknown,
		"":                                              ContainerUnknown,
	}
	for head, want := range cases {
		if got := DetectContainer([]byte(head)); got != want {
			t.Errorf("DetectContainer(%q) = %q, want %q", head, got, want)
		}
	}
}

func TestFFmpegMissingSaysHowToInstall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "call.m4a")
	if err := os.WriteFile(path, []byte("\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	_, err := OpenAudio(path)
	if !errors.Is(err, ErrNeedsFFmpeg) || !strings.Contains(err.Error(), "sudo apt-get install ffmpeg") ||
		!strings.Contains(err.Error(), "M4A") {
		t.Fatalf("error = %v, want ErrNeedsFFmpeg with the install command", err)
	}
}
