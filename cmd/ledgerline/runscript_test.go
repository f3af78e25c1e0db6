package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/models"
)

// runScriptBin writes an executable that is ledgerline (this test binary, in the role its
// TestMain gives it) for scripts/run.sh, except that it finds no audio device, so that `make run`
// plays the sample call on any machine.
func runScriptBin(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "ledgerline")
	script := fmt.Sprintf("#!/bin/sh\ncase $1 in devices) exit 1;; esac\n%s=1 exec '%s' \"$@\"\n", childEnv, exe)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// unreachableHost is a model host that refuses connections, as one does on a machine without
// internet.
func unreachableHost(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// makeRunOffline runs scripts/run.sh ('make run') with the models in cache and no model host to
// reach, until it prints the overlay link or ends; it returns what it wrote on stderr then, and
// whether it served. The run is interrupted, as Ctrl-C does, before it returns.
func makeRunOffline(t *testing.T, cache string) (string, bool) {
	t.Helper()
	cmd := exec.Command("bash", "scripts/run.sh", runScriptBin(t), "base")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), models.EnvModelsDir+"="+cache, models.EnvModelURL+"="+unreachableHost(t),
		"XDG_DATA_HOME="+t.TempDir(), "LISTEN=127.0.0.1:0", "LEDGERLINE_LOG=warn")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	overlay := make(chan bool, 1)
	go func() {
		r := bufio.NewReader(stdout)
		served := false
		for {
			line, err := r.ReadString('\n')
			if strings.HasPrefix(line, "overlay: ") && !served {
				served = true
				overlay <- true
			}
			if err != nil {
				break
			}
		}
		if !served {
			overlay <- false
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var served bool
	select {
	case served = <-overlay:
	case <-time.After(2 * time.Minute):
		t.Error("make run printed no overlay link in two minutes")
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Errorf("make run did not stop on interrupt: %s", stderr.String())
	}
	return stderr.String(), served
}

// Offline, `make run` with a model file the user put in the cache (one that is not the published
// model) uses it: it starts the call on it, says which file it uses, and leaves it where it is,
// unchanged, with nothing renamed aside.
func TestRunScriptOfflineUsesTheUsersModel(t *testing.T) {
	cache := t.TempDir()
	mine, err := os.ReadFile(testModel(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cache, "ggml-base.bin")
	if err := os.WriteFile(path, mine, 0o644); err != nil {
		t.Fatal(err)
	}
	errOut, served := makeRunOffline(t, cache)
	if !served {
		t.Fatalf("make run did not start: %s", errOut)
	}
	for _, want := range []string{"Using the speech model " + path, path + " is not the published base model", "used as it is"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("make run did not say %q: %s", want, errOut)
		}
	}
	if strings.Contains(errOut, "could not be downloaded") || strings.Contains(errOut, "reference transcript") {
		t.Errorf("make run fell back to the demo: %s", errOut)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, mine) {
		t.Fatalf("the user's model file was changed or removed (%v)", err)
	}
	entries, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	// Beside it, only the speech detector's weights, which run converts into the cache.
	var others []string
	for _, e := range entries {
		if e.Name() != filepath.Base(path) && e.Name() != models.SileroConverted {
			others = append(others, e.Name())
		}
	}
	if len(others) != 0 {
		t.Errorf("the cache holds %v beside the user's file; want nothing renamed aside", others)
	}
}

// Offline, `make run` with the published model already in the cache uses it, saying which file.
func TestRunScriptOfflineUsesTheCachedModel(t *testing.T) {
	cache := t.TempDir()
	path := filepath.Join(cache, "ggml-base.bin")
	data, err := os.ReadFile(testModel(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// The stamp 'models pull' leaves beside a model it verified: this file passes for the
	// published one, as a real download would.
	base, err := models.Lookup("base")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	stamp := fmt.Sprintf("%s %d %d\n", base.SHA1, fi.Size(), fi.ModTime().UnixNano())
	if err := os.WriteFile(path+".sha1", []byte(stamp), 0o644); err != nil {
		t.Fatal(err)
	}
	errOut, served := makeRunOffline(t, cache)
	if !served || !strings.Contains(errOut, "Using the speech model "+path) || strings.Contains(errOut, "not the published") {
		t.Fatalf("make run: served %v, stderr %s; want it to start on %s, saying so", served, errOut, path)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the model file was changed or removed (%v)", err)
	}
}
