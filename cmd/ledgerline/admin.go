package main

// 'ledgerline admin': a client of a team server's REST API (docs/api.md), for the people who run
// one: organisations, API tokens, sign-in invites, deals and their shares, server-side meetings.
// It only sends requests; every rule (who may do what, which names are taken) is the server's.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/server"
)

const (
	// adminEnvServer and adminEnvToken stand in for --server and --token when those are not given.
	adminEnvServer = "LEDGERLINE_SERVER"
	adminEnvToken  = "LEDGERLINE_TOKEN"
	// adminBodyLimit bounds what is read of one answer from the server.
	adminBodyLimit = 1 << 20
)

// adminTimeout bounds one request, from connecting to the end of the answer's body. A variable
// so that a test need not wait for it.
var adminTimeout = 30 * time.Second

// adminCommand is one subcommand of admin: name is what follows "admin" ("org create"), form
// its arguments and flags, summary what it does.
type adminCommand struct {
	name, form, summary string
	run                 func(ctx context.Context, e *env, conn *adminConn, cmd adminCommand, args []string) error
}

// adminCommands lists admin's subcommands in the order its help lists them.
var adminCommands = []adminCommand{
	{"org create", "NAME", "create an organisation; prints its id", runAdminOrgCreate},
	{"org list", "[--format table|json]", "list the organisations the token may see", runAdminOrgList},
	{"token create", "--org ORG --name NAME [--role member|admin]", "make an API token for an organisation; prints it (shown once)", runAdminTokenCreate},
	{"token list", "[--org ORG] [--format table|json]", "list an organisation's tokens (never their secrets)", runAdminTokenList},
	{"token revoke", "ID", "revoke a token at once", runAdminTokenRevoke},
	{"invite", "--org ORG [--role member|admin] [--expires DURATION]", "make a single-use sign-in link; prints it", runAdminInvite},
	{"deal create", "--id ID --name NAME [--account BUYER] [--vendor-org ORG] [--partner-org ORG [--partner-level edit|view]]", "create a deal owned by the vendor, shared with the partner", runAdminDealCreate},
	{"deal list", "[--format table|json]", "list the deals the token may see", runAdminDealList},
	{"deal share", "--deal ID --org ORG [--level view|edit]", "share a deal's meetings with an organisation", runAdminDealShare},
	{"meeting create", "--title TITLE [--deal ID]", "start a server-side meeting; prints its id and links", runAdminMeetingCreate},
	{"meeting list", "[--format table|json]", "list the meetings the token may see, newest first", runAdminMeetingList},
}

// adminGroups are the first words of the subcommands that have a second one.
var adminGroups = []string{"org", "token", "deal", "meeting"}

const adminSynopsis = "admin [--server URL] [--token TOKEN] COMMAND [arguments]"

func runAdmin(ctx context.Context, e *env, args []string) error {
	conn := &adminConn{}
	fs := newFlagSet(e, "admin", adminSynopsis+"\n\n"+adminHelp())
	conn.register(fs)
	rest, err := parseLeading(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return fmt.Errorf("%w: ledgerline %s ('ledgerline admin -h' lists the commands)", errUsage, adminSynopsis)
	}
	if rest[0] == "help" {
		// "admin help org create" is "admin org create -h", as "ledgerline help X" is "X -h".
		return runAdmin(ctx, e, append(append([]string{}, rest[1:]...), "-h"))
	}
	name := rest[0]
	group := slices.Contains(adminGroups, name)
	if group {
		if len(rest) < 2 || isHelp(rest[1]) {
			return adminGroupHelp(e, name, len(rest) >= 2)
		}
		if strings.HasPrefix(rest[1], "-") {
			return fmt.Errorf("%w: flags go before %q or after its command ('admin %s create … %s …'), not between them", errUsage, name, name, rest[1])
		}
		name += " " + rest[1]
		rest = rest[1:]
	}
	for _, c := range adminCommands {
		if c.name == name {
			return c.run(ctx, e, conn, c, rest[1:])
		}
	}
	if group {
		return fmt.Errorf("%w: unknown command 'admin %s': 'ledgerline admin %s -h' lists its commands", errUsage, name, strings.Fields(name)[0])
	}
	return fmt.Errorf("%w: unknown admin command %q: 'ledgerline admin -h' lists them", errUsage, name)
}

// adminHelp is the description in admin's help: what it does, its commands, and where the server
// and the token come from.
func adminHelp() string {
	var b strings.Builder
	b.WriteString("Manage a team server ('ledgerline serve') over its REST API: organisations, API\n" +
		"tokens, sign-in invites, deals and server-side meetings. docs/api.md describes the API.\n\nCommands:\n")
	for _, c := range adminCommands {
		fmt.Fprintf(&b, "  %s %s\n        %s\n", c.name, c.form, c.summary)
	}
	b.WriteString("\nORG is an organisation's id or its name. The server is --server, else $" + adminEnvServer + ";\n" +
		"the token is --token, else $" + adminEnvToken + " (better: a flag's value shows in the process\n" +
		"list and the shell's history). Both may come before the command or after it. On an empty\n" +
		"store 'ledgerline serve' prints the administrator's token once.\n" +
		"Run 'ledgerline admin COMMAND -h' for one command's flags.")
	return b.String()
}

// adminGroupHelp answers "admin org" (a usage error) and "admin org -h": the forms of the group's
// commands.
func adminGroupHelp(e *env, group string, asked bool) error {
	var forms []string
	for _, c := range adminCommands {
		if strings.HasPrefix(c.name, group+" ") {
			forms = append(forms, "admin "+c.name+" "+c.form)
		}
	}
	if !asked {
		return fmt.Errorf("%w: ledgerline %s", errUsage, strings.Join(forms, " | "))
	}
	fs := newFlagSet(e, "admin "+group, strings.Join(forms, "\n")+"\n\nRun 'ledgerline admin "+group+" COMMAND -h' for one command's flags.")
	_, err := parseInterspersed(fs, []string{"-h"})
	return err
}

// parseLeading parses the flags before the first positional argument and returns the arguments
// from it on, as flag.FlagSet.Parse does, with help and errors reported as parseInterspersed
// reports them.
func parseLeading(fs *flag.FlagSet, args []string) ([]string, error) {
	out := fs.Output()
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	defer fs.SetOutput(out)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, &helpRequest{text: buf.String()}
		}
		_, _ = io.Copy(out, &buf)
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	return fs.Args(), nil
}

// adminFlagSet returns the flag set of a subcommand: its help shows its form, then desc.
func adminFlagSet(e *env, cmd adminCommand, desc string) *flag.FlagSet {
	return newFlagSet(e, "admin "+cmd.name, "admin "+cmd.name+" "+cmd.form+"\n\n"+desc)
}

// adminParse parses a subcommand's flags, --server and --token included, and checks that it got
// exactly nargs positional arguments, named in want when it did not.
func adminParse(fs *flag.FlagSet, conn *adminConn, args []string, nargs int, want string) ([]string, error) {
	conn.register(fs)
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	if len(rest) != nargs {
		if nargs == 0 {
			return nil, fmt.Errorf("%w: ledgerline %s takes no arguments", errUsage, fs.Name())
		}
		return nil, fmt.Errorf("%w: ledgerline %s %s", errUsage, fs.Name(), want)
	}
	return rest, nil
}

// adminFormat adds --format to a listing command.
func adminFormat(fs *flag.FlagSet) *string {
	return &formatFlag(fs, []string{"table", "json"}, "json: the server's answer as it came, every field").name
}

// adminRequire reports the first required flag left empty.
func adminRequire(name string, flags ...[2]string) error {
	for _, f := range flags {
		if strings.TrimSpace(f[1]) == "" {
			return fmt.Errorf("%w: --%s is required (see 'ledgerline admin %s -h')", errUsage, f[0], name)
		}
	}
	return nil
}

// adminID checks an ID that goes into a request's path.
func adminID(kind, id string) error {
	if !server.ValidID(id) || id == "." || id == ".." {
		return fmt.Errorf("%w: %q is not a %s ID: IDs are 1-128 letters, digits, '.', '_', '~' or '-'", errUsage, id, kind)
	}
	return nil
}

func adminRole(role string) error {
	if role != "member" && role != "admin" {
		return fmt.Errorf("%w: unknown role %q: use member or admin", errUsage, role)
	}
	return nil
}

func adminLevel(flagName, level string) error {
	if level != "view" && level != "edit" {
		return fmt.Errorf("%w: --%s %q: use view or edit", errUsage, flagName, level)
	}
	return nil
}
