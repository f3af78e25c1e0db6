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
	"github.com/ledgerline/ledgerline/server"
	"github.com/ledgerline/ledgerline/stream"
)

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "demo", "demo [--model NAME|PATH] [--listen ADDR] [--public-url URL] [--speed N] [--stay]")
	model := fs.String("model", models.Default, "model name from 'ledgerline models list', or a path to a ggml .bin file")
	fs.String("listen", server.DefaultAddr, "address the overlay is served on (localhost by default)")
	publicURL := publicURLFlag(fs)
	speed := fs.String("speed", "1", "replay speed: 1 is real time, 2 twice as fast, max as fast as possible (and serves on until interrupted, as --stay)")
	db := fs.String("db", "", "meeting database file (default: "+defaultDBHint+")")
	stay := fs.Bool("stay", false, "keep serving after the call has played, until interrupted")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	rate, err := parseSpeed(*speed)
	if err != nil {
		return err
	}
	if err := checkPublicURL(*publicURL); err != nil {
		return err
	}
	// At full speed the call is over before its link can be opened: the demo
	// would end with nothing to see, so it stays.
	*stay = *stay || math.IsInf(rate, 1)
	path, modelErr := resolveModel(*model)
	if modelErr == nil {
		_, modelErr = models.Inspect(path)
	}

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
		fmt.Fprintf(e.stderr, "no usable speech model (%v)\nreplaying the sample call's reference transcript instead; to hear it transcribed, run 'ledgerline models pull %s' and start the demo again\n", modelErr, models.Default)
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
	pipeline := agent.Config{Options: opt, Prompt: "Dana Whitfield, Ravi Menon, Laura Chen", Sources: []stream.Source{src}}
	if err := m.Transcribe(ctx, pipeline, whisperLoader(e, path, size)); err != nil {
		return err
	}
	return finish(ctx, e, m, *stay)
}
