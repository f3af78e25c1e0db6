package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/internal/pgtest"
	"github.com/ledgerline/ledgerline/models"
)

const sample = "../../testdata/sample-call.wav"

var (
	modelOnce sync.Once
	modelPath string
)

// testModel writes a random-weight model once for the whole test binary.
func testModel(t testing.TB) string {
	t.Helper()
	modelOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ledgerline-cmd-")
		if err != nil {
			t.Fatal(err)
		}
		modelPath = filepath.Join(dir, "ggml-test.bin")
		if err := models.GenerateRandomFile(modelPath, models.ShapeTest, 11); err != nil {
			t.Fatal(err)
		}
	})
	return modelPath
}

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		// A child process of an end-to-end test: be the ledgerline binary.
		main()
	}
	code := pgtest.Main(m, nil)
	if modelPath != "" {
		os.RemoveAll(filepath.Dir(modelPath))
	}
	os.Exit(code)
}

// ledgerline runs the command line in-process and returns its exit code and output.
func ledgerline(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestTranscribeJSON(t *testing.T) {
	code, out, errOut := ledgerline(t, "transcribe", sample, "--model", testModel(t), "--format", "json", "--language", "en", "--fallbacks", "-1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Language   string `json:"language"`
		DurationMS int64  `json:"duration_ms"`
		Segments   []struct {
			StartMS  int64  `json:"start_ms"`
			EndMS    int64  `json:"end_ms"`
			Text     string `json:"text"`
			Language string `json:"language"`
			Tokens   []struct {
				ID      int     `json:"id"`
				Text    string  `json:"text"`
				P       float64 `json:"p"`
				StartMS int64   `json:"start_ms"`
				EndMS   int64   `json:"end_ms"`
			} `json:"tokens"`
		} `json:"segments"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&struct {
		Language   string            `json:"language"`
		DurationMS int64             `json:"duration_ms"`
		Segments   []json.RawMessage `json:"segments"`
	}{}); err != nil {
		t.Fatalf("output is not the documented JSON: %v\n%s", err, out)
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	// soxi: 545 063 samples at 16 kHz.
	if res.DurationMS < 34000 || res.DurationMS > 34100 {
		t.Errorf("duration_ms = %d, want about 34066", res.DurationMS)
	}
	if res.Language != "en" || len(res.Segments) == 0 {
		t.Fatalf("language %q, %d segments; want en and at least one", res.Language, len(res.Segments))
	}
	prevStart := int64(0)
	for i, s := range res.Segments {
		if s.StartMS < prevStart || s.StartMS > s.EndMS || s.EndMS > res.DurationMS || s.Language != "en" {
			t.Errorf("segment %d [%d, %d] %q is out of order or outside the audio", i, s.StartMS, s.EndMS, s.Language)
		}
		prevStart = s.StartMS
		for _, tok := range s.Tokens {
			if tok.P < 0 || tok.P > 1 || tok.EndMS > res.DurationMS {
				t.Errorf("segment %d token %+v is malformed", i, tok)
			}
		}
	}
}

func TestTranscribeSubtitleFormats(t *testing.T) {
	cue := map[string]*regexp.Regexp{
		"vtt": regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}$`),
		"srt": regexp.MustCompile(`^\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}$`),
	}
	for format, timing := range cue {
		code, out, errOut := ledgerline(t, "transcribe", "--format", format, "--model", testModel(t), "--language", "en", "--fallbacks", "-1", sample)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, errOut)
		}
		if format == "vtt" && !strings.HasPrefix(out, "WEBVTT\n\n") {
			t.Errorf("vtt output does not start with the WEBVTT header: %q", out[:min(len(out), 20)])
		}
		blocks := strings.Split(strings.TrimSpace(strings.TrimPrefix(out, "WEBVTT\n\n")), "\n\n")
		for i, b := range blocks {
			lines := strings.Split(b, "\n")
			if format == "srt" {
				if lines[0] != strconv.Itoa(i+1) {
					t.Errorf("srt cue %d numbered %q", i+1, lines[0])
				}
				lines = lines[1:]
			}
			if len(lines) < 2 || !timing.MatchString(lines[0]) {
				t.Errorf("%s cue %d is malformed: %q", format, i+1, b)
			}
		}
	}
}

func TestTranscribeBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wav, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		args []string
		code int
		says string
	}{
		"missing file":   {[]string{filepath.Join(dir, "nope.wav")}, 1, "no such file"},
		"empty file":     {[]string{write("empty.wav", nil)}, 1, "empty"},
		"not a wav":      {[]string{write("notes.wav", []byte("these are meeting notes, not audio"))}, 1, "WAV"},
		"truncated":      {[]string{write("cut.wav", wav[:len(wav)/2])}, 1, "truncated"},
		"bad model":      {[]string{sample, "--model", write("model.bin", []byte("not a model"))}, 1, "not a ggml Whisper model"},
		"unknown format": {[]string{sample, "--format", "docx"}, 2, "unknown format"},
		"no file":        {nil, 2, "exactly one audio file"},
		"bad language":   {[]string{sample, "--language", "klingon"}, 2, "give an ISO 639-1 code"},
	} {
		args := append([]string{"transcribe", "--model", testModel(t)}, tc.args...)
		code, _, errOut := ledgerline(t, args...)
		if code != tc.code || !strings.Contains(errOut, tc.says) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d saying %q", name, code, errOut, tc.code, tc.says)
		}
	}
}

func TestModelsCommands(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(models.EnvModelsDir, cache)
	payload := bytes.Repeat([]byte("ggml"), 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "model.bin", time.Time{}, bytes.NewReader(payload))
	}))
	defer srv.Close()
	t.Setenv(models.EnvModelURL, srv.URL)

	code, out, errOut := ledgerline(t, "models", "list")
	if code != 0 || !strings.Contains(out, "base") || !strings.Contains(out, "(default)") || !strings.Contains(out, cache) {
		t.Fatalf("models list: exit %d\n%s%s", code, out, errOut)
	}
	// The tiny model has a published checksum that these bytes cannot match.
	code, _, errOut = ledgerline(t, "models", "pull", "tiny")
	if code != 1 || !strings.Contains(strings.ToLower(errOut), "checksum") {
		t.Errorf("pull with a wrong checksum: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(cache, "ggml-tiny.bin")); !os.IsNotExist(err) {
		t.Errorf("a file with a wrong checksum was kept: %v", err)
	}
	// tiny-q5_1 has no published checksum: it is checked on length only.
	code, out, errOut = ledgerline(t, "models", "pull", "tiny-q5_1")
	if code != 0 || strings.TrimSpace(out) != filepath.Join(cache, "ggml-tiny-q5_1.bin") {
		t.Fatalf("pull: exit %d, %q, %q", code, out, errOut)
	}
	if _, out, _ = ledgerline(t, "models", "list"); !regexp.MustCompile(`tiny-q5_1 .*installed`).MatchString(out) {
		t.Errorf("pulled model not listed as installed:\n%s", out)
	}
	if code, _, errOut = ledgerline(t, "models", "rm", "tiny-q5_1"); code != 0 {
		t.Errorf("rm: exit %d: %s", code, errOut)
	}
	if code, _, errOut = ledgerline(t, "models", "rm", "tiny-q5_1"); code != 1 || !strings.Contains(errOut, "not downloaded") {
		t.Errorf("second rm: exit %d, %q", code, errOut)
	}
	if code, _, errOut = ledgerline(t, "models", "pull", "enormous"); code != 1 || !strings.Contains(errOut, "models list") {
		t.Errorf("pull of an unknown model: exit %d, %q", code, errOut)
	}
	// A model that is not in the cache: the error says how to get it.
	if code, _, errOut = ledgerline(t, "transcribe", sample, "--model", "small"); code != 1 || !strings.Contains(errOut, "models pull small") {
		t.Errorf("transcribe with an absent model: exit %d, %q", code, errOut)
	}
}

func TestModelsMakeRandom(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.bin")
	if code, _, errOut := ledgerline(t, "models", "make-random", "--shape", "test", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := models.Inspect(out); err != nil {
		t.Errorf("generated model does not inspect: %v", err)
	}
	if code, _, errOut := ledgerline(t, "models", "make-random", "--shape", "giant", "--out", out); code != 2 || !strings.Contains(errOut, "use test or tiny") {
		t.Errorf("bad shape: exit %d, %q; want the usage error", code, errOut)
	}
}

// An argument a command does not take, a deal ID a link cannot carry, or a meeting the database
// does not hold is said, with what to do, before anything is done.
func TestCommandsRefuseWhatTheyDoNotTake(t *testing.T) {
	db := filepath.Join(t.TempDir(), "m.db")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "--db", db, "extra"}, 2, `"extra" is none`},
		{[]string{"demo", "--db", db, "extra"}, 2, `"extra" is none`},
		{[]string{"deal", "create", "--id", "z1", "--name", "n", "--db", db, "extra"}, 2, `"extra" is none`},
		{[]string{"deal", "create", "--id", "bad id!", "--name", "n", "--db", db}, 2, "1-128 letters"},
		{[]string{"deal", "create", "--id", "x/y", "--name", "n", "--db", db}, 2, "1-128 letters"},
		{[]string{"deal", "create", "--id", "acme-rollout", "--name", "Acme", "--db", db}, 0, ""},
		{[]string{"recap", "nosuch", "--db", db}, 1, `no meeting "nosuch" in ` + db},
		{[]string{"ledger", "--deal", "nosuch", "--db", db}, 1, "or give --db the database"},
	} {
		code, _, errOut := ledgerline(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	if code, out, errOut := ledgerline(t, "ledger", "--deal", "acme-rollout", "--db", db, "--format", "json"); code != 0 ||
		!strings.Contains(out, `"commitments": []`) || strings.Contains(out, "null") {
		t.Errorf("the report of a deal with no meetings: exit %d, %s%s; want empty lists, no null", code, out, errOut)
	}
}

func TestUnknownCommand(t *testing.T) {
	if code, _, errOut := ledgerline(t, "frobnicate"); code != 2 || !strings.Contains(errOut, "transcribe") {
		t.Errorf("exit %d, %q; want 2 and the list of commands", code, errOut)
	}
}

func TestLedgerDetectLines(t *testing.T) {
	in := `{"text":"I will send you the integration architecture by Thursday.","meeting_date":"2026-11-30","timezone":"Europe/Berlin","language":"en","speaker":{"name":"Dana","org":"vendor"}}
not json
{"text":"We might look at pricing at some point.","meeting_date":"2026-11-30","speaker":{"name":"Ravi","org":"partner"}}
`
	var stdout, stderr bytes.Buffer
	// The malformed line makes the exit status 1, after every line is answered.
	if code := run(context.Background(), []string{"ledger", "detect"}, strings.NewReader(in), &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "1 of 3 input lines could not be used") {
		t.Fatalf("exit %d, %q; want 1 and a count of the unusable lines", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d output lines for 3 input lines:\n%s", len(lines), stdout.String())
	}
	var first struct {
		Commitments []struct {
			Owner string  `json:"owner"`
			Due   *string `json:"due"`
		} `json:"commitments"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || len(first.Commitments) != 1 {
		t.Fatalf("line 1: %v %s", err, lines[0])
	}
	// 2026-11-30 is a Monday: "by Thursday" is 2026-12-03.
	if c := first.Commitments[0]; c.Owner != "Dana" || c.Due == nil || *c.Due != "2026-12-03" {
		t.Errorf("line 1 commitment %+v, want owner Dana due 2026-12-03", c)
	}
	if !strings.Contains(lines[1], `"error"`) {
		t.Errorf("malformed line gave %s, want an error line", lines[1])
	}
	if !strings.Contains(lines[2], `"commitments":[]`) {
		t.Errorf("a hedge gave %s, want no commitment", lines[2])
	}
}

func TestDiarizeCommand(t *testing.T) {
	code, out, errOut := ledgerline(t, "diarize", sample, "--speakers", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	rttm := regexp.MustCompile(`^SPEAKER sample-call 1 \d+\.\d+ \d+\.\d+ <NA> <NA> \S+ <NA> <NA>$`)
	speakers := map[string]bool{}
	for _, l := range lines {
		if !rttm.MatchString(l) {
			t.Fatalf("not an RTTM line: %q", l)
		}
		speakers[strings.Fields(l)[7]] = true
	}
	if len(speakers) < 2 || len(speakers) > 3 {
		t.Errorf("%d speakers in a three-person call capped at 3", len(speakers))
	}
	if code, _, errOut := ledgerline(t, "diarize", sample, "--format", "csv"); code != 2 || !strings.Contains(errOut, "unknown format") {
		t.Errorf("bad format: exit %d, %q", code, errOut)
	}
}

// A side of the deal that is none is a usage error, found before anything starts or connects.
func TestRunAndPublishRefuseUnknownSide(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--bot", "--org", "bogus"},
		{"publish", sample, "--url", "http://127.0.0.1:1/whip/m", "--token", "t", "--org", "bogus"},
	} {
		code, _, errOut := ledgerline(t, args...)
		if code != 2 || !strings.Contains(errOut, `--org "bogus"`) || !strings.Contains(errOut, "vendor, partner, buyer or other") {
			t.Errorf("%s: exit %d, %q; want 2 and the sides named", args[0], code, errOut)
		}
	}
}

// A name given on the command line follows the rules of names typed on the overlay, checked
// before anything starts or connects.
func TestRunAndPublishRefuseNamesThatHideCharacters(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--bot", "--me", "Dana\u202enimdA"},
		{"run", "--bot", "--me", strings.Repeat("D", 81)},
		{"publish", sample, "--url", "http://127.0.0.1:1/whip/m", "--token", "t", "--name", "Dana\nCEO"},
	} {
		code, _, errOut := ledgerline(t, args...)
		if code != 2 || !strings.Contains(errOut, "characters") {
			t.Errorf("%s %q: exit %d, %q; want 2 and what to change", args[0], args[len(args)-1], code, errOut)
		}
	}
}

// Decode workers and threads are checked together, before anything starts.
func TestRunRefusesMoreDecodeThreadsThanCores(t *testing.T) {
	code, _, errOut := ledgerline(t, "run", "--bot", "--workers", "4096", "--threads", "4")
	if code != 2 || !strings.Contains(errOut, "exceed the CPU cores") || !strings.Contains(errOut, "--threads") {
		t.Errorf("exit %d, %q; want 2 and what to lower", code, errOut)
	}
}
