// Package agent runs meetings. A Session carries one meeting's audio from its
// sources through each channel's segmenter, speech stream and attribution into
// the meeting's event log, and keeps its commitments; a Meeting serves one —
// its record, overlay server and WHIP endpoint — with participants' tracks
// joining the Session and viewers' changes reaching it.
//
// Concurrency: a Session's Run is called once; Pause, Resume, AddSource,
// Rename and EditCommitment may be called from any goroutine while it runs.
// Inside, one dispatcher goroutine runs every channel's cheap intake stage and
// never waits on a decode; each channel decodes on a goroutine of its own; one
// lock per meeting orders every change to its commitments with its append.
// A Meeting's methods are safe for concurrent use. Both stop every goroutine
// they started before Run or Close returns.
package agent
