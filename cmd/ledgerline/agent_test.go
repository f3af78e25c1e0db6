package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
)

// runningAgent is `ledgerline run` (or another command that serves a meeting) started in-process
// by a test.
type runningAgent struct {
	base    string // http://host:port/m/MEETING
	token   string
	meeting string
	stderr  *lockedBuffer
	stop    context.CancelFunc
	done    chan int // the exit code, once run returns
}

// startAgent runs `ledgerline run args...` until stopped, and returns once
// it has printed the overlay link.
func startAgent(t testing.TB, args ...string) *runningAgent {
	t.Helper()
	return startServing(t, append([]string{"run"}, args...)...)
}

// startServing runs `ledgerline args...` until stopped, and returns once it
// has printed the overlay link.
func startServing(t testing.TB, args ...string) *runningAgent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	a := &runningAgent{stderr: &lockedBuffer{}, stop: cancel, done: make(chan int, 1)}
	go func() {
		code := run(ctx, args, strings.NewReader(""), pw, a.stderr)
		pw.Close()
		a.done <- code
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no overlay link: %v; %s", err, a.stderr.String())
	}
	go io.Copy(io.Discard, pr)
	link := strings.TrimSpace(strings.TrimPrefix(line, "overlay: "))
	a.base, a.token, _ = strings.Cut(link, "?t=")
	a.meeting = a.base[strings.LastIndex(a.base, "/")+1:]
	t.Cleanup(func() {
		cancel()
		<-a.done
	})
	return a
}

// socket is the overlay's WebSocket URL, resuming after seq since.
func (a *runningAgent) socket() string {
	return strings.Replace(a.base, "http://", "ws://", 1) + "/ws?t=" + a.token
}

// whip is the meeting's WHIP endpoint.
func (a *runningAgent) whip() string { return strings.Replace(a.base, "/m/", "/whip/", 1) }

// wait returns the exit code once run has returned by itself.
func (a *runningAgent) wait() int {
	code := <-a.done
	a.done <- code // for the cleanup
	return code
}

// end stops the agent and returns its exit code.
func (a *runningAgent) end() int {
	a.stop()
	return a.wait()
}

// lockedBuffer collects the agent's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
