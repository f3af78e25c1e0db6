package agent

import (
	"context"
	"errors"
	"sync"

	"github.com/ledgerline/ledgerline/stream"
)

// sourceSet runs a meeting's sources into one frame channel, which is
// closed once every source has returned and no more may join.
type sourceSet struct {
	ctx  context.Context
	out  chan<- stream.Frame
	stop context.CancelFunc
	// drop tells whether frames are to be dropped as they are sent (the
	// meeting is paused). It is asked when a source sends, not when the
	// frame leaves the queue, so no frame sent during a pause waits in the
	// queue to be transcribed after the resume.
	drop func() bool
	wg   sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	firstErr error
}

// start runs src unless the set is closed. The failure of a fatal source
// stops the meeting; others end only their own channels.
func (ss *sourceSet) start(src stream.Source, fatal bool) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return false
	}
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		in := make(chan stream.Frame) // unbuffered: a frame is taken when it is sent
		forwarded := make(chan struct{})
		go func() {
			defer close(forwarded)
			for f := range in {
				if ss.drop() {
					continue
				}
				select {
				case ss.out <- f:
				case <-ss.ctx.Done(): // stopping: what is still sent is let go
				}
			}
		}()
		err := src.Start(ss.ctx, in)
		close(in)
		<-forwarded
		if err != nil && !errors.Is(err, context.Canceled) && fatal {
			ss.mu.Lock()
			if ss.firstErr == nil {
				ss.firstErr = err
			}
			ss.mu.Unlock()
			ss.stop()
		}
	}()
	return true
}

func (ss *sourceSet) close() {
	ss.mu.Lock()
	ss.closed = true
	ss.mu.Unlock()
}

func (ss *sourceSet) err() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.firstErr
}
