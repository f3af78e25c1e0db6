package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/teamsync"
)

// envToken stands in for --token when it is not given: a flag's value stays in the shell's
// history and shows in the process list.
const envToken = "LEDGERLINE_TOKEN"

// teamFlags are the flags that name a team server to send meetings to.
type teamFlags struct {
	server   *string
	token    string
	tokenSet bool
}

// addTeamFlags adds --server and --token to fs; serverHelp says what the server is for.
func addTeamFlags(fs *flag.FlagSet, serverHelp string) *teamFlags {
	f := &teamFlags{server: fs.String("server", "", serverHelp)}
	fs.Func("token", "API `TOKEN` for --server (default: $"+envToken+", which keeps it out of the shell's history)", func(s string) error {
		f.token, f.tokenSet = s, true
		return nil
	})
	return f
}

// teamTarget is a team server checked before anything starts: its base URL as the outbox keys
// it, and the token. Zero when no server was given.
type teamTarget struct {
	server, token string
	tokenFlag     bool // the token came from --token, not the environment
}

// resolve checks --server and --token (or $LEDGERLINE_TOKEN) and warns when the token would
// travel unencrypted over a network.
func (f *teamFlags) resolve(e *env) (teamTarget, error) {
	if *f.server == "" {
		if f.tokenSet {
			return teamTarget{}, fmt.Errorf("%w: --token is the team server's: give its address with --server URL too", errUsage)
		}
		return teamTarget{}, nil
	}
	server, err := teamsync.ParseServer(*f.server)
	if err != nil {
		return teamTarget{}, fmt.Errorf("%w: --server: %w", errUsage, err)
	}
	token, from := f.token, "--token"
	if !f.tokenSet {
		token, from = os.Getenv(envToken), "$"+envToken
	}
	if token == "" {
		return teamTarget{}, fmt.Errorf("%w: --server needs the server's API token: set %s=TOKEN (or pass --token TOKEN); the server's administrator makes one with 'ledgerline admin token create'",
			errUsage, envToken)
	}
	if err := teamsync.CheckToken(token); err != nil {
		return teamTarget{}, fmt.Errorf("%w: %s: %w", errUsage, from, err)
	}
	if cleartext(server) {
		fmt.Fprintf(e.stderr, "warning: %s is not https: the token and the transcript cross the network unencrypted\n", server)
	}
	return teamTarget{server: server, token: token, tokenFlag: f.tokenSet}, nil
}

// cleartext reports whether requests to server would cross a network unencrypted: http to a host
// other than this machine.
func cleartext(server string) bool {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		return !ip.IsLoopback()
	}
	return host != "localhost" && !strings.HasSuffix(host, ".localhost")
}

// syncCommand is how to send what waits: the sync command for this server and database, the
// token left out (it is a secret) unless it was given as a flag, then as a placeholder.
func (t teamTarget) syncCommand(db string) string {
	cmd := "ledgerline sync --server " + t.server
	if t.tokenFlag {
		cmd += " --token TOKEN"
	}
	if db != "" {
		cmd += " --db " + db
	}
	return cmd
}

// client returns a client that sends from store to the server, and brings back into it the
// changes made there, telling observe (when not nil) of each.
func (t teamTarget) client(e *env, store teamsync.Outbox, observe func(ledger.Event)) (*teamsync.Client, error) {
	return teamsync.New(teamsync.Config{Server: t.server, Token: t.token, Store: store, Logger: e.log, Observe: observe})
}

// teamHint is what the user can do about an error from the server, beyond what it says.
func teamHint(err error) string {
	if errors.Is(err, teamsync.ErrUnauthorized) {
		return " (check --token or $" + envToken + "; 'ledgerline admin token create' makes a token)"
	}
	return ""
}

// runSync sends a team server what it has not yet acknowledged of the meetings recorded for it,
// and brings back the changes made there to each.
func runSync(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "sync", "sync --server URL [--token TOKEN] [--meeting ID] [--db FILE]\n\n"+
		"Send a team server whatever it has not yet acknowledged of the meetings recorded with\n"+
		"'ledgerline run --server URL' (and of --meeting's), bring back the changes made to them\n"+
		"there (speakers renamed, commitments edited), then exit. Sending again is safe: the\n"+
		"server keeps each event once, and so does this laptop.")
	tf := addTeamFlags(fs, "the team server to send to, such as https://ledgerline.example.com")
	meeting := fs.String("meeting", "", "also send this meeting, recorded earlier without --server (its ID is in its overlay link)")
	db := dbFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *tf.server == "" {
		return fmt.Errorf("%w: --server URL is required: the team server to send the meetings to", errUsage)
	}
	target, err := tf.resolve(e)
	if err != nil {
		return err
	}
	path, err := existingDB(*db)
	if err != nil {
		return err
	}
	store, err := ledger.OpenSQLite(path)
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := target.client(e, store, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if *meeting != "" {
		if err := c.Add(ctx, *meeting); err != nil {
			return err
		}
	}
	outbox, err := c.Outbox(ctx)
	if err != nil {
		return err
	}
	if len(outbox) == 0 {
		fmt.Fprintf(e.stdout, "nothing to send to %s: no meeting in %s was recorded with --server %s (send one recorded earlier with --meeting ID)\n",
			c.Server(), path, c.Server())
		return nil
	}

	var failed []error
	sent, waiting, events := 0, 0, int64(0)
	// receive brings back the changes made on the server to a meeting it holds all of, or held
	// before. A failure is told at the end; once the server cannot be reached, or refuses the
	// token, the changes to the other meetings are not asked for.
	var unreachable error
	receive := func(name, meeting string) {
		if unreachable != nil {
			return
		}
		n, err := c.Receive(ctx, meeting)
		switch {
		case err != nil && (!teamsync.Permanent(err) || errors.Is(err, teamsync.ErrUnauthorized)):
			unreachable = err
			failed = append(failed, fmt.Errorf("changes made on %s not brought back: %w%s: run '%s' again once that is solved",
				c.Server(), err, teamHint(err), target.syncCommand(*db)))
		case err != nil:
			failed = append(failed, fmt.Errorf("%s: changes made on %s not brought back: %w", name, c.Server(), err))
		case n > 0:
			fmt.Fprintf(e.stdout, "%s: %s made on the server brought back\n", name, plural(int64(n), "change"))
		}
	}
	for i, p := range outbox {
		name := meetingName(ctx, store, p.Meeting)
		if p.Pending() == 0 {
			fmt.Fprintf(e.stdout, "%s: up to date (%d events)\n", name, p.Acked)
			receive(name, p.Meeting)
			continue
		}
		got, err := c.Send(ctx, p.Meeting, func(p teamsync.Progress) {
			fmt.Fprintf(e.stderr, "%s: %d of %d events acknowledged\n", name, p.Acked, p.Last)
		})
		if err == nil {
			sent++
			fmt.Fprintf(e.stdout, "%s: sent, %d of %d events acknowledged\n", name, got.Acked, got.Last)
			receive(name, p.Meeting)
			continue
		}
		fmt.Fprintf(e.stdout, "%s: not sent, %d of %d events acknowledged\n", name, got.Acked, got.Last)
		if teamsync.Permanent(err) && !errors.Is(err, teamsync.ErrUnauthorized) {
			// This meeting's own trouble (its deal not on the server): the others may go.
			failed = append(failed, fmt.Errorf("%s: %w", name, err))
			waiting, events = waiting+1, events+got.Pending()
			continue
		}
		// The server unreachable, or the token refused: so would be every other meeting.
		for _, q := range outbox[i+1:] {
			if q.Pending() > 0 {
				waiting, events = waiting+1, events+q.Pending()
			}
		}
		waiting, events = waiting+1, events+got.Pending()
		return fmt.Errorf("%w%s\n%s of %s %s: run '%s' again once that is solved",
			err, teamHint(err), plural(events, "event"), plural(int64(waiting), "meeting"), verb(events, "waits", "wait"), target.syncCommand(*db))
	}
	if waiting > 0 {
		return fmt.Errorf("%w\n%s of %s not sent", errors.Join(failed...), plural(events, "event"), plural(int64(waiting), "meeting"))
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	n := int64(len(outbox))
	if sent == 0 {
		fmt.Fprintf(e.stdout, "nothing to send: %s %s up to date on %s\n", plural(n, "meeting"), verb(n, "is", "are"), c.Server())
	} else {
		fmt.Fprintf(e.stdout, "%s %s on %s\n", plural(n, "meeting"), verb(n, "is", "are"), c.Server())
	}
	return nil
}

// plural counts n of a noun: "1 event", "3 events".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// verb is one or many, as n is.
func verb(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// meetingName names a meeting in sync's output: its ID, and its title when it has one.
func meetingName(ctx context.Context, store *ledger.SQLiteStore, id string) string {
	if m, err := store.Meeting(ctx, id); err == nil && m.Title != "" {
		return fmt.Sprintf("meeting %s %q", id, m.Title)
	}
	return "meeting " + id
}

// existingDB is the database at path, or the default one, which must exist: sync sends what was
// recorded, and has nothing to send from a database it would create.
func existingDB(path string) (string, error) {
	if path == "" {
		var err error
		if path, err = ledger.DefaultPath(); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("open meeting database: %w (record a meeting with 'ledgerline run' first, or pass --db FILE)", err)
	}
	return path, nil
}

// teamView is what the team server says before a call is recorded for it: who the token is (zero
// when it did not say), and its record of the deal the meeting is filed under (reached: it
// described the deal; else the deal is recorded here by its ID). Zero without a server.
type teamView struct {
	caller  teamsync.Caller
	deal    ledger.Deal
	reached bool
}

// askTeam asks the team server who the token is and, given a deal, how the server keeps it. A
// token the server refuses, or a deal it does not show the token, fails here, before anything is
// recorded; a server that cannot be reached (offline, or not answering), or one that does not say
// who a token is (an older version), is no error.
func askTeam(ctx context.Context, e *env, store *ledger.SQLiteStore, target teamTarget, deal string) (teamView, error) {
	if target.server == "" {
		return teamView{}, nil
	}
	c, err := target.client(e, store, nil)
	if err != nil {
		return teamView{}, err
	}
	defer c.Close()
	askCtx, cancel := context.WithTimeout(ctx, dealLookupTimeout)
	defer cancel()
	refused := func(err error) error {
		return fmt.Errorf("%w: make a token with 'ledgerline admin token create' (or ask your organisation's administrator), and give it with --token or $%s", err, envToken)
	}
	var v teamView
	caller, err := c.Me(askCtx)
	switch {
	case errors.Is(err, teamsync.ErrUnauthorized):
		return teamView{}, refused(err)
	case err != nil:
		e.log.Warn("the team server did not say who the token is: the mic is named as given here", "server", target.server, "err", err)
	default:
		v.caller = caller
	}
	if deal == "" {
		return v, nil
	}
	d, err := c.Deal(askCtx, deal)
	switch {
	case errors.Is(err, teamsync.ErrUnauthorized):
		return teamView{}, refused(err)
	case errors.Is(err, ledger.ErrNotFound):
		return teamView{}, fmt.Errorf("%s has no deal %q that your organisation may see: create it there with 'ledgerline admin deal create --id %s --name NAME', "+
			"ask its owner to share it with your organisation, or leave out --deal", target.server, deal, deal)
	case err != nil:
		e.log.Warn("the team server did not describe the deal; it is recorded here by its ID and the meeting sent to it all the same",
			"server", target.server, "deal", deal, "err", err)
	default:
		v.deal, v.reached = d, true
	}
	return v, nil
}

// teamDeal makes sure that the deal a meeting sent to a team server is filed under is in the
// laptop's database: with the name and organisations the server gave it (v), so that this
// laptop's pages name them as the server does, else by its ID alone.
func teamDeal(ctx context.Context, e *env, store *ledger.SQLiteStore, target teamTarget, deal string, v teamView) error {
	if target.server == "" || deal == "" {
		return nil
	}
	if _, err := store.Deal(ctx, deal); !errors.Is(err, ledger.ErrNotFound) {
		return err
	}
	rec := v.deal
	if !v.reached {
		rec = ledger.Deal{ID: deal, Name: deal}
	}
	if err := store.CreateDeal(ctx, rec); err != nil && !errors.Is(err, ledger.ErrExists) {
		return err
	}
	if !v.reached {
		fmt.Fprintf(e.stderr, "deal %s is recorded in this laptop's database by its ID: %s keeps the rest of it\n", deal, target.server)
	}
	return nil
}

// dealLookupTimeout bounds asking the team server for a deal before a call is recorded.
const dealLookupTimeout = 5 * time.Second

// liveUpload sends the meeting `run` records to a team server as it is recorded, and at its end
// waits for the server to have all of it. It owns the Uploader's goroutine: stop ends it.
type liveUpload struct {
	e       *env
	target  teamTarget
	db      string // --db as given, for the hint
	timeout time.Duration
	up      *teamsync.Uploader
	client  *teamsync.Client
	cancel  context.CancelFunc
	done    chan error // Run's result

	once   sync.Once
	runErr error
}

// startUpload starts sending a meeting of store to the target's server, and bringing back the
// changes made to it there, each told to observe; nil when no server was given.
func startUpload(ctx context.Context, e *env, target teamTarget, store *ledger.SQLiteStore, meeting, db string, timeout time.Duration,
	observe func(ledger.Event)) (*liveUpload, error) {
	if target.server == "" {
		return nil, nil
	}
	c, err := target.client(e, store, observe)
	if err != nil {
		return nil, err
	}
	up, err := c.Follow(ctx, meeting)
	if err != nil {
		c.Close()
		return nil, err
	}
	// Its own context: the meeting's ends with Ctrl-C, before the upload is drained.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &liveUpload{e: e, target: target, db: db, timeout: timeout, up: up, client: c, cancel: cancel, done: make(chan error, 1)}
	go func() { l.done <- up.Run(runCtx) }()
	fmt.Fprintf(e.stderr, "syncing to %s: meeting %s appears in the team's library there as it is recorded, and changes made to it there come back here\n",
		target.server, meeting)
	return l, nil
}

// stop ends the upload and returns the error it stopped with; it may be called again.
func (l *liveUpload) stop() error {
	if l == nil {
		return nil
	}
	l.once.Do(func() {
		l.cancel()
		l.runErr = <-l.done
		l.client.Close()
	})
	return l.runErr
}

// finish waits, up to the timeout, for the server to acknowledge every event of the meeting,
// then stops the upload. Events still waiting are no error (they are safe in the store and
// 'ledgerline sync' sends them: it says so); the server refusing the meeting is.
func (l *liveUpload) finish(ctx context.Context) error {
	if l == nil {
		return nil
	}
	defer l.stop()
	// Once interrupted, the wait goes on: another Ctrl-C ends the process.
	if ctx.Err() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	server := l.target.server
	waiting := false
	p, err := l.up.Drain(ctx, l.timeout, func(p teamsync.Progress) {
		switch {
		case p.Pending() == 0 && !waiting:
			return // all there already: the line below says so
		case !waiting:
			waiting = true
			fmt.Fprintf(l.e.stderr, "waiting up to %s for %s to acknowledge %s (interrupt to stop waiting: they are kept here)\n",
				l.timeout, server, plural(p.Pending(), "event"))
		}
		line := fmt.Sprintf("syncing to %s: %d of %d events acknowledged", server, p.Acked, p.Last)
		if p.Err != nil {
			line += ", retrying: " + p.Err.Error()
		}
		fmt.Fprintln(l.e.stderr, line)
	})
	switch {
	case err == nil:
		fmt.Fprintf(l.e.stderr, "synced to %s: all %d events of meeting %s acknowledged\n", server, p.Acked, p.Meeting)
		return nil
	case errors.Is(err, teamsync.ErrPending):
		why := fmt.Sprintf("not acknowledged within %s", l.timeout)
		switch {
		case ctx.Err() != nil:
			why = "interrupted"
		case p.Err != nil:
			why = "last try: " + p.Err.Error()
		}
		fmt.Fprintf(l.e.stderr, "%s of meeting %s %s to be sent to %s (%s): kept in the local store, '%s' sends them\n",
			plural(p.Pending(), "event"), p.Meeting, verb(p.Pending(), "waits", "wait"), server, why, l.target.syncCommand(l.db))
		return nil
	default:
		return fmt.Errorf("meeting %s is recorded here but not sent to %s: %w%s", p.Meeting, server, err, teamHint(err))
	}
}
