package models

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// The Whisper ggml file layout, as whisper.cpp's whisper_model_load reads it:
// magic, eleven int32 hyper-parameters, the mel filter bank, the vocabulary,
// then tensors {n_dims, name_len, ttype, ne[n_dims] in ggml order, name, data}.
const (
	ggmlMagic = 0x67676d6c

	// whisper.cpp treats a model as multilingual from this vocabulary size on.
	multilingualVocab = 51865
	// Tokens a model file lists; whisper.cpp adds the special tokens itself.
	textVocab = 50257
	// The space token: whisper.cpp aborts the process when it is missing.
	spaceToken = " "

	maxTokenLen  = 1 << 12
	maxNameLen   = 1 << 10
	maxHyperDim  = 1 << 20
	melFFTBins   = 201
	qntVerFactor = 1000 // GGML_QNT_VERSION_FACTOR
)

var (
	// ErrNotModel means the file is not a ggml Whisper model at all.
	ErrNotModel = errors.New("not a ggml Whisper model")
	// ErrCorrupt means the file starts like a model but is truncated or inconsistent.
	ErrCorrupt = errors.New("corrupt or truncated Whisper model")
)

// Hparams are a Whisper model's hyper-parameters, in file order.
type Hparams struct {
	NVocab      int32
	NAudioCtx   int32
	NAudioState int32
	NAudioHead  int32
	NAudioLayer int32
	NTextCtx    int32
	NTextState  int32
	NTextHead   int32
	NTextLayer  int32
	NMels       int32
	FType       int32
}

// Multilingual reports whether whisper.cpp will treat the model as multilingual.
func (h Hparams) Multilingual() bool { return h.NVocab >= multilingualVocab }

// Info describes a model file after a structural check.
type Info struct {
	Hparams
	Tensors int   // tensors present in the file
	Size    int64 // bytes
}

// ggml tensor types a Whisper file may hold: bytes per block and elements per block.
var ggmlTypes = map[int32]struct{ size, block int64 }{
	0: {4, 1}, 1: {2, 1}, 2: {18, 32}, 3: {20, 32}, 6: {22, 32}, 7: {24, 32}, 8: {34, 32}, 9: {36, 32},
	10: {84, 256}, 11: {110, 256}, 12: {144, 256}, 13: {176, 256}, 14: {210, 256}, 30: {2, 1},
}

type tensorSpec struct {
	name string
	ne   []int32 // ggml order: ne[0] is the fastest-varying dimension
	f32  bool    // stored as f32 whatever the model's ftype
	init tensorInit
}

type tensorInit int

const (
	initZero tensorInit = iota
	initOne
	initNormal
	initSinusoid
)

// tensorSpecs lists every tensor whisper.cpp expects for these hyper-parameters.
func tensorSpecs(h Hparams) []tensorSpec {
	s, ac, tc, v := h.NAudioState, h.NAudioCtx, h.NTextCtx, h.NVocab
	vec := func(name string, n int32, init tensorInit) tensorSpec {
		return tensorSpec{name: name, ne: []int32{n}, f32: true, init: init}
	}
	mat := func(name string, ne ...int32) tensorSpec {
		return tensorSpec{name: name, ne: ne, init: initNormal}
	}
	block := func(prefix string, cross bool) []tensorSpec {
		attn := func(p string) []tensorSpec {
			return []tensorSpec{
				vec(p+"_ln.weight", s, initOne), vec(p+"_ln.bias", s, initZero),
				mat(p+".query.weight", s, s), vec(p+".query.bias", s, initZero),
				mat(p+".key.weight", s, s),
				mat(p+".value.weight", s, s), vec(p+".value.bias", s, initZero),
				mat(p+".out.weight", s, s), vec(p+".out.bias", s, initZero),
			}
		}
		out := []tensorSpec{
			vec(prefix+"mlp_ln.weight", s, initOne), vec(prefix+"mlp_ln.bias", s, initZero),
			mat(prefix+"mlp.0.weight", s, 4*s), vec(prefix+"mlp.0.bias", 4*s, initZero),
			mat(prefix+"mlp.2.weight", 4*s, s), vec(prefix+"mlp.2.bias", s, initZero),
		}
		out = append(out, attn(prefix+"attn")...)
		if cross {
			out = append(out, attn(prefix+"cross_attn")...)
		}
		return out
	}
	specs := []tensorSpec{
		{name: "encoder.positional_embedding", ne: []int32{s, ac}, f32: true, init: initSinusoid},
		mat("encoder.conv1.weight", 3, h.NMels, s),
		{name: "encoder.conv1.bias", ne: []int32{1, s}, f32: true},
		mat("encoder.conv2.weight", 3, s, s),
		{name: "encoder.conv2.bias", ne: []int32{1, s}, f32: true},
		vec("encoder.ln_post.weight", s, initOne), vec("encoder.ln_post.bias", s, initZero),
	}
	for i := int32(0); i < h.NAudioLayer; i++ {
		specs = append(specs, block(fmt.Sprintf("encoder.blocks.%d.", i), false)...)
	}
	specs = append(specs,
		tensorSpec{name: "decoder.positional_embedding", ne: []int32{s, tc}, f32: true, init: initNormal},
		mat("decoder.token_embedding.weight", s, v),
		vec("decoder.ln.weight", s, initOne), vec("decoder.ln.bias", s, initZero),
	)
	for i := int32(0); i < h.NTextLayer; i++ {
		specs = append(specs, block(fmt.Sprintf("decoder.blocks.%d.", i), true)...)
	}
	return specs
}

// Inspect checks that path holds a complete Whisper ggml model that
// whisper.cpp can load, without loading the weights. It exists because
// whisper.cpp aborts the whole process on some malformed files instead of
// returning an error.
func Inspect(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, fmt.Errorf("open model %s: %w (check the path, or see 'ledgerline models list')", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("stat model %s: %w", path, err)
	}
	if st.IsDir() {
		return Info{}, fmt.Errorf("model %s is a directory: pass the .bin file inside it: %w", path, ErrNotModel)
	}
	info, err := inspect(f, st.Size())
	if err != nil {
		return Info{}, fmt.Errorf("model %s: %w", path, err)
	}
	return info, nil
}

type countingReader struct {
	r *bufio.Reader
	f *os.File
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// skip moves past n bytes of tensor data without reading them.
func (c *countingReader) skip(n int64) error {
	if n <= int64(c.r.Buffered()) {
		_, err := c.r.Discard(int(n))
		c.n += n
		return err
	}
	if _, err := c.f.Seek(c.n+n, io.SeekStart); err != nil {
		return err
	}
	c.n += n
	c.r.Reset(c.f)
	return nil
}

func inspect(f *os.File, size int64) (Info, error) {
	cr := &countingReader{r: bufio.NewReaderSize(f, 1<<16), f: f}
	le := binary.LittleEndian
	var magic uint32
	if err := binary.Read(cr, le, &magic); err != nil || magic != ggmlMagic {
		return Info{}, fmt.Errorf("%w (bad magic): download one with 'ledgerline models pull NAME' or pass a ggml .bin file", ErrNotModel)
	}
	var h Hparams
	if err := binary.Read(cr, le, &h); err != nil {
		return Info{}, fmt.Errorf("%w: header: %w", ErrCorrupt, err)
	}
	for _, d := range []int32{h.NVocab, h.NAudioCtx, h.NAudioState, h.NAudioHead, h.NAudioLayer, h.NTextCtx, h.NTextState, h.NTextHead, h.NTextLayer, h.NMels} {
		if d <= 0 || d > maxHyperDim {
			return Info{}, fmt.Errorf("%w: hyper-parameter %d out of range", ErrCorrupt, d)
		}
	}
	if h.NAudioState != h.NTextState {
		return Info{}, fmt.Errorf("%w: audio state %d differs from text state %d", ErrCorrupt, h.NAudioState, h.NTextState)
	}
	if h.NAudioState%h.NAudioHead != 0 || h.NTextState%h.NTextHead != 0 {
		return Info{}, fmt.Errorf("%w: state is not divisible by the number of heads", ErrCorrupt)
	}
	wtype := h.FType % qntVerFactor
	if _, ok := ggmlTypes[wtype]; !ok {
		return Info{}, fmt.Errorf("%w: unsupported weight type %d", ErrCorrupt, h.FType)
	}

	var nMel, nFFT int32
	if err := binary.Read(cr, le, &nMel); err != nil {
		return Info{}, fmt.Errorf("%w: mel filters: %w", ErrCorrupt, err)
	}
	if err := binary.Read(cr, le, &nFFT); err != nil {
		return Info{}, fmt.Errorf("%w: mel filters: %w", ErrCorrupt, err)
	}
	if nMel != h.NMels || nFFT <= 0 || nFFT > maxHyperDim {
		return Info{}, fmt.Errorf("%w: mel filter bank %d×%d does not match %d mels", ErrCorrupt, nMel, nFFT, h.NMels)
	}
	if err := cr.skip(int64(nMel) * int64(nFFT) * 4); err != nil {
		return Info{}, fmt.Errorf("%w: mel filters: %w", ErrCorrupt, err)
	}

	var nTokens int32
	if err := binary.Read(cr, le, &nTokens); err != nil {
		return Info{}, fmt.Errorf("%w: vocabulary: %w", ErrCorrupt, err)
	}
	if nTokens <= 0 || nTokens > h.NVocab {
		return Info{}, fmt.Errorf("%w: vocabulary of %d tokens for n_vocab %d", ErrCorrupt, nTokens, h.NVocab)
	}
	hasSpace := false
	buf := make([]byte, maxTokenLen)
	for i := int32(0); i < nTokens; i++ {
		var n uint32
		if err := binary.Read(cr, le, &n); err != nil {
			return Info{}, fmt.Errorf("%w: vocabulary token %d: %w", ErrCorrupt, i, err)
		}
		if n > maxTokenLen {
			return Info{}, fmt.Errorf("%w: vocabulary token %d is %d bytes long", ErrCorrupt, i, n)
		}
		if _, err := io.ReadFull(cr, buf[:n]); err != nil {
			return Info{}, fmt.Errorf("%w: vocabulary token %d: %w", ErrCorrupt, i, err)
		}
		if string(buf[:n]) == spaceToken {
			hasSpace = true
		}
	}
	if !hasSpace {
		return Info{}, fmt.Errorf("%w: the vocabulary has no space token, which whisper.cpp requires", ErrCorrupt)
	}

	want := map[string][]int32{}
	for _, t := range tensorSpecs(h) {
		want[t.name] = t.ne
	}
	seen := map[string]bool{}
	for {
		var th struct{ NDims, NameLen, Type int32 }
		if err := binary.Read(cr, le, &th); err != nil {
			if errors.Is(err, io.EOF) && cr.n == size {
				break
			}
			return Info{}, fmt.Errorf("%w: tensor header after %d tensors: %w", ErrCorrupt, len(seen), err)
		}
		if th.NDims < 1 || th.NDims > 4 || th.NameLen <= 0 || th.NameLen > maxNameLen {
			return Info{}, fmt.Errorf("%w: tensor header after %d tensors is malformed", ErrCorrupt, len(seen))
		}
		ne := make([]int32, th.NDims)
		if err := binary.Read(cr, le, ne); err != nil {
			return Info{}, fmt.Errorf("%w: tensor shape: %w", ErrCorrupt, err)
		}
		name := make([]byte, th.NameLen)
		if _, err := io.ReadFull(cr, name); err != nil {
			return Info{}, fmt.Errorf("%w: tensor name: %w", ErrCorrupt, err)
		}
		shape, ok := want[string(name)]
		if !ok {
			return Info{}, fmt.Errorf("%w: unknown tensor %q", ErrCorrupt, name)
		}
		if seen[string(name)] {
			return Info{}, fmt.Errorf("%w: tensor %q appears twice", ErrCorrupt, name)
		}
		if !sameShape(shape, ne) {
			return Info{}, fmt.Errorf("%w: tensor %q has shape %v, want %v", ErrCorrupt, name, ne, shape)
		}
		tt, ok := ggmlTypes[th.Type]
		if !ok {
			return Info{}, fmt.Errorf("%w: tensor %q has unsupported type %d", ErrCorrupt, name, th.Type)
		}
		elems := int64(1)
		for _, d := range ne {
			elems *= int64(d)
		}
		bytes := elems / tt.block * tt.size
		if cr.n+bytes > size {
			return Info{}, fmt.Errorf("%w: tensor %q ends past the end of the file (truncated download?)", ErrCorrupt, name)
		}
		if err := cr.skip(bytes); err != nil {
			return Info{}, fmt.Errorf("%w: tensor %q: %w", ErrCorrupt, name, err)
		}
		seen[string(name)] = true
	}
	if len(seen) != len(want) {
		return Info{}, fmt.Errorf("%w: %d of %d tensors present", ErrCorrupt, len(seen), len(want))
	}
	return Info{Hparams: h, Tensors: len(seen), Size: size}, nil
}

// sameShape compares shapes the way whisper.cpp does: trailing ones are implicit.
func sameShape(want, got []int32) bool {
	at := func(s []int32, i int) int32 {
		if i < len(s) {
			return s[i]
		}
		return 1
	}
	for i := 0; i < 4; i++ {
		if at(want, i) != at(got, i) {
			return false
		}
	}
	return true
}
