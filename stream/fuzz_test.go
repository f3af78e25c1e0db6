package stream

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"
)

// FuzzReadWAV feeds arbitrary bytes to ReadWAV. The seed corpus in
// testdata/fuzz/FuzzReadWAV holds a small file of every supported format and
// broken variants of them.
func FuzzReadWAV(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ReadWAV(bytes.NewReader(data))
		if err != nil {
			// Reading from memory cannot fail, so every error is about the
			// content and names its kind.
			if !errors.Is(err, ErrNotWAV) && !errors.Is(err, ErrUnsupported) &&
				!errors.Is(err, ErrTruncated) && !errors.Is(err, ErrEmpty) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			// Only a cut data chunk comes with (partial) audio.
			if a != nil && !errors.Is(err, ErrTruncated) {
				t.Fatalf("audio returned with error %v", err)
			}
			if a == nil {
				return
			}
		}
		if a == nil {
			t.Fatal("nil audio without error")
		}
		checkAudio(t, a, len(data))
	})
}

// checkAudio asserts that a is sane audio decoded from a file of size bytes.
func checkAudio(t *testing.T, a *Audio, size int) {
	t.Helper()
	if len(a.Samples) == 0 {
		t.Fatal("no samples")
	}
	if a.Duration <= 0 {
		t.Fatalf("duration %v", a.Duration)
	}
	want := a.Duration.Seconds() * SampleRate
	if d := float64(len(a.Samples)) - want; math.Abs(d) > 1 {
		t.Fatalf("%d samples for %v, want %.1f ±1", len(a.Samples), a.Duration, want)
	}
	// A frame is at least one byte and the lowest rate is 8 kHz, so the
	// output can be at most twice the file size.
	if len(a.Samples) > 2*size+1 {
		t.Fatalf("%d samples from %d bytes", len(a.Samples), size)
	}
	if a.Duration > time.Duration(size)*time.Second/MinSourceRate {
		t.Fatalf("duration %v from %d bytes", a.Duration, size)
	}
	for i, v := range a.Samples {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 4 {
			t.Fatalf("sample %d = %v", i, v)
		}
	}
	s := a.Source
	if s.Channels < 1 || s.SampleRate < MinSourceRate || s.SampleRate > MaxSourceRate ||
		s.Encoding < EncodingPCM || s.Encoding > EncodingMuLaw {
		t.Fatalf("implausible source format %+v", s)
	}
}
