package diarize

import "math"

// changes finds speaker changes inside one stretch of speech, as sample
// offsets, and the spans around them that sound like two voices at once.
func (d *Diarizer) changes(audio []float32, embs [][]float64) (cuts []int, over [][2]int) {
	win, hop := durToSamples(d.opt.Window), durToSamples(d.opt.Hop)
	minTurn := durToSamples(d.opt.MinTurn)
	if len(audio) < 2*win || hop <= 0 {
		return nil, nil
	}
	m := max(1, win/hop)
	dist := make([]float64, len(embs))
	for k := range dist {
		dist[k] = math.NaN()
		if k+m < len(embs) && embs[k] != nil && embs[k+m] != nil {
			dist[k] = d.distance(embs[k], embs[k+m])
		}
	}
	last := 0
	for k, v := range dist {
		if !(v > d.opt.ChangeThreshold) || (k > 0 && dist[k-1] > v) || (k+1 < len(dist) && dist[k+1] >= v) {
			continue
		}
		at := d.refine(audio, k*hop+win, hop, win)
		if at-last < minTurn || len(audio)-at < minTurn {
			continue
		}
		cuts = append(cuts, at)
		last = at
		if d.opt.NoOverlap {
			continue
		}
		if lo, hi, ok := d.overlapAt(audio, at, win); ok {
			over = append(over, [2]int{lo, hi})
		}
	}
	return cuts, over
}

// windows embeds the windows of one stretch of speech, Window long every
// Hop; nil for a window with too little voice, and none for a stretch
// shorter than a window.
func (d *Diarizer) windows(audio []float32) [][]float64 {
	win, hop := durToSamples(d.opt.Window), durToSamples(d.opt.Hop)
	if hop <= 0 {
		return nil
	}
	var embs [][]float64
	for k := 0; k*hop+win <= len(audio); k++ {
		e, err := d.opt.Embedder.Embed(audio[k*hop : k*hop+win])
		if err != nil {
			e = nil
		}
		embs = append(embs, e)
	}
	return embs
}

// refine moves a change found at sample c to where the windows either side
// of it differ most, within ±hop, in 100 ms steps.
func (d *Diarizer) refine(audio []float32, c, hop, win int) int {
	step := sampleRate / 10
	best, bestD := c, -1.0
	for t := c - hop; t <= c+hop; t += step {
		if t < sampleRate/2 || len(audio)-t < sampleRate/2 {
			continue
		}
		l, err1 := d.opt.Embedder.Embed(audio[max(0, t-win):t])
		r, err2 := d.opt.Embedder.Embed(audio[t:min(len(audio), t+win)])
		if err1 != nil || err2 != nil {
			continue
		}
		if v := d.distance(l, r); v > bestD {
			best, bestD = t, v
		}
	}
	return best
}
