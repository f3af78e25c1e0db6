package agent

import (
	"context"
	"errors"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// orphanSweep is how often a Host looks for meetings left recording by a process that died: about
// as often as a dead process's lease expires.
const orphanSweep = leaseTTL

// orphanTimeout bounds a sweep's queries: the Host's lock is held meanwhile, so that a participant
// arriving waits for the stop (and Close for the sweep) no longer than this.
const orphanTimeout = 5 * time.Second

// stopOrphans records the stop of the hosted meetings that a process left recording when it died
// (killed, or its machine down), which no participant has come back to since: without it they
// would stay "recording", and their recap never be sent. Each is taken with its lease first, so
// that one a replica runs (its lease unexpired) is left to it; the Host's lock is held meanwhile,
// so that a participant arriving here waits for the stop and then starts a new run.
func (h *Host) stopOrphans() {
	ctx, cancel := context.WithTimeout(h.ctx, orphanTimeout)
	defer cancel()
	ms, err := h.cfg.Store.Unstopped(ctx)
	if err != nil {
		h.log.Warn("cannot look for meetings left recording", "err", err)
		return
	}
	for _, m := range ms {
		if err := h.stopOrphan(ctx, m.ID); err != nil {
			h.log.Warn("cannot stop a meeting left recording", "meeting", m.ID, "err", err)
		}
	}
}

func (h *Host) stopOrphan(ctx context.Context, meeting string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.meetings[meeting] != nil {
		return nil
	}
	l, err := h.cfg.Store.Acquire(ctx, meeting, newOwnerID(), h.base, leaseTTL)
	if errors.Is(err, ledger.ErrLeased) {
		return nil // recorded by a live process
	}
	if err != nil {
		return err
	}
	defer func() {
		// Given back even when the sweep is cancelled, within its own bound.
		release, cancel := context.WithTimeout(context.WithoutCancel(ctx), orphanTimeout)
		defer cancel()
		_ = h.cfg.Store.Release(release, l)
	}()
	last, err := h.cfg.Store.LastState(ctx, meeting)
	if err != nil || last.State == ledger.MeetingStopped {
		return err
	}
	if _, err := h.cfg.Store.Append(ctx, ledger.Event{Type: ledger.TypeMeetingState, Meeting: meeting,
		State: ledger.MeetingStopped, Reason: reasonUnstopped}); err != nil {
		return err
	}
	h.log.Info("meeting stopped: the process recording it ended without stopping it", "meeting", meeting)
	return nil
}
