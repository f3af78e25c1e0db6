package agent

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/asr"
	"github.com/ledgerline/ledgerline/ingest"
	"github.com/ledgerline/ledgerline/internal/leaktest"
	"github.com/ledgerline/ledgerline/ledger"
	"github.com/ledgerline/ledgerline/server"
)

// hostFixture is a Host serving on loopback, with the server it is attached to.
type hostFixture struct {
	host  *Host
	store *ledger.SQLiteStore
	base  string
	loads atomic.Int32
}

func startHost(t *testing.T, idle time.Duration) *hostFixture {
	t.Helper()
	leaktest.Check(t)
	f := &hostFixture{store: openMeetingStore(t)}
	var err error
	f.host, err = NewHost(HostConfig{Store: f.store, IdleStop: idle, Loopback: true,
		Load: func(context.Context) (asr.Engine, error) {
			f.loads.Add(1)
			return sayingEngine{"We will send the integration architecture by Thursday."}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", Log: f.store, Records: f.store, Control: f.host,
		Recorder: f.host, Ingest: f.host.Ingest()})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	f.base = "http://" + addr.String()
	if err := f.host.Attach(srv, f.base); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.host.Close(); err != nil {
			t.Errorf("host Close: %v", err)
		}
		srv.Close()
	})
	return f
}

// meeting records a meeting for the host, as a team server's API does.
func (f *hostFixture) meeting(t *testing.T, hosted bool) ledger.Meeting {
	t.Helper()
	rec := ledger.Meeting{ID: newMeetingID(), Title: "Hosted call", Token: server.NewToken(), Hosted: hosted}
	if err := f.store.CreateMeeting(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// publish joins a hosted meeting as a participant over WHIP.
func (f *hostFixture) publish(t *testing.T, id, token, channel string) (*ingest.Publisher, error) {
	t.Helper()
	api, err := ingest.NewAPI(ingest.APIConfig{Loopback: true, ReportInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return ingest.Publish(ctx, f.base+"/whip/"+id+"?name="+channel, token, ingest.PublishOptions{Channel: channel, Speed: 10, API: api,
		ConfirmTimeout: 100 * time.Millisecond})
}

func (f *hostFixture) finals(t *testing.T, id string) []ledger.Segment {
	t.Helper()
	segs, err := f.store.Segments(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

// Meetings the server records itself start when their first participant sends audio, run side
// by side on one engine, and stop once nobody has sent audio for the idle time; a participant
// who comes back starts a new run of the same meeting.
func TestHostRunsMeetingsOnDemand(t *testing.T) {
	f := startHost(t, time.Hour)
	a, b := f.meeting(t, true), f.meeting(t, true)
	speech := sampleSpeech(t, 4)

	var pubs []*ingest.Publisher
	for _, m := range []ledger.Meeting{a, b} {
		p, err := f.publish(t, m.ID, m.Token, "dana")
		if err != nil {
			t.Fatalf("publish to %s: %v", m.ID, err)
		}
		pubs = append(pubs, p)
	}
	if n := f.host.Running(); n != 2 {
		t.Fatalf("%d meetings run after two publishers joined two meetings, want 2", n)
	}
	for _, p := range pubs {
		if err := p.Send(context.Background(), speech); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []ledger.Meeting{a, b} {
		waitUntil(t, "a final in meeting "+m.ID, func() bool { return len(f.finals(t, m.ID)) > 0 })
	}
	if n := f.loads.Load(); n != 1 {
		t.Errorf("the engine was loaded %d times for two meetings, want once", n)
	}
	for _, p := range pubs {
		_ = p.Close(context.Background())
	}
	// Within the idle time they go on; past it, with nobody sending, they stop.
	waitUntil(t, "the participants' tracks end", func() bool { return f.host.openTracks() == 0 })
	f.host.stopIdle(time.Now())
	if n := f.host.Running(); n != 2 {
		t.Fatalf("%d meetings run within the idle time, want 2", n)
	}
	f.host.stopIdle(time.Now().Add(time.Hour))
	waitUntil(t, "both meetings stop once nobody sends audio", func() bool { return f.host.Running() == 0 })
	for _, m := range []ledger.Meeting{a, b} {
		last, err := f.store.LastState(context.Background(), m.ID)
		if err != nil || last.State != ledger.MeetingStopped {
			t.Errorf("meeting %s's last state %+v, %v; want stopped", m.ID, last, err)
		}
	}

	// Coming back starts a second run, whose segments keep the first run's.
	first := len(f.finals(t, a.ID))
	p, err := f.publish(t, a.ID, a.Token, "dana")
	if err != nil {
		t.Fatalf("publish again: %v", err)
	}
	if err := p.Send(context.Background(), speech); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a final of the second run", func() bool {
		segs := f.finals(t, a.ID)
		return len(segs) > first && strings.HasPrefix(segs[len(segs)-1].ID, "r2-")
	})
	_ = p.Close(context.Background())
}

// Only hosted meetings take audio, and only from those who hold the meeting's token.
func TestHostRefusesWhatItDoesNotRecord(t *testing.T) {
	f := startHost(t, time.Minute)
	hosted, laptop := f.meeting(t, true), f.meeting(t, false)
	for _, tc := range []struct {
		name, id, token, want string
	}{
		{"wrong token", hosted.ID, server.NewToken(), "401"},
		{"no token", hosted.ID, "", "401"},
		{"a laptop's meeting", laptop.ID, laptop.Token, "404"},
		{"unknown meeting", newMeetingID(), hosted.Token, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.publish(t, tc.id, tc.token, "mallory")
			if !errors.Is(err, ingest.ErrWHIP) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("publish: %v, want %s", err, tc.want)
			}
		})
	}
	if n := f.host.Running(); n != 0 {
		t.Fatalf("%d meetings run after refused publishers, want none", n)
	}
}

// openTracks counts the participants' tracks open in every running meeting.
func (h *Host) openTracks() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, hm := range h.meetings {
		n += hm.tracks
	}
	return n
}

// A meeting that a process left recording when it died (its lease expired) is recorded as stopped
// when a Host starts, so that it does not stay "recording" and its recap is sent; one that a live
// process records (its lease held) is left to it, and one never recorded is left as it is.
func TestHostStopsMeetingsLeftRecording(t *testing.T) {
	leaktest.Check(t)
	store := openMeetingStore(t)
	ctx := context.Background()
	meeting := func(owner string, ttl time.Duration) string {
		t.Helper()
		rec := ledger.Meeting{ID: newMeetingID(), Title: "Hosted call", Token: server.NewToken(), Hosted: true}
		if err := store.CreateMeeting(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if owner == "" {
			return rec.ID
		}
		if _, err := store.Acquire(ctx, rec.ID, owner, "", ttl); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, ledger.Event{Type: ledger.TypeMeetingState, Meeting: rec.ID, State: ledger.MeetingRecording,
			Reason: ledger.ReasonStarted}); err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	orphan := meeting("a process that was killed", time.Millisecond)
	live := meeting("a replica recording it", time.Hour)
	never := meeting("", 0)
	time.Sleep(10 * time.Millisecond) // the killed process's lease expires

	h, err := NewHost(HostConfig{Store: store, Loopback: true, Load: func(context.Context) (asr.Engine, error) {
		return sayingEngine{"nothing"}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	state := func(id string) ledger.Event {
		t.Helper()
		e, err := store.LastState(ctx, id)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			t.Fatal(err)
		}
		return e
	}
	waitUntil(t, "the orphaned meeting to be stopped", func() bool { return state(orphan).State == ledger.MeetingStopped })
	h.stopOrphans() // one whole sweep more, over every meeting, before the others are looked at
	if e := state(orphan); e.Reason != reasonUnstopped {
		t.Errorf("the orphan was stopped with reason %q, want %q", e.Reason, reasonUnstopped)
	}
	if e := state(live); e.State != ledger.MeetingRecording {
		t.Errorf("a meeting a live process records is %q, want it left recording", e.State)
	}
	if e := state(never); e.State != "" {
		t.Errorf("a meeting never recorded is %q, want it left as it is", e.State)
	}
	// The lease the sweep took is given back: a participant may start the meeting again at once.
	if _, err := store.Acquire(ctx, orphan, "a new run", "", time.Minute); err != nil {
		t.Errorf("the orphan's lease is still held after its stop: %v", err)
	}
}
