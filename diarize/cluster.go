package diarize

import "math"

// cluster is one speaker of the online clustering: the sum of its pieces'
// embeddings, each weighted by its seconds of speech.
type cluster struct {
	id     int
	sum    []float64
	weight float64 // seconds of speech
	into   int     // id merged into, 0 while alive
}

// centre is the point distances are measured around: the mean of the
// meeting's speech, drawn towards zero (where embeddings of speech in general
// are centred) until centrePrior seconds have been heard.
func (d *Diarizer) centre() []float64 {
	c := make([]float64, len(d.centreSum))
	for i, v := range d.centreSum {
		c[i] = v / (d.centreW + centrePrior)
	}
	return c
}

// distance is the cosine distance of a and b around the centre.
func (d *Diarizer) distance(a, b []float64) float64 {
	if len(d.centreSum) != len(a) {
		d.centreSum, d.centreW = make([]float64, len(a)), 0
	}
	c := d.centre()
	anchor := d.opt.Anchor
	dot, na, nb := anchor*anchor, anchor*anchor, anchor*anchor
	for i := range a {
		x, y := a[i]-c[i], b[i]-c[i]
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 1
	}
	return 1 - dot/math.Sqrt(na*nb)
}

func (c *cluster) mean() []float64 {
	m := make([]float64, len(c.sum))
	for i, v := range c.sum {
		m[i] = v / c.weight
	}
	return m
}

func (d *Diarizer) live() []*cluster {
	var out []*cluster
	for _, c := range d.clusters {
		if c.into == 0 {
			out = append(out, c)
		}
	}
	return out
}

// assign adds an embedding of w seconds to the nearest speaker or a new
// one, merges speakers found to be one, and returns the id it ends up with.
func (d *Diarizer) assign(emb []float64, w float64, short bool) int {
	live := d.live()
	var best *cluster
	bestD := math.Inf(1)
	for _, c := range live {
		if dist := d.distance(emb, c.mean()); dist < bestD {
			best, bestD = c, dist
		}
	}
	target := best
	if best == nil || (bestD >= d.opt.Threshold && !short) {
		target = &cluster{id: len(d.clusters) + 1, sum: make([]float64, len(emb))}
		d.clusters = append(d.clusters, target)
	}
	for i, v := range emb {
		target.sum[i] += w * v
	}
	target.weight += w
	d.merge()
	return d.resolve(target.id)
}

// merge joins the closest pair of speakers while they are closer than
// MergeThreshold or there are more than MaxSpeakers.
func (d *Diarizer) merge() {
	for {
		live := d.live()
		if len(live) < 2 {
			return
		}
		var a, b *cluster
		best := math.Inf(1)
		for i := range live {
			for j := i + 1; j < len(live); j++ {
				if dist := d.distance(live[i].mean(), live[j].mean()); dist < best {
					a, b, best = live[i], live[j], dist
				}
			}
		}
		if best >= d.opt.MergeThreshold && (d.opt.MaxSpeakers == 0 || len(live) <= d.opt.MaxSpeakers) {
			return
		}
		d.fold(b, a) // b has the higher id: clusters are in id order
	}
}

// fold merges speaker from into speaker to; the older id survives.
func (d *Diarizer) fold(from, to *cluster) {
	if from.id < to.id {
		from, to = to, from
	}
	for i, v := range from.sum {
		to.sum[i] += v
	}
	to.weight += from.weight
	from.sum, from.weight, from.into = nil, 0, to.id
}

func (d *Diarizer) resolve(id int) int {
	for id > 0 && d.clusters[id-1].into != 0 {
		id = d.clusters[id-1].into
	}
	return id
}
