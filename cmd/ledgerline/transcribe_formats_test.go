package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTranscribeEveryFormat transcribes the sample call in every format the
// commands read, each made with a Debian tool, through the transcribe command.
func TestTranscribeEveryFormat(t *testing.T) {
	if testing.Short() {
		t.Skip("transcribes nine files")
	}
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.wav")
	if _, err := exec.LookPath("sox"); err != nil {
		t.Skip("sox not installed: sudo apt-get install sox")
	}
	if b, err := exec.Command("sox", sample, clip, "trim", "0", "4").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, b)
	}
	ffmpeg := []string{"-v", "error", "-y", "-i", clip}
	formats := []struct {
		file, tool string
		args       []string
	}{
		{"alaw.wav", "sox", []string{clip, "-e", "a-law", "-r", "8000", "-t", "wav"}},
		{"hi.wav", "sox", []string{clip, "-b", "24", "-r", "192000", "-t", "wav"}},
		{"call.flac", "flac", []string{"-s", "-f", clip, "-o"}},
		{"call.opus", "opusenc", []string{"--quiet", clip}},
		{"call.mp3", "lame", []string{"--quiet", clip}},
		{"call.ogg", "oggenc", []string{"-Q", clip, "-o"}},
		{"call.webm", "ffmpeg", append(ffmpeg, "-c:a", "libopus")},
		{"call.m4a", "ffmpeg", append(ffmpeg, "-c:a", "aac")},
	}
	for _, f := range formats {
		t.Run(f.file, func(t *testing.T) {
			if _, err := exec.LookPath(f.tool); err != nil {
				t.Skipf("%s not installed (scripts/deps.sh installs it)", f.tool)
			}
			// Every path ends in a name without the format's extension:
			// the content alone tells the format.
			path := filepath.Join(dir, strings.ReplaceAll(f.file, ".", "-")+".audio")
			args := append(append([]string{}, f.args...), path)
			if f.tool == "ffmpeg" {
				args = append(args[:len(args)-1], "-f", map[string]string{"call.webm": "webm", "call.m4a": "mp4"}[f.file], path)
			}
			if b, err := exec.Command(f.tool, args...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v: %s", f.tool, err, b)
			}
			code, out, errOut := ledgerline(t, "transcribe", path, "--model", testModel(t), "--format", "json",
				"--language", "en", "--fallbacks", "-1", "--max-tokens", "8")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, `"duration_ms": 4`) && !strings.Contains(out, `"duration_ms":4`) {
				t.Errorf("want a 4 s duration in %.300s", out)
			}
		})
	}
}
