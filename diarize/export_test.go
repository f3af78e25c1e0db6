package diarize

// The tests on synthesised calls are in package diarize_test: the package
// that synthesises them, internal/callsynth, imports this one. These are the
// internals they use.
var (
	DiarizeSamples = diarizeSamples
	Dominant       = dominant
	SamplesToDur   = samplesToDur
)
