package detect

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/ledgerline/ledgerline/ledger"
)

// DefaultSimilarity is the Jaccard similarity of two action phrases (over their content words) at or
// above which a Book takes a new commitment of the same owner for the same promise said again.
const DefaultSimilarity = 0.5

// QuoteSeparator separates the quotes of a merged commitment in CommitmentInfo.Quote. The i-th quote
// is the evidence from the i-th of CommitmentInfo.SegmentIDs (see EvidenceOf).
const QuoteSeparator = "\n"

// Evidence is one piece of what a commitment rests on: the words said, and where they were said.
type Evidence struct {
	SegmentID string `json:"segment_id"`
	StartMS   int64  `json:"start_ms"` // meeting clock of the segment
	Quote     string `json:"quote"`
}

// Book is a meeting's commitment book, as the live pipeline keeps it: it takes each commitment the
// Detector finds, with the segment it came from, and decides whether it is a promise already in the
// book said again (same owner, similar action phrase) or a new one. Either way it returns the whole
// CommitmentInfo to append as a commitment.upsert.
//
// Merging keeps the first commitment's ID, what and owner; it adds the new quote and segment as
// evidence, keeps the more specific due date (an explicit date over a weekday or "tomorrow", either
// over "this week" or "end of month", any over none; the first one on a tie), fills in a beneficiary
// (with its organisation), a contact or an owner organisation still missing, and keeps the higher
// confidence: a recap ("so Ravi will send the SOC 2 report") adds its quote to the promise it
// restates. A dropped commitment takes no merges: the same promise made after it was dropped is a
// new one.
//
// A Book is safe for concurrent use, though a meeting's finals should reach it in order.
type Book struct {
	threshold float64
	idPrefix  string

	mu      sync.Mutex
	next    int
	entries []*bookEntry
	byID    map[string]*bookEntry
}

type bookEntry struct {
	info     ledger.CommitmentInfo
	words    map[string]bool
	evidence []Evidence
}

// BookOption configures a Book.
type BookOption func(*Book)

// WithSimilarity sets the Jaccard similarity at or above which two action phrases of one owner are
// the same promise (0 < s ≤ 1; default DefaultSimilarity).
func WithSimilarity(s float64) BookOption {
	return func(b *Book) {
		if s > 0 && s <= 1 {
			b.threshold = s
		}
	}
}

// WithIDPrefix sets the prefix of the IDs the Book gives new commitments (default "c-": "c-1", "c-2"…).
func WithIDPrefix(p string) BookOption {
	return func(b *Book) {
		if p != "" {
			b.idPrefix = p
		}
	}
}

// NewBook returns an empty commitment book for one meeting.
func NewBook(opts ...BookOption) *Book {
	b := &Book{threshold: DefaultSimilarity, idPrefix: "c-", byID: map[string]*bookEntry{}}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Add takes a commitment found in seg and returns the commitment to upsert, and whether it merged
// into one already in the book (the returned info then carries that one's ID).
func (b *Book) Add(c Commitment, seg ledger.SegmentInfo) (ledger.CommitmentInfo, bool) {
	ev := Evidence{SegmentID: seg.ID, StartMS: seg.StartMS, Quote: oneLine(c.Quote)}
	if ev.Quote == "" {
		ev.Quote = oneLine(seg.Text)
	}
	due := ""
	if c.HasDue() {
		due = c.Due.Format(time.DateOnly)
	}
	words := contentWords(c.What)

	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.match(c.Owner, words); e != nil {
		b.merge(e, c, due, ev)
		return cloneInfo(e.info), true
	}
	b.next++
	info := ledger.CommitmentInfo{
		ID: b.idPrefix + strconv.Itoa(b.next), What: c.What, Owner: c.Owner, OwnerOrg: c.OwnerOrg,
		Contact: c.Contact, Beneficiary: c.Beneficiary, BeneficiaryOrg: c.BeneficiaryOrg,
		Due: due, DuePhrase: c.DuePhrase, Status: ledger.StatusOpen,
		Confidence: c.Confidence, StartMS: seg.StartMS,
	}
	e := &bookEntry{info: info, words: words}
	e.addEvidence(ev)
	b.entries = append(b.entries, e)
	b.byID[info.ID] = e
	return cloneInfo(e.info), false
}

// Observe brings the book up to date with a commitment upserted by someone else (an edit, a status
// change) or read back from the store when a meeting resumes. Later IDs the Book gives do not
// collide with those it has observed. The evidence the book holds for it is kept beside the
// observed one's, so a change made against an older view of the commitment (an edit that arrives
// late) loses none of what was heard since.
func (b *Book) Observe(info ledger.CommitmentInfo) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n, ok := strings.CutPrefix(info.ID, b.idPrefix); ok {
		if v, err := strconv.Atoi(n); err == nil && v > b.next {
			b.next = v
		}
	}
	e := b.byID[info.ID]
	if e == nil {
		e = &bookEntry{}
		b.entries = append(b.entries, e)
		b.byID[info.ID] = e
	}
	held := e.evidence
	e.info = cloneInfo(info)
	e.words = contentWords(info.What)
	e.evidence = EvidenceOf(info, nil)
	for _, ev := range held {
		e.addEvidence(ev)
	}
	e.sync()
}

// Commitments returns the book's commitments in the order they were first added.
func (b *Book) Commitments() []ledger.CommitmentInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]ledger.CommitmentInfo, len(b.entries))
	for i, e := range b.entries {
		out[i] = cloneInfo(e.info)
	}
	return out
}

// Evidence returns what the commitment with the given ID rests on, in the order it was said.
func (b *Book) Evidence(id string) []Evidence {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.byID[id]; e != nil {
		return append([]Evidence(nil), e.evidence...)
	}
	return nil
}

// match returns the best entry of the same owner whose action phrase is similar enough, or nil.
func (b *Book) match(owner string, words map[string]bool) *bookEntry {
	var (
		best      *bookEntry
		bestScore float64
	)
	for _, e := range b.entries {
		if e.info.Status == ledger.StatusDropped || !sameOwnerName(e.info.Owner, owner) {
			continue
		}
		if s := jaccard(e.words, words); s >= b.threshold && s > bestScore {
			best, bestScore = e, s
		}
	}
	return best
}

// merge adds what was heard again to an entry. Fields a person set stay as they left them.
func (b *Book) merge(e *bookEntry, c Commitment, due string, ev Evidence) {
	e.addEvidence(ev)
	if due != "" && !e.info.EditedBy(ledger.EditDue) &&
		dueSpecificity(due, c.DuePhrase) > dueSpecificity(e.info.Due, e.info.DuePhrase) {
		e.info.Due, e.info.DuePhrase = due, c.DuePhrase
	}
	if e.info.Beneficiary == "" {
		e.info.Beneficiary, e.info.BeneficiaryOrg = c.Beneficiary, c.BeneficiaryOrg
	}
	if e.info.Contact == "" {
		e.info.Contact = c.Contact
	}
	if e.info.OwnerOrg == "" && !e.info.EditedBy(ledger.EditOwnerOrg) {
		e.info.OwnerOrg = c.OwnerOrg
	}
	e.info.Confidence = max(e.info.Confidence, c.Confidence)
}

func (e *bookEntry) addEvidence(ev Evidence) {
	for i, have := range e.evidence {
		if have.SegmentID == ev.SegmentID && ev.SegmentID != "" {
			if !strings.Contains(have.Quote, ev.Quote) {
				e.evidence[i].Quote = have.Quote + " " + ev.Quote
			}
			e.sync()
			return
		}
	}
	e.evidence = append(e.evidence, ev)
	e.sync()
}

// sync writes the evidence into the info's SegmentIDs, Quote and StartMS.
func (e *bookEntry) sync() {
	ids := make([]string, len(e.evidence))
	quotes := make([]string, len(e.evidence))
	for i, ev := range e.evidence {
		ids[i], quotes[i] = ev.SegmentID, ev.Quote
		if i == 0 || ev.StartMS < e.info.StartMS {
			e.info.StartMS = ev.StartMS
		}
	}
	e.info.SegmentIDs = ids
	e.info.Quote = strings.Join(quotes, QuoteSeparator)
}

// cloneInfo copies c so that the book's entry and what it hands out never share a slice.
func cloneInfo(c ledger.CommitmentInfo) ledger.CommitmentInfo {
	c.SegmentIDs = append([]string(nil), c.SegmentIDs...)
	c.Edited = append([]string(nil), c.Edited...)
	return c
}

// EvidenceOf splits a commitment's quote and segments into its pieces of evidence, the i-th quote
// (separated by QuoteSeparator) going with the i-th segment. Start times come from segments, when
// given and holding the segment; otherwise the first piece takes the commitment's StartMS.
func EvidenceOf(c ledger.CommitmentInfo, segments map[string]ledger.SegmentInfo) []Evidence {
	quotes := strings.Split(c.Quote, QuoteSeparator)
	if c.Quote == "" {
		quotes = nil
	}
	n := max(len(quotes), len(c.SegmentIDs))
	out := make([]Evidence, 0, n)
	for i := range n {
		ev := Evidence{StartMS: c.StartMS}
		if i < len(c.SegmentIDs) {
			ev.SegmentID = c.SegmentIDs[i]
			if g, ok := segments[ev.SegmentID]; ok {
				ev.StartMS = g.StartMS
			}
		}
		switch {
		case i < len(quotes) && i == n-1 && len(c.SegmentIDs) < len(quotes) && len(c.SegmentIDs) > 0:
			// More quotes than segments: the last segment holds the rest of the words.
			ev.Quote = strings.Join(quotes[i:], " ")
		case i < len(quotes):
			ev.Quote = quotes[i]
		}
		out = append(out, ev)
	}
	return out
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// SameAction tells whether two commitments describe the same promise by the rule the Book merges
// repeated promises with: one owner, and actions whose content words overlap by DefaultSimilarity.
func SameAction(ownerA, whatA, ownerB, whatB string) bool {
	return sameOwnerName(ownerA, ownerB) && jaccard(contentWords(whatA), contentWords(whatB)) >= DefaultSimilarity
}

func sameOwnerName(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// dueSpecificity ranks a due date by how precisely it was said: 0 none, 1 a span ("this week", "end
// of month"), 2 a day named relative to the meeting ("Thursday", "tomorrow"), 3 an explicit date.
func dueSpecificity(due, phrase string) int {
	if due == "" {
		return 0
	}
	low := strings.ToLower(phrase)
	if strings.ContainsFunc(low, unicode.IsDigit) {
		return 3
	}
	for _, w := range strings.FieldsFunc(low, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if _, ok := monthWords[strings.TrimSuffix(w, ".")]; ok {
			return 3
		}
	}
	for _, w := range spanWords {
		if strings.Contains(low, w) {
			return 1
		}
	}
	return 2
}

// spanWords mark a due phrase that names a span of days rather than one day.
var spanWords = []string{
	"week", "month", "quarter", "semana", "mes", "trimestre", "woche", "monat", "quartal",
	"semaine", "mois", "mês", "quinze", "quinzena",
}

// contentWords returns the words of an action phrase that carry its meaning: lower-cased, without
// pronouns, articles and other function words. Japanese and Chinese are written without spaces, so
// their runs count by character pairs ("发送报价" → 发送, 送报, 报价), without particles.
func contentWords(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if hasCJK(w) {
			addCJKPairs(out, strings.ReplaceAll(w, "一下", "")) // "查一下": "a quick check" is a check
			continue
		}
		if stopWords[w] || len([]rune(w)) < 2 {
			continue
		}
		out[stem(w)] = true
	}
	return out
}

// stem cuts a word to its first five letters, a crude stem that lets the forms of a verb said
// again meet ("send"/"sending", "mando"/"mandar", "envoie"/"envoyer" stay apart, "schicke"/"schicken" meet).
func stem(w string) string {
	if rs := []rune(w); len(rs) > 5 {
		return string(rs[:5])
	}
	return w
}

// addCJKPairs adds the character pairs of a run of Japanese or Chinese, skipping its particles and
// letting a Latin word inside it ("SOC2") count whole.
func addCJKPairs(out map[string]bool, w string) {
	var run []rune
	flush := func() {
		if len(run) == 1 {
			out[string(run)] = true
		}
		for i := 0; i+1 < len(run); i++ {
			out[string(run[i:i+2])] = true
		}
		run = run[:0]
	}
	latin := ""
	for _, r := range w {
		switch {
		case isCJK(r) && !cjkParticles[r]:
			if latin != "" {
				out[latin] = true
				latin = ""
			}
			run = append(run, r)
		case isCJK(r):
			flush()
		default:
			flush()
			latin += string(r)
		}
	}
	flush()
	if latin != "" {
		out[latin] = true
	}
}

// cjkParticles are the particles and function characters of Japanese and Chinese action phrases.
var cjkParticles = func() map[rune]bool {
	m := map[rune]bool{}
	for _, r := range "をにはがでともへのをてたるす把给的了我你们他她它吧呢" {
		m[r] = true
	}
	return m
}()

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := 0
	for w := range a {
		if b[w] {
			inter++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		the a an to of for and or you your yours we us our i me my it its this that these those them they
		their he she him her his with on in at by over up out about from as some any all
		el la los las un una unos unas de del al y o te le les lo nos os su sus tu tus mi mis para con por en
		que se me
		der die das den dem des ein eine einen einem einer und oder ihnen ihr ihre sie wir uns unser dir dich
		mir mich zu zum zur für mit von bis es ich sich unsere unseren unserem unserer ihren ihrem ihrer ihres
		le la les un une des du de et ou vous votre vos nous notre nos je moi tu te toi il elle lui leur leurs
		pour avec par en au aux ce cette ces
		o a os as um uma uns umas de do da dos das e ou você vocês voce nós nos nosso nossa eu me lhe lhes
		para com por em no na nos nas ao aos
		il lo gli un uno di della dello dei degli delle ti vi ci noi voi per con su da al alla ai agli alle
		het een naar van voor met jullie ik wij ons onze mijn op aan
	`) {
		m[w] = true
	}
	return m
}()

// String describes the evidence for logs and text reports.
func (ev Evidence) String() string {
	return fmt.Sprintf("[%s] %s", FormatClock(ev.StartMS), ev.Quote)
}

// FormatClock writes a meeting-clock time as m:ss, or h:mm:ss from the first hour.
func FormatClock(ms int64) string {
	if ms < 0 {
		ms = 0
	}
	s := ms / 1000
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
