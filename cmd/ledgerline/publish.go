package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/ledger"
)

// runPublish pushes a recording to a meeting over WHIP, as one participant:
// the same path a browser on the join page or OBS takes.
func runPublish(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "publish", "publish FILE --url http://HOST:PORT/whip/MEETING [--token T] [--name NAME --org ORG] [--speed 1|2|max]")
	endpoint := fs.String("url", "", "the meeting's WHIP endpoint: http://HOST:PORT/whip/MEETING")
	token := fs.String("token", os.Getenv("LEDGERLINE_TOKEN"), "the meeting's access token (default $LEDGERLINE_TOKEN)")
	channel := fs.String("channel", "", "channel name (letters, digits, '.', '_', '-'; default: derived from --name)")
	name := fs.String("name", "", "the participant's display name")
	org := fs.String("org", "other", "the participant's side in the deal: "+ledger.RoleChoices)
	speed := speedFlag(fs)
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 || *endpoint == "" || *token == "" {
		fs.Usage()
		return fmt.Errorf("%w: give one WAV file, --url and --token", errUsage)
	}
	role, err := parseRole("org", *org)
	if err != nil {
		return err
	}
	if *name, err = checkName("name", *name); err != nil {
		return err
	}
	u, err := url.Parse(*endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%w: --url %q is not an http(s) URL", errUsage, *endpoint)
	}
	q := u.Query()
	if *name != "" {
		q.Set("name", *name)
	}
	q.Set("org", string(role))
	u.RawQuery = q.Encode()
	ch := *channel
	if ch == "" {
		ch = channelFor(*name)
	}
	sent, err := ingest.PublishWAV(ctx, u.String(), *token, files[0], ingest.PublishOptions{Channel: ch, Speed: speed.rate, Logger: e.log})
	if err != nil {
		return err
	}
	as := ""
	if *name != "" {
		as = " as " + strconv.Quote(*name)
	}
	if ch != "" {
		as += " on channel " + ch
	}
	fmt.Fprintf(e.stdout, "published %.1f s of %s to meeting %s%s\n", sent.Seconds(), filepath.Base(files[0]), path.Base(u.Path), as)
	return nil
}

// channelFor turns a display name into a channel name the endpoint accepts.
func channelFor(name string) string {
	out := make([]rune, 0, len(name))
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			out = append(out, r)
		case r >= 'A' && r <= 'Z':
			out = append(out, r+'a'-'A')
		case r == ' ':
			out = append(out, '-')
		}
	}
	if len(out) == 0 {
		return ""
	}
	return string(out[:min(len(out), 64)])
}
