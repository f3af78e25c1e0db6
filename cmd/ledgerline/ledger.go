package main

import (
	"context"
	"fmt"

	"github.com/ledgerline/ledgerline/ledger"
)

func runLedger(_ context.Context, e *env, args []string) error {
	const synopsis = "ledger detect < utterances.jsonl | ledger eval [--data DIR]"
	if len(args) == 0 {
		return fmt.Errorf("%w: ledgerline %s", errUsage, synopsis)
	}
	switch args[0] {
	case "detect":
		if len(args) != 1 {
			return fmt.Errorf("%w: ledgerline ledger detect reads JSON lines on stdin and takes no arguments", errUsage)
		}
		return ledger.RunDetectLines(e.stdin, e.stdout)
	case "eval":
		fs := newFlagSet(e, "ledger eval", "ledger eval [--data DIR]")
		data := fs.String("data", "ledger/testdata", "directory with the labelled sets (commitments/, holdout/, ami/)")
		if _, err := parseInterspersed(fs, args[1:]); err != nil {
			return err
		}
		return ledger.RunEval(e.stdout, *data)
	default:
		return fmt.Errorf("%w: unknown ledger command %q: ledgerline %s", errUsage, args[0], synopsis)
	}
}
