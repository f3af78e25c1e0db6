// Package stream is Ledgerline's audio plumbing: it captures or replays each
// channel of a meeting as 16 kHz mono frames on one clock and cuts it into utterances.
//
// Sources (PortAudio devices, a replayed WAV file) send Frames to a channel
// given to Start, which blocks until the context ends or the audio does; every
// goroutine a source starts has stopped when Start returns. Meeting time is
// counted in samples, never read from a wall clock, so channels line up.
//
// WAV files are decoded a chunk (about a second) at a time: WAVReader reads as
// one goes (a replayed file is read as it plays), LoadWAVContext reads a whole
// file and stops between two chunks when its context ends.
//
// A VAD (and the Segmenter around it) asks a FrameDetector whether each frame
// is speech: the rule-based RuleDetector, or one given in VADConfig, such as
// the Silero VAD of package vad.
//
// Everything else holds per-stream state and must be used by one goroutine at
// a time: give each channel its own Resampler, VAD (and detector) and Segmenter.
package stream
