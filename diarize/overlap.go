package diarize

import (
	"errors"
	"time"
)

// overlapAt says whether the window straddling a speaker change at sample
// at of audio sounds like both voices at once: nearer the mean of the
// speech either side than either side alone. It returns the window's span.
func (d *Diarizer) overlapAt(audio []float32, at, win int) (lo, hi int, ok bool) {
	lo, hi = max(0, at-win/2), min(len(audio), at+win/2)
	left, err1 := d.opt.Embedder.Embed(audio[max(0, at-2*win):max(0, at-win/2)])
	right, err2 := d.opt.Embedder.Embed(audio[min(len(audio), at+win/2):min(len(audio), at+2*win)])
	mid, err3 := d.opt.Embedder.Embed(audio[lo:hi])
	if errors.Join(err1, err2, err3) != nil {
		return 0, 0, false
	}
	both := make([]float64, len(left))
	for i := range both {
		both[i] = (left[i] + right[i]) / 2
	}
	dm := d.distance(mid, both)
	return lo, hi, dm < d.distance(mid, left) && dm < d.distance(mid, right)
}

// markOverlap gives the span [a, b) to both speakers either side of it.
func (d *Diarizer) markOverlap(a, b time.Duration) {
	var ids []int
	for _, t := range d.turns {
		if t.end > a && t.start < b {
			if id := d.resolve(t.id); len(ids) == 0 || ids[len(ids)-1] != id {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) < 2 {
		return
	}
	for i := range d.turns {
		t := &d.turns[i]
		if t.end > a && t.start < b {
			t.overlap = true
		}
	}
	for _, id := range ids {
		d.turns = append(d.turns, turn{start: a, end: b, id: id, overlap: true})
	}
}
