package models

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// ErrNotVAD means a file is not a ggml Silero VAD model whisper.cpp can load.
var ErrNotVAD = errors.New("not a ggml Silero VAD model")

// sileroHparams are the header fields after the model type and version, as the converter writes
// them and the published files have them: window, context, four encoder layers (in, out, kernel),
// the LSTM's sizes and the final convolution's channels.
var sileroHparams = []int32{512, 64, 4, 129, 128, 3, 128, 64, 3, 64, 64, 3, 64, 128, 3, 128, 128, 128, 1}

// InspectSilero checks that the file at path is a complete 16 kHz Silero VAD model in whisper.cpp's
// ggml format, with the header, tensors, shapes and types whisper.cpp's loader expects, before
// whisper.cpp reads it: the loader trusts the lengths in the file, so a damaged or foreign one
// could take the process down. It returns the model's version ("5.1.2").
func InspectSilero(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("VAD model: %w", err)
	}
	defer f.Close()
	version, err := inspectSilero(bufio.NewReader(f))
	if err != nil {
		return "", fmt.Errorf("VAD model %s: %w", path, err)
	}
	return version, nil
}

func inspectSilero(r io.Reader) (string, error) {
	le := binary.LittleEndian
	var magic, typeLen uint32
	if err := binary.Read(r, le, &magic); err != nil || magic != ggmlMagic {
		return "", fmt.Errorf("%w: no ggml magic", ErrNotVAD)
	}
	if err := binary.Read(r, le, &typeLen); err != nil || typeLen != uint32(len("silero-16k")) {
		return "", fmt.Errorf("%w: model type is not silero-16k", ErrNotVAD)
	}
	typ := make([]byte, typeLen)
	if _, err := io.ReadFull(r, typ); err != nil || string(typ) != "silero-16k" {
		return "", fmt.Errorf("%w: model type is not silero-16k", ErrNotVAD)
	}
	var ver [3]int32
	hp := make([]int32, len(sileroHparams))
	if err := binary.Read(r, le, &ver); err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotVAD, err)
	}
	if err := binary.Read(r, le, hp); err != nil || !slices.Equal(hp, sileroHparams) {
		return "", fmt.Errorf("%w: dimensions %v, want %v", ErrNotVAD, hp, sileroHparams)
	}
	seen := map[string]bool{}
	for {
		var head [3]int32 // n_dims, name length, type
		if err := binary.Read(r, le, &head); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("%w: truncated tensor header: %w", ErrNotVAD, err)
		}
		nDims, nameLen, ttype := head[0], head[1], head[2]
		if nDims < 0 || nDims > 3 || nameLen <= 0 || nameLen > 64 || (ttype != 0 && ttype != 1) {
			return "", fmt.Errorf("%w: malformed tensor header %v", ErrNotVAD, head)
		}
		ne := []int64{1, 1, 1}
		for i := range nDims {
			var d int32
			if err := binary.Read(r, le, &d); err != nil {
				return "", fmt.Errorf("%w: truncated tensor header: %w", ErrNotVAD, err)
			}
			ne[i] = int64(d)
		}
		name := make([]byte, nameLen)
		if _, err := io.ReadFull(r, name); err != nil {
			return "", fmt.Errorf("%w: truncated tensor name: %w", ErrNotVAD, err)
		}
		i := slices.IndexFunc(sileroTensors, func(t sileroTensor) bool { return "_model."+t.name == string(name) })
		if i < 0 || seen[string(name)] {
			return "", fmt.Errorf("%w: unknown or repeated tensor %q", ErrNotVAD, name)
		}
		seen[string(name)] = true
		spec := sileroTensors[i]
		if want := spec.ggmlShape(); !slices.Equal(ne, want) || (ttype == 1) != spec.f16 {
			return "", fmt.Errorf("%w: tensor %s has shape %v and type %d, want %v and type %d",
				ErrNotVAD, name, ne, ttype, want, map[bool]int{false: 0, true: 1}[spec.f16])
		}
		size := ne[0] * ne[1] * ne[2] * 4
		if spec.f16 {
			size /= 2
		}
		if n, err := io.CopyN(io.Discard, r, size); err != nil {
			return "", fmt.Errorf("%w: tensor %s holds %d of its %d bytes", ErrNotVAD, name, n, size)
		}
	}
	if len(seen) != len(sileroTensors) {
		return "", fmt.Errorf("%w: %d of its %d tensors", ErrNotVAD, len(seen), len(sileroTensors))
	}
	return fmt.Sprintf("%d.%d.%d", ver[0], ver[1], ver[2]), nil
}

// ggmlShape is the tensor's shape as whisper.cpp's VAD loader creates it, three dimensions in
// ggml's order (fastest-varying first).
func (t sileroTensor) ggmlShape() []int64 {
	ne := t.fileDims()
	for len(ne) < 3 {
		ne = append(ne, 1)
	}
	return ne
}

// fileDims are the dimensions the converter writes, in ggml's order: size-1 ones squeezed away
// except in the STFT basis, which keeps its three.
func (t sileroTensor) fileDims() []int64 {
	var ne []int64
	if t.name == "stft.forward_basis_buffer" {
		ne = slices.Clone(t.dims)
	} else {
		for _, d := range t.dims {
			if d != 1 {
				ne = append(ne, d)
			}
		}
		if len(ne) == 0 {
			ne = []int64{1}
		}
	}
	slices.Reverse(ne)
	return ne
}
