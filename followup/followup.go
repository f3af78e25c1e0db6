// Package followup carries out what a meeting owes once a run of it has stopped: its recap
// summary sent to the webhooks, once per stop, whatever crashes in between. The store writes each
// stop's follow-up in the transaction that records the stop (ledger.FollowUps), so it cannot be
// lost; a sweeper hands the pending ones on by their IDs, to a shared durable queue (package
// jobs, on several replicas) or straight to Deliver (one process); Deliver sends the summary
// unless the record says it was sent already, then records that it was.
//
// Other work a stop owes (a push to the deal's CRM) runs as Steps of the same follow-up, before its
// summary is sent: each step keeps its own record of what it did, so that running it again after a
// crash redoes nothing.
//
// A follow-up may still be sent twice when a process dies between sending it and recording it:
// each summary carries its follow-up's ID as its delivery ID (and Idempotency-Key header), the
// same on every resend, for receivers to drop a repeat.
//
// Concurrency: a Service is safe for concurrent use. Run is called once and sweeps until its
// context ends; Deliver and Sweep may be called from any goroutine.
package followup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ledgerline/ledgerline/internal/clock"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/recap"
	"github.com/ledgerline/ledgerline/webhook"
)

// Defaults of a Config.
const (
	// DefaultInterval is how often pending follow-ups are looked for: how long after a stop its
	// summary is sent, at most, and how soon after a crash one left pending is taken up again.
	DefaultInterval = 5 * time.Second
	// sweepPage bounds the follow-ups handed on by one sweep; the next sweep takes the rest.
	sweepPage = 100
)

// Store is what follow-ups are kept in and made from.
type Store interface {
	recap.MeetingSource
	ledger.FollowUps
}

var (
	_ Store = (*ledger.SQLiteStore)(nil)
	_ Store = (*ledger.PostgresStore)(nil)
)

// Step is more work a stop owes, carried out with its follow-up, such as the push of the meeting
// to its deal's CRM (crm.Pusher). Do must be safe to run again for the same follow-up; an error
// means it could not finish (its store failed, or ctx ended): the follow-up is tried again later.
type Step interface {
	Do(ctx context.Context, f ledger.FollowUp) error
}

// Config sets up a Service.
type Config struct {
	Store Store
	// Steps run with each follow-up, in order, before its summary is sent.
	Steps []Step
	// Notifier sends the summaries: its Endpoints, none meaning that follow-ups are recorded
	// done and nothing is sent.
	Notifier webhook.Notifier
	// RecapURL is the recap link a meeting's summary carries, or "" for none. It is a capability
	// link: give it only where the endpoints are trusted with the meeting.
	RecapURL func(ledger.Meeting) string
	// Interval is DefaultInterval when zero.
	Interval time.Duration
	// Logger receives what was sent and what failed; nil drops it.
	Logger *slog.Logger
}

// Service carries out follow-ups.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg's endpoints and makes a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("followup: a Service needs a store")
	}
	if err := cfg.Notifier.Validate(); err != nil {
		return nil, fmt.Errorf("followup: %w", err)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Notifier.Logger == nil {
		cfg.Notifier.Logger = cfg.Logger
	}
	return &Service{cfg: cfg, log: cfg.Logger}, nil
}

// Run sweeps every Interval, from now until ctx ends, handing each pending follow-up's ID to
// submit: a jobs.Queue's Submit, where several processes share the work, or Deliver.
func (s *Service) Run(ctx context.Context, submit func(ctx context.Context, id string) error) {
	for {
		if _, err := s.Sweep(ctx, submit); err != nil && ctx.Err() == nil {
			s.log.Warn("follow-ups: sweep failed; trying again", "in", s.cfg.Interval, "err", err)
		}
		if clock.Sleep(ctx, s.cfg.Interval) != nil {
			return
		}
	}
}

// Sweep hands the pending follow-ups, oldest first, to submit, and returns how many it handed on.
// It stops at the first that submit fails.
func (s *Service) Sweep(ctx context.Context, submit func(ctx context.Context, id string) error) (int, error) {
	pending, err := s.cfg.Store.PendingFollowUps(ctx, sweepPage)
	if err != nil {
		return 0, fmt.Errorf("followup: %w", err)
	}
	for i, f := range pending {
		if err := submit(ctx, f.ID()); err != nil {
			return i, fmt.Errorf("followup: %s: %w", f.ID(), err)
		}
	}
	return len(pending), nil
}

// Deliver carries out the follow-up named id (a ledger.FollowUp's ID): unless it was done
// already, it runs the Steps and sends the meeting's recap summary, then records it done.
// Endpoints that refused the summary, or were still failing after the Notifier's tries, are
// logged: the follow-up is done all the same. Deliver fails, for its caller to try again later,
// only when the store could not be read or written, a step failed, or ctx ended; a follow-up the
// store does not owe is logged and dropped.
func (s *Service) Deliver(ctx context.Context, id string) error {
	f, err := ledger.ParseFollowUpID(id)
	if err != nil {
		s.log.Warn("follow-ups: dropped a job that names none", "id", id, "err", err)
		return nil
	}
	done, err := s.cfg.Store.FollowUpDone(ctx, f)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		s.log.Warn("follow-ups: dropped a job that the record does not owe", "id", id)
		return nil
	case err != nil:
		return fmt.Errorf("followup: %w", err)
	case done:
		return nil
	}
	for _, step := range s.cfg.Steps {
		if err := step.Do(ctx, f); err != nil {
			return fmt.Errorf("followup: %s: %w", id, err)
		}
	}
	if len(s.cfg.Notifier.Endpoints) > 0 {
		if err := s.send(ctx, f); err != nil {
			return err
		}
	}
	if _, err := s.cfg.Store.FinishFollowUp(ctx, f); err != nil {
		return fmt.Errorf("followup: %w", err)
	}
	return nil
}

// send sends the summary of the meeting as it is now (a stop is its run's last event).
func (s *Service) send(ctx context.Context, f ledger.FollowUp) error {
	data, err := recap.LoadMeeting(ctx, s.cfg.Store, f.Meeting)
	if err != nil {
		return fmt.Errorf("followup: %w", err)
	}
	link := ""
	if s.cfg.RecapURL != nil {
		link = s.cfg.RecapURL(data.Meeting)
	}
	summary := webhook.NewSummary(recap.New(data), link)
	summary.Delivery = f.ID()
	err = s.cfg.Notifier.Send(ctx, summary)
	switch {
	case err == nil:
		s.log.Info("follow-ups: summary sent", "meeting", f.Meeting, "stop", f.Seq)
	case ctx.Err() != nil:
		return fmt.Errorf("followup: %w", err)
	default:
		s.log.Warn("follow-ups: webhooks failed", "meeting", f.Meeting, "stop", f.Seq, "err", err)
	}
	return nil
}
