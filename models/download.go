package models

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// EnvModelURL names the environment variable that replaces the host models
// are downloaded from: a mirror serving the same file names.
const EnvModelURL = "LEDGERLINE_MODEL_URL"

var (
	// ErrChecksum means a model file does not have the SHA-1 or length it
	// should; the bad file has been removed.
	ErrChecksum = errors.New("model file checksum mismatch")
	// ErrOffline means the model host could not be reached at all.
	ErrOffline = errors.New("model host unreachable")
)

// stallTimeout ends a download that receives nothing for this long; the
// partial file is kept for the next pull.
const stallTimeout = 60 * time.Second

var errStalled = errors.New("no data received for a minute")

// errRestart asks Pull to discard the partial file and download from the
// start once more.
var errRestart = errors.New("restart download")

// PullOptions tunes a download. The zero value downloads from the model's
// own URL with a default client and reports no progress.
type PullOptions struct {
	// BaseURL replaces the host and directory of the model's URL: the file
	// is fetched from BaseURL + "/" + Model.File. Empty means $LEDGERLINE_MODEL_URL,
	// and when that is unset too, the model's URL.
	BaseURL string
	// Client makes the requests; nil means a client with connect and header
	// timeouts but no overall limit, as models take minutes to download.
	Client *http.Client
	// Progress, when set, is called from Pull's goroutine as bytes arrive,
	// with the bytes in the file so far and the expected total (the server's
	// length, else the catalogue's estimate, else -1).
	Progress func(done, total int64)
	// Notice, when set, is told what Pull does to files it did not make, such
	// as a file at the model's place that is not the model and is renamed aside.
	Notice func(msg string)
	// KeepExisting uses a file already at the model's place as it is, even when
	// it is not the published model (the user's own, say): Pull returns its
	// path, says so through Notice, and makes no request. Only a model that is
	// not there at all is downloaded.
	KeepExisting bool
}

func (o PullOptions) notify(format string, args ...any) {
	if o.Notice != nil {
		o.Notice(fmt.Sprintf(format, args...))
	}
}

func newDefaultClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   20 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		IdleConnTimeout:       30 * time.Second,
	}}
}

// Pull makes sure model m is in the cache, complete and verified, and returns
// its path. A file already there is verified (once; a stamp records it) and
// kept without any request. Otherwise the file is downloaded to NAME.bin.part,
// resuming a previous partial download with an HTTP range request, checked
// against the SHA-1 and the length the server announced, synced to disk and
// renamed into place.
//
// A download that fails the check is removed and the error wraps ErrChecksum.
// A file already at the model's place that is not the model is never removed:
// it stays there when the download fails, and is renamed to
// NAME.bin.user-TIMESTAMP once the download is complete; with
// opt.KeepExisting it is used instead, and nothing is downloaded. A
// host that cannot be reached gives an error wrapping ErrOffline. When ctx is
// cancelled or the connection breaks, the partial file is kept and the next
// Pull resumes it.
func (c *Cache) Pull(ctx context.Context, m Model, opt PullOptions) (string, error) {
	if m.File == "" || m.File != filepath.Base(m.File) {
		return "", fmt.Errorf("pull model %q: invalid file name %q", m.Name, m.File)
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", fmt.Errorf("create model cache %s: %w; set %s to a writable directory", c.Dir, err, EnvModelsDir)
	}
	path := filepath.Join(c.Dir, m.File)
	ok, foreign, err := checkExisting(path, m)
	if err != nil {
		return "", err
	}
	if ok {
		return path, nil
	}
	if foreign && opt.KeepExisting {
		opt.notify("%s is not the published %s model (its checksum differs): it is used as it is; 'ledgerline models pull %s' downloads the published one and keeps this file aside",
			path, m.Name, m.Name)
		return path, nil
	}
	if foreign {
		// The file may be the user's own (a fine-tune, a quantised copy): it
		// stays where it is until the published model has fully arrived, so
		// that a pull that fails, offline above all, leaves it untouched.
		opt.notify("%s is not the published %s model (its checksum differs): it is kept, and renamed aside once the download has completed", path, m.Name)
		p, err := c.pull(ctx, m, opt, path)
		if err != nil {
			return "", fmt.Errorf("%w; the file already at %s, which is not the published model, was left where it was", err, path)
		}
		return p, nil
	}
	return c.pull(ctx, m, opt, path)
}

// pull downloads model m to path; a file already at path is renamed aside
// just before the download takes its place.
func (c *Cache) pull(ctx context.Context, m Model, opt PullOptions, path string) (string, error) {

	src, err := sourceURL(m, opt.BaseURL)
	if err != nil {
		return "", err
	}
	client := opt.Client
	if client == nil {
		client = newDefaultClient()
		defer client.CloseIdleConnections()
	}
	d := &download{
		ctx: ctx, client: client, url: src, model: m, path: path,
		part: path + partSuffix, progress: opt.Progress,
	}
	sum, err := d.run()
	if errors.Is(err, errRestart) {
		sum, err = d.run()
		if errors.Is(err, errRestart) {
			err = fmt.Errorf("download model %s from %s: the server keeps answering with the wrong byte range; try again later", m.Name, src)
		}
	}
	if err != nil {
		return "", err
	}
	if m.SHA1 != "" && !strings.EqualFold(sum, m.SHA1) {
		if rmErr := os.Remove(d.part); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			return "", fmt.Errorf("remove bad download %s: %w", d.part, rmErr)
		}
		return "", fmt.Errorf("download model %s from %s: %w: got SHA-1 %s, want %s; the file was removed, run the pull again, and if it fails again the server holds a different file",
			m.Name, src, ErrChecksum, sum, m.SHA1)
	}
	if err := keepAside(path, opt); err != nil {
		return "", err
	}
	if err := os.Rename(d.part, path); err != nil {
		return "", fmt.Errorf("move model %s into place: %w", m.Name, err)
	}
	if err := syncDir(c.Dir); err != nil {
		return "", err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("stat model %s: %w", path, err)
	}
	if err := writeStamp(path, fi, sum); err != nil {
		return "", err
	}
	return path, nil
}

// checkExisting reports whether a valid model file is already at path, and
// whether a file that is not the model (foreign) is there instead. Such a file
// is left alone: it may be one the user put there.
func checkExisting(path string, m Model) (ok, foreign bool, err error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("check model %s: %w", path, err)
	case !fi.Mode().IsRegular():
		return false, false, fmt.Errorf("check model %s: not a regular file; remove it and pull again", path)
	}
	if stampValid(path, fi, m) {
		return true, false, nil
	}
	sum, err := fileSHA1(path)
	if err != nil {
		return false, false, err
	}
	if sumAcceptable(sum, fi.Size(), m) {
		return true, false, writeStamp(path, fi, sum)
	}
	return false, true, nil
}

// userSuffix marks a file renamed aside to make room for a downloaded model.
const userSuffix = ".user-"

// keepAside renames a file at path, which is not the model about to take its
// place, to path.user-TIMESTAMP, and says so. Nothing there is nothing to do.
func keepAside(path string, opt PullOptions) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("check model %s: %w", path, err)
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	aside := path + userSuffix + stamp
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s%s%s-%d", path, userSuffix, stamp, i)
	}
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("keep %s aside as %s before putting the downloaded model there: %w", path, aside, err)
	}
	// Its stamp described the file now aside, never the download.
	if err := os.Remove(path + stampSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale stamp %s: %w", path+stampSuffix, err)
	}
	opt.notify("kept the file that was at %s as %s", path, aside)
	return nil
}

// sumAcceptable decides whether a file found in the cache without a stamp is
// model m. Without a published SHA-1 only the size can be judged, and only
// against the catalogue's estimate: a file within a tenth of it is accepted.
func sumAcceptable(sum string, size int64, m Model) bool {
	if m.SHA1 != "" {
		return strings.EqualFold(sum, m.SHA1)
	}
	if m.Size <= 0 {
		return size > 0
	}
	diff := size - m.Size
	if diff < 0 {
		diff = -diff
	}
	return diff <= m.Size/10
}

func fileSHA1(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("verify model %s: %w", path, err)
	}
	defer f.Close()
	h := sha1.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("verify model %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func sourceURL(m Model, base string) (string, error) {
	if base == "" {
		base = os.Getenv(EnvModelURL)
	}
	if base == "" {
		if m.URL == "" {
			return "", fmt.Errorf("pull model %s: no download address; set %s to a mirror", m.Name, EnvModelURL)
		}
		return m.URL, nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("model mirror %q is not an http(s) URL: fix %s or the base URL given", base, EnvModelURL)
	}
	return strings.TrimRight(base, "/") + "/" + m.File, nil
}

// download is one attempt at filling the partial file.
type download struct {
	ctx      context.Context
	client   *http.Client
	url      string
	model    Model
	path     string
	part     string
	progress func(done, total int64)
}

// run fetches what the partial file lacks and returns the SHA-1 of the
// complete partial file, synced to disk.
func (d *download) run() (string, error) {
	f, err := os.OpenFile(d.part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", fmt.Errorf("open partial download %s: %w", d.part, err)
	}
	defer f.Close()
	h := sha1.New()
	have, err := io.Copy(h, f)
	if err != nil {
		return "", fmt.Errorf("read partial download %s: %w", d.part, err)
	}

	ctx, cancel := context.WithCancelCause(d.ctx)
	defer cancel(nil)
	stall := time.AfterFunc(stallTimeout, func() { cancel(errStalled) })
	defer stall.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return "", fmt.Errorf("download model %s: bad URL %s: %w", d.model.Name, d.url, err)
	}
	req.Header.Set("User-Agent", "ledgerline")
	// Identity encoding keeps byte offsets the same on the wire and on disk.
	req.Header.Set("Accept-Encoding", "identity")
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return "", d.failure(ctx, err, have)
	}
	defer resp.Body.Close()

	total := int64(-1)
	switch resp.StatusCode {
	case http.StatusOK:
		if have > 0 {
			// The server ignored the range: start over from its first byte.
			if err := restart(f, h); err != nil {
				return "", err
			}
			have = 0
		}
		total = resp.ContentLength
	case http.StatusPartialContent:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return "", d.discard(f)
		}
		total = size
	case http.StatusRequestedRangeNotSatisfiable:
		// Usually the partial file is already complete.
		_, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || size != have || have == 0 {
			return "", d.discard(f)
		}
		return d.finish(f, h, have, size)
	default:
		return "", d.statusError(resp)
	}

	estimate := total
	if estimate < 0 && d.model.Size > 0 {
		estimate = d.model.Size
	}
	d.report(have, estimate)
	buf := make([]byte, 256<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			stall.Reset(stallTimeout)
			if _, err := f.Write(buf[:n]); err != nil {
				return "", fmt.Errorf("write %s: %w; free some disk space and pull again to resume", d.part, err)
			}
			h.Write(buf[:n])
			have += int64(n)
			d.report(have, estimate)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", d.failure(ctx, rerr, have)
		}
	}
	return d.finish(f, h, have, total)
}

func (d *download) report(done, total int64) {
	if d.progress != nil {
		d.progress(done, total)
	}
}

// finish checks the length, syncs the partial file and returns its SHA-1.
func (d *download) finish(f *os.File, h hash.Hash, have, total int64) (string, error) {
	if total >= 0 && have != total {
		if have > total {
			if err := d.removePart(f); err != nil {
				return "", err
			}
			return "", fmt.Errorf("download model %s from %s: %w: got %d bytes, the server announced %d; the file was removed, pull again",
				d.model.Name, d.url, ErrChecksum, have, total)
		}
		return "", fmt.Errorf("download model %s from %s: connection closed after %d of %d bytes; pull again to resume",
			d.model.Name, d.url, have, total)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("sync %s: %w", d.part, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close %s: %w", d.part, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// discard empties the partial file and asks for a fresh download.
func (d *download) discard(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("reset partial download %s: %w", d.part, err)
	}
	return errRestart
}

func (d *download) removePart(f *os.File) error {
	f.Close()
	if err := os.Remove(d.part); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove bad download %s: %w", d.part, err)
	}
	return nil
}

func restart(f *os.File, h hash.Hash) error {
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("reset partial download %s: %w", f.Name(), err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("reset partial download %s: %w", f.Name(), err)
	}
	h.Reset()
	return nil
}

// failure explains a request or transfer error; the partial file stays.
func (d *download) failure(ctx context.Context, err error, have int64) error {
	if cerr := d.ctx.Err(); cerr != nil {
		return fmt.Errorf("download model %s: %w; %d bytes are kept in %s and the next pull resumes from there",
			d.model.Name, cerr, have, d.part)
	}
	if errors.Is(context.Cause(ctx), errStalled) {
		return fmt.Errorf("download model %s from %s: %w; pull again to resume", d.model.Name, d.url, errStalled)
	}
	if isOffline(err) {
		return fmt.Errorf("download model %s: %w: %w; download %s on a machine that is online and pass --model FILE, or copy it to %s",
			d.model.Name, ErrOffline, err, d.url, d.path)
	}
	return fmt.Errorf("download model %s from %s: transfer broke after %d bytes: %w; they are kept in %s, pull again to resume",
		d.model.Name, d.url, have, err, d.part)
}

func (d *download) statusError(resp *http.Response) error {
	hint := "try again later"
	switch {
	case resp.StatusCode == http.StatusNotFound:
		hint = "the server has no such file; check the model name, or the mirror in " + EnvModelURL
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		hint = "the server refused access; download the file by hand and pass --model FILE"
	case resp.StatusCode < 500:
		hint = "download the file by hand and pass --model FILE"
	}
	return fmt.Errorf("download model %s: GET %s: server answered %s; %s", d.model.Name, d.url, resp.Status, hint)
}

// parseContentRange reads "bytes START-END/SIZE" or "bytes */SIZE"; start is
// -1 in the second form and size -1 when the server gives "*".
func parseContentRange(v string) (start, size int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !found {
		return 0, 0, false
	}
	span, total, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	size = -1
	if total != "*" {
		n, err := strconv.ParseInt(total, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		size = n
	}
	if span == "*" {
		return -1, size, true
	}
	first, last, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, false
	}
	s, err1 := strconv.ParseInt(first, 10, 64)
	e, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || s < 0 || e < s || (size >= 0 && e >= size) {
		return 0, 0, false
	}
	return s, size, true
}

// isOffline reports failures to reach the host at all, as opposed to errors
// from a host that answered.
func isOffline(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && (opErr.Op == "dial" || opErr.Op == "proxyconnect") {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.EHOSTUNREACH)
}

// syncDir makes a rename in dir durable. Windows cannot sync a directory and
// needs no such step.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync model cache %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync model cache %s: %w", dir, err)
	}
	return nil
}
