package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/ledgerline/ledgerline/models"
	"github.com/ledgerline/ledgerline/stream"
	"github.com/ledgerline/ledgerline/vad"
)

func runModels(ctx context.Context, e *env, args []string) error {
	const synopsis = "models list | pull NAME [--if-absent] | rm NAME | make-random --shape test|tiny --out FILE | convert-vad [--onnx FILE] [--out FILE]"
	if len(args) == 0 {
		return fmt.Errorf("%w: ledgerline %s", errUsage, synopsis)
	}
	switch args[0] {
	case "list":
		fs := newFlagSet(e, "models list", "models list\n\nList the Whisper models that can be pulled, and which are installed.")
		if err := noArgs(fs, args[1:]); err != nil {
			return err
		}
		cache, err := modelCache()
		if err != nil {
			return err
		}
		return listModels(e, cache)
	case "pull":
		fs := newFlagSet(e, "models pull", "models pull NAME [--if-absent]\n\nDownload a Whisper model into the cache and print its path; an interrupted\n"+
			"download resumes. 'ledgerline models list' shows the names. A file already at the\n"+
			"model's place that is not the published model (one of your own) is never deleted:\n"+
			"it is renamed aside once the published model has downloaded, or with --if-absent\n"+
			"used as it is.")
		ifAbsent := fs.Bool("if-absent", false, "download only a model that is not in the cache: a file already at its place is used as it is, even one that is not the published model, and nothing is downloaded or renamed")
		names, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		if len(names) != 1 {
			return fmt.Errorf("%w: ledgerline models pull NAME (see 'ledgerline models list')", errUsage)
		}
		m, err := models.Lookup(names[0])
		if err != nil {
			return err
		}
		cache, err := modelCache()
		if err != nil {
			return err
		}
		path, err := cache.Pull(ctx, m, models.PullOptions{Progress: models.NewProgress(e.stderr, m.Name, m.Size),
			Notice: func(msg string) { fmt.Fprintln(e.stderr, msg) }, KeepExisting: *ifAbsent})
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, path)
		return nil
	case "rm":
		fs := newFlagSet(e, "models rm", "models rm NAME\n\nRemove a model, or an unfinished download of it, from the cache.")
		names, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		if len(names) != 1 {
			return fmt.Errorf("%w: ledgerline models rm NAME", errUsage)
		}
		cache, err := modelCache()
		if err != nil {
			return err
		}
		if err := cache.Remove(names[0]); errors.Is(err, models.ErrNotDownloaded) {
			// Removing what is not there is a mistake worth saying (a typo, the
			// wrong cache), not a silent success.
			return fmt.Errorf("model %s is not installed in %s (%w); 'ledgerline models list' shows what is", names[0], cache.Dir, models.ErrNotDownloaded)
		} else if err != nil {
			return err
		}
		return nil
	case "convert-vad":
		fs := newFlagSet(e, "models convert-vad", "models convert-vad [--onnx FILE] [--out FILE]\n\nConvert the Silero VAD v5 ONNX weights ('make deps' fetches them) into whisper.cpp's ggml\n"+
			"VAD format, for the speech detection of 'ledgerline run', and print the file's path. Where\n"+
			"there is internet, 'ledgerline models pull "+models.SileroV5+"' downloads the official file instead.")
		onnx := fs.String("onnx", "", "the ONNX file (default: where 'make deps' puts it)")
		out := fs.String("out", "", "file to write (default: the model cache, where 'ledgerline run' finds it)")
		if err := noArgs(fs, args[1:]); err != nil {
			return err
		}
		if *onnx == "" {
			var err error
			if *onnx, err = models.SileroONNXPath(); err != nil {
				return err
			}
		}
		if *out == "" {
			cache, err := modelCache()
			if err != nil {
				return err
			}
			*out = filepath.Join(cache.Dir, models.SileroConverted)
		}
		if err := models.ConvertSileroFile(*onnx, *out); err != nil {
			return fmt.Errorf("%w (run 'make deps' to fetch the weights, or pass --onnx FILE)", err)
		}
		fmt.Fprintln(e.stdout, *out)
		return nil
	case "make-random":
		fs := newFlagSet(e, "models make-random", "models make-random --shape test|tiny --out FILE [--seed N]\n\nWrite a model of random weights, for tests and benchmarks.")
		shape := fs.String("shape", string(models.ShapeTest), "test (about 8 MB, for tests) or tiny (the tiny model's dimensions, for benchmarks)")
		out := fs.String("out", "", "file to write")
		seed := fs.Uint64("seed", 1, "random seed: the same seed writes the same file")
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		if *out == "" {
			return fmt.Errorf("%w: --out FILE is required", errUsage)
		}
		if sh := models.Shape(*shape); sh != models.ShapeTest && sh != models.ShapeTiny {
			return fmt.Errorf("%w: --shape %q: use %s or %s", errUsage, *shape, models.ShapeTest, models.ShapeTiny)
		}
		if err := models.GenerateRandomFile(*out, models.Shape(*shape), *seed); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "wrote %s: random weights, for tests and benchmarks; its transcripts are meaningless\n", *out)
		return nil
	}
	if isHelp(args[0]) {
		fs := newFlagSet(e, "models", "models list\nmodels pull NAME [--if-absent]\nmodels rm NAME\nmodels make-random --shape test|tiny --out FILE [--seed N]\n"+
			"models convert-vad [--onnx FILE] [--out FILE]\n\n"+
			"List, download, remove or generate Whisper models, or convert the speech detector's.\nRun 'ledgerline models COMMAND -h' for one of them.")
		_, err := parseInterspersed(fs, args[:1])
		return err
	}
	return fmt.Errorf("%w: unknown models command %q: ledgerline %s", errUsage, args[0], synopsis)
}

// speechDetectors gives each channel the Silero VAD from the model cache, or returns nil (the
// rule-based detector) where it is not there or does not load; it says which, once.
func speechDetectors(e *env) func() stream.FrameDetector {
	cache, err := modelCache()
	var m *vad.Model
	if err == nil {
		m, err = vad.Open(cache, e.log)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "speech detection: rule-based, as the Silero VAD is not available: %v\n", err)
		return nil
	}
	fmt.Fprintf(e.stderr, "speech detection: Silero VAD %s (%s)\n", m.Version(), m.Path())
	return m.Detectors()
}

func modelCache() (*models.Cache, error) {
	dir, err := models.CacheDir()
	if err != nil {
		return nil, err
	}
	return &models.Cache{Dir: dir}, nil
}

// noArgs parses the flags of a command that takes no positional arguments.
func noArgs(fs *flag.FlagSet, args []string) error {
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: ledgerline %s takes no arguments", errUsage, fs.Name())
	}
	return nil
}

func listModels(e *env, cache *models.Cache) error {
	installed, err := cache.List()
	if err != nil {
		return err
	}
	have := map[string]models.Installed{}
	for _, in := range installed {
		have[in.Model.Name] = in
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tLANGUAGES\tSTATUS")
	for _, m := range models.Catalogue() {
		langs := "multilingual"
		if !m.Multilingual {
			langs = "English"
		}
		status := ""
		if in, ok := have[m.Name]; ok {
			switch {
			case in.Path != "":
				status = "installed"
			case in.Partial > 0:
				status = fmt.Sprintf("partial (%d%%): pull resumes it", in.Partial*100/max(m.Size, 1))
			}
		}
		if m.Name == models.Default {
			status += " (default)"
		}
		fmt.Fprintf(tw, "%s\t%d MB\t%s\t%s\n", m.Name, m.Size/1e6, langs, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	vadStatus := "not installed: 'make deps' fetches weights to convert, or 'ledgerline models pull " + models.SileroV5 + "'"
	for _, f := range []struct{ path, status string }{
		{filepath.Join(cache.Dir, models.SileroConverted), "installed (converted from the ONNX weights)"},
		{cache.Path(models.SileroV5), "installed"},
	} {
		if fi, err := os.Stat(f.path); err == nil && fi.Mode().IsRegular() {
			vadStatus = f.status
		}
	}
	fmt.Fprintf(e.stdout, "\nSpeech detection: %s (Silero VAD v5, about 1 MB): %s\n", models.SileroV5, vadStatus)
	fmt.Fprintf(e.stdout, "\nCache: %s\n", cache.Dir)
	return nil
}
