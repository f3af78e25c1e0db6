package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/ledgerline/ledgerline/models"
)

func runModels(ctx context.Context, e *env, args []string) error {
	const synopsis = "models list | pull NAME | rm NAME | make-random --shape test|tiny --out FILE"
	if len(args) == 0 {
		return fmt.Errorf("%w: ledgerline %s", errUsage, synopsis)
	}
	dir, err := models.CacheDir()
	if err != nil {
		return err
	}
	cache := &models.Cache{Dir: dir}
	switch args[0] {
	case "list":
		return listModels(e, cache)
	case "pull":
		if len(args) != 2 {
			return fmt.Errorf("%w: ledgerline models pull NAME (see 'ledgerline models list')", errUsage)
		}
		m, err := models.Lookup(args[1])
		if err != nil {
			return err
		}
		path, err := cache.Pull(ctx, m, models.PullOptions{Progress: models.NewProgress(e.stderr, m.Name, m.Size)})
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, path)
		return nil
	case "rm":
		if len(args) != 2 {
			return fmt.Errorf("%w: ledgerline models rm NAME", errUsage)
		}
		return cache.Remove(args[1])
	case "make-random":
		fs := newFlagSet(e, "models make-random", "models make-random --shape test|tiny --out FILE [--seed N]")
		shape := fs.String("shape", string(models.ShapeTest), "test (about 8 MB, for tests) or tiny (the tiny model's dimensions, for benchmarks)")
		out := fs.String("out", "", "file to write")
		seed := fs.Uint64("seed", 1, "random seed: the same seed writes the same file")
		if _, err := parseInterspersed(fs, args[1:]); err != nil {
			return err
		}
		if *out == "" {
			return fmt.Errorf("%w: --out FILE is required", errUsage)
		}
		if err := models.GenerateRandomFile(*out, models.Shape(*shape), *seed); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "wrote %s: random weights, for tests and benchmarks; its transcripts are meaningless\n", *out)
		return nil
	default:
		return fmt.Errorf("%w: unknown models command %q: ledgerline %s", errUsage, args[0], synopsis)
	}
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
	fmt.Fprintf(e.stdout, "\nCache: %s\n", cache.Dir)
	return nil
}
