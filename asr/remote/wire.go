package remote

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ledgerline/ledgerline/asr"
)

// The live lane: one JetStream work queue for every model, a subject per
// model. Jobs live in memory only: a job is worth something for seconds (a
// stream waits on it), so a broker restart may lose them and the engines ask
// again.
const (
	// StreamName is the JetStream stream jobs are queued on.
	StreamName = "ASR_LIVE"
	// subjectPrefix is followed by the model's checksum prefix.
	subjectPrefix = "ll.asr.live."
	// sumPrefix is how much of a model's checksum names its subject and
	// consumer; the job's header carries all of it, and the worker checks it.
	sumPrefix = 16
	// jobMaxAge drops jobs nobody took: by then their engine gave up on them.
	jobMaxAge = 30 * time.Second
	// dedupeWindow is how long a job's message ID keeps a second publish of
	// it (a publish retried after a lost acknowledgement) from queueing twice.
	dedupeWindow = 30 * time.Second
)

// Headers of a job. The body is the window as little-endian int16 PCM.
const (
	hdrModel   = "Ll-Model"   // the full checksum of the model the job must be decoded with
	hdrOptions = "Ll-Options" // wireOptions as JSON
	hdrReply   = "Ll-Reply"   // the subject the reply goes to
	hdrBudget  = "Ll-Budget"  // milliseconds after queueing the engine waits for the reply
)

// Errors a Transcribe may return besides the asr package's and the context's.
var (
	// ErrModel means the worker that took the job has another model than the
	// engine: every worker of a team server must load the server's model.
	ErrModel = errors.New("asr/remote: the worker has another model")
	// ErrTooLong is a window larger than the broker takes in one message.
	ErrTooLong = errors.New("asr/remote: window too long to send")
	// ErrNoReply means no worker answered in any of the tries.
	ErrNoReply = errors.New("asr/remote: no worker answered")
	// ErrDecode is a decode that failed on the worker.
	ErrDecode = errors.New("asr/remote: the worker's decode failed")
)

// subject is where jobs for a model are queued.
func subject(model string) string { return subjectPrefix + shortSum(model) }

// consumerName is the durable consumer every worker of a model shares.
func consumerName(model string) string { return "asr-" + shortSum(model) }

func shortSum(model string) string {
	if len(model) > sumPrefix {
		return model[:sumPrefix]
	}
	return model
}

// validModel checks a checksum before it becomes part of a subject: hex only,
// so that it cannot add tokens or wildcards to the subject.
func validModel(model string) error {
	if len(model) < 8 {
		return fmt.Errorf("asr/remote: model checksum %q is too short: pass the model file's SHA-1 (see Checksum)", model)
	}
	if _, err := hex.DecodeString(model[:len(model)/2*2]); err != nil || len(model)%2 != 0 {
		return fmt.Errorf("asr/remote: model checksum %q is not hexadecimal: pass the model file's SHA-1 (see Checksum)", model)
	}
	return nil
}

// streamConfig is the live lane's stream. Engines and workers both create or
// update it, so neither has to start first.
func streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "live speech recognition jobs: one Transcribe window each",
		Subjects:    []string{subjectPrefix + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.MemoryStorage,
		MaxAge:      jobMaxAge,
		Duplicates:  dedupeWindow,
		Discard:     jetstream.DiscardOld,
		Replicas:    1,
	}
}

// ensureStream creates the stream or updates it to today's configuration,
// with the given number of replicas (an engine's choice). replicas 0 (a
// worker's) keeps those of a stream that exists and makes one otherwise, so
// that a worker never scales down the stream its engines replicate.
func ensureStream(ctx context.Context, js jetstream.JetStream, replicas int) error {
	cfg := streamConfig()
	var err error
	if replicas > 0 {
		cfg.Replicas = replicas
		_, err = js.CreateOrUpdateStream(ctx, cfg)
	} else {
		var s jetstream.Stream
		s, err = js.Stream(ctx, StreamName)
		switch {
		case err == nil:
			cfg.Replicas = s.CachedInfo().Config.Replicas
			_, err = js.UpdateStream(ctx, cfg)
		case errors.Is(err, jetstream.ErrStreamNotFound):
			// An engine may make it meanwhile, with its replicas: keep that one.
			if _, err = js.CreateStream(ctx, cfg); errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				err = nil
			}
		}
	}
	if err != nil {
		return fmt.Errorf("asr/remote: stream %s: %w", StreamName, err)
	}
	return nil
}

// Checksum returns a model file's identity: the hex SHA-1 of its bytes, which
// is what the model catalogue publishes, so that a server can name a model it
// has not downloaded and its workers compute the same from their file.
func Checksum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("asr/remote: model checksum: %w", err)
	}
	defer f.Close()
	h := sha1.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("asr/remote: model checksum of %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// wireOptions is what of asr.Options travels with a job. Threads stays
// behind: the worker sizes its decodes to its own cores. Progress cannot
// travel.
type wireOptions struct {
	Language       string   `json:"language,omitempty"`
	Languages      []string `json:"languages,omitempty"`
	Translate      bool     `json:"translate,omitempty"`
	BeamSize       int      `json:"beam_size,omitempty"`
	BestOf         int      `json:"best_of,omitempty"`
	MaxTokens      int      `json:"max_tokens,omitempty"`
	Temperature    float32  `json:"temperature,omitempty"`
	TemperatureInc float32  `json:"temperature_inc,omitempty"`
	MaxFallbacks   int      `json:"max_fallbacks,omitempty"`
	AudioCtx       int      `json:"audio_ctx,omitempty"`
	InitialPrompt  string   `json:"initial_prompt,omitempty"`
	SingleSegment  bool     `json:"single_segment,omitempty"`
}

func toWire(o asr.Options) wireOptions {
	return wireOptions{Language: o.Language, Languages: o.Languages, Translate: o.Translate, BeamSize: o.BeamSize, BestOf: o.BestOf,
		MaxTokens: o.MaxTokens, Temperature: o.Temperature, TemperatureInc: o.TemperatureInc,
		MaxFallbacks: o.MaxFallbacks, AudioCtx: o.AudioCtx, InitialPrompt: o.InitialPrompt, SingleSegment: o.SingleSegment}
}

func (w wireOptions) options() asr.Options {
	return asr.Options{Language: w.Language, Languages: w.Languages, Translate: w.Translate, BeamSize: w.BeamSize, BestOf: w.BestOf,
		MaxTokens: w.MaxTokens, Temperature: w.Temperature, TemperatureInc: w.TemperatureInc,
		MaxFallbacks: w.MaxFallbacks, AudioCtx: w.AudioCtx, InitialPrompt: w.InitialPrompt, SingleSegment: w.SingleSegment}
}

// reply is a worker's answer: a result, or an error with its kind so that the
// engine gives back the same sentinel the local engine would.
type reply struct {
	Worker string      `json:"worker,omitempty"`
	Result *asr.Result `json:"result,omitempty"`
	Error  string      `json:"error,omitempty"`
	Kind   string      `json:"kind,omitempty"` // one of the kind* constants
}

const (
	kindDecode   = "decode"
	kindModel    = "model"
	kindLanguage = "language"
	kindNoAudio  = "no_audio"
	kindJob      = "job" // a job the worker could not read
)

func errorKind(err error) string {
	switch {
	case errors.Is(err, asr.ErrLanguage):
		return kindLanguage
	case errors.Is(err, asr.ErrNoAudio):
		return kindNoAudio
	default:
		return kindDecode
	}
}

// err turns a reply's error back into one that errors.Is recognises.
func (r reply) err() error {
	var kind error
	switch r.Kind {
	case kindModel:
		kind = ErrModel
	case kindLanguage:
		kind = asr.ErrLanguage
	case kindNoAudio:
		kind = asr.ErrNoAudio
	default:
		kind = ErrDecode
	}
	return fmt.Errorf("%w: worker %s: %s", kind, r.Worker, r.Error)
}

// encodePCM writes samples in [-1, 1] as little-endian int16: half the bytes
// of float32, and all the precision 16-bit sources (every input Ledgerline
// has) carry.
func encodePCM(pcm []float32) []byte {
	out := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		s := math.Round(float64(max(-1, min(1, v))) * math.MaxInt16)
		binary.LittleEndian.PutUint16(out[2*i:], uint16(int16(s)))
	}
	return out
}

func decodePCM(b []byte) ([]float32, error) {
	if len(b)%2 != 0 {
		return nil, fmt.Errorf("asr/remote: job holds %d bytes, not 16-bit samples", len(b))
	}
	out := make([]float32, len(b)/2)
	for i := range out {
		out[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:]))) / math.MaxInt16
	}
	return out, nil
}
