package models

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestCacheDirFromEnvironment(t *testing.T) {
	t.Setenv(EnvModelsDir, "/srv/models")
	dir, err := CacheDir()
	if err != nil || dir != "/srv/models" {
		t.Errorf("CacheDir() = %q, %v", dir, err)
	}
}

func TestCacheDirDefault(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the user cache directory is set through XDG_CACHE_HOME on Linux only")
	}
	base := t.TempDir()
	t.Setenv(EnvModelsDir, "")
	t.Setenv("XDG_CACHE_HOME", base)
	dir, err := CacheDir()
	if err != nil || dir != filepath.Join(base, "ledgerline", "models") {
		t.Errorf("CacheDir() = %q, %v", dir, err)
	}
}

func writeFile(t *testing.T, path string, size int) {
	t.Helper()
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCachePath(t *testing.T) {
	c := &Cache{Dir: "/m"}
	if got := c.Path("base.en"); got != filepath.Join("/m", "ggml-base.en.bin") {
		t.Errorf("Path(base.en) = %s", got)
	}
	if got := c.Path("custom"); got != filepath.Join("/m", "ggml-custom.bin") {
		t.Errorf("Path(custom) = %s", got)
	}
}

func TestCacheListMissingDir(t *testing.T) {
	c := &Cache{Dir: filepath.Join(t.TempDir(), "absent")}
	got, err := c.List()
	if err != nil || len(got) != 0 {
		t.Errorf("List() = %v, %v", got, err)
	}
}

func TestCacheList(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	writeFile(t, c.Path("base"), 1234)
	writeFile(t, c.Path("tiny")+partSuffix, 99)
	writeFile(t, filepath.Join(c.Dir, "notes.txt"), 5)
	writeFile(t, filepath.Join(c.Dir, "ggml-custom.bin"), 5)

	got, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("List() = %+v, want tiny (partial) and base", got)
	}
	tiny, base := got[0], got[1]
	if tiny.Model.Name != "tiny" || tiny.Path != "" || tiny.Partial != 99 || tiny.Size != 0 {
		t.Errorf("tiny = %+v", tiny)
	}
	if base.Model.Name != "base" || base.Path != c.Path("base") || base.Size != 1234 || base.Verified {
		t.Errorf("base = %+v", base)
	}
}

func TestCacheListVerifiedFollowsStamp(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	m, _ := Lookup("base")
	path := c.Path("base")
	writeFile(t, path, 10)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeStamp(path, fi, m.SHA1); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.List(); len(got) != 1 || !got[0].Verified {
		t.Fatalf("stamped file not verified: %+v", got)
	}
	// Any change to the file voids the stamp.
	later := fi.ModTime().Add(time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.List(); len(got) != 1 || got[0].Verified {
		t.Errorf("touched file still verified: %+v", got)
	}
	// A stamp for another checksum is no proof either.
	fi, _ = os.Stat(path)
	if err := writeStamp(path, fi, strings.Repeat("1", 40)); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.List(); got[0].Verified {
		t.Error("stamp with a foreign SHA-1 accepted")
	}
}

func TestCacheRemove(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	path := c.Path("small")
	writeFile(t, path, 10)
	writeFile(t, path+stampSuffix, 10)
	writeFile(t, path+partSuffix, 10)
	if err := c.Remove("small"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + stampSuffix, path + partSuffix} {
		assertNoFile(t, p)
	}
	err := c.Remove("small")
	if !errors.Is(err, ErrNotDownloaded) || !strings.Contains(err.Error(), "nothing to remove") {
		t.Errorf("second Remove = %v, want ErrNotDownloaded", err)
	}
	if err := c.Remove("smal1"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("Remove(unknown) = %v, want ErrUnknownModel", err)
	}
}

func TestCacheRemovePartialOnly(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	writeFile(t, c.Path("tiny")+partSuffix, 10)
	if err := c.Remove("tiny"); err != nil {
		t.Fatal(err)
	}
	assertNoFile(t, c.Path("tiny")+partSuffix)
}

func TestCacheResolve(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	own := filepath.Join(t.TempDir(), "my-model.bin")
	writeFile(t, own, 10)
	writeFile(t, c.Path("base"), 10)

	if got, err := c.Resolve(own); err != nil || got != own {
		t.Errorf("Resolve(file) = %q, %v", got, err)
	}
	if got, err := c.Resolve("base"); err != nil || got != c.Path("base") {
		t.Errorf("Resolve(base) = %q, %v", got, err)
	}

	_, err := c.Resolve("medium.en")
	if !errors.Is(err, ErrNotDownloaded) {
		t.Fatalf("Resolve(absent) = %v, want ErrNotDownloaded", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "run 'ledgerline models pull medium.en'") || !strings.Contains(msg, "--model FILE") {
		t.Errorf("absent-model error does not say what to do: %s", msg)
	}

	if _, err := c.Resolve("mediun"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("Resolve(typo) = %v, want ErrUnknownModel", err)
	}
	if _, err := c.Resolve(filepath.Join(t.TempDir(), "gone.bin")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Resolve(missing path) = %v, want fs.ErrNotExist", err)
	}
	if _, err := c.Resolve(t.TempDir()); err == nil {
		t.Error("Resolve(directory) succeeded")
	}
	if _, err := c.Resolve(""); err == nil {
		t.Error("Resolve(\"\") succeeded")
	}
}
