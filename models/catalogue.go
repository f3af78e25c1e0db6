package models

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Default is the model used when none is chosen. The multilingual "base"
// model (about 142 MiB) transcribes meetings in any language, runs several
// times faster than real time on the CPU of an ordinary laptop, and makes
// clearly fewer mistakes than "tiny", whose small size is rarely worth its
// errors in a transcript people will read.
const Default = "base"

// OfficialURL is the address the official ggml Whisper models are published
// under; a model file NAME is at OfficialURL + "/ggml-NAME.bin".
const OfficialURL = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main"

// tinydiarizeURL hosts the one model whisper.cpp does not publish itself: the
// speaker-turn variant of small.en, from the tinydiarize project.
const tinydiarizeURL = "https://huggingface.co/akashmjn/tinydiarize-whisper.cpp/resolve/main"

// vadURL hosts the ggml Silero VAD models published for whisper.cpp.
const vadURL = "https://huggingface.co/ggml-org/whisper-vad/resolve/main"

// SileroV5 names the Silero VAD v5 speech detector in whisper.cpp's ggml format. It is no
// Whisper model, so Catalogue leaves it out, but Lookup finds it and a Cache pulls it like one.
const SileroV5 = "silero-v5"

// detectors are the speech-detection models; upstream publishes no checksum for them.
var detectors = []Model{
	{Name: SileroV5, File: "ggml-silero-v5.1.2.bin", URL: vadURL + "/ggml-silero-v5.1.2.bin", Size: 885 * 1000},
}

// ErrUnknownModel is returned by Lookup for a name the catalogue lacks.
var ErrUnknownModel = errors.New("unknown model")

// Model is one downloadable model file.
type Model struct {
	// Name is what users type: "base", "small.en", "large-v3-turbo-q5_0".
	Name string
	// File is the file name in the cache and on the server: "ggml-base.bin".
	File string
	// URL is where the file is downloaded from.
	URL string
	// SHA1 is the lowercase hex SHA-1 of the file, or empty where upstream
	// publishes none; such files are checked only against the length the
	// server announces.
	SHA1 string
	// Size is the approximate size in bytes, rounded from the sizes upstream
	// shows (MiB or MB). It serves progress reports and disk space estimates,
	// never verification.
	Size int64
	// Multilingual is false for the English-only ".en" models.
	Multilingual bool
	// Quantization is "q5_0", "q5_1" or "q8_0" for quantized files, empty for
	// the 16-bit originals.
	Quantization string
}

const (
	mib = int64(1) << 20
	mb  = int64(1000 * 1000)
)

// catalogue lists every model whisper.cpp's download-ggml-model.sh knows, in
// its order. Hashes and sizes in MiB are copied from the "Model | Disk | SHA"
// table of whisper.cpp's models/README.md. The quantized q5_1 and q8_0 files
// and the ".en" q5_0 file are missing from that table: they have no hash
// here, and their sizes are the rounded MB figures the model host shows.
var catalogue = []Model{
	entry("tiny", "bd577a113a864445d4c299885e0cb97d4ba92b5f", 75*mib),
	entry("tiny.en", "c78c86eb1a8faa21b369bcd33207cc90d64ae9df", 75*mib),
	entry("tiny-q5_1", "", 32*mb),
	entry("tiny.en-q5_1", "", 32*mb),
	entry("tiny-q8_0", "", 44*mb),
	entry("base", "465707469ff3a37a2b9b8d8f89f2f99de7299dac", 142*mib),
	entry("base.en", "137c40403d78fd54d454da0f9bd998f78703390c", 142*mib),
	entry("base-q5_1", "", 60*mb),
	entry("base.en-q5_1", "", 60*mb),
	entry("base-q8_0", "", 82*mb),
	entry("small", "55356645c2b361a969dfd0ef2c5a50d530afd8d5", 466*mib),
	entry("small.en", "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022", 466*mib),
	withURL(entry("small.en-tdrz", "b6c6e7e89af1a35c08e6de56b66ca6a02a2fdfa1", 465*mib), tinydiarizeURL),
	entry("small-q5_1", "", 190*mb),
	entry("small.en-q5_1", "", 190*mb),
	entry("small-q8_0", "", 264*mb),
	entry("medium", "fd9727b6e1217c2f614f9b698455c4ffd82463b4", 1536*mib),
	entry("medium.en", "8c30f0e44ce9560643ebd10bbe50cd20eafd3723", 1536*mib),
	entry("medium-q5_0", "", 539*mb),
	entry("medium.en-q5_0", "", 539*mb),
	entry("medium-q8_0", "", 823*mb),
	entry("large-v1", "b1caaf735c4cc1429223d5a74f0f4d0b9b59a299", 2970*mib),
	entry("large-v2", "0f4c8e34f21cf1a914c59d8b3ce882345ad349d6", 2970*mib),
	entry("large-v2-q5_0", "00e39f2196344e901b3a2bd5814807a769bd1630", 1126*mib),
	entry("large-v2-q8_0", "", 1660*mb),
	entry("large-v3", "ad82bf6a9043ceed055076d0fd39f5f186ff8062", 2970*mib),
	entry("large-v3-q5_0", "e6e2ed78495d403bef4b7cff42ef4aaadcfea8de", 1126*mib),
	entry("large-v3-turbo", "4af2b29d7ec73d781377bfd1758ca957a807e941", 1536*mib),
	entry("large-v3-turbo-q5_0", "e050f7970618a659205450ad97eb95a18d69c9ee", 547*mib),
	entry("large-v3-turbo-q8_0", "", 874*mb),
}

func entry(name, sha1 string, size int64) Model {
	quant := ""
	if i := strings.LastIndex(name, "-q"); i >= 0 {
		quant = name[i+1:]
	}
	file := "ggml-" + name + ".bin"
	return Model{
		Name:         name,
		File:         file,
		URL:          OfficialURL + "/" + file,
		SHA1:         sha1,
		Size:         size,
		Multilingual: !strings.Contains(name, ".en"),
		Quantization: quant,
	}
}

func withURL(m Model, base string) Model {
	m.URL = base + "/" + m.File
	return m
}

// Catalogue returns every known model, smallest family first. The slice is a
// copy the caller may keep or change.
func Catalogue() []Model {
	out := make([]Model, len(catalogue))
	copy(out, catalogue)
	return out
}

// Lookup finds a model by name. It also accepts the file name ("ggml-base.bin")
// and ignores case. An unknown name gives an error wrapping ErrUnknownModel
// that suggests close names.
func Lookup(name string) (Model, error) {
	key := normalizeName(name)
	for _, m := range slices.Concat(catalogue, detectors) {
		if m.Name == key || m.File == "ggml-"+key+".bin" {
			return m, nil
		}
	}
	if near := closeNames(key); len(near) > 0 {
		return Model{}, fmt.Errorf("%w %q: did you mean %s? Run 'ledgerline models list' to see them all",
			ErrUnknownModel, name, strings.Join(near, ", "))
	}
	return Model{}, fmt.Errorf("%w %q: run 'ledgerline models list' to see the models available",
		ErrUnknownModel, name)
}

func normalizeName(name string) string {
	key := strings.ToLower(strings.TrimSpace(name))
	key = strings.TrimSuffix(key, ".bin")
	return strings.TrimPrefix(key, "ggml-")
}

// closeNames returns up to five catalogue names that look like a typo of key
// or share its family ("large" suggests every large model).
func closeNames(key string) []string {
	if key == "" {
		return nil
	}
	type cand struct {
		name string
		dist int
	}
	var cands []cand
	for _, m := range catalogue {
		d := editDistance(key, m.Name)
		switch {
		case d <= 2:
		case strings.HasPrefix(m.Name, key) || strings.HasPrefix(key, m.Name):
			d = 3
		default:
			continue
		}
		cands = append(cands, cand{m.Name, d})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].dist < cands[j].dist })
	var out []string
	for i := 0; i < len(cands) && i < 5; i++ {
		out = append(out, cands[i].name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
