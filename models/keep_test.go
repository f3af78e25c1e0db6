package models

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeUserFile puts a file that is not the published model at the model's place in the cache.
func writeUserFile(t *testing.T, c *Cache, ms *modelServer) (string, []byte) {
	t.Helper()
	path := c.Path("test")
	mine := append([]byte(nil), ms.data...)
	mine[100] ^= 1
	if err := os.WriteFile(path, mine, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, mine
}

// asideFiles lists the files renamed aside next to path.
func asideFiles(t *testing.T, path string) []string {
	t.Helper()
	found, err := filepath.Glob(path + userSuffix + "*")
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestPullKeepsUserFileAside(t *testing.T) {
	ms, srv := newModelServer(t, 20_000)
	c := &Cache{Dir: t.TempDir()}
	path, mine := writeUserFile(t, c, ms)
	var notices []string
	got, err := c.Pull(context.Background(), ms.model(), PullOptions{BaseURL: srv.URL,
		Notice: func(msg string) { notices = append(notices, msg) }})
	if err != nil {
		t.Fatal(err)
	}
	if got != path || !bytes.Equal(readFile(t, path), ms.data) {
		t.Fatalf("Pull = %s; the published model is not in place", got)
	}
	aside := asideFiles(t, path)
	if len(aside) != 1 {
		t.Fatalf("files kept aside: %v, want one", aside)
	}
	if !bytes.Equal(readFile(t, aside[0]), mine) {
		t.Error("the file kept aside is not the user's file")
	}
	if len(notices) != 2 || !strings.Contains(notices[0], "not the published") || !strings.Contains(notices[1], aside[0]) {
		t.Errorf("notices %q: want one before the download and one naming %s", notices, aside[0])
	}
	// The model now in place is verified and kept; the file aside is not looked at again.
	if _, err := c.Pull(context.Background(), ms.model(), PullOptions{BaseURL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	if n, _ := ms.stats(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if again := asideFiles(t, path); len(again) != 1 {
		t.Errorf("files kept aside after a second pull: %v", again)
	}
}

func TestPullOfflineLeavesUserFile(t *testing.T) {
	ms, _ := newModelServer(t, 20_000)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := &Cache{Dir: t.TempDir()}
	path, mine := writeUserFile(t, c, ms)
	var notices []string
	_, err = c.Pull(context.Background(), ms.model(), PullOptions{BaseURL: "http://" + addr,
		Notice: func(msg string) { notices = append(notices, msg) }})
	if !errors.Is(err, ErrOffline) {
		t.Fatalf("err = %v, want ErrOffline", err)
	}
	if !strings.Contains(err.Error(), path+", which is not the published model, was left where it was") {
		t.Errorf("error does not say the user's file was left alone: %v", err)
	}
	if !bytes.Equal(readFile(t, path), mine) {
		t.Error("the user's file was changed or removed")
	}
	if aside := asideFiles(t, path); len(aside) != 0 {
		t.Errorf("files renamed aside while offline: %v", aside)
	}
	if len(notices) != 1 {
		t.Errorf("notices %q: want the one saying the file is kept", notices)
	}
}

func TestPullBadDownloadLeavesUserFile(t *testing.T) {
	ms, srv := newModelServer(t, 20_000)
	c := &Cache{Dir: t.TempDir()}
	path, mine := writeUserFile(t, c, ms)
	m := ms.model()
	m.SHA1 = strings.Repeat("0", 40)
	_, err := c.Pull(context.Background(), m, PullOptions{BaseURL: srv.URL})
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
	if !bytes.Equal(readFile(t, path), mine) {
		t.Error("the user's file was changed or removed by a download that failed its check")
	}
	if aside := asideFiles(t, path); len(aside) != 0 {
		t.Errorf("files renamed aside for a failed download: %v", aside)
	}
}

// offlineURL is a model host that refuses connections, as one does on a machine without internet.
func offlineURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// With KeepExisting (what 'make run' asks), a file of the user's own at the model's place is the
// model: it is used as it is, nothing is requested, renamed or removed, online or offline.
func TestPullKeepExistingUsesUserFile(t *testing.T) {
	ms, srv := newModelServer(t, 20_000)
	for _, host := range []struct{ name, url string }{{"online", srv.URL}, {"offline", offlineURL(t)}} {
		t.Run(host.name, func(t *testing.T) {
			c := &Cache{Dir: t.TempDir()}
			path, mine := writeUserFile(t, c, ms)
			var notices []string
			got, err := c.Pull(context.Background(), ms.model(), PullOptions{BaseURL: host.url, KeepExisting: true,
				Notice: func(msg string) { notices = append(notices, msg) }})
			if err != nil || got != path {
				t.Fatalf("Pull = %q, %v; want %s, the user's file", got, err, path)
			}
			if !bytes.Equal(readFile(t, path), mine) {
				t.Error("the user's file was changed")
			}
			entries, err := os.ReadDir(c.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("cache holds %v; want the user's file alone (nothing aside, no partial download)", entries)
			}
			if len(notices) != 1 || !strings.Contains(notices[0], path+" is not the published test model") ||
				!strings.Contains(notices[0], "used as it is") {
				t.Errorf("notices %q: want one saying the file is used as it is", notices)
			}
		})
	}
	if n, _ := ms.stats(); n != 0 {
		t.Errorf("%d requests to the model host, want none", n)
	}
}

// The published model already in the cache is used offline with KeepExisting too, without a word.
func TestPullKeepExistingUsesPublishedFileOffline(t *testing.T) {
	ms, _ := newModelServer(t, 20_000)
	c := &Cache{Dir: t.TempDir()}
	path := c.Path("test")
	if err := os.WriteFile(path, ms.data, 0o644); err != nil {
		t.Fatal(err)
	}
	var notices []string
	got, err := c.Pull(context.Background(), ms.model(), PullOptions{BaseURL: offlineURL(t), KeepExisting: true,
		Notice: func(msg string) { notices = append(notices, msg) }})
	if err != nil || got != path || len(notices) != 0 {
		t.Fatalf("Pull = %q, %v, notices %q; want %s and no notice", got, err, notices, path)
	}
	if !bytes.Equal(readFile(t, path), ms.data) {
		t.Error("the model was changed")
	}
}
