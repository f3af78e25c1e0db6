package natsbus

import (
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/broker"
	"github.com/ledgerline/ledgerline/internal/leaktest"
)

func TestSubject(t *testing.T) {
	for _, id := range []string{"0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "abc_DEF-09"} {
		if got := Subject(id); got != Prefix+id {
			t.Errorf("Subject(%q) = %q", id, got)
		}
	}
	seen := map[string]string{}
	for _, id := range []string{"a.b", "a~b", "a b", "a*", ">", "", "a..b", strings.Repeat("x", 129), "h"} {
		s := Subject(id)
		if strings.ContainsAny(strings.TrimPrefix(s, Prefix), " *>\t") || strings.Contains(s, "..") || strings.HasSuffix(s, ".") {
			t.Errorf("Subject(%q) = %q: not a valid subject", id, s)
		}
		if other, ok := seen[s]; ok {
			t.Errorf("Subject(%q) = Subject(%q) = %q", id, other, s)
		}
		seen[s] = id
	}
	if Subject("h") == Subject("a.b") || !strings.HasPrefix(Subject("a.b"), Prefix+"h.") {
		t.Errorf("hashed subject %q", Subject("a.b"))
	}
}

func TestBusDeliversPerMeetingUntilStopped(t *testing.T) {
	leaktest.Check(t)
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pub, err := b.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	sub, err := b.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	bp, err := New(pub)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := New(sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(nil); err == nil {
		t.Fatal("New(nil) made a Bus")
	}

	got := make(chan string, 16)
	stop, err := bs.Subscribe("m.1~x", func(data []byte) { got <- string(data) })
	if err != nil {
		t.Fatal(err)
	}
	stopOther, err := bs.Subscribe("m-2", func(data []byte) { got <- "other:" + string(data) })
	if err != nil {
		t.Fatal(err)
	}
	defer stopOther()
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"one", "two"} {
		if err := bp.Publish("m.1~x", []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"one", "two"} {
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("got %q, want %q", m, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %q", want)
		}
	}
	stop()
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := bp.Publish("m.1~x", []byte("after stop")); err != nil {
		t.Fatal(err)
	}
	if err := bp.Publish("m-2", []byte("three")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "other:three" {
			t.Fatalf("got %q after stop", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message for the other meeting")
	}
}
