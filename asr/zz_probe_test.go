package asr

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/stream"
)

func TestZZProbe(t *testing.T) {
	m := os.Getenv("PROBE_MODEL")
	if m == "" {
		t.Skip()
	}
	raw, _ := os.ReadFile("../agent/sample/sample-call.wav")
	a, err := stream.ReadWAV(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWhisper(WhisperConfig{ModelPath: m, Workers: 1, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, secs := range []float64{0.4, 1, 2, 4, 8} {
		pcm := a.Samples[16000*3 : 16000*3+int(secs*16000)]
		for _, fb := range []int{2, -1} {
			for _, mt := range []int{0, int(secs*8) + 8} {
				best := time.Hour
				var res Result
				for range 2 {
					t0 := time.Now()
					res, err = w.Transcribe(context.Background(), pcm, Options{Language: "en", Threads: 2, MaxFallbacks: fb, MaxTokens: mt})
					if err != nil {
						t.Fatal(err)
					}
					best = min(best, time.Since(t0))
				}
				n := 0
				for _, s := range res.Segments {
					n += len(s.Tokens)
				}
				t.Logf("window %.1fs fallbacks %d maxtok %d: %v, %d segs %d tokens", secs, fb, mt, best, len(res.Segments), n)
			}
		}
	}
}
