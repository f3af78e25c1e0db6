package stream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The fixtures are one espeak-ng phrase converted by sox into each format:
//
//	espeak-ng -s 190 -w t.wav "by Thursday"
//	sox t.wav p.wav silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse pad 0.05 0.05
//	sox p.wav -r 44100 -c 2 -b 24 speech-44k-stereo-24.wav   # and so on
//
// p.wav itself is speech-22k-mono-16.wav (0.7467 s). Durations are `soxi -D` of each
// file, written here once so a decoder bug cannot move its own target; sox
// rounds the frame count at each rate, hence the small differences.
// speech-24k-stereo-f32ext.wav has a hand-written WAVE_FORMAT_EXTENSIBLE
// header (sox writes float with format tag 3 only).
var fixtures = []struct {
	file   string
	format Format
	soxiD  float64 // seconds
}{
	{"speech-8k-mono-u8.wav", Format{8000, 1, 8, EncodingPCM, false}, 0.746625},
	{"speech-11k-3ch-16ext.wav", Format{11025, 3, 16, EncodingPCM, true}, 0.746667},
	{"speech-16k-mono-16.wav", Format{16000, 1, 16, EncodingPCM, false}, 0.746687},
	{"speech-22k-mono-16.wav", Format{22050, 1, 16, EncodingPCM, false}, 0.746667},
	{"speech-24k-stereo-f32ext.wav", Format{24000, 2, 32, EncodingFloat, true}, 0.746667},
	{"speech-44k-mono-32.wav", Format{44100, 1, 32, EncodingPCM, true}, 0.746667},
	{"speech-44k-stereo-24.wav", Format{44100, 2, 24, EncodingPCM, true}, 0.746667},
	{"speech-48k-mono-f32.wav", Format{48000, 1, 32, EncodingFloat, false}, 0.746667},
}

// fixtureRMS is `sox speech-16k-mono-16.wav -n stat`'s RMS amplitude; sox
// reports 0.0807 to 0.0809 for every fixture.
const fixtureRMS = 0.080807

func TestLoadWAVFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			a, err := LoadWAV(filepath.Join("testdata", fx.file))
			if err != nil {
				t.Fatal(err)
			}
			if a.Source != fx.format {
				t.Errorf("source format = %+v, want %+v", a.Source, fx.format)
			}
			want := time.Duration(fx.soxiD * float64(time.Second))
			if d := a.Duration - want; d.Abs() > time.Microsecond {
				t.Errorf("duration = %v, soxi says %v", a.Duration, want)
			}
			wantN := fx.soxiD * SampleRate
			if d := float64(len(a.Samples)) - wantN; math.Abs(d) > 1 {
				t.Errorf("%d samples at 16 kHz, want %.1f ±1", len(a.Samples), wantN)
			}
			if got := rms(a.Samples); math.Abs(got-fixtureRMS) > 0.03*fixtureRMS {
				t.Errorf("RMS = %.5f, want %.5f ±3%%", got, fixtureRMS)
			}
		})
	}
}

func TestFixturesAgreeSampleBySample(t *testing.T) {
	ref, err := LoadWAV(filepath.Join("testdata", "speech-22k-mono-16.wav"))
	if err != nil {
		t.Fatal(err)
	}
	// Every fixture was made from the 22.05 kHz original; after conversion to
	// 16 kHz the waveforms must match, not just their energy. The 8 kHz copy
	// has lost everything above 4 kHz, so it is only held to a looser bound.
	for _, fx := range fixtures {
		a, err := LoadWAV(filepath.Join("testdata", fx.file))
		if err != nil {
			t.Fatal(err)
		}
		n := min(len(a.Samples), len(ref.Samples))
		diff := make([]float32, n)
		for i := range diff {
			diff[i] = a.Samples[i] - ref.Samples[i]
		}
		limit := 0.02
		if fx.format.SampleRate <= 11025 {
			limit = 0.4
		}
		if r := rms(diff) / rms(ref.Samples); r > limit {
			t.Errorf("%s: difference from the original is %.3f of its RMS, want below %.2f", fx.file, r, limit)
		}
	}
}

func TestDecodeWAVScaling(t *testing.T) {
	// Full-scale extremes of each integer width, and float, land on ±1.
	cases := []struct {
		name   string
		fmt    []byte
		frames []byte
		want   []float32
	}{
		{"u8", fmtChunk(tagPCM, 1, 8000, 8), []byte{0, 128, 255}, []float32{-1, 0, 127.0 / 128}},
		{"s16", fmtChunk(tagPCM, 1, 8000, 16), le16(-32768, 0, 16384), []float32{-1, 0, 0.5}},
		{"s24", fmtChunk(tagPCM, 1, 8000, 24), []byte{0, 0, 0x80, 0, 0, 0, 0, 0, 0x40}, []float32{-1, 0, 0.5}},
		{"s32", fmtChunk(tagPCM, 1, 8000, 32), le32(math.MinInt32, 0, 1<<30), []float32{-1, 0, 0.5}},
		{"f32", fmtChunk(tagFloat, 1, 8000, 32), f32(-1, 0.25, 2, float32(math.NaN()), float32(math.Inf(-1))),
			[]float32{-1, 0.25, 1, 0, -1}},
		{"f64", fmtChunk(tagFloat, 1, 8000, 64), f64(-0.5, 0.125), []float32{-0.5, 0.125}},
		{"stereo s16 averaged", fmtChunk(tagPCM, 2, 8000, 16), le16(16384, -16384, 32767, 32767),
			[]float32{0, 32767.0 / 32768}},
		{"extensible s16", extFmtChunk(tagPCM, 1, 8000, 16), le16(-16384), []float32{-0.5}},
		{"extensible f32", extFmtChunk(tagFloat, 1, 8000, 32), f32(0.75), []float32{0.75}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := DecodeWAV(bytes.NewReader(wavFile(chunk("fmt ", c.fmt), chunk("data", c.frames))))
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Samples) != len(c.want) {
				t.Fatalf("got %v, want %v", d.Samples, c.want)
			}
			for i := range c.want {
				if math.Abs(float64(d.Samples[i]-c.want[i])) > 1e-6 {
					t.Errorf("sample %d = %v, want %v", i, d.Samples[i], c.want[i])
				}
			}
		})
	}
}

func TestDecodeWAVSkipsOtherChunks(t *testing.T) {
	// LIST before fmt, an odd-sized chunk (padded), data before a trailing chunk.
	file := wavFile(
		chunk("LIST", append([]byte("INFOISFT"), 0xff, 0xff, 0xff, 0x7f)),
		chunk("junk", []byte{1, 2, 3}),
		chunk("fmt ", fmtChunk(tagPCM, 1, 16000, 16)),
		chunk("data", le16(1000, 2000, 3000)),
		chunk("smpl", bytes.Repeat([]byte{0xff}, 12)),
	)
	d, err := DecodeWAV(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Samples) != 3 || d.Samples[2] != 3000.0/32768 {
		t.Fatalf("samples = %v", d.Samples)
	}
}

func TestDecodeWAVTruncatedReturnsCompleteFrames(t *testing.T) {
	full, err := os.ReadFile(filepath.Join("testdata", "speech-44k-stereo-24.wav"))
	if err != nil {
		t.Fatal(err)
	}
	whole, err := DecodeWAV(bytes.NewReader(full))
	if err != nil {
		t.Fatal(err)
	}
	dataOff := bytes.Index(full, []byte("data")) + 8
	cut := full[:dataOff+1000*6+4] // 1000 frames of 6 bytes and a partial one
	d, err := DecodeWAV(bytes.NewReader(cut))
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("error = %v, want ErrTruncated", err)
	}
	if d == nil || len(d.Samples) != 1000 {
		t.Fatalf("want the 1000 complete frames, got %v", d)
	}
	for i := range d.Samples {
		if d.Samples[i] != whole.Samples[i] {
			t.Fatalf("frame %d = %v, want %v", i, d.Samples[i], whole.Samples[i])
		}
	}
	a, err := ReadWAV(bytes.NewReader(cut))
	if !errors.Is(err, ErrTruncated) || a == nil || len(a.Samples) != int(math.Ceil(1000*16000/44100.0)) {
		t.Fatalf("ReadWAV on a cut file: err %v, audio %v", err, a)
	}
}

func TestDecodeWAVErrors(t *testing.T) {
	pcm16 := chunk("fmt ", fmtChunk(tagPCM, 1, 16000, 16))
	someData := chunk("data", le16(1, 2, 3, 4))
	withFmt := func(f []byte) []byte { return wavFile(chunk("fmt ", f), someData) }
	hugeData := wavFile(pcm16, chunk("data", le16(1, 2)))
	binary.LittleEndian.PutUint32(hugeData[40:], 0xFFFFFFF0) // claims 4 GB in a 48-byte file
	hugeFmt := wavFile(chunk("fmt ", fmtChunk(tagPCM, 1, 16000, 16)), someData)
	binary.LittleEndian.PutUint32(hugeFmt[16:], 0xFFFFFFF0)
	zeroCh := fmtChunk(tagPCM, 1, 16000, 16)
	binary.LittleEndian.PutUint16(zeroCh[2:], 0)
	badAlign := fmtChunk(tagPCM, 2, 16000, 16)
	binary.LittleEndian.PutUint16(badAlign[12:], 3)
	vendorExt := extFmtChunk(tagPCM, 1, 16000, 16)
	vendorExt[30] ^= 0xff

	cases := []struct {
		name string
		file []byte
		want error
		hint string // part of the message telling the user what to do
	}{
		{"empty file", nil, ErrEmpty, "pick another file"},
		{"text", []byte("hello, this is not audio at all"), ErrNotWAV, "sox"},
		{"AIFF", append([]byte("FORM\x00\x00\x00\x20AIFF"), make([]byte, 32)...), ErrNotWAV, "sox"},
		{"cut in RIFF header", []byte("RIFF\x10\x00"), ErrTruncated, "re-copy"},
		{"RIFX big-endian", append([]byte("RIFX\x00\x00\x00\x20WAVE"), make([]byte, 32)...), ErrUnsupported, "sox"},
		{"RIFF only", wavFile(), ErrNotWAV, "sox"},
		{"cut in fmt", wavFile(pcm16)[:24], ErrTruncated, "re-copy"},
		{"fmt claims 4 GB", hugeFmt, ErrTruncated, "re-copy"},
		{"no data chunk", wavFile(pcm16), ErrEmpty, ""},
		{"empty data chunk", wavFile(pcm16, chunk("data", nil)), ErrEmpty, ""},
		{"half a frame", wavFile(pcm16, chunk("data", []byte{1})), ErrEmpty, ""},
		{"data claims 4 GB, one frame present", hugeData, ErrTruncated, "re-copy"},
		{"data cut before first frame", wavFile(pcm16, chunk("data", le16(1)))[:45], ErrTruncated, ""},
		{"short fmt", withFmt(make([]byte, 14)), ErrNotWAV, "sox"},
		{"zero channels", withFmt(zeroCh), ErrNotWAV, "zero channels"},
		{"100 channels", withFmt(fmtChunk(tagPCM, 100, 16000, 16)), ErrUnsupported, "sox"},
		{"ADPCM", withFmt(fmtChunk(tagADPCM, 1, 16000, 4)), ErrUnsupported, "ADPCM"},
		{"16-bit A-law", withFmt(fmtChunk(tagALaw, 1, 8000, 16)), ErrUnsupported, "16-bit A-law"},
		{"ADPCM", withFmt(fmtChunk(tagIMAADPCM, 1, 8000, 4)), ErrUnsupported, "sox input-file -r 16000 -c 1 -b 16 output.wav"},
		{"MP3", withFmt(fmtChunk(tagMP3, 1, 16000, 0)), ErrUnsupported, "MPEG"},
		{"384 kHz", withFmt(fmtChunk(tagPCM, 1, 384000, 16)), ErrUnsupported, "8000 to 192000 Hz"},
		{"4 kHz", withFmt(fmtChunk(tagPCM, 1, 4000, 16)), ErrUnsupported, "sox"},
		{"12-bit", withFmt(fmtChunk(tagPCM, 1, 16000, 12)), ErrUnsupported, "sox"},
		{"16-bit float", withFmt(fmtChunk(tagFloat, 1, 16000, 16)), ErrUnsupported, "sox"},
		{"block align mismatch", withFmt(badAlign), ErrNotWAV, "block alignment"},
		{"extensible too short", withFmt(extFmtChunk(tagPCM, 1, 16000, 16)[:30]), ErrNotWAV, "EXTENSIBLE"},
		{"extensible vendor GUID", withFmt(vendorExt), ErrUnsupported, "sub-format"},
		{"extensible ADPCM", withFmt(extFmtChunk(tagADPCM, 1, 16000, 4)), ErrUnsupported, "ADPCM"},
	}
	sentinels := []error{ErrNotWAV, ErrUnsupported, ErrTruncated, ErrEmpty}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := ReadWAV(bytes.NewReader(c.file))
			if !errors.Is(err, c.want) {
				t.Fatalf("error = %v, want %v", err, c.want)
			}
			for _, s := range sentinels {
				if s != c.want && errors.Is(err, s) {
					t.Errorf("error %q also matches %v", err, s)
				}
			}
			if !strings.Contains(err.Error(), c.hint) {
				t.Errorf("error %q does not mention %q", err, c.hint)
			}
			if c.want == ErrTruncated && a != nil && len(a.Samples) == 0 {
				t.Errorf("truncated audio returned with no samples")
			}
			if c.want != ErrTruncated && a != nil {
				t.Errorf("audio returned alongside error %v", err)
			}
		})
	}
}

func TestHostileHeadersAllocateLittle(t *testing.T) {
	pcm16 := chunk("fmt ", fmtChunk(tagPCM, 1, 16000, 16))
	hugeData := wavFile(pcm16, chunk("data", le16(1, 2, 3)))
	binary.LittleEndian.PutUint32(hugeData[40:], 0xFFFFFFF0)
	hugeFmt := wavFile(pcm16, chunk("data", le16(1, 2, 3)))
	binary.LittleEndian.PutUint32(hugeFmt[16:], 0xFFFFFFF0)
	// go-audio/wav would allocate a LIST INFO entry of the declared 4 GB.
	hugeInfo := wavFile(chunk("LIST", []byte("INFOISFT\xf0\xff\xff\xff")), pcm16, chunk("data", le16(1, 2, 3)))
	manyChunks := wavFile(pcm16)
	for range 10000 {
		manyChunks = append(manyChunks, chunk("junk", nil)...)
	}
	manyChunks = append(manyChunks, chunk("data", le16(1, 2, 3))...)

	for name, file := range map[string][]byte{
		"data claims 4 GB": hugeData, "fmt claims 4 GB": hugeFmt,
		"LIST entry claims 4 GB": hugeInfo, "10000 empty chunks": manyChunks,
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := ReadWAV(bytes.NewReader(file))
			runtime.ReadMemStats(&after)
			if err != nil && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNotWAV) {
				t.Fatalf("unexpected error %v", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Fatalf("allocated %d bytes for a %d-byte file", n, len(file))
			}
		})
	}
}

func TestLoadWAVMissingFile(t *testing.T) {
	_, err := LoadWAV(filepath.Join(t.TempDir(), "absent.wav"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error = %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestLoadWAVNamesThePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("meeting notes, not audio"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadWAV(path)
	if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error = %v, want ErrUnknownFormat naming %s", err, path)
	}
}

func BenchmarkReadWAV(b *testing.B) {
	for _, name := range []string{"speech-44k-stereo-24.wav", "speech-48k-mono-f32.wav"} {
		b.Run(name, func(b *testing.B) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ReadWAV(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// WAV builders for tests.

func wavFile(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	return append(out, body...)
}

func chunk(id string, body []byte) []byte {
	out := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	out = append(out, body...)
	if len(body)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

func fmtChunk(tag uint16, channels, rate, bits int) []byte {
	le := binary.LittleEndian
	align := channels * bits / 8
	b := le.AppendUint16(nil, tag)
	b = le.AppendUint16(b, uint16(channels))
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(rate*align))
	b = le.AppendUint16(b, uint16(align))
	return le.AppendUint16(b, uint16(bits))
}

func extFmtChunk(sub uint16, channels, rate, bits int) []byte {
	le := binary.LittleEndian
	b := fmtChunk(tagExtensible, channels, rate, bits)
	b = le.AppendUint16(b, 22)
	b = le.AppendUint16(b, uint16(bits))
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, sub)
	return append(b, guidTail[:]...)
}

func le16(v ...int16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

func le32(v ...int32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

func f32(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func f64(v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}
