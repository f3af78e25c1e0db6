package models

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fakeClock advances only when told to.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)}
}

func TestProgressPlainEveryTenth(t *testing.T) {
	var buf bytes.Buffer
	clk := newFakeClock()
	p := newProgress(&buf, "base", 0, false, 80, clk.now)
	const total = 100 << 20
	for done := int64(0); done <= total; done += 1 << 20 {
		p.update(done, total)
		clk.t = clk.t.Add(time.Second)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d lines, want 9 steps and done:\n%s", len(lines), buf.String())
	}
	if want := "base: 10% (10.0 MiB of 100.0 MiB), 1.0 MiB/s, 1:30 left"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	if !strings.HasPrefix(lines[8], "base: 90%") {
		t.Errorf("ninth line %q", lines[8])
	}
	if want := "base: done, 100.0 MiB in 1:40"; lines[9] != want {
		t.Errorf("last line %q, want %q", lines[9], want)
	}
	p.update(total, total)
	if strings.Count(buf.String(), "done") != 1 {
		t.Error("done reported twice")
	}
}

func TestProgressPlainResumedStartsAtOffset(t *testing.T) {
	var buf bytes.Buffer
	clk := newFakeClock()
	p := newProgress(&buf, "m", 1000, false, 80, clk.now)
	p.update(450, -1)
	p.update(480, -1)
	if buf.Len() != 0 {
		t.Fatalf("reported before the next tenth: %q", buf.String())
	}
	clk.t = clk.t.Add(time.Second)
	p.update(500, -1)
	if got := buf.String(); !strings.HasPrefix(got, "m: 50% (500 B of 1000 B), 50 B/s") {
		t.Errorf("got %q; the rate should count only bytes received since resuming", got)
	}
}

func TestProgressPlainUnknownTotal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "m", 0, false, 80, newFakeClock().now)
	for done := int64(0); done <= 200<<20; done += 8 << 20 {
		p.update(done, -1)
	}
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Errorf("%d lines for 200 MiB of unknown size, want one per 64 MiB:\n%s", n, buf.String())
	}
}

func TestProgressBarOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	clk := newFakeClock()
	p := newProgress(&buf, "tiny", 1000, true, 60, clk.now)
	p.update(0, 1000)
	p.update(100, 1000) // within the redraw interval: skipped
	clk.t = clk.t.Add(time.Second)
	p.update(500, 1000)
	clk.t = clk.t.Add(time.Millisecond)
	p.update(1000, 1000) // completion is always drawn

	frames := strings.Split(buf.String(), "\r")[1:]
	if len(frames) != 3 {
		t.Fatalf("%d frames, want 3: %q", len(frames), buf.String())
	}
	mid := frames[1]
	if !strings.Contains(mid, " 50% 500 B/1000 B, 500 B/s, 0:01 left") || !strings.Contains(mid, "tiny [") {
		t.Errorf("middle frame %q", mid)
	}
	if len(mid) > 59 {
		t.Errorf("frame %q wider than the terminal", mid)
	}
	last := frames[2]
	if !strings.HasSuffix(last, "\n") || !strings.Contains(last, "100%") || strings.Contains(last, ">") {
		t.Errorf("last frame %q", last)
	}
	if strings.Count(mid, "=") == 0 || strings.Count(last, "=") <= strings.Count(mid, "=") {
		t.Errorf("bar does not grow: %q then %q", mid, last)
	}
}

func TestNewProgressOnBufferIsPlain(t *testing.T) {
	var buf bytes.Buffer
	report := NewProgress(&buf, "x", 100)
	report(100, 100)
	if got := buf.String(); got != "x: done, 100 B in 0:00\n" {
		t.Errorf("got %q", got)
	}
}

func TestFormatBytes(t *testing.T) {
	cases := map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 142 << 20: "142.0 MiB", 3 << 30: "3.0 GiB"}
	for n, want := range cases {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{0: "0:00", 61 * time.Second: "1:01", 3725 * time.Second: "1:02:05", -time.Second: "0:00"}
	for d, want := range cases {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
