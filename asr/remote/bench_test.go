package remote

import (
	"runtime"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/models"
)

// BenchmarkRemoteOverhead decodes the same window in-process and through one
// worker on the embedded broker, alternately, with a random-weight model of
// the tiny model's shape (its cost is the real tiny model's, its text is
// noise). It reports both times and the remote path's overhead in percent;
// the target is at most 10 %.
func BenchmarkRemoteOverhead(b *testing.B) {
	threads := runtime.NumCPU()
	w, sum := whisperModel(b, models.ShapeTiny, threads)
	r := newRigModel(b, sum)
	r.worker(w, sum, "bench", 1)
	opt := asr.Options{Language: "en", MaxFallbacks: -1} // threads: the engine's, in-process as on the worker
	pcm := speech(10, 1)
	// Warm both paths: the first decode of a state and the first job pay set-up costs.
	if _, err := w.Transcribe(b.Context(), pcm, opt); err != nil {
		b.Fatal(err)
	}
	if _, err := r.engine.Transcribe(b.Context(), pcm, opt); err != nil {
		b.Fatal(err)
	}
	var local, remote time.Duration
	b.ResetTimer()
	for range b.N {
		began := time.Now()
		if _, err := w.Transcribe(b.Context(), pcm, opt); err != nil {
			b.Fatal(err)
		}
		local += time.Since(began)
		began = time.Now()
		if _, err := r.engine.Transcribe(b.Context(), pcm, opt); err != nil {
			b.Fatal(err)
		}
		remote += time.Since(began)
	}
	b.ReportMetric(float64(local.Milliseconds())/float64(b.N), "local-ms/op")
	b.ReportMetric(float64(remote.Milliseconds())/float64(b.N), "remote-ms/op")
	b.ReportMetric(100*(float64(remote)/float64(local)-1), "overhead-%")
	b.Logf("random-weight %s-shaped model, 10 s window, %d threads", models.ShapeTiny, threads)
}
