package models

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

const (
	redrawEvery     = 100 * time.Millisecond
	unknownStepSize = 64 << 20
	defaultWidth    = 80
)

// NewProgress returns a progress callback for PullOptions.Progress that
// writes to w under label. On a terminal it redraws one line with a bar, the
// bytes done, percent, rate and time left; elsewhere (a log, a pipe) it
// writes a plain line at every tenth of the total, or every 64 MiB when the
// total is unknown. total is the expected size, or 0 to take it from the
// callback. Write errors are ignored: progress is a courtesy. The callback
// is for one goroutine at a time.
func NewProgress(w io.Writer, label string, total int64) func(done, total int64) {
	tty, width := false, defaultWidth
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty = true
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			width = cols
		}
	}
	return newProgress(w, label, total, tty, width, time.Now).update
}

type progress struct {
	w     io.Writer
	label string
	total int64
	tty   bool
	width int
	now   func() time.Time

	started   bool
	start     time.Time
	startDone int64
	lastDraw  time.Time
	nextStep  int64 // plain output: percent, or bytes when the total is unknown
	finished  bool
}

func newProgress(w io.Writer, label string, total int64, tty bool, width int, now func() time.Time) *progress {
	return &progress{w: w, label: label, total: total, tty: tty, width: width, now: now}
}

func (p *progress) update(done, total int64) {
	if total > 0 {
		p.total = total
	}
	t := p.now()
	if !p.started {
		p.started, p.start, p.startDone = true, t, done
		p.nextStep = p.firstStep(done)
	}
	complete := p.total > 0 && done >= p.total
	if p.finished {
		return
	}
	if p.tty {
		if !complete && p.lastDraw != (time.Time{}) && t.Sub(p.lastDraw) < redrawEvery {
			return
		}
		p.lastDraw = t
		line := p.barLine(done, t)
		if complete {
			p.finished = true
			fmt.Fprintf(p.w, "\r%s\n", line)
			return
		}
		fmt.Fprintf(p.w, "\r%s", line)
		return
	}
	p.plain(done, t, complete)
}

// firstStep is the first threshold above done: a resumed download reports
// from where it resumed.
func (p *progress) firstStep(done int64) int64 {
	if p.total > 0 {
		return (percent(done, p.total)/10 + 1) * 10
	}
	return (done/unknownStepSize + 1) * unknownStepSize
}

func (p *progress) plain(done int64, t time.Time, complete bool) {
	if complete {
		p.finished = true
		fmt.Fprintf(p.w, "%s: done, %s in %s\n", p.label, formatBytes(done), formatDuration(t.Sub(p.start)))
		return
	}
	if p.total > 0 {
		pct := percent(done, p.total)
		if pct < p.nextStep {
			return
		}
		p.nextStep = (pct/10 + 1) * 10
		fmt.Fprintf(p.w, "%s: %d%% (%s of %s)%s\n", p.label, pct, formatBytes(done), formatBytes(p.total), p.rateETA(done, t))
		return
	}
	if done < p.nextStep {
		return
	}
	p.nextStep = (done/unknownStepSize + 1) * unknownStepSize
	fmt.Fprintf(p.w, "%s: %s%s\n", p.label, formatBytes(done), p.rateETA(done, t))
}

func (p *progress) barLine(done int64, t time.Time) string {
	var info string
	if p.total > 0 {
		info = fmt.Sprintf(" %3d%% %s/%s%s", percent(done, p.total), formatBytes(done), formatBytes(p.total), p.rateETA(done, t))
	} else {
		info = " " + formatBytes(done) + p.rateETA(done, t)
	}
	barWidth := p.width - len(p.label) - len(info) - 4
	if barWidth < 10 || p.total <= 0 {
		return fit(p.label+info, p.width-1)
	}
	fill := int(int64(barWidth) * min(done, p.total) / p.total)
	bar := strings.Repeat("=", fill)
	if fill < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-fill-1)
	}
	return fit(p.label+" ["+bar+"]"+info, p.width-1)
}

// rateETA is ", 5.2 MiB/s, 0:15 left" once a rate can be measured.
func (p *progress) rateETA(done int64, t time.Time) string {
	elapsed := t.Sub(p.start)
	got := done - p.startDone
	if elapsed <= 0 || got <= 0 {
		return ""
	}
	rate := float64(got) / elapsed.Seconds()
	s := ", " + formatBytes(int64(rate)) + "/s"
	if p.total > 0 && done < p.total {
		left := time.Duration(float64(p.total-done) / rate * float64(time.Second))
		s += ", " + formatDuration(left) + " left"
	}
	return s
}

func fit(s string, width int) string {
	if width > 0 && len(s) > width {
		return s[:width]
	}
	return s
}

func percent(done, total int64) int64 {
	if total <= 0 {
		return 0
	}
	p := done * 100 / total
	return min(max(p, 0), 100)
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n)
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	i := -1
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// formatDuration writes m:ss, or h:mm:ss from an hour up.
func formatDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s < 0 {
		s = 0
	}
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
