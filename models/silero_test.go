package models

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// onnxWeights returns the ONNX weights make deps fetches (scripts/silero.sh), or skips.
func onnxWeights(t *testing.T) string {
	t.Helper()
	path, err := SileroONNXPath()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("the Silero VAD v5 weights are not at %s: run 'make deps' (scripts/silero.sh fetches them)", path)
	}
	return path
}

func TestConvertSileroWritesWhatWhisperCppLoads(t *testing.T) {
	onnx := onnxWeights(t)
	out := filepath.Join(t.TempDir(), "vad.bin")
	if err := ConvertSileroFile(onnx, out); err != nil {
		t.Fatal(err)
	}
	version, err := InspectSilero(out)
	if err != nil {
		t.Fatal(err)
	}
	if version != "5.0.0" {
		t.Errorf("version %q", version)
	}
	// The published ggml-silero-v5.1.2.bin has the same tensors: 885,098 bytes give or take
	// the header and the bias's dimension count.
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < 885_000 || fi.Size() > 885_200 {
		t.Errorf("converted model is %d bytes, want about 885 kB", fi.Size())
	}
	// Converting is deterministic.
	again := filepath.Join(t.TempDir(), "again.bin")
	if err := ConvertSileroFile(onnx, again); err != nil {
		t.Fatal(err)
	}
	if a, b := readFile(t, out), readFile(t, again); !bytes.Equal(a, b) {
		t.Error("two conversions differ")
	}
}

func TestConvertSileroRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"garbage": []byte("not a protobuf at all \xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
		"empty":   nil,
	} {
		src := filepath.Join(dir, name+".onnx")
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, name+".bin")
		if err := ConvertSileroFile(src, dst); !errors.Is(err, ErrSileroONNX) {
			t.Errorf("%s: err = %v, want ErrSileroONNX", name, err)
		}
		assertNoFile(t, dst)
	}
}

func TestInspectSileroRefusesDamagedFiles(t *testing.T) {
	onnx := onnxWeights(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.bin")
	if err := ConvertSileroFile(onnx, good); err != nil {
		t.Fatal(err)
	}
	b := readFile(t, good)
	whisper := filepath.Join(dir, "whisper.bin")
	if err := GenerateRandomFile(whisper, ShapeTest, 1); err != nil {
		t.Fatal(err)
	}
	huge := bytes.Clone(b)
	huge[4] = 0xff // the model type's length
	for name, data := range map[string][]byte{
		"truncated":      b[:len(b)-100],
		"header only":    b[:100],
		"type length":    huge,
		"whisper model":  readFile(t, whisper),
		"trailing bytes": append(bytes.Clone(b), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
	} {
		p := filepath.Join(dir, "bad.bin")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := InspectSilero(p); !errors.Is(err, ErrNotVAD) {
			t.Errorf("%s: err = %v, want ErrNotVAD", name, err)
		}
	}
}

func TestLookupFindsSilero(t *testing.T) {
	for _, name := range []string{"silero-v5", "SILERO-V5", "ggml-silero-v5.1.2.bin"} {
		m, err := Lookup(name)
		if err != nil || m.Name != SileroV5 || m.File != "ggml-silero-v5.1.2.bin" ||
			m.URL != "https://huggingface.co/ggml-org/whisper-vad/resolve/main/ggml-silero-v5.1.2.bin" {
			t.Errorf("Lookup(%q) = %+v, %v", name, m, err)
		}
	}
	for _, m := range Catalogue() {
		if m.Name == SileroV5 {
			t.Error("the Whisper catalogue lists the VAD model")
		}
	}
}

func TestPullSileroFromServer(t *testing.T) {
	onnx := onnxWeights(t)
	// The server publishes a ggml VAD model, as the model host does.
	published := filepath.Join(t.TempDir(), "ggml-silero-v5.1.2.bin")
	if err := ConvertSileroFile(onnx, published); err != nil {
		t.Fatal(err)
	}
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Path)
		http.ServeFile(w, r, published)
	}))
	defer srv.Close()
	m, err := Lookup(SileroV5)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cache{Dir: t.TempDir()}
	path, err := c.Pull(context.Background(), m, PullOptions{BaseURL: srv.URL + "/ggml-org"})
	if err != nil {
		t.Fatal(err)
	}
	if path != c.Path(SileroV5) || len(asked) != 1 || asked[0] != "/ggml-org/ggml-silero-v5.1.2.bin" {
		t.Fatalf("pulled to %s after requests %v", path, asked)
	}
	if _, err := InspectSilero(path); err != nil {
		t.Fatal(err)
	}
	// The pulled file comes first.
	if got, err := c.ResolveSilero(filepath.Join(t.TempDir(), "absent.onnx")); err != nil || got != path {
		t.Errorf("ResolveSilero = %s, %v; want the pulled %s", got, err, path)
	}
}

func TestResolveSileroConvertsOnceThenUsesTheCache(t *testing.T) {
	onnx := onnxWeights(t)
	c := &Cache{Dir: filepath.Join(t.TempDir(), "models")}
	path, err := c.ResolveSilero(onnx)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(c.Dir, SileroConverted) {
		t.Fatalf("converted to %s", path)
	}
	// The ONNX file is no longer needed.
	got, err := c.ResolveSilero(filepath.Join(t.TempDir(), "absent.onnx"))
	if err != nil || got != path {
		t.Errorf("second ResolveSilero = %s, %v", got, err)
	}
}

func TestResolveSileroWithoutWeights(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	_, err := c.ResolveSilero(filepath.Join(t.TempDir(), "absent.onnx"))
	if !errors.Is(err, ErrNoSilero) {
		t.Fatalf("err = %v, want ErrNoSilero", err)
	}
	t.Setenv(EnvBuildCache, t.TempDir())
	if _, err := c.ResolveSilero(""); !errors.Is(err, ErrNoSilero) {
		t.Fatalf("default ONNX place: err = %v, want ErrNoSilero", err)
	}
}
