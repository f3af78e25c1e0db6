package server

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// Writing to a socket costs a system call, and over loopback or a fast link that call, not the
// framing, is most of what sending one event to many viewers costs. A viewer that fell behind
// therefore gets its backlog in one write: writePump holds the frames gorilla writes for the batch
// and sends them together.

// batchConn is a viewer's network connection that can hold back what is written to it until send.
// Its methods are safe for concurrent use: gorilla writes pongs from the reading goroutine while
// writePump writes the rest.
type batchConn struct {
	net.Conn

	mu      sync.Mutex // guards the fields below
	holding bool
	held    []byte
}

// maxBatchBytes bounds what a connection holds: a longer backlog goes out in writes of about this
// size, each under the deadline gorilla set for the message that filled it, so a viewer that reads
// slowly but steadily is never judged by how long a whole backlog takes.
const maxBatchBytes = 64 << 10

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.holding {
		if len(b.held) > 0 && len(b.held)+len(p) > maxBatchBytes {
			if _, err := b.Conn.Write(b.held); err != nil {
				return 0, err
			}
			b.held = b.held[:0]
		}
		b.held = append(b.held, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

// hold keeps what is written in memory until send.
func (b *batchConn) hold() {
	b.mu.Lock()
	b.holding = true
	b.mu.Unlock()
}

// send writes what was held in one write, under the write deadline last set, and lets later
// writes through.
func (b *batchConn) send() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holding = false
	if len(b.held) == 0 {
		return nil
	}
	_, err := b.Conn.Write(b.held)
	if cap(b.held) > maxBatchBytes {
		b.held = nil
	} else {
		b.held = b.held[:0]
	}
	return err
}

// batchingWriter hands the websocket upgrader a batchConn when it takes over the connection.
type batchingWriter struct {
	http.ResponseWriter
	conn *batchConn // set by Hijack
}

var _ http.Hijacker = (*batchingWriter)(nil)

func (w *batchingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &batchConn{Conn: c}
	return w.conn, brw, nil
}
