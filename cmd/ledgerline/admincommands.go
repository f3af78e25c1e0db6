package main

// The subcommands of 'ledgerline admin': one function each, from flags to one request and its
// answer printed.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

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
	id := fs.String("id", "", "a short ID for the deal, which its page's link carries (1-128 letters, digits, '.', '_', '~' or '-')")
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
	if given(fs, "partner-level") && *partner == "" {
		return fmt.Errorf("%w: --partner-level says what the partner may do: name the partner with --partner-org too", errUsage)
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
