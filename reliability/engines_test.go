package reliability

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/stream"
)

// The speech engines the in-process checks run their pipelines on, in place of a model: what a
// meeting records is then known, and decoding costs nothing.

// quietEngine hears nothing in any audio.
type quietEngine struct{}

func (quietEngine) Transcribe(context.Context, []float32, asr.Options) (asr.Result, error) {
	return asr.Result{}, nil
}

func loadQuiet(context.Context) (asr.Engine, error) { return quietEngine{}, nil }

// sayingEngine hears one sentence in any audio, spread over it.
type sayingEngine struct{ sentence string }

func (e sayingEngine) Transcribe(_ context.Context, pcm []float32, _ asr.Options) (asr.Result, error) {
	words := strings.Fields(e.sentence)
	dur := time.Duration(len(pcm)) * time.Second / asr.SampleRate
	seg := asr.Segment{End: dur, Text: e.sentence, Language: "en"}
	for i, w := range words {
		seg.Tokens = append(seg.Tokens, asr.Token{ID: i, Text: " " + w, P: 0.9,
			Start: dur * time.Duration(i) / time.Duration(len(words)), End: dur * time.Duration(i+1) / time.Duration(len(words))})
	}
	return asr.Result{Language: "en", Segments: []asr.Segment{seg}}, nil
}

// loadSaying loads an engine that hears sentence.
func loadSaying(sentence string) func(context.Context) (asr.Engine, error) {
	return func(context.Context) (asr.Engine, error) { return sayingEngine{sentence}, nil }
}

// speech returns the first seconds of the sample call: speech the segmenter cuts into utterances.
func speech(t *testing.T, seconds float64) []float32 {
	t.Helper()
	a, err := stream.LoadWAV(sampleCall)
	if err != nil {
		t.Fatal(err)
	}
	return a.Samples[:int(seconds*stream.SampleRate)]
}

// sampleCall is a recorded call of two speakers, 34 s long.
const sampleCall = "../testdata/sample-call.wav"

// loopbackAPI is a WebRTC stack for publishers on this machine, reporting often so that a
// publisher's Close knows soon that its last packets arrived.
func loopbackAPI(t *testing.T) *webrtc.API {
	t.Helper()
	api, err := ingest.NewAPI(ingest.APIConfig{Loopback: true, ReportInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// offerSDP returns an SDP offer that sends Opus audio, as a publisher makes it.
func offerSDP(t *testing.T) string {
	t.Helper()
	pc, err := loopbackAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}
