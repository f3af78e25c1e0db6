// Package stream is Ledgerline's audio plumbing: it decodes WAV input, resamples
// it to 16 kHz mono float32, and marks where speech starts and ends.
//
// Nothing here starts goroutines. A Resampler or VAD holds per-stream state and
// must be used by one goroutine at a time; give each live source its own.
package stream
