// Command ledgerline captures a call, transcribes it on-device and keeps one
// shared record of who promised what. Run 'ledgerline help' for the commands.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/ledgerline/ledgerline/asr"
)

// env is what a command sees of the process: its streams and a logger.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	log            *slog.Logger
	// flagSets, when set, is shown each flag set a command makes (tests walk them).
	flagSets func(*flag.FlagSet)
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
	"bot":        {"send a bot into a Meet, Teams, Zoom or Jitsi call to record it", runBot},
	"diarize":    {"say who spoke when in a recording (RTTM or JSON)", runDiarize},
	"ledger":     {"report on a deal, detect commitments in utterances, or evaluate the detector", runLedger},
	"deal":       {"create a deal: an account a vendor and a partner sell to together", runDeal},
	"recap":      {"print a recorded meeting's recap or exports", runRecap},
	"sync":       {"send the meetings a laptop has recorded to a team server", runSync},
	"admin":      {"manage a team server: organisations, tokens, invites, deals, meetings", runAdmin},
	"serve":      {"run a team server: many meetings, organisations, sharing, library, search, API", runServe},
	"mcp":        {"serve your meetings to an AI assistant over the Model Context Protocol (stdio)", runMCP},
	"asr-worker": {"decode speech for a team server's meetings, taking jobs over NATS", runASRWorker},
	"version":    {"print the version ledgerline was built from", runVersion},
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
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" && !isHelp(args[1]) {
			// "help COMMAND [SUBCOMMAND]" is "COMMAND [SUBCOMMAND] -h", so each
			// command's help is written in one place only.
			if _, ok := commands[args[1]]; !ok {
				fmt.Fprintf(stderr, "ledgerline help: unknown command %q\n\n", args[1])
				usage(stderr)
				return 2
			}
			return run(ctx, append(append([]string{}, args[1:]...), "-h"), stdin, stdout, stderr)
		}
		usage(stdout)
		return 0
	case "-version", "--version":
		args = []string{"version"}
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ledgerline: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, log: newLogger(stderr, os.Getenv("LEDGERLINE_LOG"))}
	if err := cmd.run(ctx, e, args[1:]); err != nil {
		var help *helpRequest
		if errors.As(err, &help) {
			fmt.Fprint(stdout, help.text)
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
	fmt.Fprintln(w, "\nRun 'ledgerline help COMMAND' or 'ledgerline COMMAND -h' for a command's usage and flags.")
	fmt.Fprintln(w, "Run 'ledgerline --version' for the version. Set LEDGERLINE_LOG=debug for detailed logs.")
}

// runVersion prints the version the binary was built from, the whisper.cpp it
// links and the compute backend that whisper.cpp was built with.
func runVersion(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "version", "version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ledgerline %s\nwhisper.cpp %s\nbackend %s\n", version(), asr.WhisperVersion(), asr.Backend())
	return nil
}

// buildVersion is stamped in by the build (make build, make release) from 'git
// describe': -ldflags "-X main.buildVersion=v1.2.0".
var buildVersion string

// version is the stamped version, else the module version that 'go install
// …@version' and 'go build' in a checkout record, else "dev" (go run, go test).
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil || level == "" {
		l = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// helpRequest is what a command returns when asked for its help: run
// writes the text to stdout and exits 0, as help that was asked for is
// output, not a complaint ("ledgerline run -h | less" must show it).
type helpRequest struct{ text string }

func (h *helpRequest) Error() string { return "help requested" }

// isHelp reports whether arg asks for help, as the flag package reads it.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--h", "--help":
		return true
	}
	return false
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("transcribe FILE --model base"), returning the positionals.
// Help asked for with -h or --help comes back as a *helpRequest; the usage
// printed after a wrong flag still goes to the flag set's output (stderr).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	out := fs.Output()
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	defer fs.SetOutput(out)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{text: buf.String()}
			}
			_, _ = io.Copy(out, &buf)
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

// parseFlags parses args for a command that takes flags only: an argument left over (a typo, a
// value given without its flag) is a usage error rather than ignored.
func parseFlags(fs *flag.FlagSet, args []string) error {
	rest, err := parseInterspersed(fs, args)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("%w: ledgerline %s takes no arguments, only flags, and %q is none: see 'ledgerline %s -h'", errUsage, fs.Name(), rest[0], fs.Name())
	}
	return err
}

// newFlagSet returns a flag set whose usage shows synopsis: one line per
// form of the command, then optionally a blank line and a description.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if e.flagSets != nil {
		e.flagSets(fs)
	}
	fs.Usage = func() {
		w := fs.Output()
		forms, desc, _ := strings.Cut(synopsis, "\n\n")
		for i, f := range strings.Split(forms, "\n") {
			prefix := "Usage: "
			if i > 0 {
				prefix = "       "
			}
			fmt.Fprintf(w, "%sledgerline %s\n", prefix, f)
		}
		if desc != "" {
			fmt.Fprintf(w, "\n%s\n", desc)
		}
		if hasFlags(fs) {
			fmt.Fprintln(w, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	has := false
	fs.VisitAll(func(*flag.Flag) { has = true })
	return has
}
