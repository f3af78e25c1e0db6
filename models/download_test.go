package models

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// modelServer serves one generated model file with Range support and can
// misbehave in the ways a real host or network does.
type modelServer struct {
	data []byte

	mu          sync.Mutex
	requests    int
	ranges      []string // Range header of each request, "" when absent
	status      int      // answer every request with this status when set
	cutFirst    int      // first request: send this many bytes, then drop the connection
	ignoreRange bool     // always answer 200 with the whole file
	holdAt      int      // send this many bytes, then wait for the client to go away
}

func newModelServer(t *testing.T, size int) (*modelServer, *httptest.Server) {
	t.Helper()
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(uint64(size), 7))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	ms := &modelServer{data: data}
	srv := httptest.NewServer(ms)
	t.Cleanup(srv.Close)
	return ms, srv
}

func (ms *modelServer) model() Model {
	sum := sha1.Sum(ms.data)
	return Model{
		Name: "test", File: "ggml-test.bin", URL: "http://127.0.0.1:1/unused/ggml-test.bin",
		SHA1: hex.EncodeToString(sum[:]), Size: int64(len(ms.data)), Multilingual: true,
	}
}

func (ms *modelServer) stats() (int, []string) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.requests, append([]string(nil), ms.ranges...)
}

func (ms *modelServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ms.mu.Lock()
	ms.requests++
	first := ms.requests == 1
	ms.ranges = append(ms.ranges, r.Header.Get("Range"))
	status, cut, ignore, hold := ms.status, ms.cutFirst, ms.ignoreRange, ms.holdAt
	ms.mu.Unlock()

	if r.URL.Path != "/ggml-test.bin" {
		http.NotFound(w, r)
		return
	}
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	body := ms.data
	code := http.StatusOK
	if rng := r.Header.Get("Range"); rng != "" && !ignore {
		start, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rng, "bytes="), "-"))
		if err != nil || start < 0 {
			http.Error(w, "bad range", http.StatusBadRequest)
			return
		}
		if start >= len(ms.data) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(ms.data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(ms.data)-1, len(ms.data)))
		body = ms.data[start:]
		code = http.StatusPartialContent
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	rc := http.NewResponseController(w)
	switch {
	case first && cut > 0:
		w.Write(body[:cut])
		rc.Flush()
		conn, _, err := rc.Hijack()
		if err == nil {
			conn.Close()
		}
	case hold > 0:
		w.Write(body[:hold])
		rc.Flush()
		<-r.Context().Done()
	default:
		w.Write(body)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func assertNoFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s should not exist (stat error %v)", path, err)
	}
}

func TestPullDownloadsAndVerifies(t *testing.T) {
	ms, srv := newModelServer(t, 700_000)
	c := &Cache{Dir: filepath.Join(t.TempDir(), "models")}
	var lastDone, lastTotal int64
	calls := 0
	path, err := c.Pull(context.Background(), ms.model(), PullOptions{
		BaseURL:  srv.URL + "/",
		Progress: func(done, total int64) { calls++; lastDone, lastTotal = done, total },
	})
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(c.Dir, "ggml-test.bin") {
		t.Errorf("path = %s", path)
	}
	if !bytes.Equal(readFile(t, path), ms.data) {
		t.Error("downloaded file differs from the served one")
	}
	assertNoFile(t, path+partSuffix)
	if _, err := os.Stat(path + stampSuffix); err != nil {
		t.Errorf("no checksum stamp: %v", err)
	}
	if calls < 2 || lastDone != int64(len(ms.data)) || lastTotal != int64(len(ms.data)) {
		t.Errorf("progress: %d calls, last %d/%d", calls, lastDone, lastTotal)
	}
	if n, ranges := ms.stats(); n != 1 || ranges[0] != "" {
		t.Errorf("requests %d, ranges %q", n, ranges)
	}
}

func TestPullUsesMirrorFromEnvironment(t *testing.T) {
	ms, srv := newModelServer(t, 10_000)
	t.Setenv(EnvModelURL, srv.URL)
	c := &Cache{Dir: t.TempDir()}
	if _, err := c.Pull(context.Background(), ms.model(), PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, _ := ms.stats(); n != 1 {
		t.Errorf("mirror got %d requests", n)
	}
}

func TestPullResumesAfterCutConnection(t *testing.T) {
	ms, srv := newModelServer(t, 500_000)
	ms.cutFirst = 123_457
	c := &Cache{Dir: t.TempDir()}
	m := ms.model()
	opt := PullOptions{BaseURL: srv.URL, Client: srv.Client()}

	_, err := c.Pull(context.Background(), m, opt)
	if err == nil {
		t.Fatal("first pull succeeded over a cut connection")
	}
	if errors.Is(err, ErrOffline) || errors.Is(err, ErrChecksum) {
		t.Errorf("cut connection reported as %v", err)
	}
	part := c.Path("test") + partSuffix
	got := readFile(t, part)
	if len(got) != ms.cutFirst || !bytes.Equal(got, ms.data[:ms.cutFirst]) {
		t.Fatalf("partial file has %d bytes, want the first %d served", len(got), ms.cutFirst)
	}

	path, err := c.Pull(context.Background(), m, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, path), ms.data) {
		t.Error("resumed file differs from the served one")
	}
	assertNoFile(t, part)
	n, ranges := ms.stats()
	if n != 2 || ranges[1] != "bytes=123457-" {
		t.Errorf("requests %d, ranges %q; want a second request for bytes=123457-", n, ranges)
	}
}

func TestPullRestartsWhenServerIgnoresRange(t *testing.T) {
	ms, srv := newModelServer(t, 300_000)
	ms.ignoreRange = true
	c := &Cache{Dir: t.TempDir()}
	part := c.Path("test") + partSuffix
	if err := os.WriteFile(part, bytes.Repeat([]byte{0xAA}, 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := c.Pull(context.Background(), ms.model(), PullOptions{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, path), ms.data) {
		t.Error("file differs after the server restarted from byte 0")
	}
	if n, ranges := ms.stats(); n != 1 || ranges[0] != "bytes=5000-" {
		t.Errorf("requests %d, ranges %q", n, ranges)
	}
}

func TestPullCompletePartialGets416(t *testing.T) {
	ms, srv := newModelServer(t, 40_000)
	c := &Cache{Dir: t.TempDir()}
	if err := os.WriteFile(c.Path("test")+partSuffix, ms.data, 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := c.Pull(context.Background(), ms.model(), PullOptions{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, path), ms.data) {
		t.Error("file differs")
	}
	if n, ranges := ms.stats(); n != 1 || ranges[0] != "bytes=40000-" {
		t.Errorf("requests %d, ranges %q", n, ranges)
	}
}

func TestPullOversizedPartialRestarts(t *testing.T) {
	ms, srv := newModelServer(t, 40_000)
	c := &Cache{Dir: t.TempDir()}
	if err := os.WriteFile(c.Path("test")+partSuffix, make([]byte, 50_000), 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := c.Pull(context.Background(), ms.model(), PullOptions{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, path), ms.data) {
		t.Error("file differs")
	}
	if n, ranges := ms.stats(); n != 2 || ranges[0] != "bytes=50000-" || ranges[1] != "" {
		t.Errorf("requests %d, ranges %q; want a 416 then a full download", n, ranges)
	}
}

func TestPullChecksumMismatchRemovesFile(t *testing.T) {
	ms, srv := newModelServer(t, 64_000)
	m := ms.model()
	m.SHA1 = strings.Repeat("0", 40)
	c := &Cache{Dir: t.TempDir()}
	_, err := c.Pull(context.Background(), m, PullOptions{BaseURL: srv.URL})
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
	assertNoFile(t, c.Path("test"))
	assertNoFile(t, c.Path("test")+partSuffix)
	assertNoFile(t, c.Path("test")+stampSuffix)
}

func TestPullWithoutPublishedHashChecksLength(t *testing.T) {
	ms, srv := newModelServer(t, 64_000)
	m := ms.model()
	m.SHA1 = ""
	c := &Cache{Dir: t.TempDir()}
	path, err := c.Pull(context.Background(), m, PullOptions{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, path), ms.data) {
		t.Error("file differs")
	}
	// The stamp lets the next pull trust the file without a request.
	if _, err := c.Pull(context.Background(), m, PullOptions{BaseURL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	if n, _ := ms.stats(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestPullNotFound(t *testing.T) {
	ms, srv := newModelServer(t, 1000)
	ms.status = http.StatusNotFound
	c := &Cache{Dir: t.TempDir()}
	_, err := c.Pull(context.Background(), ms.model(), PullOptions{BaseURL: srv.URL})
	if err == nil {
		t.Fatal("pull of a missing file succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, srv.URL+"/ggml-test.bin") || !strings.Contains(msg, "404") {
		t.Errorf("error lacks URL or status: %s", msg)
	}
	if errors.Is(err, ErrOffline) {
		t.Error("a 404 is not offline")
	}
	assertNoFile(t, c.Path("test"))
}

func TestPullServerError(t *testing.T) {
	ms, srv := newModelServer(t, 1000)
	ms.status = http.StatusServiceUnavailable
	c := &Cache{Dir: t.TempDir()}
	_, err := c.Pull(context.Background(), ms.model(), PullOptions{BaseURL: srv.URL})
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "try again later") {
		t.Errorf("err = %v", err)
	}
}

func TestPullExistingFileMakesNoRequest(t *testing.T) {
	ms, srv := newModelServer(t, 20_000)
	c := &Cache{Dir: t.TempDir()}
	path := c.Path("test")
	if err := os.WriteFile(path, ms.data, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // unstamped, then stamped
		got, err := c.Pull(context.Background(), ms.model(), PullOptions{BaseURL: srv.URL})
		if err != nil || got != path {
			t.Fatalf("pull %d: %q, %v", i, got, err)
		}
	}
	if n, _ := ms.stats(); n != 0 {
		t.Errorf("%d requests for a model already present", n)
	}
	if _, err := os.Stat(path + stampSuffix); err != nil {
		t.Errorf("verified file not stamped: %v", err)
	}
}

func TestPullReplacesCorruptExistingFile(t *testing.T) {
	ms, srv := newModelServer(t, 20_000)
	c := &Cache{Dir: t.TempDir()}
	path := c.Path("test")
	bad := append([]byte(nil), ms.data...)
	bad[100] ^= 1
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pull(context.Background(), ms.model(), PullOptions{BaseURL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, path), ms.data) {
		t.Error("corrupt file was not replaced")
	}
	if n, _ := ms.stats(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestPullCancelKeepsPartial(t *testing.T) {
	ms, srv := newModelServer(t, 400_000)
	ms.holdAt = 100_000
	c := &Cache{Dir: t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := c.Pull(ctx, ms.model(), PullOptions{
		BaseURL: srv.URL,
		Progress: func(done, _ int64) {
			if done >= int64(ms.holdAt) {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	part := c.Path("test") + partSuffix
	if got := readFile(t, part); !bytes.Equal(got, ms.data[:ms.holdAt]) {
		t.Fatalf("partial file has %d bytes, want the %d received", len(got), ms.holdAt)
	}
	assertNoFile(t, c.Path("test"))

	ms.mu.Lock()
	ms.holdAt = 0
	ms.mu.Unlock()
	path, err := c.Pull(context.Background(), ms.model(), PullOptions{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, path), ms.data) {
		t.Error("resumed file differs")
	}
	if _, ranges := ms.stats(); ranges[len(ranges)-1] != "bytes=100000-" {
		t.Errorf("ranges %q", ranges)
	}
}

func TestPullOffline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m := Model{Name: "test", File: "ggml-test.bin", SHA1: strings.Repeat("a", 40), Size: 1}
	c := &Cache{Dir: t.TempDir()}
	_, err = c.Pull(context.Background(), m, PullOptions{BaseURL: "http://" + addr})
	if !errors.Is(err, ErrOffline) {
		t.Fatalf("err = %v, want ErrOffline", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "http://"+addr+"/ggml-test.bin") || !strings.Contains(msg, "--model FILE") {
		t.Errorf("offline error does not say where to get the file and how to pass it: %s", msg)
	}
	assertNoFile(t, c.Path("test"))
}

func TestPullRejectsBadMirror(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	m, _ := Lookup("tiny")
	if _, err := c.Pull(context.Background(), m, PullOptions{BaseURL: "ftp://mirror"}); err == nil {
		t.Error("ftp mirror accepted")
	}
}

func TestParseContentRange(t *testing.T) {
	cases := []struct {
		in          string
		start, size int64
		ok          bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-9/*", 0, -1, true},
		{"bytes */500", -1, 500, true},
		{"bytes 10-5/20", 0, 0, false},
		{"bytes 0-20/20", 0, 0, false},
		{"items 0-1/2", 0, 0, false},
		{"bytes 1-2", 0, 0, false},
	}
	for _, c := range cases {
		start, size, ok := parseContentRange(c.in)
		if ok != c.ok || (ok && (start != c.start || size != c.size)) {
			t.Errorf("parseContentRange(%q) = %d, %d, %v", c.in, start, size, ok)
		}
	}
}
