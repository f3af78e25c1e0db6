package echo

import (
	"math"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/laptopcall"
	"github.com/ledgerline/ledgerline/stream"
)

// BenchmarkCancel runs a laptop call (echo 120 ms late) through the
// canceller and reports its CPU time per hour of audio, the echo removed
// where only the remote side speaks, and how well the seller's voice is
// kept where both talk.
func BenchmarkCancel(b *testing.B) {
	c := call(b, laptopcall.Spec{Delay: 120 * time.Millisecond})
	audio := samplesDur(int64(len(c.Mic)))
	var r result
	cpu := cpuTime()
	b.ResetTimer()
	for range b.N {
		r = cancelCall(b, c, stream.DefaultFrameDur)
	}
	b.StopTimer()
	perHour := (cpuTime() - cpu).Seconds() / float64(b.N) / audio.Hours()
	b.ReportMetric(perHour, "cpu-s/audio-h")
	b.ReportMetric(erle(c.Mic, r.mic, c.RemoteOnly[:1], convergence), "ERLE-first-dB")
	b.ReportMetric(erle(c.Mic, r.mic, c.RemoteOnly[1:], 0), "ERLE-later-dB")
	b.ReportMetric(correlation(r.mic, c.Seller, c.Both), "double-talk-corr")
	b.ReportMetric(10*math.Log10(energy(r.mic, c.Both, 0)/energy(c.Seller, c.Both, 0)), "double-talk-dB")
	b.ReportMetric(math.Abs(float64(r.delay-c.Spec.Delay))/float64(time.Millisecond), "delay-error-ms")
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
