package main

// 'ledgerline admin': a client of a team server's REST API (docs/api.md), for the people who run
// one: organisations, API tokens, sign-in invites, deals and their shares, server-side meetings.
// It only sends requests; every rule (who may do what, which names are taken) is the server's.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"
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

// adminConn is where admin sends its requests and the token it sends: --server and --token, given
// before the command or after it (the later one wins), else the environment.
type adminConn struct {
	server, token       string
	serverSet, tokenSet bool
}

// register adds --server and --token to a flag set; every flag set of admin's has them, all
// setting the one adminConn.
func (c *adminConn) register(fs *flag.FlagSet) {
	fs.Func("server", "the team server's base `URL`, such as https://team.example.com (default: $"+adminEnvServer+")", func(s string) error {
		c.server, c.serverSet = s, true
		return nil
	})
	fs.Func("token", "the API `TOKEN` to act with (default: $"+adminEnvToken+")", func(s string) error {
		c.token, c.tokenSet = s, true
		return nil
	})
}

// client checks the server's address and the token, before any request, and returns a client.
func (c *adminConn) client(e *env) (*adminClient, error) {
	server, from := c.server, "--server"
	if !c.serverSet {
		server, from = os.Getenv(adminEnvServer), "$"+adminEnvServer
		if server == "" {
			return nil, fmt.Errorf("%w: no server: pass --server URL or set %s", errUsage, adminEnvServer)
		}
	}
	base, err := adminBaseURL(server)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %w", errUsage, from, server, err)
	}
	token, from := c.token, "--token"
	if !c.tokenSet {
		token, from = os.Getenv(adminEnvToken), "$"+adminEnvToken
	}
	switch {
	case token == "" && c.tokenSet:
		return nil, fmt.Errorf("%w: --token is empty: give a token, or leave --token out to use $%s", errUsage, adminEnvToken)
	case token == "":
		return nil, fmt.Errorf("%w: no token: pass --token TOKEN or set %s ('ledgerline serve' prints the administrator's token on its first start)", errUsage, adminEnvToken)
	case strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0:
		// Never echo it: it is a secret, and probably a pasted one with a stray newline.
		return nil, fmt.Errorf("%w: %s holds spaces, control or non-ASCII characters: copy the token again", errUsage, from)
	}
	if base.Scheme == "http" && !adminLoopback(base.Hostname()) {
		fmt.Fprintf(e.stderr, "ledgerline admin: warning: the token goes unencrypted to %s over http: use https beyond this machine\n", base.Host)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &adminClient{
		base:  base,
		token: token,
		http: &http.Client{
			Transport: tr,
			Timeout:   adminTimeout,
			// A redirect is reported, not followed: a POST must not turn into a GET elsewhere, and
			// the token goes only where the user sent it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		close: tr.CloseIdleConnections,
	}, nil
}

// adminBaseURL checks a server's base URL: http or https, a host, an optional path prefix (behind
// a reverse proxy), and neither credentials, query nor fragment. It returns it without a trailing
// slash.
func adminBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, errors.New("not a URL: give one such as https://team.example.com")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("use an http:// or https:// URL, such as https://team.example.com")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return nil, errors.New("has no host: give one such as https://team.example.com")
	case u.User != nil:
		return nil, errors.New("must not hold a user name or password: the token goes in --token")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return nil, errors.New("must not have a query or fragment: give the server's base URL only")
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimRight(u.Path, "/"), RawPath: strings.TrimRight(u.RawPath, "/")}, nil
}

// adminLoopback reports whether host is this machine, where plain http exposes nothing.
func adminLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// adminClient sends requests to a team server's API.
type adminClient struct {
	base  *url.URL
	token string
	http  *http.Client
	close func() // closes its idle connections
}

// adminStatusError is an answer from the server other than success, told as what to do.
type adminStatusError struct {
	Status int
	Msg    string
}

func (e *adminStatusError) Error() string { return e.Msg }

// call sends method to path (escaped, under /api/v1) with in as its JSON body (nil: none), and
// decodes a successful JSON answer into out (nil: ignore it). what names what the request is
// about ("deal \"acme\""), for the message of a 404. raw, when not nil, receives the answer's
// body as it came.
func (c *adminClient) call(ctx context.Context, method, path string, in, out any, what string, raw *[]byte) error {
	target := c.base.Scheme + "://" + c.base.Host + c.base.EscapedPath() + "/api/v1" + path
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ledgerline/"+version())
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, adminBodyLimit+1))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", c.where(), c.unwrap(err))
	}
	if len(b) > adminBodyLimit {
		return fmt.Errorf("the answer of %s to %s %s is over %d MiB: is it a ledgerline team server?", c.where(), method, path, adminBodyLimit>>20)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.statusError(resp, b, what)
	}
	if raw != nil {
		*raw = b
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s answered %s %s with what is not a ledgerline team server's JSON (%w): is --server the team server's address?", c.where(), method, path, err)
		}
	}
	return nil
}

// where names the server in messages.
func (c *adminClient) where() string { return c.base.String() }

// unwrap drops url.Error's restatement of the request from a transport error.
func (c *adminClient) unwrap(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c *adminClient) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach %s: is `ledgerline serve` running? (%w)", c.where(), c.unwrap(err))
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%s did not answer within %v: is the server overloaded, or is --server the wrong address? (%w)", c.where(), adminTimeout, c.unwrap(err))
	}
	return fmt.Errorf("cannot reach %s: %w", c.where(), c.unwrap(err))
}

// statusError tells an unsuccessful answer as what to do about it, with the server's message.
func (c *adminClient) statusError(resp *http.Response, body []byte, what string) error {
	var e struct {
		Error *string `json:"error"`
	}
	fromAPI := json.Unmarshal(body, &e) == nil && e.Error != nil
	msg := ""
	if fromAPI {
		msg = adminPrintable(strings.TrimSpace(*e.Error))
	}
	said := func(prefix string) string {
		if msg == "" {
			return ""
		}
		return prefix + msg
	}
	var text string
	switch s := resp.StatusCode; {
	case s >= 300 && s < 400:
		text = fmt.Sprintf("%s answered %s, sending to %q: if that is the server, pass its address as --server", c.where(), resp.Status, adminPrintable(resp.Header.Get("Location")))
	case s == http.StatusUnauthorized:
		text = "the server refused the token: check --token (or $" + adminEnvToken + ")" + said("; it said: ")
	case s == http.StatusForbidden:
		if msg == "" {
			msg = "it needs the server's administrator token, or an admin token of the organisation"
		}
		text = "this token may not do that: " + msg
	case s == http.StatusNotFound && (!fromAPI || strings.HasPrefix(msg, "no such API endpoint")):
		// Not an answer of this endpoint: the address is another server, or a team server of a
		// version without it.
		text = fmt.Sprintf("%s has no %s %s: is --server a team server ('ledgerline serve'), of a version with this API?", c.where(), resp.Request.Method, resp.Request.URL.Path)
	case s == http.StatusNotFound:
		if what == "" {
			what = "it"
		}
		text = what + " not found (or not shared with your organisation)" + said("; the server said: ")
	case s == http.StatusConflict:
		text = msg
		if text == "" {
			text = what + " already exists"
		}
	case s == http.StatusBadRequest && msg != "":
		text = "the server refused the request: " + msg
	default:
		text = fmt.Sprintf("%s answered %s", c.where(), resp.Status) + said(": ")
		if s >= 500 {
			text += " (a fault of the server's: its log says more)"
		}
	}
	return &adminStatusError{Status: resp.StatusCode, Msg: text}
}

// adminPrintable makes text from the server safe to print on a terminal: control characters and
// invisible formatting ones (which could hide or reorder text) become U+FFFD. The joiners that
// emoji and some scripts need stay.
func adminPrintable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\u200c' || r == '\u200d' {
			return r
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
			return unicode.ReplacementChar
		}
		return r
	}, s)
}

// adminValue checks one value the server returned that a command prints alone, for scripts to
// take: present, and printable as it is.
func (c *adminClient) adminValue(name, v string) (string, error) {
	if v == "" || adminPrintable(v) != v {
		return "", fmt.Errorf("%s answered without a usable %s: is --server a ledgerline team server?", c.where(), name)
	}
	return v, nil
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
	return fs.String("format", "table", "table, or json for the server's answer as it came (every field)")
}

func checkFormat(f string) error {
	if f != "table" && f != "json" {
		return fmt.Errorf("%w: unknown format %q: use table or json", errUsage, f)
	}
	return nil
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
	if strings.TrimSpace(id) == "" || id == "." || id == ".." {
		return fmt.Errorf("%w: %q is not a %s ID", errUsage, id, kind)
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

const orgHelp = "an organisation's id or name"

// The API's records, as far as admin reads them; unknown fields are ignored so that a newer server
// still works with this client.
type (
	adminOrg struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		CreatedAt string `json:"created_at"`
	}
	adminToken struct {
		ID        string `json:"id"`
		Token     string `json:"token"`
		Org       string `json:"org"`
		Name      string `json:"name"`
		Role      string `json:"role"`
		CreatedAt string `json:"created_at"`
		RevokedAt string `json:"revoked_at"`
	}
	adminInvite struct {
		ID        string `json:"id"`
		Link      string `json:"link"`
		Org       string `json:"org"`
		Role      string `json:"role"`
		ExpiresAt string `json:"expires_at"`
	}
	adminShare struct {
		Org   string `json:"org"`
		Name  string `json:"name"` // the organisation's name, shown instead of its id when the server sends it
		Level string `json:"level"`
	}
	adminDeal struct {
		ID       string       `json:"id"`
		Name     string       `json:"name"`
		Account  string       `json:"account"`
		Vendor   string       `json:"vendor"`
		Partner  string       `json:"partner"`
		OwnerOrg string       `json:"owner_org"`
		Shares   []adminShare `json:"shares"`
		Page     string       `json:"page"`
	}
	adminMeeting struct {
		ID        string `json:"id"`
		Title     string `json:"title"`
		Deal      string `json:"deal"`
		Org       string `json:"org"`
		StartedAt string `json:"started_at"`
		State     string `json:"state"`
		LastSeq   int64  `json:"last_seq"`
		Overlay   string `json:"overlay"`
		Join      string `json:"join"`
		WHIP      string `json:"whip"`
		Recap     string `json:"recap"`
	}
)

func runAdminOrgCreate(ctx context.Context, e *env, conn *adminConn, cmd adminCommand, args []string) error {
	fs := adminFlagSet(e, cmd,
		"Create an organisation (a vendor, a partner, anyone deals are shared with) and print its id.\n"+
			"Only the server's administrator may. Quote a name with spaces: org create \"Acme Corp\".")
	rest, err := adminParse(fs, conn, args, 1, "NAME (quote a name with spaces)")
	if err != nil {
		return err
	}
	if strings.TrimSpace(rest[0]) == "" {
		return fmt.Errorf("%w: the organisation's NAME is empty", errUsage)
	}
	c, err := conn.client(e)
	if err != nil {
		return err
	}
	defer c.close()
	var org adminOrg
	if err := c.call(ctx, http.MethodPost, "/orgs", map[string]string{"name": rest[0]}, &org, "", nil); err != nil {
		return err
	}
	id, err := c.adminValue("organisation id", org.ID)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, id)
	return nil
}

func runAdminOrgList(ctx context.Context, e *env, conn *adminConn, cmd adminCommand, args []string) error {
	fs := adminFlagSet(e, cmd,
		"List the organisations: all of them for the server's administrator, else the token's own.")
	format := adminFormat(fs)
	if _, err := adminParse(fs, conn, args, 0, ""); err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	var orgs []adminOrg
	return adminList(ctx, e, conn, "/orgs", "", *format, &orgs, func(tw io.Writer) {
		fmt.Fprintln(tw, "ID\tNAME\tCREATED")
		for _, o := range orgs {
			adminRow(tw, o.ID, o.Name, adminTime(o.CreatedAt))
		}
	})
}

func runAdminTokenCreate(ctx context.Context, e *env, conn *adminConn, cmd adminCommand, args []string) error {
	fs := adminFlagSet(e, cmd,
		"Make an API token for an organisation, for a laptop agent or a script, and print it. The\n"+
			"server keeps only its digest: it is shown this once. The server's administrator, or an\n"+
			"admin of the organisation, may make one.")
	org := fs.String("org", "", "the organisation the token acts for: "+orgHelp)
	tname := fs.String("name", "", "what the token is for, such as \"dana's laptop\" (it names the token in 'token list')")
	role := fs.String("role", "member", "member (sees and edits what the organisation may) or admin (also makes tokens and invites, creates and shares deals)")
	if _, err := adminParse(fs, conn, args, 0, ""); err != nil {
		return err
	}
	if err := adminRequire(cmd.name, [2]string{"org", *org}, [2]string{"name", *tname}); err != nil {
		return err
	}
	if err := adminRole(*role); err != nil {
		return err
	}
	c, err := conn.client(e)
	if err != nil {
		return err
	}
	defer c.close()
	var tok adminToken
	body := map[string]string{"org": *org, "name": *tname, "role": *role}
	if err := c.call(ctx, http.MethodPost, "/tokens", body, &tok, fmt.Sprintf("organisation %q", *org), nil); err != nil {
		return err
	}
	secret, err := c.adminValue("token", tok.Token)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, secret)
	fmt.Fprintf(e.stderr, "token %s (%s, %s): shown once, keep it now; 'ledgerline admin token revoke %s' revokes it\n",
		adminPrintable(tok.ID), adminPrintable(tok.Name), adminPrintable(tok.Role), adminPrintable(tok.ID))
	return nil
}

func runAdminTokenList(ctx context.Context, e *env, conn *adminConn, cmd adminCommand, args []string) error {
	fs := adminFlagSet(e, cmd,
		"List an organisation's API tokens, revoked ones included; never their secrets.")
	org := fs.String("org", "", "the organisation: "+orgHelp+" (default: the token's own; for the administrator's token, the administrator's tokens)")
	format := adminFormat(fs)
	if _, err := adminParse(fs, conn, args, 0, ""); err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	path, what := "/tokens", ""
	if *org != "" {
		path, what = "/tokens?"+url.Values{"org": {*org}}.Encode(), fmt.Sprintf("organisation %q", *org)
	}
	var toks []adminToken
	return adminList(ctx, e, conn, path, what, *format, &toks, func(tw io.Writer) {
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tREVOKED")
		for _, t := range toks {
			adminRow(tw, t.ID, t.Name, t.Role, adminTime(t.CreatedAt), adminTime(t.RevokedAt))
		}
	})
}

func runAdminTokenRevoke(ctx context.Context, e *env, conn *adminConn, cmd adminCommand, args []string) error {
	fs := adminFlagSet(e, cmd,
		"Revoke an API token at once: its next request is refused. ID is the token's id, as\n"+
			"'ledgerline admin token list' shows it, not its secret.")
	rest, err := adminParse(fs, conn, args, 1, "ID ('ledgerline admin token list --org ORG' shows the ids)")
	if err != nil {
		return err
	}
	if err := adminID("token", rest[0]); err != nil {
		return err
	}
	c, err := conn.client(e)
	if err != nil {
		return err
	}
	defer c.close()
	return c.call(ctx, http.MethodDelete, "/tokens/"+url.PathEscape(rest[0]), nil, nil, fmt.Sprintf("token %q", rest[0]), nil)
}

// adminMaxInvite is the longest an invite may stay valid, as the server allows.
const adminMaxInvite = 30 * 24 * time.Hour

func runAdminInvite(ctx context.Context, e *env, conn *adminConn, cmd adminCommand, args []string) error {
	fs := adminFlagSet(e, cmd,
		"Make a single-use sign-in link for one person of an organisation and print it. Opening it\n"+
			"shows a sign-in button; signing in keeps that browser signed in to the organisation.")
	org := fs.String("org", "", "the organisation the person joins: "+orgHelp)
	role := fs.String("role", "member", "member or admin (may also invite, make tokens, create and share deals)")
	expires := fs.String("expires", "", "how long the link stays valid, such as 24h (default: the server's, 72h; at most 720h)")
	if _, err := adminParse(fs, conn, args, 0, ""); err != nil {
		return err
	}
	if err := adminRequire(cmd.name, [2]string{"org", *org}); err != nil {
		return err
	}
	if err := adminRole(*role); err != nil {
		return err
	}
	body := map[string]string{"org": *org, "role": *role}
	if *expires != "" {
		d, err := time.ParseDuration(*expires)
		if err != nil || d <= 0 || d > adminMaxInvite {
			return fmt.Errorf("%w: --expires %q: give a duration up to 720h (30 days), such as 24h or 90m", errUsage, *expires)
		}
		body["expires_in"] = *expires
	}
	c, err := conn.client(e)
	if err != nil {
		return err
	}
	defer c.close()
	var inv adminInvite
	if err := c.call(ctx, http.MethodPost, "/invites", body, &inv, fmt.Sprintf("organisation %q", *org), nil); err != nil {
		return err
	}
	link, err := c.adminValue("link", inv.Link)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, link)
	fmt.Fprintf(e.stderr, "single use, as %s; valid until %s: send it to one person only\n", adminPrintable(inv.Role), adminTime(inv.ExpiresAt))
	return nil
}

func runAdminDealCreate(ctx context.Context, e *env, conn *adminConn, cmd adminCommand, args []string) error {
	fs := adminFlagSet(e, cmd,
		"Create a deal, an account a vendor and a partner sell to together. The vendor's\n"+
			"organisation owns it and sees all its meetings; it is shared with the partner's.")
	id := fs.String("id", "", "a short ID for the deal (letters, digits, '-')")
	dname := fs.String("name", "", "the deal's name")
	account := fs.String("account", "", "the buyer's organisation, as a name (it need not be on the server)")
	vendor := fs.String("vendor-org", "", "the vendor's organisation, which owns the deal: "+orgHelp+" (default: the token's own)")
	partner := fs.String("partner-org", "", "the partner's organisation, which the deal is shared with: "+orgHelp)
	level := fs.String("partner-level", "edit", "what the partner may do with the deal's meetings: edit or view")
	if _, err := adminParse(fs, conn, args, 0, ""); err != nil {
		return err
	}
	if err := adminRequire(cmd.name, [2]string{"id", *id}, [2]string{"name", *dname}); err != nil {
		return err
	}
	if err := adminID("deal", *id); err != nil {
		return err
	}
	if err := adminLevel("partner-level", *level); err != nil {
		return err
	}
	body := map[string]string{"id": *id, "name": *dname, "account": *account}
	if *vendor != "" {
		body["vendor_org"] = *vendor
	}
	if *partner != "" {
		body["partner_org"], body["partner_level"] = *partner, *level
	}
	c, err := conn.client(e)
	if err != nil {
		return err
	}
	defer c.close()
	var d adminDeal
	var orgs []string
	for _, o := range []string{*vendor, *partner} {
		if o != "" {
			orgs = append(orgs, fmt.Sprintf("%q", o))
		}
	}
	what := "organisation " + strings.Join(orgs, " or ")
	if err := c.call(ctx, http.MethodPost, "/deals", body, &d, what, nil); err != nil {
		var se *adminStatusError
		if errors.As(err, &se) && se.Status == http.StatusConflict {
			return fmt.Errorf("%w ('ledgerline admin deal list' shows the deals; choose another --id)", err)
		}
		return err
	}
	return printAdminDeal(e, c, d)
}

// printAdminDeal prints a deal as "key: value" lines: id, owner, shares, page.
func printAdminDeal(e *env, c *adminClient, d adminDeal) error {
	id, err := c.adminValue("deal id", d.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "id: %s\n", id)
	fmt.Fprintf(e.stdout, "owner: %s\n", adminPrintable(adminOr(d.Vendor, d.OwnerOrg)))
	fmt.Fprintf(e.stdout, "shared: %s\n", adminShares(d.Shares))
	if d.Page != "" {
		fmt.Fprintf(e.stdout, "page: %s\n", adminPrintable(d.Page))
	}
	return nil
}

func adminShares(shares []adminShare) string {
	if len(shares) == 0 {
		return "-"
	}
	parts := make([]string, len(shares))
	for i, s := range shares {
		parts[i] = fmt.Sprintf("%s (%s)", adminPrintable(adminOr(s.Name, s.Org)), adminPrintable(s.Level))
	}
	return strings.Join(parts, ", ")
}

func adminOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func runAdminDealList(ctx context.Context, e *env, conn *adminConn, cmd adminCommand, args []string) error {
	fs := adminFlagSet(e, cmd,
		"List the deals the token may see: its organisation's own and those shared with it.")
	format := adminFormat(fs)
	if _, err := adminParse(fs, conn, args, 0, ""); err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	var deals []adminDeal
	return adminList(ctx, e, conn, "/deals", "", *format, &deals, func(tw io.Writer) {
		fmt.Fprintln(tw, "ID\tNAME\tACCOUNT\tOWNER\tSHARED")
		for _, d := range deals {
			adminRow(tw, d.ID, d.Name, d.Account, adminOr(d.Vendor, d.OwnerOrg), adminShares(d.Shares))
		}
	})
}

func runAdminDealShare(ctx context.Context, e *env, conn *adminConn, cmd adminCommand, args []string) error {
	fs := adminFlagSet(e, cmd,
		"Share every meeting of a deal with an organisation, replacing any level it had.")
	deal := fs.String("deal", "", "the deal's ID")
	org := fs.String("org", "", "the organisation to share it with: "+orgHelp)
	level := fs.String("level", "view", "view (pages, events, recaps, search) or edit (also rename speakers, edit commitments, upload meetings)")
	if _, err := adminParse(fs, conn, args, 0, ""); err != nil {
		return err
	}
	if err := adminRequire(cmd.name, [2]string{"deal", *deal}, [2]string{"org", *org}); err != nil {
		return err
	}
	if err := adminID("deal", *deal); err != nil {
		return err
	}
	if err := adminLevel("level", *level); err != nil {
		return err
	}
	c, err := conn.client(e)
	if err != nil {
		return err
	}
	defer c.close()
	var d adminDeal
	body := map[string]string{"org": *org, "level": *level}
	if err := c.call(ctx, http.MethodPost, "/deals/"+url.PathEscape(*deal)+"/shares", body, &d, fmt.Sprintf("deal %q or organisation %q", *deal, *org), nil); err != nil {
		return err
	}
	return printAdminDeal(e, c, d)
}

func runAdminMeetingCreate(ctx context.Context, e *env, conn *adminConn, cmd adminCommand, args []string) error {
	fs := adminFlagSet(e, cmd,
		"Start a meeting on the server, which participants join over WebRTC (the join link) or WHIP,\n"+
			"and print its id and links: overlay (watch it live), join (send it your audio from a\n"+
			"browser) and whip (for OBS or GStreamer; see docs/join.md).")
	title := fs.String("title", "", "the meeting's title")
	deal := fs.String("deal", "", "the deal the meeting belongs to (default: none)")
	if _, err := adminParse(fs, conn, args, 0, ""); err != nil {
		return err
	}
	if err := adminRequire(cmd.name, [2]string{"title", *title}); err != nil {
		return err
	}
	body := map[string]string{"title": *title}
	what := "meeting"
	if *deal != "" {
		body["deal"] = *deal
		what = fmt.Sprintf("deal %q", *deal)
	}
	c, err := conn.client(e)
	if err != nil {
		return err
	}
	defer c.close()
	var m adminMeeting
	if err := c.call(ctx, http.MethodPost, "/meetings", body, &m, what, nil); err != nil {
		return err
	}
	id, err := c.adminValue("meeting id", m.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "id: %s\noverlay: %s\njoin: %s\nwhip: %s\n", id, adminPrintable(m.Overlay), adminPrintable(m.Join), adminPrintable(m.WHIP))
	return nil
}

func runAdminMeetingList(ctx context.Context, e *env, conn *adminConn, cmd adminCommand, args []string) error {
	fs := adminFlagSet(e, cmd,
		"List the meetings the token may see, newest first: its organisation's, and those of the\n"+
			"deals its organisation owns or that are shared with it. json has their links too.")
	format := adminFormat(fs)
	if _, err := adminParse(fs, conn, args, 0, ""); err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	var ms []adminMeeting
	return adminList(ctx, e, conn, "/meetings", "", *format, &ms, func(tw io.Writer) {
		fmt.Fprintln(tw, "ID\tTITLE\tDEAL\tSTARTED\tSTATE\tEVENTS")
		for _, m := range ms {
			adminRow(tw, m.ID, m.Title, m.Deal, adminTime(m.StartedAt), m.State, fmt.Sprint(m.LastSeq))
		}
	})
}

// adminList GETs a listing into out and prints it: as a table written by table, or, for json, as
// the server sent it (indented).
func adminList(ctx context.Context, e *env, conn *adminConn, path, what, format string, out any, table func(io.Writer)) error {
	c, err := conn.client(e)
	if err != nil {
		return err
	}
	defer c.close()
	var raw []byte
	if err := c.call(ctx, http.MethodGet, path, nil, out, what, &raw); err != nil {
		return err
	}
	if format == "json" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := e.stdout.Write(buf.Bytes())
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// adminRow writes one table row of server values, made printable; "-" stands for an empty one.
func adminRow(w io.Writer, cells ...string) {
	for i, c := range cells {
		c = adminPrintable(c)
		if c == "" {
			c = "-"
		}
		if i > 0 {
			fmt.Fprint(w, "\t")
		}
		fmt.Fprint(w, c)
	}
	fmt.Fprintln(w)
}

// adminTime shows a time from the server to the second, as RFC 3339; what does not parse as one
// is shown as it came.
func adminTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return adminPrintable(s)
	}
	return t.Truncate(time.Second).Format(time.RFC3339)
}
