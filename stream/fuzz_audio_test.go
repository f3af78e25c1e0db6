package stream

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"
)

// fuzzDecoder feeds data to the decoder open makes and reads it to the end:
// it must return an error or sane audio, never panic or hang.
func fuzzDecoder(t *testing.T, data []byte, open func(io.ReadSeeker) (frameSource, error)) {
	src, err := open(bytes.NewReader(data))
	if err != nil {
		if src != nil {
			src.close()
		}
		if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrUnknownFormat) &&
			!errors.Is(err, ErrNotWAV) && !errors.Is(err, ErrTruncated) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		return
	}
	w, err := newAudioReader(src, nil)
	if err != nil {
		return
	}
	defer w.Close()
	for range 1 << 16 {
		chunk, err := w.read(t.Context(), nil)
		for i, v := range chunk {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 4 {
				t.Fatalf("sample %d = %v", i, v)
			}
		}
		if err != nil {
			return
		}
	}
	t.Fatal("the decoder never ends")
}

// FuzzOpenFLAC fuzzes the FLAC decoder; seeds in testdata/fuzz/FuzzOpenFLAC.
func FuzzOpenFLAC(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecoder(t, data, func(r io.ReadSeeker) (frameSource, error) { return openFLAC(r) })
	})
}

// FuzzOpenMP3 fuzzes the MP3 decoder; seeds in testdata/fuzz/FuzzOpenMP3.
func FuzzOpenMP3(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecoder(t, data, openMP3)
	})
}

// FuzzOpenOpus fuzzes the Ogg Opus decoder; seeds in testdata/fuzz/FuzzOpenOpus.
func FuzzOpenOpus(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecoder(t, data, openOpus)
	})
}

// FuzzOpenAudio fuzzes format detection and every in-process decoder behind
// it; seeds in testdata/fuzz/FuzzOpenAudio.
func FuzzOpenAudio(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecoder(t, data, func(r io.ReadSeeker) (frameSource, error) { return openDecoder(r, "") })
	})
}
