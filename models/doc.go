// Package models knows the Whisper ggml models Ledgerline can run, and fetches
// them into a local cache, resuming and verifying each download.
//
// The catalogue (Catalogue, Lookup) lists the files published for whisper.cpp
// with their address, approximate size and SHA-1. A Cache is a directory of
// model files: Pull downloads one into it, Resolve turns a model name or a file
// path into the file to load, List and Remove manage what is there.
//
// The Silero VAD v5 speech detector is kept in the same cache: pulled ("silero-v5"), or converted
// from the ONNX weights that make deps fetches (ConvertSileroFile, ResolveSilero); InspectSilero
// checks such a file before whisper.cpp reads it.
//
// Concurrency: the catalogue is read-only and safe to share. Cache methods may
// be called from several goroutines for different models; two pulls of the
// same model into the same directory at the same time, from one process or
// two, are not supported and may corrupt the partial download (the checksum
// then rejects it). Pull starts no goroutine that outlives the call.
package models
