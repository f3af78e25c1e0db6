package asr

import (
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// The linked whisper.cpp tells its version, and which compute backend it was built with agrees
// with its system info and with how it was built: CUDA with WHISPER_CUDA=1, Metal on macOS, the
// CPU otherwise.
func TestWhisperVersionAndBackend(t *testing.T) {
	if v := WhisperVersion(); !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v) {
		t.Errorf("WhisperVersion() = %q; want a version such as 1.9.1", v)
	}
	backend := Backend()
	want := "CPU"
	switch {
	case os.Getenv("WHISPER_CUDA") == "1":
		want = "CUDA"
	case runtime.GOOS == "darwin":
		want = "Metal"
	}
	if backend != want {
		t.Errorf("Backend() = %q; want %q for this build (system info: %s)", backend, want, SystemInfo())
	}
	info := SystemInfo()
	for name, section := range map[string]string{"CUDA": "CUDA : ", "Metal": "MTL : "} {
		if strings.Contains(info, section) != (backend == name) {
			t.Errorf("Backend() = %q, yet whisper.cpp's system info says %q", backend, info)
		}
	}
	if !strings.Contains(info, "CPU : ") {
		t.Errorf("system info %q lists no CPU backend", info)
	}
}
