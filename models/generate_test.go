package models

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func generated(t *testing.T, shape Shape, seed uint64) []byte {
	t.Helper()
	h, err := shape.Hparams()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := GenerateRandom(&buf, h, seed); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGenerateRandomFileIsAValidModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ggml-test.bin")
	if err := GenerateRandomFile(path, ShapeTest, 1); err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(path)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	want, _ := ShapeTest.Hparams()
	if info.Hparams != want {
		t.Errorf("hparams = %+v, want %+v", info.Hparams, want)
	}
	if !info.Multilingual() {
		t.Error("test model is not multilingual")
	}
	// 7 encoder globals, 15 per encoder block, 4 decoder globals, 24 per decoder block.
	if wantTensors := 7 + 15*1 + 4 + 24*1; info.Tensors != wantTensors {
		t.Errorf("tensors = %d, want %d", info.Tensors, wantTensors)
	}
	if info.Size < 7<<20 || info.Size > 10<<20 {
		t.Errorf("test model is %d bytes, want about 8 MB", info.Size)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("model file mode = %v, %v; want 0644", fi.Mode(), err)
	}
}

func TestGenerateRandomIsDeterministic(t *testing.T) {
	a := sha256.Sum256(generated(t, ShapeTest, 3))
	b := sha256.Sum256(generated(t, ShapeTest, 3))
	c := sha256.Sum256(generated(t, ShapeTest, 4))
	if a != b {
		t.Error("same seed gave different files")
	}
	if a == c {
		t.Error("different seeds gave the same file")
	}
}

func TestUnknownShape(t *testing.T) {
	if _, err := Shape("huge").Hparams(); err == nil || !strings.Contains(err.Error(), "test") {
		t.Errorf("err = %v, want one naming the known shapes", err)
	}
}

func TestMelFiltersMatchSlaney(t *testing.T) {
	f := MelFilters(16000, 400, 80)
	if len(f) != 80*201 {
		t.Fatalf("len = %d, want 80×201", len(f))
	}
	// By hand: the first filter spans 0–74.5 Hz peaking at 37.2 Hz; bin 1 is
	// 40 Hz, on the falling edge: (74.48-40)/37.24 × 2/74.48 = 0.02486. This
	// is also the value in Whisper's own mel_filters.npz.
	if got := f[1]; math.Abs(float64(got)-0.02486) > 1e-4 {
		t.Errorf("filter 0 bin 1 = %f, want 0.02486", got)
	}
	prevPeak := -1
	for m := 0; m < 80; m++ {
		row := f[m*201 : (m+1)*201]
		peak := 0
		for k, w := range row {
			if w < 0 {
				t.Fatalf("filter %d bin %d is negative", m, k)
			}
			if w > row[peak] {
				peak = k
			}
		}
		if peak < prevPeak {
			t.Errorf("filter %d peaks at bin %d, before filter %d's bin %d", m, peak, m-1, prevPeak)
		}
		prevPeak = peak
	}
}

func TestInspectRefusesDamagedFiles(t *testing.T) {
	good := generated(t, ShapeTest, 1)
	noSpace := bytes.Clone(good)
	i := bytes.Index(noSpace, []byte{1, 0, 0, 0, ' '}) // the only one-byte token
	if i < 0 {
		t.Fatal("space token not found in the generated vocabulary")
	}
	noSpace[i+4] = 'x'
	for name, tc := range map[string]struct {
		data []byte
		want error
		says string
	}{
		"empty":          {nil, ErrNotModel, "bad magic"},
		"text":           {[]byte("WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n"), ErrNotModel, "bad magic"},
		"header only":    {good[:30], ErrCorrupt, "header"},
		"truncated":      {good[:len(good)-100], ErrCorrupt, "truncated"},
		"no space token": {noSpace, ErrCorrupt, "space token"},
		"trailing junk":  {append(bytes.Clone(good), 1, 2, 3), ErrCorrupt, "tensor header"},
	} {
		_, err := Inspect(writeTemp(t, tc.data))
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: err = %v, want %v saying %q", name, err, tc.want, tc.says)
		}
	}
}

func BenchmarkGenerateTiny(b *testing.B) {
	h, _ := ShapeTiny.Hparams()
	for b.Loop() {
		if err := GenerateRandom(io.Discard, h, 1); err != nil {
			b.Fatal(err)
		}
	}
}
