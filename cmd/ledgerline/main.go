// Command ledgerline captures a call, transcribes it on-device and keeps one
// shared record of who promised what. Run 'ledgerline help' for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// env is what a command sees of the process: its streams and a logger.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	log            *slog.Logger
}

type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

var commands = map[string]command{
	"transcribe": {"transcribe an audio file on-device", runTranscribe},
	"models":     {"list, pull, remove or generate Whisper models", runModels},
	"run":        {"capture a call live and serve its overlay", runLive},
	"devices":    {"list audio input devices", runDevices},
	"demo":       {"replay the bundled sample call into a live overlay", runDemo},
	"publish":    {"push a recording to a meeting over WHIP, as one participant", runPublish},
	"diarize":    {"say who spoke when in a recording (RTTM or JSON)", runDiarize},
	"ledger":     {"report on a deal, detect commitments in utterances, or evaluate the detector", runLedger},
	"deal":       {"create a deal: an account a vendor and a partner sell to together", runDeal},
	"recap":      {"print a recorded meeting's recap or exports", runRecap},
}

// errUsage marks an error the user fixes by changing the command line.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first Ctrl-C stops gracefully (flush, drain, webhooks); a second one
	// gets the default action and ends the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ledgerline: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, log: newLogger(stderr, os.Getenv("LEDGERLINE_LOG"))}
	if err := cmd.run(ctx, e, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "ledgerline %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: ledgerline COMMAND [arguments]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'ledgerline COMMAND -h' for a command's flags. Set LEDGERLINE_LOG=debug for detailed logs.")
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil || level == "" {
		l = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("transcribe FILE --model base"), returning the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: ledgerline %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}
