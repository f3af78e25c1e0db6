package agent

import (
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/ledgerline/ledgerline/stream"
)

// echoGuard keeps the seller from being credited with the call's own words.
// Echo cancellation removes most of what the mic hears of the laptop's
// speakers, but what leaks through is transcribed on the mic as well as on
// the system channel. A mic final whose words are, nearly all, words of
// system finals said at about the same time is such a leak and is dropped,
// counted and logged. Real double-talk keeps its own words and stays: the
// seller's words are not the system's, and a final that mixes both has too
// few of the system's to be dropped.
//
// A mic final decoded before the system final it repeats is not caught: the
// system channel usually ends its utterance first, as its echo trails it.
//
// The zero value is ready. Safe for concurrent use: each channel's decode
// goroutine calls echoed.
type echoGuard struct {
	mu      sync.Mutex
	heard   []heardFinal // the system channel's recent finals, oldest first
	dropped int
}

type heardFinal struct {
	start, end time.Duration
	words      []string
}

const (
	// echoSlack is how far apart in time a mic final and a system final
	// may lie and still be one utterance heard twice: the echo's delay
	// plus the play-out between the two channels' word timings.
	echoSlack = 1500 * time.Millisecond
	// echoShare is the share of a mic final's words that must be the
	// system's for the final to count as echo.
	echoShare = 0.8
	// echoMemory is how long a system final is kept for comparison.
	echoMemory = 30 * time.Second
)

// echoed records a final of channel spanning [start, end) with text, and
// tells whether it is a mic final that repeats the system channel, which is
// then to be dropped.
func (g *echoGuard) echoed(channel string, start, end time.Duration, text string, log *slog.Logger) bool {
	if channel != stream.ChannelMic && channel != stream.ChannelSystem {
		return false
	}
	words := echoWords(text)
	g.mu.Lock()
	defer g.mu.Unlock()
	if channel == stream.ChannelSystem {
		g.heard = append(g.heard, heardFinal{start: start, end: end, words: words})
		for len(g.heard) > 0 && g.heard[0].end < end-echoMemory {
			g.heard = g.heard[1:]
		}
		return false
	}
	if len(words) == 0 {
		return false
	}
	said := map[string]int{} // the system's words around this final, counted
	for _, h := range g.heard {
		if h.start-echoSlack < end && start < h.end+echoSlack {
			for _, w := range h.words {
				said[w]++
			}
		}
	}
	matched := 0
	for _, w := range words {
		if said[w] > 0 {
			said[w]--
			matched++
		}
	}
	if float64(matched) < echoShare*float64(len(words)) {
		return false
	}
	g.dropped++
	// The words themselves stay out of the log: they are the call's content.
	log.Info("mic final dropped as the call's echo", "start_ms", start.Milliseconds(), "end_ms", end.Milliseconds(),
		"words", len(words), "matched", matched, "dropped_so_far", g.dropped)
	return true
}

// echoWords are the words of text, lower-cased, without punctuation.
func echoWords(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}
