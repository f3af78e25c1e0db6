// Package storetest is the conformance suite of the record's logs and stores: every
// implementation of ledger.Log (MemLog, SQLiteStore, PostgresStore) passes RunLog, and every
// ledger.Store (SQLiteStore, PostgresStore) passes RunStore too, so that a viewer resuming with
// since=SEQ, a subscriber, a producer and the pages see the same behaviour whichever keeps the
// record.
//
// Concurrency: the suite's subtests run one after another; each opens its own log or database.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/ledger"
)

// Log is a ledger.Log that can be closed, as every implementation is.
type Log interface {
	ledger.Log
	Close() error
}

// Opener opens an empty log whose clock is now, for one test; the suite closes it when the test
// needs it closed, and the opener's own cleanup must tolerate a second Close.
type Opener func(t *testing.T, now func() time.Time) Log

// RunLog checks the rules every Log follows (see ledger.Log): Seq per meeting from 1 without
// gaps, Since, refusals, copies of payloads, stored-then-published order, partials carrying the
// current Seq, slow subscribers dropped, Close, and concurrent appenders.
func RunLog(t *testing.T, open Opener) {
	at := time.Date(2026, 3, 5, 9, 0, 0, 123456789, time.FixedZone("CET", 3600))
	clock := func() time.Time { return at }
	ctx := context.Background()
	t.Run("seq", func(t *testing.T) {
		l := open(t, clock)
		for i := 1; i <= 3; i++ {
			for _, m := range []string{"a", "b"} {
				e, err := l.Append(ctx, final(m, fmt.Sprint(i), "x"))
				if err != nil {
					t.Fatal(err)
				}
				if e.Seq != int64(i) || e.V != ledger.SchemaVersion || !e.At.Equal(at) || e.At.Location() != time.UTC {
					t.Fatalf("meeting %s append %d: seq=%d v=%d at=%v", m, i, e.Seq, e.V, e.At)
				}
			}
		}
		for _, tc := range []struct {
			meeting string
			seq     int64
			want    []int64
		}{{"a", -5, []int64{1, 2, 3}}, {"a", 0, []int64{1, 2, 3}}, {"a", 1, []int64{2, 3}}, {"a", 3, nil}, {"a", 99, nil}, {"nobody", 0, nil}} {
			got, err := l.Since(ctx, tc.meeting, tc.seq)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			for _, e := range got {
				seqs = append(seqs, e.Seq)
			}
			if !reflect.DeepEqual(seqs, tc.want) {
				t.Errorf("Since(%s, %d) = %v, want %v", tc.meeting, tc.seq, seqs, tc.want)
			}
		}
	})
	t.Run("refusals", func(t *testing.T) {
		l := open(t, clock)
		if _, err := l.Append(ctx, partial("m", "s", "x")); !errors.Is(err, ledger.ErrInvalidEvent) {
			t.Errorf("Append(partial) = %v, want ledger.ErrInvalidEvent", err)
		}
		if err := l.Publish(final("m", "s", "x")); !errors.Is(err, ledger.ErrInvalidEvent) {
			t.Errorf("Publish(final) = %v, want ledger.ErrInvalidEvent", err)
		}
		if _, err := l.Append(ctx, ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: "m"}); !errors.Is(err, ledger.ErrInvalidEvent) {
			t.Errorf("Append(no segment) = %v, want ledger.ErrInvalidEvent", err)
		}
		if _, err := l.Append(ctx, final("m", "s", "a\x00b")); !errors.Is(err, ledger.ErrInvalidEvent) {
			t.Errorf("Append(NUL in text) = %v, want ledger.ErrInvalidEvent", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := l.Append(cctx, final("m", "s", "x")); !errors.Is(err, context.Canceled) {
			t.Errorf("Append(cancelled) = %v, want context.Canceled", err)
		}
		if _, err := l.Since(cctx, "m", 0); !errors.Is(err, context.Canceled) {
			t.Errorf("Since(cancelled) = %v, want context.Canceled", err)
		}
		if got, err := l.Since(ctx, "m", 0); err != nil || len(got) != 0 {
			t.Errorf("refused events were stored: %v, %v", got, err)
		}
	})
	t.Run("copies payload", func(t *testing.T) {
		l := open(t, clock)
		c := &ledger.CommitmentInfo{ID: "c1", What: "send", SegmentIDs: []string{"s1"}}
		e, err := l.Append(ctx, ledger.Event{Type: ledger.TypeCommitmentUpsert, Meeting: "m", Commitment: c})
		if err != nil {
			t.Fatal(err)
		}
		c.What, c.SegmentIDs[0] = "changed", "changed"
		got, err := l.Since(ctx, "m", 0)
		if err != nil {
			t.Fatal(err)
		}
		if e.Commitment.What != "send" || got[0].Commitment.What != "send" || got[0].Commitment.SegmentIDs[0] != "s1" {
			t.Errorf("the log kept the producer's memory: %+v %+v", e.Commitment, got[0].Commitment)
		}
	})
	t.Run("stored then published, partials carry seq", func(t *testing.T) {
		l := open(t, clock)
		sub := l.Subscribe("m", 16)
		other := l.Subscribe("n", 16)
		if err := l.Publish(partial("m", "s1", "we'll")); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(ctx, final("m", "s1", "we'll send it")); err != nil {
			t.Fatal(err)
		}
		if err := l.Publish(partial("m", "s2", "by")); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(ctx, final("m", "s2", "by Friday")); err != nil {
			t.Fatal(err)
		}
		want := []struct {
			typ ledger.EventType
			seq int64
		}{{ledger.TypeSegmentPartial, 0}, {ledger.TypeSegmentFinal, 1}, {ledger.TypeSegmentPartial, 1}, {ledger.TypeSegmentFinal, 2}}
		for i, w := range want {
			e := <-sub.C()
			if e.Type != w.typ || e.Seq != w.seq {
				t.Errorf("event %d = %s seq %d, want %s seq %d", i, e.Type, e.Seq, w.typ, w.seq)
			}
			if e.Type.Stored() {
				got, err := l.Since(ctx, "m", e.Seq-1)
				if err != nil || len(got) == 0 || !reflect.DeepEqual(got[0], e) {
					t.Errorf("published %+v, stored %+v, %v", e, got, err)
				}
			}
		}
		select {
		case e := <-other.C():
			t.Errorf("meeting n received %+v", e)
		default:
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if _, ok := <-sub.C(); ok || !errors.Is(sub.Err(), ledger.ErrLogClosed) {
			t.Errorf("after Close: open=%v err=%v", ok, sub.Err())
		}
	})
	t.Run("slow subscriber is dropped", func(t *testing.T) {
		l := open(t, clock)
		slow := l.Subscribe("m", 1)
		for i := range 3 {
			if _, err := l.Append(ctx, final("m", fmt.Sprint(i), "x")); err != nil {
				t.Fatal(err)
			}
		}
		<-slow.C()
		if _, ok := <-slow.C(); ok || !errors.Is(slow.Err(), ledger.ErrLagged) {
			t.Errorf("slow subscriber: open=%v err=%v", ok, slow.Err())
		}
	})
	t.Run("closed", func(t *testing.T) {
		l := open(t, clock)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
		if _, err := l.Append(ctx, final("m", "s", "x")); !errors.Is(err, ledger.ErrLogClosed) {
			t.Errorf("Append after Close = %v", err)
		}
		if err := l.Publish(partial("m", "s", "x")); !errors.Is(err, ledger.ErrLogClosed) {
			t.Errorf("Publish after Close = %v", err)
		}
		if _, err := l.Since(ctx, "m", 0); !errors.Is(err, ledger.ErrLogClosed) {
			t.Errorf("Since after Close = %v", err)
		}
		sub := l.Subscribe("m", 1)
		if _, ok := <-sub.C(); ok || !errors.Is(sub.Err(), ledger.ErrLogClosed) {
			t.Errorf("Subscribe after Close: open=%v err=%v", ok, sub.Err())
		}
	})
	t.Run("concurrent appenders", func(t *testing.T) {
		concurrentAppenders(t, open)
	})
}

// concurrentAppenders: appends from several goroutines to two meetings get dense, ordered Seqs;
// each producer's events keep its order; a subscriber sees them in Seq order.
func concurrentAppenders(t *testing.T, open Opener) {
	s := open(t, time.Now)
	ctx := context.Background()
	const producers, each = 4, 25
	sub := s.Subscribe("m", producers*each)
	other := s.Subscribe("n", producers*each)

	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				meeting := "m"
				if i%5 == 4 {
					meeting = "n"
				}
				if _, err := s.Append(ctx, final(meeting, fmt.Sprintf("p%d-%03d", p, i), "x")); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	for meeting, want := range map[string]int{"m": producers * each * 4 / 5, "n": producers * each / 5} {
		got, err := s.Since(ctx, meeting, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Fatalf("meeting %s: %d events, want %d", meeting, len(got), want)
		}
		last := map[byte]string{}
		for i, e := range got {
			if e.Seq != int64(i+1) {
				t.Fatalf("meeting %s: event %d has seq %d", meeting, i, e.Seq)
			}
			p := e.Segment.ID[1]
			if e.Segment.ID <= last[p] {
				t.Errorf("meeting %s: producer %c out of order: %s after %s", meeting, p, e.Segment.ID, last[p])
			}
			last[p] = e.Segment.ID
		}
		ch := sub.C()
		if meeting == "n" {
			ch = other.C()
		}
		for i := range want {
			if e := <-ch; e.Seq != int64(i+1) {
				t.Fatalf("meeting %s: subscriber got seq %d at %d", meeting, e.Seq, i)
			}
		}
	}
}

func final(meeting, id, text string) ledger.Event {
	return ledger.Event{Type: ledger.TypeSegmentFinal, Meeting: meeting, Segment: &ledger.SegmentInfo{ID: id, Channel: "mic", Text: text}}
}

func partial(meeting, id, text string) ledger.Event {
	return ledger.Event{Type: ledger.TypeSegmentPartial, Meeting: meeting, Segment: &ledger.SegmentInfo{ID: id, Channel: "mic", Text: text}}
}
