// Package espeak says text with Debian's espeak-ng, for the fixtures of tests and benchmarks that
// need speech: real, repeatable and made on the machine that runs them.
//
// Concurrency: Say may be called from any goroutine; each call runs its own espeak-ng.
package espeak

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"

	"github.com/ledgerline/ledgerline/stream"
)

// ErrMissing reports that espeak-ng is not installed.
var ErrMissing = errors.New("espeak-ng is not installed: run 'make deps' (Debian package espeak-ng)")

// Say speaks text with espeak-ng, given its voice options (such as "-v", "en-us", "-p", "40"),
// and returns the speech at 16 kHz mono, with the silence espeak-ng leaves around it.
func Say(ctx context.Context, text string, voice ...string) ([]float32, error) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		return nil, ErrMissing
	}
	args := append(append([]string{}, voice...), "--stdout", text)
	cmd := exec.CommandContext(ctx, "espeak-ng", args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("espeak-ng %v: %w: %s", voice, err, bytes.TrimSpace(stderr.Bytes()))
	}
	// espeak-ng writes a streaming header with unknown sizes; patch it to what came.
	b := out.Bytes()
	if len(b) >= 44 && string(b[36:40]) == "data" {
		binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
		binary.LittleEndian.PutUint32(b[40:], uint32(len(b)-44))
	}
	a, err := stream.ReadWAV(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("espeak-ng output: %w", err)
	}
	return a.Samples, nil
}
