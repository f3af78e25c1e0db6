package ingest

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/stream"
)

// reportPerStreamSecond reports CPU per second of decoded audio and how many
// real-time streams that leaves room for on one core.
func reportPerStreamSecond(b *testing.B, cpu time.Duration, audio time.Duration) {
	if audio <= 0 {
		return
	}
	perSec := cpu.Seconds() / audio.Seconds()
	b.ReportMetric(perSec*1000, "cpu-ms/stream-s")
	if perSec > 0 {
		b.ReportMetric(1/perSec, "streams/core")
	}
}

// BenchmarkOpusDecodeStream measures the receive path for one stream without
// the network: Opus decode at 48 kHz, resampling to 16 kHz and framing.
func BenchmarkOpusDecodeStream(b *testing.B) {
	src := loadFixture(b, "alice.wav")
	pkts := rtpPackets(encode(b, src), 1, 0)
	audio := samples16(int64(len(src)))
	var frames []stream.Frame
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		dec, err := newDecoder("alice", 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		for i, p := range pkts {
			frames = dec.packet(packet{seq: int64(i), ts: int64(p.Timestamp), payload: p.Payload}, 0, frames[:0])
		}
		frames = dec.flush(frames[:0])
	}
	reportPerStreamSecond(b, time.Since(start), time.Duration(b.N)*audio)
}

// BenchmarkTrackPipeline adds the jitter buffer, loss concealment and frame
// delivery of a Track to the decode path: 5% loss, every tenth pair swapped.
func BenchmarkTrackPipeline(b *testing.B) {
	src := loadFixture(b, "alice.wav")
	all := rtpPackets(encode(b, src), 65500, 0)
	mangle, _ := lossy()
	var pkts = all[:0:0]
	for _, p := range all {
		pkts = append(pkts, mangle(p)...)
	}
	pkts = append(pkts, mangle(nil)...)
	audio := samples16(int64(len(src)))
	cfg := trackConfig{idle: time.Second, depth: 80 * opusRate / 1000, maxGap: 10 * time.Second,
		clock: func(time.Time) time.Duration { return 0 }, stopping: closed, log: discardLogger()}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		tr := newTrack("m1", "s1", "alice", "")
		tr.run(&fakeReader{pkts: pkts}, cfg)
		for range tr.Frames() {
		}
	}
	reportPerStreamSecond(b, time.Since(start), time.Duration(b.N)*audio)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWHIPPublishers runs concurrent publishers against one endpoint
// over loopback, each sending the 2.5 s fixture at 8x real time. The CPU
// figure is the whole process: publishers (Opus encode, SRTP) and agent
// (SRTP, jitter buffer, decode) together, so an agent alone needs less.
// Session setup (ICE, DTLS) is included; it weighs more in short runs.
func BenchmarkWHIPPublishers(b *testing.B) {
	if testing.Short() {
		b.Skip("real peers over loopback")
	}
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("publishers=%d", n), func(b *testing.B) {
			hs := newHarness(b, func(c *WHIPConfig) { c.MaxSessions = n })
			audio := time.Duration(0)
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				errc := make(chan error, n)
				for i := range n {
					opts := hs.publishOptions(b, fmt.Sprintf("p%d", i))
					opts.Speed = 8
					go func() {
						_, err := PublishWAV(ctx, hs.endpoint(), testToken, "testdata/alice.wav", opts)
						errc <- err
					}()
				}
				done := make(chan time.Duration, n)
				for range n {
					tr := hs.nextTrack(b)
					go func() {
						var got time.Duration
						for f := range tr.Frames() {
							got += samples16(int64(len(f.Samples)))
						}
						done <- got
					}()
				}
				for range n {
					if err := <-errc; err != nil {
						b.Fatal(err)
					}
					audio += <-done
				}
				cancel()
			}
			reportPerStreamSecond(b, cpuTime()-cpu0, audio)
		})
	}
}
