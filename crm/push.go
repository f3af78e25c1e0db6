package crm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ledgerline/ledgerline/internal/clock"
	"github.com/ledgerline/ledgerline/ledger"
)

// outcome is what a push did to one item.
type outcome int

const (
	unchanged outcome = iota
	created
	updated
)

// storeError is a failure of the store during a push: the push stops, to be tried again.
type storeError struct{ error }

func (e storeError) Unwrap() error { return e.error }

// findSlack is how much earlier than the store's record of a create the CRM may date what it
// made: the two clocks differ.
const findSlack = 5 * time.Minute

// pushItem creates, updates or leaves one item, and records what it did.
func (p *Pusher) pushItem(ctx context.Context, t target, meeting string, it item) (outcome, error) {
	rec, fresh, err := p.cfg.Store.StartCRMItem(ctx, ledger.CRMItem{Meeting: meeting, Provider: t.provider, Record: t.record, Item: it.name})
	if err != nil {
		return 0, storeError{fmt.Errorf("crm: %w", err)}
	}
	sum := digest(it.obj)
	if rec.RemoteID != "" && rec.Digest == sum {
		return unchanged, nil
	}
	done := updated
	id := rec.RemoteID
	if id == "" {
		// Before each create but the first try of a fresh item, look for what an earlier try
		// made: a process that died after the CRM made it, or a create whose answer was lost.
		since := rec.Started.Add(-findSlack)
		err = p.retry(ctx, func(try int) error {
			if !fresh || try > 0 {
				found, err := t.client.Find(ctx, t.record, it.obj, since)
				if err != nil || found != "" {
					id = found
					return err
				}
			}
			var err error
			id, err = t.client.Create(ctx, t.record, it.obj)
			if err == nil {
				done = created
			}
			return err
		})
		if err == nil && done != created {
			err = p.retry(ctx, func(int) error { return t.client.Update(ctx, t.record, id, it.obj) })
		}
	} else {
		err = p.retry(ctx, func(int) error { return t.client.Update(ctx, t.record, id, it.obj) })
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			// Someone deleted it in the CRM: it stays deleted, and is not tried again until it changes.
			p.log.Info("crm: an item was deleted in the CRM; leaving it deleted", "meeting", meeting, "item", it.name, "id", id)
			err, done = nil, unchanged
		}
	}
	if err != nil {
		return 0, err
	}
	rec.RemoteID, rec.Digest = id, sum
	if err := p.cfg.Store.FinishCRMItem(ctx, rec); err != nil {
		return 0, storeError{fmt.Errorf("crm: %w", err)}
	}
	return done, nil
}

// maxRetryAfter bounds the wait a CRM may ask for between tries.
const maxRetryAfter = 5 * time.Minute

// retry runs fn until it succeeds, fails in a way that trying again cannot mend, or has been tried
// once more than the back-off has steps. A CRM that asks for a wait (Retry-After) gets it.
func (p *Pusher) retry(ctx context.Context, fn func(try int) error) error {
	for try := 0; ; try++ {
		err := fn(try)
		if err == nil || try >= len(p.cfg.Backoff) || !retryable(err) || ctx.Err() != nil {
			return err
		}
		wait := p.cfg.Backoff[try]
		var ae *APIError
		if errors.As(err, &ae) && ae.RetryAfter >= 0 {
			wait = min(ae.RetryAfter, maxRetryAfter)
		}
		p.log.Info("crm: trying again", "in", wait, "err", err)
		if clock.Sleep(ctx, wait) != nil {
			return err
		}
	}
}

// retryable reports whether err may go away if the request is sent again: the CRM was busy (429),
// failed (5xx), or did not answer.
func retryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusTooManyRequests || ae.Status >= 500
	}
	return !errors.Is(err, errRefused)
}
