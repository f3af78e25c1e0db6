package main

// The HTTP side of 'ledgerline admin': where it sends its requests, with which token, and how the
// server's answers and failures are told to the person who typed the command.

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
	"strings"
	"syscall"
	"unicode"
)

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
