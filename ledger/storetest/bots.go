package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// BotStore is a TeamStore that also keeps a team server's bot requests and calendars.
type BotStore interface {
	TeamStore
	ledger.Bots
	ledger.Calendars
}

func botOpener(open StoreOpener) func(t *testing.T) func(now func() time.Time) BotStore {
	return func(t *testing.T) func(now func() time.Time) BotStore {
		o := open(t)
		return func(now func() time.Time) BotStore {
			s, ok := o(now).(BotStore)
			if !ok {
				t.Fatalf("%T does not implement ledger.Bots and ledger.Calendars", s)
			}
			return s
		}
	}
}

// botSetup makes organisation o1 with deal d1 on s.
func botSetup(t *testing.T, s BotStore) {
	t.Helper()
	ctx := context.Background()
	if err := s.CreateOrg(ctx, ledger.Org{ID: "o1", Name: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDeal(ctx, ledger.Deal{ID: "d1", Name: "Renewal"}); err != nil {
		t.Fatal(err)
	}
}

// bots: requests are stored, listed by organisation, due when their time has come, claimed by one
// of two stores on one database, cancelled; a meeting's latest bot state is read from its log.
func bots(t *testing.T, open StoreOpener) {
	opener := botOpener(open)(t)
	a, b := opener(fixedClock(teamNow)), opener(fixedClock(teamNow))
	botSetup(t, a)
	ctx := context.Background()
	soon, later := teamNow.Add(time.Minute), teamNow.Add(time.Hour)
	for _, r := range []ledger.BotRequest{
		{ID: "b1", OrgID: "o1", MeetingURL: "https://meet.google.com/abc-defg-hij", Platform: "meet", MeetingID: "m1", JoinAt: soon, DealID: "d1", Title: "Kick-off"},
		{ID: "b2", OrgID: "o1", MeetingURL: "https://meet.jit.si/Room", Platform: "jitsi", MeetingID: "m2", JoinAt: later},
	} {
		if err := a.AddBot(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []struct {
		r    ledger.BotRequest
		want error
	}{
		{ledger.BotRequest{ID: "b1", OrgID: "o1", MeetingURL: "u", Platform: "meet", MeetingID: "m9"}, ledger.ErrExists},
		{ledger.BotRequest{ID: "b3", OrgID: "nobody", MeetingURL: "u", Platform: "meet", MeetingID: "m9"}, ledger.ErrNotFound},
		{ledger.BotRequest{ID: "b4", OrgID: "o1", MeetingURL: "u", Platform: "meet", MeetingID: "m9", DealID: "nodeal"}, ledger.ErrNotFound},
		{ledger.BotRequest{ID: "b5", OrgID: "o1", Platform: "meet", MeetingID: "m9"}, ledger.ErrInvalidRecord},
	} {
		if err := a.AddBot(ctx, bad.r); !errors.Is(err, bad.want) {
			t.Errorf("AddBot(%+v) = %v, want %v", bad.r, err, bad.want)
		}
	}
	got, err := b.Bot(ctx, "b1")
	if err != nil || got.Status != ledger.BotScheduled || !got.JoinAt.Equal(soon) || got.DealID != "d1" || got.Title != "Kick-off" ||
		got.MeetingID != "m1" || got.Platform != "meet" || !got.CreatedAt.Equal(teamNow) {
		t.Errorf("Bot(b1) = %+v, %v", got, err)
	}
	if _, err := b.Bot(ctx, "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Bot(unknown) = %v, want ledger.ErrNotFound", err)
	}
	if list, err := b.OrgBots(ctx, "o1", false, 10); err != nil || len(list) != 2 || list[0].ID != "b2" || list[1].ID != "b1" {
		t.Errorf("OrgBots(o1) = %+v, %v; want b2 then b1 (latest first)", list, err)
	}
	if list, err := b.OrgBots(ctx, "o2", false, 10); err != nil || len(list) != 0 {
		t.Errorf("OrgBots(o2) = %+v, %v; want none", list, err)
	}
	if list, err := b.OrgBots(ctx, "", true, 1); err != nil || len(list) != 1 {
		t.Errorf("OrgBots(all, 1) = %+v, %v; want one", list, err)
	}
	if due, err := b.DueBots(ctx, teamNow, 10); err != nil || len(due) != 0 {
		t.Errorf("DueBots(before) = %+v, %v; want none", due, err)
	}
	if ok, err := a.ClaimBot(ctx, "b1", "early", teamNow); ok || err != nil {
		t.Errorf("ClaimBot before its time = %v, %v; want false", ok, err)
	}
	due, err := b.DueBots(ctx, soon, 10)
	if err != nil || len(due) != 1 || due[0].ID != "b1" {
		t.Fatalf("DueBots(soon) = %+v, %v; want b1", due, err)
	}
	var wg sync.WaitGroup
	wins := make(chan string, 2)
	for name, s := range map[string]BotStore{"a": a, "b": b} {
		wg.Go(func() {
			ok, err := s.ClaimBot(ctx, "b1", name, soon)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins <- name
			}
		})
	}
	wg.Wait()
	close(wins)
	var winners []string
	for w := range wins {
		winners = append(winners, w)
	}
	if len(winners) != 1 {
		t.Fatalf("claims won by %v, want exactly one", winners)
	}
	if got, _ := a.Bot(ctx, "b1"); got.Status != ledger.BotStarted || got.StartedBy != winners[0] {
		t.Errorf("claimed bot = %+v, want started by %s", got, winners[0])
	}
	if due, err := b.DueBots(ctx, later, 10); err != nil || len(due) != 1 || due[0].ID != "b2" {
		t.Errorf("DueBots(later) = %+v, %v; want b2 alone (b1 started)", due, err)
	}
	before, err := b.CancelBot(ctx, "b2")
	if err != nil || before.Status != ledger.BotScheduled {
		t.Errorf("CancelBot(b2) = %+v, %v; want it as it was (scheduled)", before, err)
	}
	if ok, err := a.ClaimBot(ctx, "b2", "a", later); ok || err != nil {
		t.Errorf("ClaimBot(cancelled) = %v, %v; want false", ok, err)
	}
	if _, err := b.CancelBot(ctx, "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("CancelBot(unknown) = %v, want ledger.ErrNotFound", err)
	}

	if _, err := a.LatestBotState(ctx, "m1"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("LatestBotState(no events) = %v, want ledger.ErrNotFound", err)
	}
	for _, st := range []ledger.BotState{ledger.BotRequested, ledger.BotJoining, ledger.BotWaiting} {
		if _, err := a.Append(ctx, ledger.Event{Type: ledger.TypeBotState, Meeting: "m1", Bot: &ledger.BotInfo{State: st, Platform: "meet"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Append(ctx, final("m1", string(st), "words")); err != nil {
			t.Fatal(err)
		}
	}
	if e, err := b.LatestBotState(ctx, "m1"); err != nil || e.Bot == nil || e.Bot.State != ledger.BotWaiting || e.Seq != 5 {
		t.Errorf("LatestBotState(m1) = %+v, %v; want waiting at seq 5", e, err)
	}
}

// calendars: feeds are stored and listed without leaking across organisations; a poll is claimed
// by one process at a time; an event's bot is scheduled once, moved with its event, withdrawn with
// it and scheduled again when it comes back, and left alone once started or cancelled by a person;
// deleting a calendar withdraws its bots; organisations' domains are kept.
func calendars(t *testing.T, open StoreOpener) {
	opener := botOpener(open)(t)
	a, b := opener(fixedClock(teamNow)), opener(fixedClock(teamNow))
	botSetup(t, a)
	ctx := context.Background()
	c := ledger.Calendar{ID: "c1", OrgID: "o1", URL: "https://calendar.example.com/secret/basic.ics", SendBot: true, Lead: time.Minute, CreatedBy: "tok_1"}
	if err := a.AddCalendar(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := a.AddCalendar(ctx, ledger.Calendar{ID: "c2", OrgID: "nobody", URL: "u"}); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("AddCalendar(unknown org) = %v, want ledger.ErrNotFound", err)
	}
	got, err := b.Calendar(ctx, "c1")
	if err != nil || got.URL != c.URL || !got.SendBot || got.Lead != time.Minute || !got.PolledAt.IsZero() || got.OrgID != "o1" {
		t.Errorf("Calendar(c1) = %+v, %v", got, err)
	}
	if list, err := b.OrgCalendars(ctx, "o2", false); err != nil || len(list) != 0 {
		t.Errorf("OrgCalendars(o2) = %+v, %v; want none", list, err)
	}
	if list, err := b.OrgCalendars(ctx, "", true); err != nil || len(list) != 1 {
		t.Errorf("OrgCalendars(all) = %+v, %v; want c1", list, err)
	}

	next := teamNow.Add(5 * time.Minute)
	first, err := a.ClaimCalendarPolls(ctx, teamNow, next, 10)
	if err != nil || len(first) != 1 || first[0].ID != "c1" {
		t.Fatalf("ClaimCalendarPolls = %+v, %v; want c1", first, err)
	}
	if again, err := b.ClaimCalendarPolls(ctx, teamNow, next, 10); err != nil || len(again) != 0 {
		t.Errorf("ClaimCalendarPolls again = %+v, %v; want none until next", again, err)
	}
	if err := a.CalendarPolled(ctx, "c1", true, `"v1"`, ""); err != nil {
		t.Fatal(err)
	}
	if err := a.CalendarPolled(ctx, "c1", false, "", "the feed answered 500"); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Calendar(ctx, "c1"); got.ETag != `"v1"` || got.PollError != "the feed answered 500" || got.PolledAt.IsZero() {
		t.Errorf("after polls: %+v; want the ETag kept and the error", got)
	}

	event := func(key string, at time.Time) ledger.BotRequest {
		return ledger.BotRequest{ID: "cb-" + key + at.Format("1504"), OrgID: "o1", MeetingURL: "https://meet.jit.si/" + key, Platform: "jitsi",
			MeetingID: "cm-" + key, JoinAt: at, CalendarID: "c1", EventKey: key, Title: key}
	}
	for _, r := range []ledger.BotRequest{event("e1", next), event("e1", next), event("e2", next)} {
		if ok, err := a.ScheduleEventBot(ctx, r); !ok || err != nil {
			t.Errorf("ScheduleEventBot(%s) = %v, %v", r.EventKey, ok, err)
		}
	}
	moved := event("e1", next.Add(time.Hour))
	moved.DealID = "d1"
	if ok, err := b.ScheduleEventBot(ctx, moved); !ok || err != nil {
		t.Errorf("ScheduleEventBot(moved) = %v, %v", ok, err)
	}
	list, err := a.OrgBots(ctx, "o1", false, 10)
	if err != nil || len(list) != 2 || list[0].EventKey != "e1" || !list[0].JoinAt.Equal(moved.JoinAt) || list[0].DealID != "d1" {
		t.Fatalf("bots after the event moved = %+v, %v; want one per event, e1 moved", list, err)
	}
	if n, err := a.WithdrawEventBots(ctx, "c1", []string{"e1"}); n != 1 || err != nil {
		t.Errorf("WithdrawEventBots(keep e1) = %d, %v; want e2 withdrawn", n, err)
	}
	if due, _ := a.DueBots(ctx, next.Add(2*time.Hour), 10); len(due) != 1 || due[0].EventKey != "e1" {
		t.Errorf("due after withdrawal = %+v, want e1 alone", due)
	}
	if ok, err := a.ScheduleEventBot(ctx, event("e2", next)); !ok || err != nil {
		t.Errorf("ScheduleEventBot(e2 back) = %v, %v", ok, err)
	}
	if ok, err := a.ClaimBot(ctx, list[0].ID, "a", next.Add(2*time.Hour)); !ok || err != nil {
		t.Fatalf("ClaimBot(e1) = %v, %v", ok, err)
	}
	if ok, err := a.ScheduleEventBot(ctx, event("e1", next.Add(3*time.Hour))); ok || err != nil {
		t.Errorf("ScheduleEventBot(started) = %v, %v; want it left as it is", ok, err)
	}
	if got, _ := a.Bot(ctx, list[0].ID); got.Status != ledger.BotStarted || !got.JoinAt.Equal(moved.JoinAt) {
		t.Errorf("started bot after a reschedule = %+v", got)
	}
	if err := b.DeleteCalendar(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteCalendar(ctx, "c1"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("DeleteCalendar twice = %v, want ledger.ErrNotFound", err)
	}
	if due, _ := a.DueBots(ctx, next.Add(5*time.Hour), 10); len(due) != 0 {
		t.Errorf("due after the calendar was deleted = %+v, want none", due)
	}

	if err := a.SetOrgDomains(ctx, "o1", []string{"Contoso.com", "contoso.co.uk", "contoso.com"}); err != nil {
		t.Fatal(err)
	}
	if d, err := b.OrgDomains(ctx, "o1"); err != nil || len(d) != 2 || d[0] != "contoso.com" || d[1] != "contoso.co.uk" {
		t.Errorf("OrgDomains = %v, %v", d, err)
	}
	if err := a.SetOrgDomains(ctx, "o1", []string{"a@b.com"}); !errors.Is(err, ledger.ErrInvalidRecord) {
		t.Errorf("SetOrgDomains(an address) = %v, want ledger.ErrInvalidRecord", err)
	}
	if err := a.SetOrgDomains(ctx, "nobody", nil); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("SetOrgDomains(unknown) = %v, want ledger.ErrNotFound", err)
	}
}
