package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/models"
	"github.com/ledgerline/ledgerline/stream"
)

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "demo", "demo [--model NAME|PATH] [--listen ADDR] [--public-url URL] [--speed 1|2|max] [--stay]\n\n"+
		"Replay the bundled sample call into a live overlay, transcribed with the model; without one,\n"+
		"its reference transcript, labelled as such. At --speed max the call is over before its link\n"+
		"can be opened, so the overlay is served on until interrupted, as with --stay.")
	model := modelFlag(fs)
	listenFlag(fs)
	publicURL := publicURLFlag(fs)
	speed := speedFlag(fs)
	db := dbFlag(fs)
	stay := stayFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rate := speed.rate
	if err := checkPublicURL(*publicURL); err != nil {
		return err
	}
	// At full speed the call is over before its link can be opened: the demo
	// would end with nothing to see, so it stays.
	*stay = *stay || math.IsInf(rate, 1)
	path, modelErr := resolveModel(*model)

	store, err := recordingStore(*db)
	if err != nil {
		return err
	}
	defer store.Close()
	m, err := startMeeting(ctx, e, store, agent.MeetingConfig{Listen: listenAddr(fs), PublicURL: *publicURL, Title: "Sample joint call: data platform integration"})
	if err != nil {
		return err
	}
	defer m.Close()
	if modelErr != nil {
		get := fmt.Sprintf("run 'ledgerline models pull %s'", models.Default)
		if mm, err := models.Lookup(*model); err == nil {
			get = fmt.Sprintf("run 'ledgerline models pull %s'", mm.Name)
		} else if *model != models.Default {
			get = fmt.Sprintf("give --model a ggml Whisper model file, or %s and leave out --model", get)
		}
		fmt.Fprintf(e.stderr, "no usable speech model (%v)\nreplaying the sample call's reference transcript instead; to hear it transcribed, %s, and start the demo again\n", modelErr, get)
		lines, err := agent.SampleCallTranscript()
		if err != nil {
			return err
		}
		if err := agent.ReplayTranscript(ctx, store, m.ID(), lines, rate); err != nil {
			return err
		}
		return finish(ctx, e, m, *stay)
	}

	audio, err := stream.ReadWAV(bytes.NewReader(agent.SampleCallWAV()))
	if err != nil && !errors.Is(err, stream.ErrTruncated) {
		return fmt.Errorf("sample call: %w", err)
	}
	src, err := stream.NewReplaySamples(audio.Samples, "call", rate, 0)
	if err != nil {
		return err
	}
	opt := asr.Options{Language: "en"}
	size, err := asr.SizeFor(runtime.NumCPU(), 0, 0)
	if err != nil {
		return err
	}
	pipeline := agent.Config{Options: opt, Prompt: "Dana Whitfield, Ravi Menon, Laura Chen", Sources: []stream.Source{src},
		Detector: speechDetectors(e)}
	if err := m.Transcribe(ctx, pipeline, whisperLoader(e, path, size)); err != nil {
		return err
	}
	return finish(ctx, e, m, *stay)
}
