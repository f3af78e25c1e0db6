package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func final(meeting, id, text string) Event {
	return Event{Type: TypeSegmentFinal, Meeting: meeting, Segment: &SegmentInfo{ID: id, Channel: "mic", Text: text}}
}

func partial(meeting, id, text string) Event {
	return Event{Type: TypeSegmentPartial, Meeting: meeting, Segment: &SegmentInfo{ID: id, Channel: "mic", Text: text}}
}

func TestMemLogAppendAssignsSeqAndTime(t *testing.T) {
	at := time.Date(2026, 3, 5, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	l := NewMemLog(WithClock(func() time.Time { return at }))
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		for _, m := range []string{"a", "b"} {
			e, err := l.Append(ctx, final(m, fmt.Sprint(i), "x"))
			if err != nil {
				t.Fatal(err)
			}
			if e.Seq != int64(i) || e.V != SchemaVersion || !e.At.Equal(at) || e.At.Location() != time.UTC {
				t.Fatalf("meeting %s append %d: seq=%d v=%d at=%v", m, i, e.Seq, e.V, e.At)
			}
		}
	}
	got, err := l.Since(ctx, "a", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != 2 || got[1].Seq != 3 {
		t.Fatalf("Since(a, 1) = %+v", got)
	}
	for _, tc := range []struct {
		meeting string
		seq     int64
		want    int
	}{{"a", -5, 3}, {"a", 0, 3}, {"a", 3, 0}, {"a", 99, 0}, {"nobody", 0, 0}} {
		got, err := l.Since(ctx, tc.meeting, tc.seq)
		if err != nil || len(got) != tc.want {
			t.Errorf("Since(%s, %d) = %d events, %v; want %d", tc.meeting, tc.seq, len(got), err, tc.want)
		}
	}
}

func TestMemLogAppendCopiesPayload(t *testing.T) {
	l := NewMemLog()
	ctx := context.Background()
	c := &CommitmentInfo{ID: "c1", What: "send", SegmentIDs: []string{"s1"}}
	if _, err := l.Append(ctx, Event{Type: TypeCommitmentUpsert, Meeting: "m", Commitment: c}); err != nil {
		t.Fatal(err)
	}
	c.What = "changed"
	c.SegmentIDs[0] = "changed"
	got, _ := l.Since(ctx, "m", 0)
	if got[0].Commitment.What != "send" || got[0].Commitment.SegmentIDs[0] != "s1" {
		t.Fatalf("stored event changed with its producer's value: %+v", got[0].Commitment)
	}
}

func TestMemLogPartialCarriesCurrentSeq(t *testing.T) {
	l := NewMemLog()
	ctx := context.Background()
	sub := l.Subscribe("m", 16)
	defer sub.Close()
	if err := l.Publish(partial("m", "s1", "hel")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, final("m", "s1", "hello")); err != nil {
		t.Fatal(err)
	}
	if err := l.Publish(partial("m", "s2", "wor")); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ EventType
		seq int64
	}{{TypeSegmentPartial, 0}, {TypeSegmentFinal, 1}, {TypeSegmentPartial, 1}}
	for i, w := range want {
		e := <-sub.C()
		if e.Type != w.typ || e.Seq != w.seq || e.V != SchemaVersion || e.At.IsZero() {
			t.Fatalf("event %d = %s seq %d v %d at %v; want %s seq %d", i, e.Type, e.Seq, e.V, e.At, w.typ, w.seq)
		}
	}
	stored, _ := l.Since(ctx, "m", 0)
	if len(stored) != 1 {
		t.Fatalf("partials were stored: %+v", stored)
	}
}

// A subscriber that sees an event must find it stored: resume depends on it.
func TestMemLogStoredBeforePublished(t *testing.T) {
	l := NewMemLog()
	ctx := context.Background()
	sub := l.Subscribe("m", 1000)
	const n = 200
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for e := range sub.C() {
			got, err := l.Since(ctx, "m", e.Seq-1)
			if err != nil || len(got) == 0 || got[0].Seq != e.Seq {
				errc <- fmt.Errorf("event %d published but Since(%d) = %d events, %v", e.Seq, e.Seq-1, len(got), err)
				return
			}
			if e.Seq == n {
				return
			}
		}
	}()
	for i := 0; i < n; i++ {
		if _, err := l.Append(ctx, final("m", fmt.Sprint(i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	sub.Close()
}

func TestMemLogConcurrentAppendsInOrder(t *testing.T) {
	l := NewMemLog()
	ctx := context.Background()
	const writers, each = 4, 100
	sub := l.Subscribe("m", 2*writers*each)
	defer sub.Close()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := l.Append(ctx, final("m", fmt.Sprintf("%d-%d", w, i), "x")); err != nil {
					t.Error(err)
					return
				}
				if err := l.Publish(partial("m", "p", "x")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var last int64
	for finals := 0; finals < writers*each; {
		e, ok := <-sub.C()
		if !ok {
			t.Fatalf("subscription closed after %d finals: %v", finals, sub.Err())
		}
		switch {
		case e.Type == TypeSegmentPartial && e.Seq < last:
			t.Fatalf("partial with seq %d after event %d", e.Seq, last)
		case e.Type == TypeSegmentFinal:
			if e.Seq != last+1 {
				t.Fatalf("seq %d after %d", e.Seq, last)
			}
			last = e.Seq
			finals++
		}
	}
}

func TestMemLogLaggedSubscriberIsDropped(t *testing.T) {
	l := NewMemLog()
	ctx := context.Background()
	slow := l.Subscribe("m", 2)
	fast := l.Subscribe("m", 10)
	defer fast.Close()
	for i := 0; i < 5; i++ { // would block forever if the log waited for slow
		if _, err := l.Append(ctx, final("m", fmt.Sprint(i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	var got []int64
	for e := range slow.C() {
		got = append(got, e.Seq)
	}
	if len(got) != 2 || !errors.Is(slow.Err(), ErrLagged) {
		t.Fatalf("slow subscriber got %v, Err %v; want 2 events then ErrLagged", got, slow.Err())
	}
	slow.Close() // no effect after the log dropped it
	if !errors.Is(slow.Err(), ErrLagged) {
		t.Fatalf("Err after Close = %v", slow.Err())
	}
	for i := int64(1); i <= 5; i++ {
		if e := <-fast.C(); e.Seq != i {
			t.Fatalf("fast subscriber got seq %d, want %d", e.Seq, i)
		}
	}
	if fast.Err() != nil {
		t.Fatalf("fast Err = %v", fast.Err())
	}
}

func TestSubscriptionClose(t *testing.T) {
	l := NewMemLog()
	s := l.Subscribe("m", 0)
	if s.Meeting() != "m" || cap(s.ch) != DefaultSubscribeBuffer {
		t.Fatalf("meeting %q buffer %d", s.Meeting(), cap(s.ch))
	}
	s.Close()
	s.Close()
	if _, ok := <-s.C(); ok || s.Err() != nil {
		t.Fatalf("after Close: open=%v Err=%v", ok, s.Err())
	}
	// The log no longer delivers to it, and does not panic on a closed channel.
	if _, err := l.Append(context.Background(), final("m", "s", "x")); err != nil {
		t.Fatal(err)
	}
	if len(l.fan.subs) != 0 {
		t.Fatalf("closed subscription still registered: %v", l.fan.subs)
	}
}

func TestMemLogClose(t *testing.T) {
	l := NewMemLog()
	ctx := context.Background()
	s := l.Subscribe("m", 4)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-s.C(); ok || !errors.Is(s.Err(), ErrLogClosed) {
		t.Fatalf("subscription after log Close: open=%v Err=%v", ok, s.Err())
	}
	if _, err := l.Append(ctx, final("m", "s", "x")); !errors.Is(err, ErrLogClosed) {
		t.Errorf("Append after Close = %v", err)
	}
	if err := l.Publish(partial("m", "s", "x")); !errors.Is(err, ErrLogClosed) {
		t.Errorf("Publish after Close = %v", err)
	}
	if _, err := l.Since(ctx, "m", 0); !errors.Is(err, ErrLogClosed) {
		t.Errorf("Since after Close = %v", err)
	}
	late := l.Subscribe("m", 4)
	if _, ok := <-late.C(); ok || !errors.Is(late.Err(), ErrLogClosed) {
		t.Errorf("Subscribe after Close: open=%v Err=%v", ok, late.Err())
	}
}
