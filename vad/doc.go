// Package vad runs the Silero VAD, a neural voice activity detector, through whisper.cpp: a
// Detector per stream gives the probability of speech in each 32 ms frame and answers
// stream.FrameDetector, so stream.Segmenter cuts utterances with it exactly as it does with the
// rule-based detector, which stays the fallback where no model is installed (Open).
//
// The cgo calls live in silero.go only: every whisper.cpp object is freed by Close, and no
// pointer into Go memory is kept by C past a call.
//
// Concurrency: a Model is safe for concurrent use; a Detector belongs to one stream's goroutine.
package vad
