// Package ingest receives meeting audio over WebRTC: a WHIP (RFC 9725) endpoint
// whose Opus tracks become channels of 16 kHz frames on the meeting clock.
//
// Each audio track of a session is a Track, a stream.Source. Packets are
// reordered in a small jitter buffer, decoded with libopus (packet loss
// concealment, in-band FEC), timestamp gaps become silence, and the result is
// resampled to 16 kHz. A track's first packet is placed at the meeting time it
// arrived; from then on its time comes from RTP timestamps alone, so channels
// from different publishers line up.
//
// Concurrency: the WHIP handler is safe for concurrent use and owns every
// goroutine it starts: one per session, plus the reader the WebRTC stack runs
// for each track. WHIP.Close stops them all. A Track's frames are read by one
// consumer. Publisher, the client side, is used from one goroutine.
//
// Transport is kept apart from the meeting: the endpoint reports tracks
// upward through the OnTrack callback, each with the query its publisher
// announced itself with, and never knows about transcripts. Authorize only
// decides whether a publisher is let in (Refuse says why not).
package ingest
