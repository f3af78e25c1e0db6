package asr

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// Detection narrowed to some languages decodes every window in one of them,
// and says so on each segment.
func TestWhisperDetectsAmongLanguages(t *testing.T) {
	w := loadTest(t, 1)
	allowed := []string{"de", "fr"}
	for _, seconds := range []float64{1, 2.5, 4} {
		for _, language := range []string{"", "auto"} {
			res, err := w.Transcribe(context.Background(), chirp(seconds), Options{Language: language, Languages: allowed, Threads: 2, MaxTokens: 4})
			if err != nil {
				t.Fatalf("%.1f s, language %q: %v", seconds, language, err)
			}
			if !slices.Contains(allowed, res.Language) {
				t.Errorf("%.1f s: decoded in %q, not one of %v", seconds, res.Language, allowed)
			}
			for i, s := range res.Segments {
				if !slices.Contains(allowed, s.Language) {
					t.Errorf("%.1f s: segment %d says %q, not one of %v", seconds, i, s.Language, allowed)
				}
			}
		}
	}
	// One language needs no detection; a named one among them is decoded as named.
	for _, opt := range []Options{{Languages: []string{"fr"}}, {Language: "fr", Languages: allowed}} {
		opt.Threads, opt.MaxTokens = 2, 4
		res, err := w.Transcribe(context.Background(), chirp(1), opt)
		if err != nil {
			t.Fatalf("%+v: %v", opt, err)
		}
		if res.Language != "fr" {
			t.Errorf("%+v: decoded in %q, want fr", opt, res.Language)
		}
	}
}

func TestLanguagesAreChecked(t *testing.T) {
	if err := CheckLanguages([]string{"en", "de", "pt"}); err != nil {
		t.Fatalf("known languages refused: %v", err)
	}
	for _, codes := range [][]string{{"xx"}, {"en", "xx"}, {"de", ""}, {"EN"}} {
		err := CheckLanguages(codes)
		if !errors.Is(err, ErrLanguage) {
			t.Errorf("%q: %v; want ErrLanguage", codes, err)
		}
	}
	if err := CheckLanguages([]string{"en", "xx"}); err == nil || !strings.Contains(err.Error(), `"xx"`) {
		t.Errorf("the error %v does not name xx", err)
	}

	w := loadTest(t, 1)
	for _, opt := range []Options{
		{Languages: []string{"de", "xx"}},
		{Language: "en", Languages: []string{"de", "fr"}},
	} {
		_, err := w.Transcribe(context.Background(), chirp(1), opt)
		if !errors.Is(err, ErrLanguage) {
			t.Errorf("%+v: %v; want ErrLanguage", opt, err)
		}
	}
}
