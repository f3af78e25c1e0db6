package stream

import "time"

// DefaultPreRoll is a Segmenter's PreRoll unless set.
const DefaultPreRoll = 200 * time.Millisecond

// SegmenterConfig tunes a Segmenter. Zero or negative fields take the
// defaults in brackets.
type SegmenterConfig struct {
	// VAD tunes the voice activity detector that finds the speech; its
	// Detector, when set, judges the frames (the Silero VAD), and the
	// boundaries, rolls and cuts below apply the same whichever does.
	VAD VADConfig
	// PreRoll is how much audio before the detected start of speech is sent
	// with it, so that a soft first sound is not cut [200 ms]. It never
	// reaches back into the previous utterance.
	PreRoll time.Duration
	// PostRoll is how much audio after the detected end of speech is sent
	// with it, for a fading last sound [100 ms]. It is at most the VAD's
	// hangover.
	PostRoll time.Duration
	// MaxUtterance is the longest an utterance may run; longer speech is cut
	// into utterances of this length [30 s].
	MaxUtterance time.Duration
}

func (c SegmenterConfig) withDefaults() SegmenterConfig {
	c.VAD = c.VAD.withDefaults()
	if c.PreRoll <= 0 {
		c.PreRoll = DefaultPreRoll
	}
	if c.PostRoll <= 0 {
		c.PostRoll = 100 * time.Millisecond
	}
	if c.MaxUtterance <= 0 {
		c.MaxUtterance = 30 * time.Second
	}
	return c
}

// Chunk is a piece of one utterance: speech audio of one channel on the
// meeting clock. The chunks of an utterance follow each other without gaps
// (each one's At is the previous one's At plus its length) and the last one
// has End set; the next chunk starts a new utterance.
type Chunk struct {
	Channel string
	// At is the meeting time of the first sample.
	At time.Duration
	// Samples are 16 kHz mono; the receiver owns them. The End chunk may
	// hold none.
	Samples []float32
	// End marks the last chunk of the utterance.
	End bool
}

// EndAt is the meeting time just after the chunk's last sample.
func (c Chunk) EndAt() time.Duration {
	return c.At + samplesDuration(int64(len(c.Samples)))
}

// Segmenter cuts the audio of one channel into utterances: it passes on the
// speech the VAD finds, with PreRoll before it and PostRoll after it, and
// drops everything else, so a speech recogniser fed its chunks never sees the
// silence between utterances.
//
// While the speaker talks, chunks follow the audio frame by frame. In a pause,
// the audio past the post-roll is held back until it is known whether the
// speech goes on: up to the VAD's hangover (300 ms by default).
//
// A Segmenter is not safe for concurrent use; give each channel its own.
type Segmenter struct {
	cfg  SegmenterConfig
	vad  *VAD
	size int // samples per VAD frame

	preRoll, postRoll, maxLen int64 // in samples
	keep                      int64 // history needed for pre-roll outside speech

	channel  string
	begun    bool      // a frame has arrived since the start or the last Flush
	buf      []float32 // audio from bufStart on: history, then input the VAD has not seen
	bufStart int64     // meeting sample index of buf[0]
	fed      int64     // meeting sample index the VAD has seen up to
	vadBase  int64     // meeting sample index of the VAD's time zero
	speaking bool      // inside an utterance
	uttStart int64     // where the current utterance began
	sent     int64     // where the current utterance has been sent up to
	floor    int64     // end of the last utterance: pre-roll stops here
}

// NewSegmenter returns a Segmenter.
func NewSegmenter(cfg SegmenterConfig) *Segmenter {
	cfg = cfg.withDefaults()
	// The detector's frames, when one is given.
	size := cfg.VAD.FrameSize
	frames := func(d time.Duration) int64 { // as the VAD rounds it: whole frames, at least one
		n := (durationSamples(d) + int64(size) - 1) / int64(size)
		return max(1, n) * int64(size)
	}
	s := &Segmenter{
		cfg:     cfg,
		vad:     NewVAD(cfg.VAD),
		size:    size,
		preRoll: durationSamples(cfg.PreRoll),
		maxLen:  max(1, durationSamples(cfg.MaxUtterance)),
	}
	s.postRoll = min(durationSamples(cfg.PostRoll), frames(cfg.VAD.Hangover))
	// Speech is confirmed MinSpeech after it starts; the pre-roll lies
	// before that.
	s.keep = s.preRoll + frames(cfg.VAD.MinSpeech) + int64(size)
	return s
}

// Push takes the next frame of the channel and returns the chunks it
// completes, often none.
//
// Frames should follow each other on the meeting clock. When one starts
// later than the previous one ended, the gap ends any utterance in progress
// and detection starts afresh from the new frame; audio that overlaps what
// was already pushed is dropped.
func (s *Segmenter) Push(f Frame) []Chunk {
	samples := f.Samples
	start := durationSamples(f.At)
	var out []Chunk
	if s.begun {
		end := s.bufStart + int64(len(s.buf))
		switch {
		case start > end:
			out = s.Flush()
		case start < end:
			skip := end - start
			if skip >= int64(len(samples)) {
				return nil
			}
			samples, start = samples[skip:], end
		}
	}
	s.channel = f.Channel
	if len(samples) == 0 {
		return out
	}
	if !s.begun {
		s.begun = true
		s.buf = s.buf[:0]
		s.bufStart, s.fed, s.vadBase, s.floor = start, start, start, start
	}
	s.buf = append(s.buf, samples...)
	for s.fed+int64(s.size) <= s.bufStart+int64(len(s.buf)) {
		out = s.feed(s.size, out)
	}
	s.trim()
	return out
}

// Close releases what the segmenter's detector holds (a model's state, for
// one). Call it once the channel's audio has ended and been flushed; the
// Segmenter is not used after.
func (s *Segmenter) Close() error { return s.vad.Close() }

// Flush ends the channel's audio: it decides on the input held back and
// returns the chunks that end the utterance in progress, if any. The next
// frame pushed may start anywhere on the meeting clock.
func (s *Segmenter) Flush() []Chunk {
	if !s.begun {
		return nil
	}
	var out []Chunk
	if rest := s.bufStart + int64(len(s.buf)) - s.fed; rest > 0 {
		out = s.feed(int(rest), out)
	}
	if ev, ok := s.vad.Flush(); ok {
		out = s.handle(ev, out)
	}
	if s.speaking { // the VAD had nothing open, so what was held back is speech
		out = s.emit(out, s.fed, true)
	}
	s.begun, s.speaking = false, false
	s.buf = s.buf[:0]
	return out
}

// feed passes the next n unseen samples to the VAD and sends what that
// settles.
func (s *Segmenter) feed(n int, out []Chunk) []Chunk {
	i := s.fed - s.bufStart
	ev, ok := s.vad.Push(s.buf[i : i+int64(n)])
	s.fed += int64(n)
	if ok {
		out = s.handle(ev, out)
	}
	if s.speaking {
		// An end the VAD reports later lies at or after the start of the
		// pause under way, if any: what comes before it plus the post-roll
		// belongs to the utterance whatever follows, and is sent now, so a
		// recogniser hears a speaker without delay while they talk.
		until := s.vadBase + durationSamples(s.vad.SpeechUntil())
		out = s.emit(out, min(until+s.postRoll, s.fed), false)
	}
	return out
}

func (s *Segmenter) handle(ev Event, out []Chunk) []Chunk {
	at := s.vadBase + durationSamples(ev.At)
	switch ev.Kind {
	case SpeechStart:
		b := max(at-s.preRoll, s.floor, s.bufStart)
		s.speaking, s.uttStart, s.sent = true, b, b
	case SpeechEnd:
		if s.speaking {
			out = s.emit(out, min(at+s.postRoll, s.fed), true)
		}
	}
	return out
}

// emit sends the current utterance up to sample index to, cutting it into
// MaxUtterance pieces, and ends it when end is set.
func (s *Segmenter) emit(out []Chunk, to int64, end bool) []Chunk {
	to = max(to, s.sent)
	for s.uttStart+s.maxLen <= to {
		cut := s.uttStart + s.maxLen
		out = append(out, s.chunk(s.sent, cut, true))
		s.uttStart, s.sent, s.floor = cut, cut, cut
	}
	if to > s.sent || (end && to > s.uttStart) {
		out = append(out, s.chunk(s.sent, to, end))
		s.sent = to
	}
	if end {
		s.speaking, s.floor = false, to
	}
	return out
}

func (s *Segmenter) chunk(from, to int64, end bool) Chunk {
	c := Chunk{Channel: s.channel, At: samplesDuration(from), End: end}
	c.Samples = append([]float32(nil), s.buf[from-s.bufStart:to-s.bufStart]...)
	return c
}

// trim drops history no chunk can need any more.
func (s *Segmenter) trim() {
	keepFrom := s.fed - s.keep
	if s.speaking {
		keepFrom = min(keepFrom, s.sent)
	}
	drop := keepFrom - s.bufStart
	if drop <= 0 || drop < int64(len(s.buf))/2 {
		return // copy only when it halves the buffer, so trimming stays cheap
	}
	s.buf = s.buf[:copy(s.buf, s.buf[drop:])]
	s.bufStart += drop
}
