package team

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ledgerline/ledgerline/calendar"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// botSweep is how often a server looks for bots due to start and for running bots cancelled on
// another replica.
const botSweep = 2 * time.Second

// instance names this process when it claims a bot request.
var instance = newID("srv")

// launchBot claims a request and starts its bot in slot: it makes the hosted meeting the bot
// records into and hands the launcher a token for that meeting alone. A request another process
// claimed first, or one cancelled meanwhile, frees the slot and is returned as it stands.
func (s *Server) launchBot(ctx context.Context, slot BotSlot, b ledger.BotRequest) (ledger.BotRequest, error) {
	ok, err := s.store.ClaimBot(ctx, b.ID, instance, s.now())
	if err != nil || !ok {
		slot.Release()
		if err != nil {
			return b, err
		}
		return s.store.Bot(ctx, b.ID)
	}
	rec := ledger.Meeting{ID: b.MeetingID, DealID: b.DealID, Title: b.Title, StartedAt: s.now(), Token: server.NewToken(),
		OrgID: b.OrgID, Hosted: true}
	if err := s.store.CreateMeeting(ctx, rec); err != nil {
		slot.Release()
		return b, err
	}
	slot.Start(BotLaunch{RequestID: b.ID, MeetingURL: b.MeetingURL, Platform: b.Platform, Meeting: rec.ID,
		Token: server.ScopedToken(rec.Token, server.ScopeJoin), WatchToken: server.ScopedToken(rec.Token, server.ScopeWatch)})
	s.log.Info("bot started", "bot", b.ID, "meeting", rec.ID, "platform", b.Platform)
	return s.store.Bot(ctx, b.ID)
}

// RunBots starts scheduled bots when they are due, makes bots cancelled on another replica leave,
// and reads the organisations' calendars to schedule bots for their meetings, until ctx ends. A
// server without a BotLauncher returns at once. Every replica of a server may run it: the store
// decides which starts a bot, and which reads a calendar.
func (s *Server) RunBots(ctx context.Context) {
	l, err := s.launcher()
	if err != nil {
		return
	}
	feeds, err := calendar.New(calendar.Config{Store: s.store, Deals: s.store, Platform: l.Platform,
		AllowPrivate: s.cfg.PrivateFeeds, Logger: s.log, Now: s.now})
	if err != nil {
		s.log.Error("calendars are not read", "err", err)
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { feeds.Run(ctx) })
	tick := time.NewTicker(botSweep)
	defer tick.Stop()
	full := false // whether the last sweep found no capacity, logged once until it clears
	for {
		if err := s.startDue(ctx, l, &full); err != nil && ctx.Err() == nil {
			s.log.Warn("starting due bots", "err", err)
		}
		if err := s.leaveCancelled(ctx, l); err != nil && ctx.Err() == nil {
			s.log.Warn("checking running bots", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// startDue starts the bots due now, as long as this machine has room for them.
func (s *Server) startDue(ctx context.Context, l BotLauncher, full *bool) error {
	due, err := s.store.DueBots(ctx, s.now(), 10)
	if err != nil {
		return err
	}
	for _, b := range due {
		slot, err := l.Reserve()
		if errors.Is(err, ErrNoBotCapacity) {
			if !*full {
				s.log.Warn("bots are due but this machine runs as many as it may; they start once one leaves", "due", len(due))
			}
			*full = true
			return nil
		}
		if err != nil {
			return err
		}
		*full = false
		if _, err := s.launchBot(ctx, slot, b); err != nil {
			s.log.Warn("a due bot did not start", "bot", b.ID, "err", err)
		}
	}
	return nil
}

// leaveCancelled makes the bots running here whose requests were cancelled leave.
func (s *Server) leaveCancelled(ctx context.Context, l BotLauncher) error {
	for _, id := range l.Running() {
		b, err := s.store.Bot(ctx, id)
		if err != nil {
			return err
		}
		if b.Status == ledger.BotCancelled && l.Leave(id) {
			s.log.Info("bot asked to leave", "bot", id)
		}
	}
	return nil
}
