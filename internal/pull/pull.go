// Package pull takes messages one at a time from a JetStream consumer for the runners of the work
// queues (decode jobs, background jobs): a runner asks for the next message only once it has
// handled the last, which is what spreads work over runners by their free capacity. The consumer
// may have to be made again (a broker that restarted without its store, a reconnection), so the
// loop asks its owner for it rather than holding one.
//
// Concurrency: Loop runs on its caller's goroutine and calls handle there, one message at a time.
package pull

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ledgerline/ledgerline/internal/clock"
)

const (
	// Wait bounds one wait for a message on an empty queue, so that a runner notices a broker that
	// went away.
	Wait = 5 * time.Second
	// retryPause spaces pulls while the connection is down.
	retryPause = time.Second
)

// Consumer returns the consumer to pull from; with fresh, it makes it (and its stream) again.
type Consumer func(ctx context.Context, fresh bool) (jetstream.Consumer, error)

// Loop hands each message pulled from consumer to handle until ctx ends. It returns nil once
// stopped by ctx, or nats.ErrConnectionClosed if the connection closed under it.
func Loop(ctx context.Context, log *slog.Logger, consumer Consumer, handle func(jetstream.Msg)) error {
	for ctx.Err() == nil {
		cons, err := consumer(ctx, false)
		if err != nil {
			log.Debug("no consumer yet", "err", err)
			_ = clock.Sleep(ctx, retryPause)
			continue
		}
		next, cancel := context.WithTimeout(ctx, Wait)
		msg, err := cons.Next(jetstream.FetchContext(next))
		cancel()
		switch {
		case err == nil:
			handle(msg)
		case ctx.Err() != nil:
		case errors.Is(err, nats.ErrConnectionClosed):
			return err
		case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, jetstream.ErrNoMessages):
			// An empty queue: wait again.
		default:
			// Reconnecting, or a broker that lost the queue: pause, then make it again (idempotent).
			log.Debug("pull failed", "err", err)
			_ = clock.Sleep(ctx, retryPause)
			if _, err := consumer(ctx, true); err != nil {
				log.Debug("consumer", "err", err)
			}
		}
	}
	return nil
}
