package server

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
)

// countingConn counts the writes that reach the network.
type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func TestBatchConnSendsWhatItHeldInOneWrite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	dialed, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer dialed.Close()
	peer, ok := <-accepted
	if !ok {
		t.Fatal("no connection accepted")
	}
	defer peer.Close()

	counted := &countingConn{Conn: dialed}
	b := &batchConn{Conn: counted}
	write := func(s string) {
		t.Helper()
		if n, err := b.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	read := func(n int) string {
		t.Helper()
		buf := make([]byte, n)
		if _, err := io.ReadFull(peer, buf); err != nil {
			t.Fatal(err)
		}
		return string(buf)
	}

	write("one")
	if got := read(3); got != "one" || counted.writes.Load() != 1 {
		t.Fatalf("not holding: read %q after %d writes, want \"one\" after 1", got, counted.writes.Load())
	}
	b.hold()
	write("two")
	write("three")
	if n := counted.writes.Load(); n != 1 {
		t.Fatalf("held writes reached the network: %d writes", n)
	}
	if err := b.send(); err != nil {
		t.Fatal(err)
	}
	if got := read(8); got != "twothree" || counted.writes.Load() != 2 {
		t.Fatalf("send: read %q after %d writes, want \"twothree\" after 2", got, counted.writes.Load())
	}
	if err := b.send(); err != nil || counted.writes.Load() != 2 {
		t.Fatalf("send with nothing held: %v, %d writes", err, counted.writes.Load())
	}
	write("four")
	if got := read(4); got != "four" {
		t.Fatalf("after send, writes pass through: read %q", got)
	}

	b.hold()
	write("lost")
	_ = dialed.Close()
	if err := b.send(); err == nil {
		t.Fatal("send on a closed connection reported no error")
	}
}

// A long backlog goes out in writes of about maxBatchBytes, not in one.
func TestBatchConnBoundsWhatItHolds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = io.Copy(io.Discard, c)
			_ = c.Close()
		}
	}()
	dialed, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer dialed.Close()
	counted := &countingConn{Conn: dialed}
	b := &batchConn{Conn: counted}
	b.hold()
	frame := make([]byte, 10<<10)
	const frames = 20 // 200 KiB
	for range frames {
		if _, err := b.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.send(); err != nil {
		t.Fatal(err)
	}
	least := frames * len(frame) / maxBatchBytes
	if n := int(counted.writes.Load()); n < least || n > least+1 {
		t.Fatalf("%d KiB held went out in %d writes, want %d or %d", frames*len(frame)>>10, n, least, least+1)
	}
}
