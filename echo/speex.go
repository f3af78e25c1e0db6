package echo

/*
#cgo pkg-config: speexdsp
#include <stdlib.h>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

static SpeexEchoState * ll_echo_new(int frame, int taps, int rate) {
	SpeexEchoState * st = speex_echo_state_init(frame, taps);
	if (st != NULL) {
		speex_echo_ctl(st, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
	}
	return st;
}

// ll_residual_new makes the post-filter that suppresses the echo the
// adaptive filter leaves: speexdsp does it in its preprocessor, as part of
// denoising, from the canceller's estimate of what it missed.
static SpeexPreprocessState * ll_residual_new(SpeexEchoState * echo, int frame, int rate, int noise_db) {
	SpeexPreprocessState * st = speex_preprocess_state_init(frame, rate);
	if (st != NULL) {
		int on = 1;
		speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_DENOISE, &on);
		speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &noise_db);
		speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_ECHO_STATE, echo);
	}
	return st;
}
*/
import "C"

import (
	"errors"
	"math"

	"github.com/ledgerline/ledgerline/stream"
)

// speex is one speexdsp echo canceller: an adaptive filter (MDF) that learns
// how the system's playback reaches the microphone and subtracts it, then
// a post-filter that suppresses what is left of the echo. This file is the
// package's only cgo. C keeps no Go pointer: the three buffers are lent for
// one call and copied by speexdsp; the post-filter points at the canceller,
// both in C memory. Owned by one goroutine; close frees both, and nothing
// may be used after it.
type speex struct {
	st            *C.SpeexEchoState
	post          *C.SpeexPreprocessState
	mic, ref, out []C.spx_int16_t // one block each
}

// noiseDB is how far the post-filter may lower the room's steady noise:
// little, as speech recognition copes with noise better than with the
// artefacts of removing it; the echo it suppresses fully.
const noiseDB = -3

// newSpeex makes a canceller for blocks of block samples whose filter spans
// taps samples of the reference.
func newSpeex(block, taps int) (*speex, error) {
	st := C.ll_echo_new(C.int(block), C.int(taps), C.int(stream.SampleRate))
	if st == nil {
		return nil, errors.New("echo: speexdsp could not make an echo canceller (out of memory?)")
	}
	post := C.ll_residual_new(st, C.int(block), C.int(stream.SampleRate), C.int(noiseDB))
	if post == nil {
		C.speex_echo_state_destroy(st)
		return nil, errors.New("echo: speexdsp could not make the echo suppressor (out of memory?)")
	}
	return &speex{st: st, post: post, mic: make([]C.spx_int16_t, block), ref: make([]C.spx_int16_t, block),
		out: make([]C.spx_int16_t, block)}, nil
}

// cancel removes from mic (one block) the echo of ref (the reference block
// played when mic was captured, already shifted by the known delay) and
// writes the result to dst. speexdsp works on 16-bit samples.
func (s *speex) cancel(dst, mic, ref []float32) {
	for i := range s.mic {
		s.mic[i], s.ref[i] = toInt16(mic[i]), toInt16(ref[i])
	}
	C.speex_echo_cancellation(s.st, &s.mic[0], &s.ref[0], &s.out[0])
	C.speex_preprocess_run(s.post, &s.out[0])
	for i, v := range s.out {
		dst[i] = float32(v) / (1 << 15)
	}
}

// reset forgets what the filter learnt: after the delay moved, its taps
// describe a path that no longer exists.
func (s *speex) reset() { C.speex_echo_state_reset(s.st) }

func (s *speex) close() {
	if s.st != nil {
		C.speex_preprocess_state_destroy(s.post)
		C.speex_echo_state_destroy(s.st)
		s.st, s.post = nil, nil
	}
}

func toInt16(v float32) C.spx_int16_t {
	return C.spx_int16_t(math.Round(math.Max(-32768, math.Min(32767, float64(v)*(1<<15)))))
}
