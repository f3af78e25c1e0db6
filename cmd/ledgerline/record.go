package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/webhook"
)

// recording is what `run` and `bot join` record a meeting with on this machine.
type recording struct {
	db          string     // --db: the meeting database ("" for the default one)
	target      teamTarget // the team server it is sent to, if any
	deal        string     // --deal: the deal a new meeting belongs to
	resume      string     // --meeting: an earlier meeting this run continues
	webhooks    []webhook.Endpoint
	syncTimeout time.Duration
	// mic is who speaks on the laptop's mic, when it is captured (nil otherwise): for a team
	// server, they are named by the token's organisation, on its side of the deal (see
	// teamView.attribute); sideGiven says --org was given.
	mic       *agent.Speaker
	sideGiven bool
}

// recorded is a meeting being recorded locally: its store, the meeting served live, and its
// upload to the team server (nil without one).
type recorded struct {
	store   *ledger.SQLiteStore
	meeting *agent.Meeting
	upload  *liveUpload
}

// startRecording opens the meeting database, checks the deal on the team server, and serves the
// meeting with cfg (its Continue, Deal and Finished set from r): what the meeting owes on its end
// (and what an earlier run that crashed left owed) is sent while the overlay still serves the
// recap link the summary carries. The changes made on the server come back into the store, and so
// to the overlay; the pipeline is told of them as of a viewer's here (a renamed speaker's later
// words carry the new name). close ends them in order.
func startRecording(ctx context.Context, e *env, r recording, cfg agent.MeetingConfig) (_ *recorded, err error) {
	store, err := recordingStore(r.db)
	if err != nil {
		return nil, err
	}
	rec := &recorded{store: store}
	defer func() {
		if err != nil {
			err = errors.Join(err, rec.close())
		}
	}()
	view, err := askTeam(ctx, e, store, r.target, r.deal)
	if err != nil {
		return nil, err
	}
	if err := view.attribute(r.mic, r.sideGiven); err != nil {
		return nil, err
	}
	if r.resume == "" {
		if err := teamDeal(ctx, e, store, r.target, r.deal, view); err != nil {
			return nil, err
		}
	}
	follow, err := followUps(e, store, r.webhooks, r.recapLink(func() *agent.Meeting { return rec.meeting }))
	if err != nil {
		return nil, err
	}
	cfg.Continue, cfg.Deal = r.resume, r.deal
	cfg.Finished = func(ctx context.Context) {
		if _, err := follow.Sweep(ctx, follow.Deliver); err != nil {
			e.log.Warn("the meeting's recap was not sent; the next run sends it", "err", err)
		}
	}
	if rec.meeting, err = startMeeting(ctx, e, store, cfg); err != nil {
		return nil, err
	}
	if rec.upload, err = startUpload(ctx, e, r.target, store, rec.meeting.ID(), r.db, r.syncTimeout, rec.meeting.Observe); err != nil {
		return nil, err
	}
	return rec, nil
}

// recapLink is the recap link a meeting's summary carries: on the team server the meeting is sent
// to, where it stays when this process has ended (people sign in to open it), or else on this
// meeting's own overlay, which serves no earlier meeting.
func (r recording) recapLink(live func() *agent.Meeting) func(ledger.Meeting) string {
	return func(m ledger.Meeting) string {
		switch {
		case r.target.server != "":
			return strings.TrimRight(r.target.server, "/") + "/m/" + url.PathEscape(m.ID) + "/recap"
		case m.ID == live().ID():
			return live().RecapURL()
		}
		return ""
	}
}

// close stops the upload, then the meeting, then closes the store.
func (r *recorded) close() error {
	_ = r.upload.stop() // what it failed to send, finish reported
	var err error
	if r.meeting != nil {
		err = r.meeting.Close()
	}
	return errors.Join(err, r.store.Close())
}

// attribute names the one who speaks on the laptop's mic as the team server knows the token: by
// its organisation, on that organisation's side of the deal. A side given with --org that is not
// the organisation's is a usage error.
func (v teamView) attribute(mic *agent.Speaker, sideGiven bool) error {
	if mic == nil || v.caller.Org == "" {
		return nil
	}
	side := v.deal.RoleOf(v.caller.Org)
	if v.deal.ID == "" || side == ledger.RoleOther {
		mic.Org = v.caller.Org // no deal, or one that does not name the organisation: the side as given
		return nil
	}
	if sideGiven && mic.Role != side {
		return fmt.Errorf("%w: --org %s: your token is %s's, the %s of deal %q: leave out --org, or give --org %s",
			errUsage, mic.Role, v.caller.Org, side, v.deal.ID, side)
	}
	mic.Org, mic.Role = v.caller.Org, side
	return nil
}
