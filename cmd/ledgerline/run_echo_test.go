package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/laptopcall"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/stream"
)

var (
	laptopOnce sync.Once
	laptop     *laptopcall.Call
	laptopErr  error
)

// laptopRecording writes, under a test's temporary directory, a stereo
// recording of a call taken on a laptop without headphones: left the mic
// (the seller, and the call heard back from the speakers 120 ms later),
// right the system audio (the call).
func laptopRecording(t *testing.T) (string, *laptopcall.Call) {
	t.Helper()
	laptopOnce.Do(func() {
		laptop, laptopErr = laptopcall.Generate(context.Background(), laptopcall.Spec{Delay: 120 * time.Millisecond})
	})
	if errors.Is(laptopErr, laptopcall.ErrTools) {
		t.Skip(laptopErr)
	}
	if laptopErr != nil {
		t.Fatal(laptopErr)
	}
	path := filepath.Join(t.TempDir(), "laptop.wav")
	if err := laptop.WriteStereo(path); err != nil {
		t.Fatal(err)
	}
	return path, laptop
}

// micSpeech runs the sources run builds for a recording and returns the
// stretches the mic channel's segmenter takes for speech, and what was
// reported.
func micSpeech(t *testing.T, path string, echoCancel bool) ([]laptopcall.Span, string) {
	t.Helper()
	var stderr bytes.Buffer
	e := &env{stdout: &bytes.Buffer{}, stderr: &stderr, log: slog.New(slog.DiscardHandler)}
	sources, speakers, err := liveSources(e, capture{input: path, channels: "mic,system", echoCancel: echoCancel, me: "Sam"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) != 1 || speakers[stream.ChannelMic].Name != "Sam" {
		t.Fatalf("sources %v, speakers %v: want one source and the mic as Sam", sources, speakers)
	}
	out := make(chan stream.Frame, 16)
	errc := make(chan error, 1)
	go func() {
		errc <- sources[0].Start(context.Background(), out)
		close(out)
	}()
	seg := stream.NewSegmenter(stream.SegmenterConfig{})
	var speech []laptopcall.Span
	add := func(chunks []stream.Chunk) {
		for _, ch := range chunks {
			if len(ch.Samples) > 0 {
				speech = append(speech, laptopcall.Span{Start: ch.At, End: ch.EndAt()})
			}
		}
	}
	for f := range out {
		if f.Channel == stream.ChannelMic {
			add(seg.Push(f))
		}
	}
	add(seg.Flush())
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return speech, stderr.String()
}

// covered is how much of span the stretches cover.
func covered(stretches []laptopcall.Span, span laptopcall.Span) time.Duration {
	var d time.Duration
	for _, s := range stretches {
		d += max(0, min(s.End, span.End)-max(s.Start, span.Start))
	}
	return d
}

// echoSettled is how long into the call's first words the canceller may take
// to measure the delay and learn the room.
const echoSettled = 3 * time.Second

func TestRunLaptopRecordingCancelsEchoBeforeSegmenting(t *testing.T) {
	path, c := laptopRecording(t)
	// The remote side alone, past the canceller's settling and clear of the
	// seller's words' trailing edges.
	var remote []laptopcall.Span
	for i, s := range c.RemoteOnly {
		if i == 0 {
			s.Start += echoSettled
		}
		s.Start, s.End = s.Start+300*time.Millisecond, s.End-300*time.Millisecond
		if s.End-s.Start > time.Second {
			remote = append(remote, s)
		}
	}
	if len(remote) == 0 {
		t.Fatal("the recording has no stretch where only the remote side speaks")
	}

	raw, report := micSpeech(t, path, false)
	if !strings.Contains(report, "echo cancellation: off") {
		t.Errorf("report %q does not say echo cancellation is off", report)
	}
	cleaned, report := micSpeech(t, path, true)
	if !strings.Contains(report, "echo cancellation: on") {
		t.Errorf("report %q does not say echo cancellation is on", report)
	}
	for _, s := range remote {
		before, after := covered(raw, s), covered(cleaned, s)
		t.Logf("remote alone %v–%v: mic utterances over %v without echo cancellation, %v with it", s.Start, s.End, before, after)
		if before < (s.End-s.Start)/2 {
			t.Errorf("without echo cancellation the mic segmenter takes only %v of %v–%v for speech: the recording has too little echo to test", before, s.Start, s.End)
		}
		if after > 0 {
			t.Errorf("with echo cancellation the mic has utterances over %v of %v–%v, where only the remote side speaks", after, s.Start, s.End)
		}
	}
	for _, s := range append(append([]laptopcall.Span{}, c.SellerOnly...), c.Both...) {
		if s.End-s.Start < 500*time.Millisecond {
			continue
		}
		if got := covered(cleaned, s); got < (s.End-s.Start)*8/10 {
			t.Errorf("the seller speaks over %v–%v, and the mic's utterances cover only %v of it", s.Start, s.End, got)
		}
	}
}

func TestRunReplaysALaptopRecordingAsMicAndSystem(t *testing.T) {
	path, c := laptopRecording(t)
	db := filepath.Join(t.TempDir(), "meetings.db")
	code, _, errOut := ledgerline(t, "run", "--input", path, "--channels", "mic,system", "--model", testModel(t),
		"--speed", "max", "--language", "en", "--listen", "127.0.0.1:0", "--db", db, "--me", "Sam")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "echo cancellation: on") {
		t.Errorf("the start does not report echo cancellation:\n%s", errOut)
	}
	m := regexp.MustCompile(`meeting (\S+) is recorded`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no meeting ID in:\n%s", errOut)
	}
	store, err := ledger.OpenSQLite(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	segs, err := store.Segments(context.Background(), m[1])
	if err != nil {
		t.Fatal(err)
	}
	channels := map[string]int{}
	for _, s := range segs {
		channels[s.Channel]++
		if s.Channel != stream.ChannelMic {
			continue
		}
		// The test model's words are noise, but its finals lie where the
		// mic heard speech: never within the remote side's settled echo.
		span := laptopcall.Span{Start: time.Duration(s.StartMS) * time.Millisecond, End: time.Duration(s.EndMS) * time.Millisecond}
		for i, r := range c.RemoteOnly {
			if i == 0 {
				r.Start += echoSettled
			}
			if span.Start >= r.Start && span.End <= r.End {
				t.Errorf("mic final %q at %v–%v lies where only the remote side speaks (%v–%v)", s.Text, span.Start, span.End, r.Start, r.End)
			}
		}
	}
	t.Logf("finals by channel: %v", channels)
	if channels[stream.ChannelSystem] == 0 {
		t.Errorf("no final on the system channel: %v", channels)
	}
}

func TestRunChannelsFlagIsChecked(t *testing.T) {
	path, _ := laptopRecording(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown name", []string{"--input", path, "--channels", "mic,speaker"}, `"speaker" is no channel name`},
		{"a name twice", []string{"--input", path, "--channels", "mic,mic"}, "names mic twice"},
		{"fewer names than channels", []string{"--input", path, "--channels", "mic"}, "has 2 channels"},
		{"more names than channels", []string{"--input", path, "--channels", "mic,system,call"}, "has 2 channels"},
		{"without --input", []string{"--channels", "mic,system"}, "add --input FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := ledgerline(t, append([]string{"run", "--model", testModel(t), "--listen", "127.0.0.1:0",
				"--db", filepath.Join(t.TempDir(), "m.db")}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, %q; want a failure saying %q", code, errOut, tc.want)
			}
		})
	}
}
