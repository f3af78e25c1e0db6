package diarize

import (
	"math"
	"slices"
	"time"
)

// DefaultCollar is the usual forgiveness around reference boundaries.
const DefaultCollar = 250 * time.Millisecond

// Score is the outcome of comparing a diarization with a reference.
type Score struct {
	// Total is the scored reference speech: each second counts once per
	// reference speaker talking in it.
	Total time.Duration
	// Missed is reference speech with too few hypothesis speakers.
	Missed time.Duration
	// FalseAlarm is hypothesis speech beyond the reference speakers.
	FalseAlarm time.Duration
	// Confusion is speech given to the wrong speaker under the best mapping.
	Confusion time.Duration
	// Mapping maps each hypothesis speaker to the reference speaker it was
	// matched with; unmatched ones are absent.
	Mapping map[string]string
}

// DER is the diarization error rate: (missed + false alarm + confusion) /
// total; 0 when there is no reference speech and no hypothesis speech, 1
// for hypothesis speech with no reference.
func (s Score) DER() float64 {
	errs := s.Missed + s.FalseAlarm + s.Confusion
	if s.Total == 0 {
		if errs == 0 {
			return 0
		}
		return 1
	}
	return float64(errs) / float64(s.Total)
}

// ScoreDER compares hypothesis turns with reference turns as the NIST
// md-eval tool does: the time within ±collar of every reference turn's
// start and end is not scored; overlapped reference speech is scored, each
// speaker on it counting once; hypothesis speakers are mapped one-to-one to
// reference speakers so as to maximise the time they share (the Hungarian
// algorithm). In each stretch with R reference and H hypothesis speakers,
// of which C are correctly mapped, missed time is max(0, R−H), false alarm
// max(0, H−R), and confusion min(R, H)−C, each times the stretch's length.
func ScoreDER(ref, hyp []Turn, collar time.Duration) Score {
	// Excluded zones around reference boundaries, merged.
	var zones [][2]time.Duration
	if collar > 0 {
		for _, t := range ref {
			zones = append(zones, [2]time.Duration{t.Start - collar, t.Start + collar},
				[2]time.Duration{t.End - collar, t.End + collar})
		}
		slices.SortFunc(zones, func(a, b [2]time.Duration) int { return cmpDur(a[0], b[0]) })
		merged := zones[:0]
		for _, z := range zones {
			if n := len(merged); n > 0 && z[0] <= merged[n-1][1] {
				merged[n-1][1] = max(merged[n-1][1], z[1])
				continue
			}
			merged = append(merged, z)
		}
		zones = merged
	}

	var cuts []time.Duration
	for _, t := range ref {
		cuts = append(cuts, t.Start, t.End)
	}
	for _, t := range hyp {
		cuts = append(cuts, t.Start, t.End)
	}
	for _, z := range zones {
		cuts = append(cuts, z[0], z[1])
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)

	refIDs, hypIDs := speakerIndex(ref), speakerIndex(hyp)
	type piece struct {
		dur      time.Duration
		ref, hyp []int
	}
	var pieces []piece
	zi := 0
	for i := 0; i+1 < len(cuts); i++ {
		a, b := cuts[i], cuts[i+1]
		for zi < len(zones) && zones[zi][1] <= a {
			zi++
		}
		if zi < len(zones) && zones[zi][0] <= a && b <= zones[zi][1] {
			continue // inside a collar
		}
		p := piece{dur: b - a, ref: activeAt(ref, refIDs, a, b), hyp: activeAt(hyp, hypIDs, a, b)}
		if len(p.ref) > 0 || len(p.hyp) > 0 {
			pieces = append(pieces, p)
		}
	}

	// Shared time between each reference and hypothesis speaker.
	nr, nh := len(refIDs.names), len(hypIDs.names)
	shared := make([][]float64, nr)
	for i := range shared {
		shared[i] = make([]float64, nh)
	}
	for _, p := range pieces {
		for _, r := range p.ref {
			for _, h := range p.hyp {
				shared[r][h] += p.dur.Seconds()
			}
		}
	}
	match := maxAssignment(shared) // ref index → hyp index or -1
	hypToRef := make([]int, nh)
	for i := range hypToRef {
		hypToRef[i] = -1
	}
	sc := Score{Mapping: make(map[string]string)}
	for r, h := range match {
		if h >= 0 {
			hypToRef[h] = r
			sc.Mapping[hypIDs.names[h]] = refIDs.names[r]
		}
	}
	for _, p := range pieces {
		nR, nH := len(p.ref), len(p.hyp)
		correct := 0
		for _, h := range p.hyp {
			if r := hypToRef[h]; r >= 0 && slices.Contains(p.ref, r) {
				correct++
			}
		}
		d := p.dur
		sc.Total += d * time.Duration(nR)
		sc.Missed += d * time.Duration(max(0, nR-nH))
		sc.FalseAlarm += d * time.Duration(max(0, nH-nR))
		sc.Confusion += d * time.Duration(min(nR, nH)-correct)
	}
	return sc
}

type speakerIDs struct {
	names []string
	index map[string]int
}

func speakerIndex(turns []Turn) speakerIDs {
	ids := speakerIDs{index: make(map[string]int)}
	for _, t := range turns {
		if _, ok := ids.index[t.Speaker]; !ok {
			ids.index[t.Speaker] = len(ids.names)
			ids.names = append(ids.names, t.Speaker)
		}
	}
	return ids
}

// activeAt lists, once each, the speakers of turns covering [a, b).
func activeAt(turns []Turn, ids speakerIDs, a, b time.Duration) []int {
	var out []int
	for _, t := range turns {
		if t.Start <= a && b <= t.End && t.Start < t.End {
			if i := ids.index[t.Speaker]; !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
	}
	return out
}

// maxAssignment matches rows to columns one-to-one so as to maximise the
// summed weight (the Hungarian algorithm on a padded square matrix). It
// returns each row's column, or -1 for a row left unmatched or matched
// with no weight.
func maxAssignment(w [][]float64) []int {
	rows := len(w)
	cols := 0
	if rows > 0 {
		cols = len(w[0])
	}
	n := max(rows, cols)
	out := make([]int, rows)
	for i := range out {
		out[i] = -1
	}
	if n == 0 {
		return out
	}
	var big float64
	for _, r := range w {
		for _, v := range r {
			big = max(big, v)
		}
	}
	cost := func(i, j int) float64 {
		if i < rows && j < cols {
			return big - w[i][j]
		}
		return big
	}
	// Jonker-style potentials, 1-based (Kuhn–Munkres, O(n³)).
	u := make([]float64, n+1)
	v := make([]float64, n+1)
	p := make([]int, n+1) // p[j]: row matched to column j
	way := make([]int, n+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		minv := make([]float64, n+1)
		used := make([]bool, n+1)
		for j := range minv {
			minv[j] = math.Inf(1)
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], math.Inf(1), 0
			for j := 1; j <= n; j++ {
				if used[j] {
					continue
				}
				cur := cost(i0-1, j-1) - u[i0] - v[j]
				if cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= n; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	for j := 1; j <= n; j++ {
		if i := p[j] - 1; i < rows && j-1 < cols && w[i][j-1] > 0 {
			out[i] = j - 1
		}
	}
	return out
}
