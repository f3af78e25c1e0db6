package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// serveSocket upgrades an authorised request to a viewer connection and serves it until it ends.
// Query: t (the token), since (optional, the last seq the viewer has seen).
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	m, ok := s.authorize(w, r, ScopeWatch)
	if !ok {
		return
	}
	var since int64
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			plainError(w, http.StatusBadRequest, "since must be the last seq seen, a whole number ≥ 0.")
			return
		}
		since = n
	}
	if !s.checkSince(w, m, since) {
		return
	}
	bw := &batchingWriter{ResponseWriter: w}
	conn, err := s.upgrader.Upgrade(bw, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		closeNow(conn, websocket.CloseGoingAway, reasonStopping, s.cfg.WriteWait)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	c := &client{
		conn:     conn,
		net:      bw.conn,
		cfg:      &s.cfg,
		remote:   r.RemoteAddr,
		log:      s.log.With("meeting", m.id, "remote", r.RemoteAddr),
		send:     make(chan outMsg, s.cfg.SendQueue),
		quit:     make(chan struct{}),
		readDone: make(chan struct{}),
	}
	c.serve(m.hub, since)
}

// checkSince answers 400 with the log's head when since is above it, and reports whether the
// socket may be opened. A viewer that claims events the log does not hold would otherwise wait in
// silence until the log grows past its since, since it is sent only what comes after.
func (s *Server) checkSince(w http.ResponseWriter, m *meeting, since int64) bool {
	if since <= m.hub.seen.Load() { // the hub has broadcast up to there: below the head
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.WriteWait)
	defer cancel()
	// Seqs are counted without gaps, so the log holds since exactly when it holds an event from
	// since on; usually none or a few, as the hub has seen nearly all.
	after, err := s.cfg.Log.Since(ctx, m.id, since-1)
	var head int64
	if err == nil && len(after) == 0 {
		head, err = s.lastSeq(ctx, m)
	}
	switch {
	case err != nil:
		s.log.Error("cannot read the meeting's log for a viewer", "meeting", m.id, "since", since, "err", err)
		plainError(w, http.StatusInternalServerError, "The meeting's log could not be read. Try again; if it keeps failing, check the server's log.")
		return false
	case len(after) == 0:
		plainError(w, http.StatusBadRequest, fmt.Sprintf("since=%d is past the meeting's last event (seq %d): reconnect with since=%d or lower, or without since to receive the whole meeting.", since, head, head))
		return false
	}
	return true
}

// client is one viewer connection. readPump is its only reader and writePump its only writer.
type client struct {
	conn   *websocket.Conn
	net    *batchConn // conn's network connection
	cfg    *Config
	remote string
	log    *slog.Logger

	send     chan outMsg   // filled by the hub without waiting; drained by writePump
	quit     chan struct{} // closed by kick: writePump sends the close frame and stops
	readDone chan struct{} // closed when readPump returns

	progress progress // the last stored seq written, for Drain

	kickOnce    sync.Once
	closeCode   int    // set before quit is closed
	closeReason string // set before quit is closed
}

// kick asks writePump to close the connection with code and reason. Only the first call counts.
func (c *client) kick(code int, reason string) {
	c.kickOnce.Do(func() {
		c.closeCode, c.closeReason = code, reason
		close(c.quit)
	})
}

// serve joins the hub, asks for the stored events after since, and runs the pumps until the
// connection ends. Joining before the history is read is what makes resume gap-free; writePump drops
// the duplicates by seq. The history is read in the background, shared with the viewers who join
// at the same time, so the pumps run (and a viewer that leaves is noticed) while it is read.
func (c *client) serve(h *hub, since int64) {
	defer c.conn.Close()
	defer c.progress.finish()
	if !h.join(c) {
		closeNow(c.conn, websocket.CloseGoingAway, reasonStopping, c.cfg.WriteWait)
		return
	}
	replay := h.history.get(since)

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writePump(replay, since)
	}()
	c.readPump()
	h.leave(c)
	c.kick(websocket.CloseNormalClosure, "")
	<-writerDone
	c.log.Debug("viewer disconnected", "code", c.closeCode, "reason", c.closeReason)
}

// readPump is the connection's only reader. Viewers send nothing the server acts on yet; any message
// or pong is a sign of life that extends the read deadline. A message over MaxMessageBytes ends the
// connection (gorilla sends close code 1009).
func (c *client) readPump() {
	defer close(c.readDone)
	c.conn.SetReadLimit(c.cfg.MaxMessageBytes)
	alive := func() error { return c.conn.SetReadDeadline(time.Now().Add(c.cfg.PongWait)) }
	if err := alive(); err != nil {
		return
	}
	c.conn.SetPongHandler(func(string) error { return alive() })
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.log.Warn("viewer sent an oversized message", "limit", c.cfg.MaxMessageBytes)
			}
			return
		}
		if err := alive(); err != nil {
			return
		}
	}
}

// writePump is the connection's only writer: the replayed history once it has been read, then live
// events from the send queue, pings, and at the end the close frame. Stored events at or below the
// last seq sent are duplicates of the history and skipped; a partial older than the last stored event
// sent is stale (its final is already out) and skipped too. While the history is read and written,
// live events wait in the send queue, so a viewer slow to take its history is dropped as too slow
// like any other, and each message is written under its own deadline, never the whole history
// under one.
func (c *client) writePump(replay *history, since int64) {
	ticker := time.NewTicker(c.cfg.PingInterval)
	defer func() {
		ticker.Stop()
		_ = c.conn.Close() // ends readPump
	}()
	last := since
	c.progress.advance(since) // the viewer has these already
	for waiting := true; waiting; {
		select {
		case <-c.quit:
			c.closeHandshake()
			return
		case <-replay.done:
			waiting = false
		case <-ticker.C:
			if err := c.write(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
	switch {
	case errors.Is(replay.err, errHubStopped):
		c.kick(websocket.CloseGoingAway, reasonStopping)
		c.closeHandshake()
		return
	case replay.err != nil:
		c.kick(websocket.CloseInternalServerErr, reasonNoLog) // the read's failure is logged once, by the hub
		c.closeHandshake()
		return
	}
	c.log.Debug("viewer connected", "since", since, "replay", len(replay.msgs))
	for _, m := range replay.msgs {
		select {
		case <-c.quit:
			c.closeHandshake()
			return
		case <-ticker.C:
			if err := c.write(websocket.PingMessage, nil); err != nil {
				return
			}
		default:
		}
		if err := c.write(websocket.TextMessage, m.data); err != nil {
			return
		}
		last = m.seq
		c.progress.advance(last)
	}
	var backlog []outMsg
	for {
		select {
		case <-c.quit:
			c.closeHandshake()
			return
		case m := <-c.send:
			// A viewer that fell behind takes what is queued at once, less what is stale, in one
			// write.
			backlog = append(backlog[:0], m)
			for n := len(c.send); n > 0; n-- {
				backlog = append(backlog, <-c.send)
			}
			batch := coalesce(backlog)
			if len(batch) > 1 {
				c.net.hold()
			}
			written := int64(-1) // the last stored seq in the batch
			for _, m := range batch {
				if m.stored {
					if m.seq <= last {
						continue
					}
					last = m.seq
					written = m.seq
				} else if m.seq < last {
					continue
				}
				if err := c.write(websocket.TextMessage, m.data); err != nil {
					return
				}
			}
			if err := c.net.send(); err != nil {
				c.log.Debug("write to viewer failed", "err", err)
				return
			}
			if written >= 0 {
				c.progress.advance(written)
			}
			clear(backlog) // the messages' data is not kept past their write
		case <-ticker.C:
			if err := c.write(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

func (c *client) write(typ int, data []byte) error {
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.cfg.WriteWait)); err != nil {
		return err
	}
	if err := c.conn.WriteMessage(typ, data); err != nil {
		c.log.Debug("write to viewer failed", "err", err)
		return err
	}
	return nil
}

// closeGrace bounds how long the server waits for a viewer to answer its close frame.
const closeGrace = time.Second

// closeHandshake sends the close frame and gives the viewer a moment to answer it, so the frame is
// not lost to a reset connection.
func (c *client) closeHandshake() {
	msg := websocket.FormatCloseMessage(c.closeCode, c.closeReason)
	if err := c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.cfg.WriteWait)); err != nil {
		return
	}
	t := time.NewTimer(min(closeGrace, c.cfg.WriteWait))
	defer t.Stop()
	select {
	case <-c.readDone:
	case <-t.C:
	}
}

// closeNow closes a connection that has no writePump yet.
func closeNow(conn *websocket.Conn, code int, reason string, wait time.Duration) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(wait))
	_ = conn.Close()
}
