package agent

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/stream"
)

func TestEchoGuard(t *testing.T) {
	const remote = "That could work, but we would need the security review finished before the end of the quarter."
	s := time.Second
	type final struct {
		channel    string
		start, end time.Duration
		text       string
		dropped    bool
	}
	steps := []struct {
		name string
		final
	}{
		{"the system final is kept", final{stream.ChannelSystem, 9 * s, 14 * s, remote, false}},
		{"its echo on the mic is dropped", final{stream.ChannelMic, 9*s + 200*time.Millisecond, 14*s + 100*time.Millisecond,
			"that could work but we would need the security review finished before the end of the quarter", true}},
		{"a leaked piece of it is dropped", final{stream.ChannelMic, 12 * s, 13 * s, "end of the Quarter.", true}},
		{"double-talk with words of its own is kept", final{stream.ChannelMic, 10 * s, 13 * s,
			"our security team can start the review on Monday and share the report", false}},
		{"double-talk mixed with a leak is kept", final{stream.ChannelMic, 11 * s, 14 * s,
			"I can send the report on Friday, the end of the quarter", false}},
		{"the same words said much later are kept", final{stream.ChannelMic, 40 * s, 45 * s, remote, false}},
		{"an empty mic final is kept", final{stream.ChannelMic, 10 * s, 11 * s, " ... ", false}},
		{"other channels are never judged", final{"alice/mic", 9 * s, 14 * s, remote, false}},
	}
	var g echoGuard
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	drops := 0
	for _, st := range steps {
		if got := g.echoed(st.channel, st.start, st.end, st.text, log); got != st.dropped {
			t.Errorf("%s: dropped %v, want %v", st.name, got, st.dropped)
		}
		if st.dropped {
			drops++
		}
	}
	if g.dropped != drops {
		t.Errorf("counted %d drops, want %d", g.dropped, drops)
	}
	if n := strings.Count(logs.String(), "dropped as the call's echo"); n != drops {
		t.Errorf("logged %d drops, want %d:\n%s", n, drops, logs.String())
	}
	if strings.Contains(logs.String(), "quarter") {
		t.Errorf("the log holds the call's words:\n%s", logs.String())
	}
}

func TestEchoGuardForgetsOldSystemFinals(t *testing.T) {
	var g echoGuard
	log := slog.New(slog.DiscardHandler)
	g.echoed(stream.ChannelSystem, 0, 2*time.Second, "send the contract next week", log)
	g.echoed(stream.ChannelSystem, 60*time.Second, 62*time.Second, "thanks everyone", log)
	if len(g.heard) != 1 {
		t.Fatalf("%d system finals kept after a minute, want only the latest", len(g.heard))
	}
	if g.echoed(stream.ChannelMic, 100*time.Millisecond, 2100*time.Millisecond, "send the contract next week", log) {
		t.Error("a mic final was dropped as the echo of a system final that was forgotten")
	}
}
