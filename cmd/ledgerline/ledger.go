package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ledgerline/ledgerline/detect/eval"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/recap"
	"github.com/ledgerline/ledgerline/server"
)

func runLedger(ctx context.Context, e *env, args []string) error {
	const synopsis = "ledger detect < utterances.jsonl | ledger eval [--data DIR] | ledger --deal ID [--open] [--format table|json]"
	if len(args) == 0 {
		return fmt.Errorf("%w: ledgerline %s", errUsage, synopsis)
	}
	switch args[0] {
	case "detect":
		fs := newFlagSet(e, "ledger detect", "ledger detect < utterances.jsonl\n\n"+
			"Read one utterance per line as JSON ({\"text\":…, \"meeting_date\":\"YYYY-MM-DD\", \"timezone\":…,\n"+
			"\"language\":…, \"speaker\":{\"name\":…, \"org\":…}}) and write one line per input line:\n"+
			"{\"commitments\":[…]}, or {\"error\":…} for a line that cannot be used. The exit\n"+
			"status is 1 when any line could not be used.")
		if err := noArgs(fs, args[1:]); err != nil {
			return err
		}
		return runDetectLines(e.stdin, e.stdout)
	case "eval":
		fs := newFlagSet(e, "ledger eval", "ledger eval [--data DIR]\n\nMeasure the commitment detector on the labelled sets.")
		data := fs.String("data", "detect/eval/testdata", "directory with the labelled sets (commitments/, holdout/, ami/)")
		if _, err := parseInterspersed(fs, args[1:]); err != nil {
			return err
		}
		return eval.Run(e.stdout, *data)
	}
	fs := newFlagSet(e, "ledger", "ledger --deal ID [--open] [--format table|json] [--db FILE]\n"+
		"ledger detect < utterances.jsonl\nledger eval [--data DIR]\n\n"+
		"Report on a deal: commitments made and kept per organisation, talk time, who\n"+
		"raised what. 'ledger detect' finds commitments in utterances read as JSON lines;\n"+
		"'ledger eval' measures the detector. Run 'ledgerline ledger detect -h' or\n"+
		"'ledgerline ledger eval -h' for theirs.")
	deal := fs.String("deal", "", "the deal to report on: commitments made and kept per organisation, talk time, who raised what")
	open := fs.Bool("open", false, "list only the commitments still open")
	format := formatFlag(fs, []string{"table", "json"}, "")
	db := dbFlag(fs)
	if rest, err := parseInterspersed(fs, args); err != nil {
		return err
	} else if len(rest) > 0 || *deal == "" {
		return fmt.Errorf("%w: ledgerline %s", errUsage, synopsis)
	}
	store, err := openStore(*db)
	if err != nil {
		return err
	}
	defer store.Close()
	report, err := recap.DealReport(ctx, store, *deal, *open)
	if errors.Is(err, ledger.ErrNotFound) {
		return fmt.Errorf("no deal %q in %s: %s, or give --db the database its calls were recorded in", *deal, store.Path(), createDealHint(*deal))
	}
	if err != nil {
		return err
	}
	if format.name == "json" {
		return report.WriteJSON(e.stdout)
	}
	return report.WriteTable(e.stdout)
}

// openStore opens an existing meeting database for the commands that only report on it.
func openStore(path string) (*ledger.SQLiteStore, error) {
	// Read-only: reports must work on a database the user may only read, or one on read-only media.
	return openExisting(path, ledger.WithReadOnly())
}

// openExisting opens a meeting database that must exist already (the default one when path is
// ""), saying how to make one when it does not.
func openExisting(path string, opts ...ledger.SQLiteOption) (*ledger.SQLiteStore, error) {
	if path == "" {
		var err error
		if path, err = ledger.DefaultPath(); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open meeting database: %w (record a meeting with 'ledgerline run' first, or pass --db FILE)", err)
	}
	return ledger.OpenSQLite(path, opts...)
}

// runDeal creates a deal: an account that a vendor and a partner sell to together.
func runDeal(ctx context.Context, e *env, args []string) error {
	const synopsis = "deal create --id ID --name NAME --account BUYER --vendor VENDOR --partner PARTNER [--db FILE]"
	fs := newFlagSet(e, "deal create", synopsis)
	id := fs.String("id", "", "a short ID for the deal, which its page's link carries (1-128 letters, digits, '.', '_', '~' or '-')")
	name := fs.String("name", "", "the deal's name")
	account := fs.String("account", "", "the buyer's organisation")
	vendor := fs.String("vendor", "", "the vendor's organisation")
	partner := fs.String("partner", "", "the partner's organisation")
	db := dbFlag(fs)
	if len(args) > 0 && isHelp(args[0]) {
		// "deal -h": create is deal's only subcommand, so its help is deal's.
		_, err := parseInterspersed(fs, args[:1])
		return err
	}
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("%w: ledgerline %s", errUsage, synopsis)
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *id == "" || *name == "" {
		return fmt.Errorf("%w: --id and --name are required: ledgerline %s", errUsage, synopsis)
	}
	if !server.ValidID(*id) {
		return fmt.Errorf("%w: --id %q: use 1-128 letters, digits, '.', '_', '~' or '-' (the deal page's link carries it), such as acme-rollout", errUsage, *id)
	}
	path := *db
	if path == "" {
		var err error
		if path, err = ledger.DefaultPath(); err != nil {
			return err
		}
	}
	store, err := ledger.OpenSQLite(path)
	if err != nil {
		return err
	}
	defer store.Close()
	d := ledger.Deal{ID: *id, Name: *name, Account: *account, Vendor: *vendor, Partner: *partner, Token: server.NewToken()}
	if err := store.CreateDeal(ctx, d); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deal %s created; record its calls with 'ledgerline run --deal %s', which prints the deal page's link\n", d.ID, d.ID)
	return nil
}

// createDealHint says how to make a deal that does not exist yet.
func createDealHint(id string) string {
	return fmt.Sprintf("create it with 'ledgerline deal create --id %s --name NAME --vendor ORG --partner ORG --account ORG'", id)
}

// runRecap prints a recorded meeting's recap, or one of its exports.
func runRecap(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "recap", "recap MEETING [--format md|html|json|vtt|srt|txt|csv|ics|rttm] [--db FILE]")
	kinds := []string{"md", "html"}
	for _, f := range recap.ExportFormats() {
		kinds = append(kinds, f.Kind)
	}
	format := formatFlag(fs, kinds, "md or html for the recap; json, vtt, srt or txt for the transcript; csv or ics for the commitments; rttm for who spoke when")
	db := dbFlag(fs)
	ids, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(ids) != 1 {
		return fmt.Errorf("%w: give one meeting ID (it is in the overlay link)", errUsage)
	}
	var exp recap.ExportFormat
	if format.name != "md" && format.name != "html" {
		if exp, err = recap.LookupExport(format.name); err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
	}
	store, err := openStore(*db)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.Meeting(ctx, ids[0]); errors.Is(err, ledger.ErrNotFound) {
		return fmt.Errorf("no meeting %q in %s: give the ID its overlay link carries (/m/ID), or --db the database it was recorded in", ids[0], store.Path())
	}
	switch format.name {
	case "md", "html":
		recap, err := recap.Build(ctx, store, ids[0])
		if err != nil {
			return err
		}
		if format.name == "html" {
			return recap.WriteHTML(e.stdout)
		}
		return recap.WriteMarkdown(e.stdout)
	default:
		data, err := recap.LoadMeeting(ctx, store, ids[0])
		if err != nil {
			return err
		}
		return exp.Export(e.stdout, data, recap.ExportOptions{})
	}
}
