package diarize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ledgerline/ledgerline/stream"
)

// Options tune a Diarizer. Zero fields take the defaults in brackets, which
// suit FeatureEmbedder; a neural Embedder needs thresholds of its own.
type Options struct {
	// MaxSpeakers caps how many speakers are told apart, when the user knows
	// it; 0 leaves it open.
	MaxSpeakers int
	// Threshold is the cosine distance from every known speaker beyond
	// which a piece of speech is taken to be a new speaker [0.5].
	Threshold float64
	// MergeThreshold is the distance under which two speakers are found to
	// be one and merged into the older id [0.3].
	MergeThreshold float64
	// ChangeThreshold is the distance between the voices of two adjacent
	// windows that marks a speaker change inside continuous speech [0.55].
	ChangeThreshold float64
	// Window is the stretch of audio compared for a speaker change [1.5 s];
	// Hop is the step between windows [0.75 s].
	Window, Hop time.Duration
	// MinTurn is the shortest speech between two changes found inside
	// continuous speech; a shorter stretch never starts a new speaker [1 s].
	MinTurn time.Duration
	// MinSpeakerTime: at Flush, a speaker heard for less than this in all
	// is folded into the nearest other speaker [4 s].
	MinSpeakerTime time.Duration
	// NoOverlap turns off the marking of overlapped speech.
	NoOverlap bool
	// Embedder turns speech into voice embeddings [NewFeatureEmbedder()].
	Embedder Embedder
	// Anchor is a constant joined to every centred embedding before the
	// cosine is taken [10 with the default Embedder, else 0]. It keeps the
	// distance meaningful for a voice near the meeting's mean voice, whose
	// centred embeddings are short and mostly noise: with it, cosine
	// distance grows with Euclidean distance, about as |a-b|²/(2·Anchor²)
	// for short vectors. Neural embeddings, compared by angle, need none.
	Anchor float64
	// VAD tunes speech detection; FrameSize is always 10 ms [Hangover 400 ms].
	VAD stream.VADConfig
}

// ErrBackwards is returned by Push for audio that starts before the end of
// audio already pushed.
var ErrBackwards = errors.New("diarize: audio goes back in time")

// Validate checks the options a caller set.
func (o Options) Validate() error {
	switch {
	case o.MaxSpeakers < 0:
		return fmt.Errorf("diarize: maximum speakers %d is negative", o.MaxSpeakers)
	case o.Threshold < 0 || o.Threshold > 2, o.MergeThreshold < 0 || o.MergeThreshold > 2, o.ChangeThreshold < 0 || o.ChangeThreshold > 2:
		return errors.New("diarize: cosine distance thresholds lie between 0 and 2")
	case o.Anchor < 0:
		return errors.New("diarize: the anchor may not be negative")
	case o.Window < 0 || o.Hop < 0 || o.MinTurn < 0 || o.MinSpeakerTime < 0:
		return errors.New("diarize: durations may not be negative")
	case o.Hop > o.Window && o.Window > 0:
		return errors.New("diarize: the hop may not be longer than the window")
	}
	return nil
}

func (o Options) withDefaults() Options {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Threshold, 0.5)
	def(&o.MergeThreshold, 0.3)
	def(&o.ChangeThreshold, 0.55)
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defDur(&o.Window, 1500*time.Millisecond)
	defDur(&o.Hop, 750*time.Millisecond)
	defDur(&o.MinTurn, time.Second)
	defDur(&o.MinSpeakerTime, 4*time.Second)
	if o.Embedder == nil {
		o.Embedder = NewFeatureEmbedder()
		if o.Anchor == 0 {
			o.Anchor = defaultAnchor
		}
	}
	o.VAD.FrameSize = vadFrame
	if o.VAD.Hangover == 0 {
		o.VAD.Hangover = 400 * time.Millisecond
	}
	return o
}

const (
	vadFrame = sampleRate / 100 // 10 ms
	// keepBack is how much audio before the current point is kept while no
	// speech is open: the VAD reports a start only after confirming it.
	keepBack = sampleRate
	// centrePrior is how many seconds of speech the embedder's centre
	// counts for against the meeting's own mean.
	centrePrior = 3.0
	// defaultAnchor suits FeatureEmbedder, whose statistics are scaled to
	// unit spread within a voice.
	defaultAnchor = 10.0
)

// Diarizer tells apart the speakers of one mixed channel as its audio
// arrives: a VAD finds speech, windows of it are compared to find speaker
// changes, and each piece between changes is embedded and clustered online.
// A piece joins the nearest speaker unless it is farther than Threshold
// from all of them, in which case it starts a new one; after every piece,
// speakers closer than MergeThreshold (or beyond MaxSpeakers, the closest
// pair) are merged into the older id, so a returning speaker keeps theirs.
// Distances are cosine distances around a centre that starts at the
// embedder's (when it has a Centre method) and moves to the mean voice of
// the meeting.
//
// An embedder that is a NoiseObserver is handed the audio between speech.
// With the default FeatureEmbedder, Flush also runs a second pass over the
// whole meeting: speech is re-clustered in windows with hindsight, labels
// are smoothed, and each speaker found keeps the online id it shares most
// speech with; Turns then reflect it. Push after Flush carries on online
// from the updated speakers.
//
// Overlap heuristic: where a speaker change falls inside continuous speech,
// the window straddling the change is compared with the two speakers and
// with their mean. When it is nearer the mean of both than either alone,
// both voices are taken to be heard at once: that window's span is given to
// both speakers and marked Overlap. It finds overlaps at turn hand-overs,
// the common kind in calls; it does not find a short interjection over a
// long turn, nor tell which two of three or more voices overlap elsewhere.
//
// A Diarizer is not safe for concurrent use.
type Diarizer struct {
	opt Options
	vad *stream.VAD

	started bool
	end     time.Duration // meeting time just after the last pushed sample
	buf     []float32     // audio from bufAt to end
	bufAt   time.Duration
	frame   []float32     // samples waiting to fill a VAD frame
	quiet   []float32     // recent audio outside speech, for the noise
	vadZero time.Duration // meeting time of the VAD's stream time zero

	speaking    bool
	regionStart time.Duration

	centreSum []float64
	centreW   float64

	clusters []*cluster
	turns    []turn
	flushed  bool

	// For the second pass at Flush: the units of speech heard, the
	// stretches of speech so far and the spans found overlapped.
	units   []unit
	regions int
	overs   [][2]time.Duration
}

type turn struct {
	start, end time.Duration
	id         int
	overlap    bool
}

// NewDiarizer returns a Diarizer for one mixed channel.
func NewDiarizer(opts Options) (*Diarizer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	d := &Diarizer{opt: opts, vad: stream.NewVAD(opts.VAD)}
	return d, nil
}

// Push implements Attributor: it adds audio of the channel at meeting time
// at and diarizes every stretch of speech that has ended.
func (d *Diarizer) Push(at time.Duration, samples []float32) error {
	if !d.started {
		d.started, d.end, d.bufAt, d.vadZero = true, at, at, at
	}
	if at < d.end {
		return fmt.Errorf("%w: %v pushed after audio up to %v", ErrBackwards, at, d.end)
	}
	if at > d.end {
		if err := d.endStretch(); err != nil {
			return err
		}
		d.buf, d.bufAt, d.end, d.vadZero = d.buf[:0], at, at, at
	}
	d.flushed = false
	d.buf = append(d.buf, samples...)
	d.end += samplesToDur(len(samples))
	for len(samples) > 0 {
		n := min(vadFrame-len(d.frame), len(samples))
		d.frame = append(d.frame, samples[:n]...)
		samples = samples[n:]
		if len(d.frame) < vadFrame {
			break
		}
		ev, ok := d.vad.Push(d.frame)
		d.noise(d.frame)
		d.frame = d.frame[:0]
		if ok {
			if err := d.event(ev); err != nil {
				return err
			}
		}
	}
	d.trim()
	return nil
}

// noiseDelay is how long audio outside speech is held back before it is
// taken for noise: the VAD confirms the start of speech only after it.
const noiseDelay = sampleRate / 10

// noise passes the frame just judged by the VAD to a NoiseObserver embedder
// once it is clear that no speech began in it.
func (d *Diarizer) noise(frame []float32) {
	obs, ok := d.opt.Embedder.(NoiseObserver)
	if !ok {
		return
	}
	if d.vad.Speaking() {
		d.quiet = d.quiet[:0]
		return
	}
	d.quiet = append(d.quiet, frame...)
	if n := len(d.quiet) - noiseDelay; n >= frameLen {
		n -= n % frameHop
		obs.ObserveNoise(d.quiet[:n+frameLen-frameHop])
		d.quiet = d.quiet[:copy(d.quiet, d.quiet[n:])]
	}
}

// endStretch closes the audio pushed so far, as before a gap.
func (d *Diarizer) endStretch() error {
	if len(d.frame) > 0 {
		ev, ok := d.vad.Push(d.frame)
		d.frame = d.frame[:0]
		if ok {
			if err := d.event(ev); err != nil {
				return err
			}
		}
	}
	if ev, ok := d.vad.Flush(); ok {
		if err := d.event(ev); err != nil {
			return err
		}
	}
	return nil
}

func (d *Diarizer) event(ev stream.Event) error {
	at := d.vadZero + ev.At
	switch ev.Kind {
	case stream.SpeechStart:
		d.speaking, d.regionStart = true, max(at, d.bufAt)
	case stream.SpeechEnd:
		if d.speaking {
			d.speaking = false
			return d.region(d.regionStart, min(at, d.end))
		}
	}
	return nil
}

// trim drops audio no longer needed.
func (d *Diarizer) trim() {
	keep := d.end - samplesToDur(keepBack)
	if d.speaking {
		keep = min(keep, d.regionStart)
	}
	if drop := durToSamples(keep - d.bufAt); drop > 0 && drop <= len(d.buf) {
		n := copy(d.buf, d.buf[drop:])
		d.buf = d.buf[:n]
		d.bufAt += samplesToDur(drop)
	}
}

func (d *Diarizer) audio(a, b time.Duration) []float32 {
	i := min(max(0, durToSamples(a-d.bufAt)), len(d.buf))
	j := min(max(i, durToSamples(b-d.bufAt)), len(d.buf))
	return d.buf[i:j]
}

// settle diarizes the open stretch of speech up to t, so that a segment
// ending at t can be attributed before the speech around it has ended.
func (d *Diarizer) settle(t time.Duration) error {
	t = min(t, d.end)
	if !d.speaking || t <= d.regionStart {
		return nil
	}
	if err := d.region(d.regionStart, t); err != nil {
		return err
	}
	d.regionStart = t
	return nil
}

// Flush ends the channel: it diarizes the speech still open, runs the
// second pass over the meeting (with the default embedder) and folds
// speakers heard for less than MinSpeakerTime into the nearest other one.
// More audio may be pushed afterwards.
func (d *Diarizer) Flush() error {
	if err := d.endStretch(); err != nil {
		return err
	}
	d.trim()
	if d.flushed {
		return nil
	}
	d.flushed = true
	d.recluster()
	for {
		live := d.live()
		if len(live) < 2 {
			return nil
		}
		var small *cluster
		for _, c := range live {
			if c.weight < d.opt.MinSpeakerTime.Seconds() && (small == nil || c.weight < small.weight) {
				small = c
			}
		}
		if small == nil {
			return nil
		}
		var to *cluster
		best := math.Inf(1)
		for _, c := range live {
			if c != small {
				if dist := d.distance(small.mean(), c.mean()); dist < best {
					to, best = c, dist
				}
			}
		}
		d.fold(small, to)
	}
}

// region diarizes the speech in [a, b).
func (d *Diarizer) region(a, b time.Duration) error {
	audio := d.audio(a, b)
	if len(audio) == 0 {
		return nil
	}
	a = b - samplesToDur(len(audio))
	embs := d.windows(audio)
	cuts, over := d.changes(audio, embs)
	d.record(a, audio, embs)
	start := 0
	for i := 0; i <= len(cuts); i++ {
		end := len(audio)
		if i < len(cuts) {
			end = cuts[i]
		}
		if err := d.piece(a+samplesToDur(start), a+samplesToDur(end), audio[start:end]); err != nil {
			return err
		}
		start = end
	}
	for _, o := range over {
		s, e := a+samplesToDur(o[0]), a+samplesToDur(o[1])
		d.markOverlap(s, e)
		d.overs = append(d.overs, [2]time.Duration{s, e})
	}
	return nil
}

// piece embeds and clusters the speech in [a, b).
func (d *Diarizer) piece(a, b time.Duration, audio []float32) error {
	emb, err := d.opt.Embedder.Embed(audio)
	if errors.Is(err, ErrTooShort) {
		// Too little voice to judge: it goes with the speech before it.
		if n := len(d.turns); n > 0 && a-d.turns[n-1].end < 2*time.Second {
			d.turns = append(d.turns, turn{start: a, end: b, id: d.turns[n-1].id})
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("diarize: embed speech at %v: %w", a, err)
	}
	if len(d.centreSum) == 0 {
		d.centreSum = make([]float64, len(emb))
	}
	if len(emb) != len(d.centreSum) {
		return fmt.Errorf("diarize: embedder returned %d values after %d", len(emb), len(d.centreSum))
	}
	w := (b - a).Seconds()
	for i, v := range emb {
		d.centreSum[i] += w * v
	}
	d.centreW += w
	id := d.assign(emb, w, b-a < d.opt.MinTurn)
	d.turns = append(d.turns, turn{start: a, end: b, id: id})
	return nil
}

// Turns returns the speech found so far, one turn per stretch of one
// speaker, in time order, with speaker ids as they stand now ("spk1", …):
// a later merge renames the turns of the merged speaker.
func (d *Diarizer) Turns() []Turn {
	var out []Turn
	for _, t := range d.turns {
		out = append(out, Turn{Start: t.start, End: t.end, Speaker: speakerName(d.resolve(t.id)), Overlap: t.overlap})
	}
	SortTurns(out)
	// Join a speaker's adjoining turns; overlap turns stay apart.
	var joined []Turn
	for _, t := range out {
		merged := false
		for j := len(joined) - 1; j >= 0 && j >= len(joined)-3; j-- {
			p := &joined[j]
			if p.Speaker == t.Speaker && p.Overlap == t.Overlap && t.Start <= p.End {
				p.End = max(p.End, t.End)
				merged = true
				break
			}
		}
		if !merged {
			joined = append(joined, t)
		}
	}
	return joined
}

// Speakers is the number of speakers told apart so far.
func (d *Diarizer) Speakers() int { return len(d.live()) }

func speakerName(id int) string { return fmt.Sprintf("spk%d", id) }

// Attribute implements Attributor. Speech still going on when seg ends is
// diarized up to seg's end first.
func (d *Diarizer) Attribute(seg Segment) ([]Attributed, error) {
	if err := d.settle(seg.End); err != nil {
		return nil, err
	}
	return attribute(seg, d.Turns()), nil
}

// DiarizeFile diarizes a WAV recording as one mixed channel and returns its
// turns in time order.
func DiarizeFile(ctx context.Context, path string, opts Options) ([]Turn, error) {
	a, err := stream.LoadWAV(path)
	if err != nil {
		return nil, fmt.Errorf("diarize: %w", err)
	}
	d, err := NewDiarizer(opts)
	if err != nil {
		return nil, err
	}
	return diarizeSamples(ctx, d, a.Samples)
}

func diarizeSamples(ctx context.Context, d *Diarizer, samples []float32) ([]Turn, error) {
	const chunk = sampleRate
	for off := 0; off < len(samples); off += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := d.Push(samplesToDur(off), samples[off:min(len(samples), off+chunk)]); err != nil {
			return nil, err
		}
	}
	if err := d.Flush(); err != nil {
		return nil, err
	}
	return d.Turns(), nil
}
