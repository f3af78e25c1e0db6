package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerline/ledgerline/models"
)

func TestModelsConvertVAD(t *testing.T) {
	onnx, err := models.SileroONNXPath()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(onnx); err != nil {
		t.Skipf("the Silero VAD v5 weights are not at %s: run 'make deps' (scripts/silero.sh fetches them)", onnx)
	}
	if code, out, _ := ledgerline(t, "models", "convert-vad", "-h"); code != 0 || !strings.Contains(out, "ledgerline models convert-vad") {
		t.Errorf("help: exit %d, %q", code, out)
	}
	// By default it converts the weights make deps fetched into the model cache, where run finds them.
	cache := t.TempDir()
	t.Setenv(models.EnvModelsDir, cache)
	if _, out, _ := ledgerline(t, "models", "list"); !strings.Contains(out, "silero-v5 (Silero VAD v5, about 1 MB): not installed") {
		t.Errorf("models list before converting:\n%s", out)
	}
	code, out, errOut := ledgerline(t, "models", "convert-vad")
	want := filepath.Join(cache, models.SileroConverted)
	if code != 0 || strings.TrimSpace(out) != want {
		t.Fatalf("exit %d, stdout %q, stderr %q; want the path %s", code, out, errOut, want)
	}
	if _, err := models.InspectSilero(want); err != nil {
		t.Fatal(err)
	}
	if _, out, _ := ledgerline(t, "models", "list"); !strings.Contains(out, "silero-v5 (Silero VAD v5, about 1 MB): installed (converted") {
		t.Errorf("models list after converting:\n%s", out)
	}
	// A file that is not the ONNX model is refused, and says what to do.
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	if err := os.WriteFile(bad, []byte("\xff\xff\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(t.TempDir(), "vad.bin")
	code, _, errOut = ledgerline(t, "models", "convert-vad", "--onnx", bad, "--out", out2)
	if code == 0 || !strings.Contains(errOut, "make deps") {
		t.Errorf("bad ONNX: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(out2); err == nil {
		t.Error("a failed conversion left a file")
	}
}

// run says once which speech detector its channels use, and falls back to the rule-based one.
func TestSpeechDetectorsSaysWhichRuns(t *testing.T) {
	var stderr strings.Builder
	e := &env{stdout: &stderr, stderr: &stderr, log: newLogger(&stderr, "")}
	t.Setenv(models.EnvModelsDir, t.TempDir())
	t.Setenv(models.EnvBuildCache, t.TempDir())
	if f := speechDetectors(e); f != nil {
		t.Error("detectors without a model")
	}
	if !strings.Contains(stderr.String(), "speech detection: rule-based, as the Silero VAD is not available") ||
		!strings.Contains(stderr.String(), "models pull silero-v5") {
		t.Errorf("stderr %q", stderr.String())
	}

	// With the weights make deps fetches, the model is converted into the cache and runs.
	t.Setenv(models.EnvBuildCache, "")
	onnx, err := models.SileroONNXPath()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(onnx); err != nil {
		t.Skipf("the Silero VAD v5 weights are not at %s: run 'make deps'", onnx)
	}
	stderr.Reset()
	f := speechDetectors(e)
	if f == nil || !strings.Contains(stderr.String(), "speech detection: Silero VAD 5.0.0") {
		t.Fatalf("with the weights fetched: stderr %q", stderr.String())
	}
	d := f()
	if d == nil || d.FrameSize() != 512 {
		t.Fatalf("channel detector %T", d)
	}
	if c, ok := d.(interface{ Close() error }); ok {
		c.Close()
	}
}
