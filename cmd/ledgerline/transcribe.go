package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/models"
	"github.com/ledgerline/ledgerline/stream"
	"golang.org/x/term"
)

func runTranscribe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "transcribe", "transcribe FILE [--model NAME|PATH] [--language xx|auto] [--format txt|json|vtt|srt]")
	model := modelFlag(fs)
	language := languageFlag(fs)
	languages := languagesFlag(fs)
	translate := fs.Bool("translate", false, "translate the speech into English")
	format := formatFlag(fs, asr.Formats, "")
	threads := threadsFlag(fs)
	beam := fs.Int("beam", 0, "beam size (0 decodes greedily)")
	fallbacks := fs.Int("fallbacks", asr.DefaultMaxFallbacks, "temperature fallback passes at most when a decode looks wrong (-1: none)")
	prompt := promptFlag(fs)
	maxTokens := fs.Int("max-tokens", 0, "tokens per segment at most (0: whisper.cpp's cap of 220 per 30 s window)")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if err := checkLanguages(*language, languages); err != nil {
		return err
	}
	if len(files) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: give exactly one audio file", errUsage)
	}
	if *threads == 0 {
		*threads = min(runtime.NumCPU(), 4)
	}
	size, err := asr.SizeFor(runtime.NumCPU(), 1, *threads)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}

	audio, err := loadAudio(ctx, e.stderr, files[0])
	if err != nil {
		return err
	}
	path, err := resolveModel(*model)
	if err != nil {
		return err
	}
	engine, err := asr.NewWhisper(asr.WhisperConfig{ModelPath: path, Workers: 1, Logger: e.log})
	if err != nil {
		return err
	}
	defer engine.Close()

	duration := time.Duration(len(audio.Samples)) * time.Second / asr.SampleRate
	opt := asr.Options{
		Language: *language, Languages: languages.codes, Translate: *translate, Threads: size.Threads,
		BeamSize: *beam, InitialPrompt: *prompt, MaxTokens: *maxTokens, MaxFallbacks: *fallbacks,
	}
	if duration > 30*time.Second {
		opt.Progress = progressPrinter(e.stderr, "transcribe")
	}
	res, err := engine.Transcribe(ctx, audio.Samples, opt)
	if err != nil {
		return fmt.Errorf("transcribe %s: %w", files[0], err)
	}
	return asr.WriteResult(e.stdout, res, duration, format.name)
}

// loadAudio reads a recording in any format stream.OpenAudio reads, a chunk at a time so that Ctrl-C stops it at
// once, showing progress on w for a recording longer than 30 s.
func loadAudio(ctx context.Context, w io.Writer, path string) (*stream.Audio, error) {
	var show func(int)
	last := -1
	audio, err := stream.LoadAudioContext(ctx, path, func(done, total time.Duration) {
		if total <= 30*time.Second {
			return
		}
		if show == nil {
			show = progressPrinter(w, "read")
		}
		if p := int(done * 100 / total); p != last {
			show(p)
			last = p
		}
	})
	if err != nil && ctx.Err() != nil {
		if isTerminal(w) && last >= 0 && last < 100 {
			fmt.Fprintln(w) // end the progress line
		}
		return nil, fmt.Errorf("interrupted while reading the audio: %w", err)
	}
	return audio, err
}

// progressPrinter reports percentages on w: in place on a terminal, one line
// per step of ten otherwise (so logs stay short).
func progressPrinter(w io.Writer, label string) func(int) {
	tty := isTerminal(w)
	last := -1
	return func(p int) {
		p = min(p, 100) // whisper.cpp overshoots on the last window
		switch {
		case tty:
			fmt.Fprintf(w, "\r%s: %3d%%", label, p)
			if p >= 100 {
				fmt.Fprintln(w)
			}
		case p/10 > last/10 || last < 0:
			fmt.Fprintf(w, "%s: %d%%\n", label, p)
		}
		last = p
	}
}

// isTerminal tells whether w writes to a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// resolveModel turns a catalogue name or a file path into the path of a model file, checked to be one.
func resolveModel(nameOrPath string) (string, error) {
	dir, err := models.CacheDir()
	if err != nil {
		return "", err
	}
	cache := &models.Cache{Dir: dir}
	path, err := cache.Resolve(nameOrPath)
	if err != nil {
		return "", err
	}
	// A file that is no model is said now, before anything is recorded, not when it is loaded.
	if _, err := models.Inspect(path); err != nil {
		return "", err
	}
	return path, nil
}
