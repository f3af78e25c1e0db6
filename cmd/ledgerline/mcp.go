package main

import (
	"context"
	"io"
	"os"
	"os/user"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/mcpserver"
)

// runMCP serves this machine's meeting database to an AI assistant over the Model Context
// Protocol, on stdin and stdout, as the local user: whoever runs it reads everything in their own
// file, as the other commands that read it do.
func runMCP(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "mcp", "mcp [--db FILE] [--me NAME]\n\n"+
		"Serve your meetings to an AI assistant over the Model Context Protocol, on stdin and\n"+
		"stdout: the assistant starts this command and asks it what was said and promised (tools\n"+
		"to list meetings and deals, fetch a transcript or a recap, search, list commitments by\n"+
		"deal or owner, and mark one done). Logs go to stderr. A team server serves the same\n"+
		"tools at /mcp, for an API token: see docs/api.md, \"Assistants (MCP)\".")
	db := dbFlag(fs)
	me := fs.String("me", "", "your name, which the changes the assistant makes are recorded by (default: your login name)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	name, err := checkName("me", *me)
	if err != nil {
		return err
	}
	if name == "" {
		name = loginName()
	}
	store, err := openExisting(*db)
	if err != nil {
		return err
	}
	defer store.Close()
	srv, err := mcpserver.New(mcpserver.Config{Store: store, Version: version(), Logger: e.log})
	if err != nil {
		return err
	}
	// The local user reads everything in their own database: the reader that sees all.
	local := mcpserver.Caller{Reader: ledger.Reader{All: true}, Name: name}
	t := &mcp.IOTransport{Reader: io.NopCloser(e.stdin), Writer: nopWriteCloser{e.stdout}}
	e.log.Info("serving the record to an assistant on stdin and stdout", "db", *db, "as", name)
	return srv.Run(ctx, t, local)
}

// loginName is the user's login name, for the changes they make through an assistant.
func loginName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if n := os.Getenv("USER"); n != "" {
		return n
	}
	return "local user"
}

// nopWriteCloser is a writer that the transport may close without closing the process's stdout.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
