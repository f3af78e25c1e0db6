package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ledgerline/ledgerline/diarize"
)

func runDiarize(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "diarize", "diarize FILE [--speakers N] [--format rttm|json]")
	speakers := fs.Int("speakers", 0, "the most speakers the recording has, when you know it: no more are told apart (0: find out)")
	format := formatFlag(fs, []string{"rttm", "json"}, "")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: give exactly one audio file", errUsage)
	}
	if *speakers < 0 {
		return fmt.Errorf("%w: --speakers must be 0 or more", errUsage)
	}
	turns, err := diarize.DiarizeFile(ctx, files[0], diarize.Options{MaxSpeakers: *speakers})
	if err != nil {
		return err
	}
	if format.name == "json" {
		return diarize.WriteJSON(e.stdout, turns)
	}
	id := strings.TrimSuffix(filepath.Base(files[0]), filepath.Ext(files[0]))
	return diarize.WriteRTTM(e.stdout, id, turns)
}
