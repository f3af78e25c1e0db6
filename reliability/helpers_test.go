package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ledgerline/ledgerline/ledger"
)

// soak is set by `make soak` (LEDGERLINE_SOAK=1): each check runs its longer version, and the
// figures of every check are printed as a table once they have run.
var soak = os.Getenv("LEDGERLINE_SOAK") != ""

// size returns n, or inSoak under `make soak`.
func size(n, inSoak int) int {
	if soak {
		return inSoak
	}
	return n
}

// skipShort skips a check under -short: each puts load on the machine for seconds.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("a reliability check under load: run without -short (make test, make soak)")
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	removeBuilt()
	if soak {
		printFigures(os.Stdout)
	}
	os.Exit(code)
}

// figures are what one check measured, for the soak's table. Zero fields are not shown.
type figures struct {
	check   string
	viewers int           // clients served at once
	events  int           // events delivered (to every viewer together) or stored
	rate    float64       // events delivered per second
	p99     time.Duration // 99th percentile of an event's delivery: appended to received
	peak    uint64        // peak resident memory, bytes
	note    string
}

var table struct {
	sync.Mutex
	rows []figures
}

// report logs what a check measured and keeps it for the soak's table.
func report(t *testing.T, f figures) {
	t.Helper()
	f.check = strings.TrimPrefix(t.Name(), "Test")
	t.Logf("figures: viewers %s, events %s, %s events/s, p99 delivery %s, peak memory %s; %s",
		count(f.viewers), count(f.events), perSecond(f.rate), duration(f.p99), mib(f.peak), f.note)
	table.Lock()
	defer table.Unlock()
	table.rows = append(table.rows, f)
}

func printFigures(w io.Writer) {
	table.Lock()
	defer table.Unlock()
	if len(table.rows) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "check\tviewers\tevents\tevents/s\tp99 delivery\tpeak memory\t\tnote")
	for _, f := range table.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\t%s\n", f.check, count(f.viewers), count(f.events),
			perSecond(f.rate), duration(f.p99), mib(f.peak), f.note)
	}
	_ = tw.Flush()
}

func count(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func perSecond(r float64) string {
	if r == 0 {
		return "-"
	}
	return strconv.FormatFloat(r, 'f', 0, 64)
}

func duration(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(100 * time.Microsecond).String()
}

func mib(b uint64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

// p99 returns the 99th percentile of ds (sorted in place), 0 for none.
func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[(len(ds)*99+99)/100-1]
}

// watchMemory starts measuring this process's peak resident memory and returns what reads it.
// Linux lets a process reset its peak (clear_refs); elsewhere, or where that is refused, the peak
// read is the process's since it started, and 0 where it cannot be read at all.
func watchMemory() func() uint64 {
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	return func() uint64 { return peakRSS("self") }
}

// peakRSS returns the peak resident memory of a process ("self" or a pid), 0 when unknown.
func peakRSS(pid string) uint64 {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
	}
}

// openStore opens a SQLite store in the test's directory, closed at its end.
func openStore(t *testing.T) *ledger.SQLiteStore {
	t.Helper()
	store, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledgerline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// clientAddr is the i-th of the loopback addresses clients connect from, so that a crowd is many
// clients to the server's per-address cap rather than one (Linux routes all of 127/8 to lo).
func clientAddr(i int) net.IP { return net.IPv4(127, 1, byte(i>>8), byte(i)) }

// dialerFrom returns a dialer whose connections come from ip.
func dialerFrom(ip net.IP) *net.Dialer {
	return &net.Dialer{Timeout: 30 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}
}

// wsURL turns an http(s) base and path into the socket's URL.
func wsURL(base, path string) string {
	return "ws" + strings.TrimPrefix(base, "http") + path
}

// seqOf reads an event's seq from a socket message without decoding the rest: hundreds of viewers
// in one process decoding every event would starve the server they test.
func seqOf(data []byte) (int64, error) {
	key := []byte(`"seq":`)
	i := bytes.Index(data, key)
	if i < 0 {
		return 0, fmt.Errorf("no seq in %.80s", data)
	}
	var seq int64
	for _, b := range data[i+len(key):] {
		if b < '0' || b > '9' {
			break
		}
		seq = seq*10 + int64(b-'0')
	}
	return seq, nil
}

// readEvent reads and decodes one event from a viewer's socket, waiting at most wait.
func readEvent(c *websocket.Conn, wait time.Duration) (ledger.Event, error) {
	if err := c.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return ledger.Event{}, err
	}
	_, data, err := c.ReadMessage()
	if err != nil {
		return ledger.Event{}, err
	}
	var e ledger.Event
	if err := json.Unmarshal(data, &e); err != nil {
		return ledger.Event{}, fmt.Errorf("event %.120s: %w", data, err)
	}
	return e, nil
}

// request sends a request and returns its status and body; a request that fails fails the test.
func request(t *testing.T, client *http.Client, method, url, contentType, body string, header map[string]string) (int, string) {
	t.Helper()
	code, b, err := do(client, method, url, contentType, body, header)
	if err != nil {
		t.Fatal(err)
	}
	return code, b
}

// do sends a request and returns its status and body.
func do(client *http.Client, method, url, contentType, body string, header map[string]string) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", method, redact(url), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// redact cuts the token off a link for the test's messages.
func redact(link string) string {
	if i := strings.Index(link, "t="); i >= 0 {
		return link[:i] + "t=…"
	}
	return link
}

// sameEvent reports whether two events are the same but for what the wire leaves out.
func sameEvent(a, b ledger.Event) bool {
	aj, errA := json.Marshal(a)
	bj, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(aj, bj)
}

// lockedLines collects a process's output lines while a test reads them.
type lockedLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLines) copyFrom(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.b.WriteString(sc.Text() + "\n")
		l.mu.Unlock()
	}
}

func (l *lockedLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// background is a context for a check's requests, bounded so that nothing outlives a stuck test.
func background(t *testing.T, limit time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	return ctx
}
