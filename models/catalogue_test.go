package models

import (
	"bufio"
	"errors"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
)

var sha1Hex = regexp.MustCompile(`^[0-9a-f]{40}$`)

func TestCatalogueEntriesWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Catalogue() {
		if m.Name == "" || seen[m.Name] {
			t.Errorf("name %q empty or duplicated", m.Name)
		}
		seen[m.Name] = true
		if m.File != "ggml-"+m.Name+".bin" {
			t.Errorf("%s: file %q", m.Name, m.File)
		}
		u, err := url.Parse(m.URL)
		if err != nil || u.Scheme != "https" || u.Host != "huggingface.co" || path.Base(u.Path) != m.File {
			t.Errorf("%s: malformed URL %q", m.Name, m.URL)
		}
		if m.SHA1 != "" && !sha1Hex.MatchString(m.SHA1) {
			t.Errorf("%s: SHA-1 %q is not 40 lowercase hex digits", m.Name, m.SHA1)
		}
		if m.Size < 20<<20 || m.Size > 4<<30 {
			t.Errorf("%s: implausible size %d", m.Name, m.Size)
		}
		if m.Multilingual == strings.Contains(m.Name, ".en") {
			t.Errorf("%s: multilingual = %v", m.Name, m.Multilingual)
		}
		switch m.Quantization {
		case "":
			if strings.Contains(m.Name, "-q") {
				t.Errorf("%s: quantization missing", m.Name)
			}
		case "q5_0", "q5_1", "q8_0":
			if !strings.HasSuffix(m.Name, "-"+m.Quantization) {
				t.Errorf("%s: quantization %q does not match the name", m.Name, m.Quantization)
			}
		default:
			t.Errorf("%s: unknown quantization %q", m.Name, m.Quantization)
		}
	}
	if !seen[Default] {
		t.Errorf("default model %q is not in the catalogue", Default)
	}
}

func TestCatalogueOfficialHost(t *testing.T) {
	for _, m := range Catalogue() {
		if strings.HasSuffix(m.Name, "-tdrz") {
			continue
		}
		if want := OfficialURL + "/" + m.File; m.URL != want {
			t.Errorf("%s: URL %q, want %q", m.Name, m.URL, want)
		}
	}
}

// The testdata files are copied from whisper.cpp: the list of names its
// download script accepts and the hash table of its models README.
func TestCatalogueMatchesUpstreamNames(t *testing.T) {
	f, err := os.Open("testdata/whisper-cpp-model-names.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name := strings.TrimSpace(sc.Text()); name != "" {
			want = append(want, name)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	got := Catalogue()
	if len(got) != len(want) {
		t.Fatalf("catalogue has %d models, upstream %d", len(got), len(want))
	}
	for i, name := range want {
		if got[i].Name != name {
			t.Errorf("model %d: %q, upstream %q", i, got[i].Name, name)
		}
	}
}

func TestCatalogueHashesMatchUpstreamTable(t *testing.T) {
	b, err := os.ReadFile("testdata/whisper-cpp-models-table.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\|\\s*(\\S+)\\s*\\|[^|]*\\|\\s*`([0-9a-f]{40})`\\s*\\|$")
	hashes := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := row.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			hashes[m[1]] = m[2]
		}
	}
	if len(hashes) < 10 {
		t.Fatalf("parsed only %d rows from the table", len(hashes))
	}
	for name, sum := range hashes {
		m, err := Lookup(name)
		if err != nil {
			t.Errorf("upstream model %s: %v", name, err)
			continue
		}
		if m.SHA1 != sum {
			t.Errorf("%s: SHA-1 %q, upstream %q", name, m.SHA1, sum)
		}
	}
	for _, m := range Catalogue() {
		if _, listed := hashes[m.Name]; !listed && m.SHA1 != "" {
			t.Errorf("%s has a SHA-1 upstream does not publish", m.Name)
		}
	}
}

func TestLookupAcceptsFileNamesAndCase(t *testing.T) {
	for _, in := range []string{"base", "BASE", " base ", "ggml-base.bin", "base.bin"} {
		m, err := Lookup(in)
		if err != nil || m.Name != "base" {
			t.Errorf("Lookup(%q) = %q, %v", in, m.Name, err)
		}
	}
	m, err := Lookup("large-v3-turbo-q5_0")
	if err != nil || m.Quantization != "q5_0" || !m.Multilingual {
		t.Errorf("Lookup(large-v3-turbo-q5_0) = %+v, %v", m, err)
	}
}

func TestLookupUnknownSuggests(t *testing.T) {
	_, err := Lookup("larg-v3")
	if !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("err = %v, want ErrUnknownModel", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "large-v3") || !strings.Contains(msg, "ledgerline models list") {
		t.Errorf("message lacks suggestion or hint: %s", msg)
	}

	_, err = Lookup("small.fr")
	if err == nil || !strings.Contains(err.Error(), "small.en") {
		t.Errorf("Lookup(small.fr) error %v does not suggest small.en", err)
	}

	_, err = Lookup("wav2vec")
	if !errors.Is(err, ErrUnknownModel) || strings.Contains(err.Error(), "did you mean") ||
		!strings.Contains(err.Error(), "ledgerline models list") {
		t.Errorf("Lookup(wav2vec) error = %v", err)
	}
}

func TestCatalogueReturnsCopy(t *testing.T) {
	c := Catalogue()
	c[0].URL = "http://example.invalid/"
	if Catalogue()[0].URL == c[0].URL {
		t.Error("changing the returned slice changed the catalogue")
	}
}

func TestEditDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"tiny", "tiny", 0}, {"tiny", "tinny", 1}, {"base", "bsae", 2}, {"kitten", "sitting", 3},
	}
	for _, c := range cases {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
