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
	fs := newFlagSet(e, "transcribe", "transcribe FILE.wav [--model NAME|PATH] [--language xx] [--format txt|json|vtt|srt]")
	model := fs.String("model", models.Default, "model name from 'ledgerline models list', or a path to a ggml .bin file")
	language := fs.String("language", "auto", "spoken language (ISO 639-1, e.g. en, es, de), or auto to detect it")
	translate := fs.Bool("translate", false, "translate the speech into English")
	format := fs.String("format", "txt", "output format: txt, json, vtt or srt")
	threads := fs.Int("threads", min(runtime.NumCPU(), 4), "CPU threads")
	beam := fs.Int("beam", 0, "beam size (0 decodes greedily)")
	fallbacks := fs.Int("fallbacks", asr.DefaultMaxFallbacks, "temperature fallback passes at most when a decode looks wrong (-1: none)")
	prompt := fs.String("prompt", "", "words to expect: names of people, companies and products")
	maxTokens := fs.Int("max-tokens", 0, "tokens per segment at most (0: whisper.cpp's cap of 220 per 30 s window)")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: give exactly one audio file", errUsage)
	}
	validFormat := false
	for _, f := range asr.Formats {
		validFormat = validFormat || f == *format
	}
	if !validFormat {
		return fmt.Errorf("%w: unknown format %q: use txt, json, vtt or srt", errUsage, *format)
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
		Language: *language, Translate: *translate, Threads: *threads,
		BeamSize: *beam, InitialPrompt: *prompt, MaxTokens: *maxTokens, MaxFallbacks: *fallbacks,
	}
	if duration > 30*time.Second {
		opt.Progress = progressPrinter(e.stderr, "transcribe")
	}
	res, err := engine.Transcribe(ctx, audio.Samples, opt)
	if err != nil {
		return fmt.Errorf("transcribe %s: %w", files[0], err)
	}
	return asr.WriteResult(e.stdout, res, duration, *format)
}

// loadAudio reads a WAV file, a chunk at a time so that Ctrl-C stops it at
// once, showing progress on w for a recording longer than 30 s.
func loadAudio(ctx context.Context, w io.Writer, path string) (*stream.Audio, error) {
	var show func(int)
	last := -1
	audio, err := stream.LoadWAVContext(ctx, path, func(done, total time.Duration) {
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

// resolveModel turns a catalogue name or a file path into a model file path.
func resolveModel(nameOrPath string) (string, error) {
	dir, err := models.CacheDir()
	if err != nil {
		return "", err
	}
	cache := &models.Cache{Dir: dir}
	return cache.Resolve(nameOrPath)
}
