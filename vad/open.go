package vad

import (
	"log/slog"

	"github.com/ledgerline/ledgerline/models"
)

// Open finds the Silero VAD model in the cache (models.Cache.ResolveSilero: the pulled file, the
// converted one, or the ONNX weights make deps fetched, converted now) and loads it; log is told
// when a channel's detector fails later. Where there is no model, the error wraps
// models.ErrNoSilero; where it does not load, the error says why. Either way the caller's
// channels fall back to the rule-based detector, and the caller says so once.
func Open(cache *models.Cache, log *slog.Logger) (*Model, error) {
	path, err := cache.ResolveSilero("")
	if err != nil {
		return nil, err
	}
	return Load(Config{ModelPath: path, Logger: log})
}
