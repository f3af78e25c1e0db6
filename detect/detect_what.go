package detect

import "slices"

// The action phrase of a commitment: what a promise says is to be done, from its verb to the end of
// its clause, with the object said before it and the actions of the promises joined to it.

// joiner is what joins the action of a promise to the one before it, whose trigger starts at
// token from: the last conjunction said between them (" and "), else a comma.
func (r *langRules) joiner(s *sentence, from, to int) string {
	for i := to - 1; i > from; i-- {
		if r.clauseEnd[s.toks[i].low] {
			return " " + s.toks[i].text + " "
		}
	}
	return ", "
}

// frontedObject is the object said before a trigger that takes it up with a pronoun ("la doc
// sécurité je vous le envoie" → "la doc sécurité"); none when there is no such object.
func (r *langRules) frontedObject(s *sentence, t trigger) []token {
	if r.fronted == nil || !slices.ContainsFunc(s.toks[t.start:t.verb], func(tk token) bool { return r.objectPronouns[tk.low] }) {
		return nil
	}
	loc, o := r.fronted.FindStringSubmatchIndex(s.joined[:s.offs[t.start]]), r.fronted.SubexpIndex("o")
	if loc == nil || loc[2*o] < 0 {
		return nil
	}
	return s.toks[s.tokenAt(loc[2*o]) : s.tokenAt(loc[2*o+1]-1)+1]
}

// what renders the action phrase of a trigger whose clause ends at b, without the due phrase [dueA,dueB).
func (r *langRules) what(s *sentence, t trigger, b, dueA, dueB int) string {
	a := t.verb
	if a < 0 || t.p.verbFinal {
		a = t.end
	}
	if t.p.mode == modePromise && t.verb < 0 {
		a = t.end
	}
	var toks []token
	for i := a; i < b && i < len(s.toks); i++ {
		if i >= dueA && i < dueB {
			continue
		}
		toks = append(toks, s.toks[i])
	}
	kept := toks[:0]
	for _, tk := range toks {
		if !dateHedges[tk.low] {
			kept = append(kept, tk)
		}
	}
	toks = kept
	for len(toks) > 0 && (toks[0].punct || r.dropAt[toks[0].low]) {
		toks = toks[1:]
	}
	for len(toks) > 0 {
		last := toks[len(toks)-1]
		if last.punct || r.dropAt[last.low] || r.clauseEnd[last.low] {
			toks = toks[:len(toks)-1]
			continue
		}
		break
	}
	if len(toks) == 1 && t.verb >= 0 {
		toks = append(toks, r.frontedObject(s, t)...)
	}
	if len(toks) > 12 {
		toks = toks[:12]
	}
	tmp := sentence{toks: toks}
	return asSaid(s.raw, tmp.phrase(0, len(toks)))
}
