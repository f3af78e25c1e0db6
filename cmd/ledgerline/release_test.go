package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/asr"
)

// versionLines matches what --version prints: the version, the whisper.cpp linked in, and the
// compute backend that whisper.cpp was built with.
var versionLines = regexp.MustCompile(`^ledgerline (\S+)\nwhisper\.cpp (\d+\.\d+\.\d+\S*)\nbackend (\S+)\n$`)

func TestVersionNamesWhisperAndBackend(t *testing.T) {
	// A test binary is stamped with no version and records none: "dev".
	want := fmt.Sprintf("ledgerline dev\nwhisper.cpp %s\nbackend %s\n", asr.WhisperVersion(), asr.Backend())
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		code, out, errOut := ledgerline(t, args...)
		if code != 0 || errOut != "" || out != want || !versionLines.MatchString(out) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", args, code, out, errOut, want)
		}
	}
	// The version the build stamps in (make build, make release) is the one printed.
	defer func(v string) { buildVersion = v }(buildVersion)
	buildVersion = "v1.4.0-3-g03efdc0"
	if _, out, _ := ledgerline(t, "--version"); !strings.HasPrefix(out, "ledgerline v1.4.0-3-g03efdc0\nwhisper.cpp ") {
		t.Errorf("stamped build: %q; want the stamped version first", out)
	}
}

// releaseArchive is dist/ledgerline-VERSION-linux-ARCH.tar.gz.
var releaseArchive = regexp.MustCompile(`^ledgerline-(.+)-linux-(amd64|arm64)\.tar\.gz$`)

// releaseEmulator runs the other architecture's binary: Debian's qemu-user, with that
// architecture's C library from multiarch (which its PortAudio package brings, at the loader's
// usual place), or else from the cross toolchain's directory. Not both: the loader of one and the
// C library of the other hang the process.
type releaseEmulator struct{ qemu, loader, sysroot string }

var releaseEmulators = map[string]releaseEmulator{
	"arm64": {"qemu-aarch64", "/lib/ld-linux-aarch64.so.1", "/usr/aarch64-linux-gnu"},
	"amd64": {"qemu-x86_64", "/lib64/ld-linux-x86-64.so.2", "/usr/x86_64-linux-gnu"},
}

// releaseNeeded are the shared libraries an archive's binary may need: glibc's and PortAudio.
var releaseNeeded = regexp.MustCompile(`^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|libresolv\.so\.2|libgcc_s\.so\.1|libportaudio\.so\.2|ld-linux-(x86-64|aarch64)\.so\.\d+)$`)

// The release archives (make release) match their checksums, hold the binary, the README, docs/
// and deploy/, and their binaries run: --version names the version, whisper.cpp and the CPU
// backend, and a transcription of the sample call with a random-weight model prints segments. The
// other architecture's binary runs under qemu-user where it is installed. make release-test builds
// the archives and runs this; elsewhere it runs when dist/ holds the archives of this tree's version.
func TestReleaseArchives(t *testing.T) {
	dir := os.Getenv("LEDGERLINE_RELEASE_DIR")
	required := dir != ""
	if !required {
		dir = filepath.Join(repoRoot, "dist")
		if _, err := os.Stat(filepath.Join(dir, "SHA256SUMS")); err != nil || testing.Short() {
			t.Skip("no release archives in dist/: 'make release-test' builds and tests them")
		}
	}
	sums := readSHA256SUMS(t, filepath.Join(dir, "SHA256SUMS"))
	version := ""
	var archs []string
	for _, name := range slices.Sorted(maps.Keys(sums)) {
		m := releaseArchive.FindStringSubmatch(name)
		if m == nil {
			t.Errorf("SHA256SUMS lists %s, which is not a release archive", name)
			continue
		}
		if version != "" && m[1] != version {
			t.Errorf("SHA256SUMS lists versions %s and %s", version, m[1])
		}
		version = m[1]
		archs = append(archs, m[2])
	}
	if required && !slices.Equal(archs, []string{"amd64", "arm64"}) {
		t.Fatalf("SHA256SUMS lists archives for %v; want amd64 and arm64", archs)
	}
	if !required {
		describe := exec.Command("git", "describe", "--tags", "--always", "--dirty")
		describe.Dir = repoRoot
		if out, err := describe.Output(); err == nil && strings.TrimSpace(string(out)) != version {
			t.Skipf("dist/ holds the archives of %s, not of this tree (%s): 'make release-test' builds and tests them", version, strings.TrimSpace(string(out)))
		}
	}
	for _, arch := range archs {
		name := fmt.Sprintf("ledgerline-%s-linux-%s", version, arch)
		t.Run(arch, func(t *testing.T) {
			path := filepath.Join(dir, name+".tar.gz")
			if got := fileSHA256(t, path); got != sums[name+".tar.gz"] {
				t.Fatalf("%s: sha256 %s, SHA256SUMS says %s", path, got, sums[name+".tar.gz"])
			}
			root := t.TempDir()
			files := untar(t, path, root, name)
			var missing []string
			for _, want := range releaseFiles(t) {
				if !files[want] {
					missing = append(missing, want)
				}
			}
			switch {
			case len(missing) > 0 && required:
				t.Errorf("%s.tar.gz lacks %s", name, strings.Join(missing, " "))
			case len(missing) > 0: // files added to the tree since the archive was built
				t.Skipf("%s.tar.gz predates %s: 'make release-test' builds and tests the archives anew", name, strings.Join(missing, " "))
			}
			bin := filepath.Join(root, name, "ledgerline")
			checkReleaseELF(t, bin, arch)
			testReleaseBinary(t, bin, arch, version)
		})
	}
}

func readSHA256SUMS(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("%s: not a sha256sum line: %q", path, sc.Text())
		}
		sums[name] = sum
	}
	if len(sums) == 0 {
		t.Fatalf("%s lists no archive", path)
	}
	return sums
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// untar unpacks the archive into dir and returns the regular files it holds, relative to its
// one top directory, top.
func untar(t *testing.T, path, dir, top string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		rel, ok := strings.CutPrefix(filepath.Clean(h.Name), top)
		if !ok || (rel != "" && rel[0] != '/') || !filepath.IsLocal(h.Name) {
			t.Fatalf("%s: %s lies outside %s/", path, h.Name, top)
		}
		target := filepath.Join(dir, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			files[strings.TrimPrefix(rel, "/")] = true
			var out *os.File
			if out, err = os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_EXCL, fs.FileMode(h.Mode)&0o755); err == nil {
				_, err = io.Copy(out, tr)
				err = errors.Join(err, out.Close())
			}
		default:
			t.Fatalf("%s: %s is neither a file nor a directory", path, h.Name)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// releaseFiles are the files an archive must hold: the binary, the README, the licence when there
// is one, and every file of docs/ and deploy/.
func releaseFiles(t *testing.T) []string {
	t.Helper()
	want := []string{"ledgerline", "README.md"}
	if _, err := os.Stat(filepath.Join(repoRoot, "LICENSE")); err == nil {
		want = append(want, "LICENSE")
	}
	for _, d := range []string{"docs", "deploy"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, d), func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() {
				rel, _ := filepath.Rel(repoRoot, p)
				want = append(want, filepath.ToSlash(rel))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// checkReleaseELF checks the binary is for the archive's architecture and needs no shared library
// but glibc's and PortAudio, and no glibc newer than 2.34.
func checkReleaseELF(t *testing.T, bin, arch string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if f.Machine != machine {
		t.Errorf("%s is built for %v; want %v", bin, f.Machine, machine)
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range libs {
		if !releaseNeeded.MatchString(l) {
			t.Errorf("%s needs %s at run time; an archive's binary may need only glibc and PortAudio", bin, l)
		}
	}
	syms, err := f.ImportedSymbols()
	if err != nil {
		t.Fatal(err)
	}
	newest := [2]int{}
	for _, s := range syms {
		var v [2]int
		if m := glibcVersion.FindStringSubmatch(s.Version); m != nil {
			v[0], _ = strconv.Atoi(m[1])
			v[1], _ = strconv.Atoi(m[2])
		}
		if v[0] > newest[0] || v[0] == newest[0] && v[1] > newest[1] {
			newest = v
		}
	}
	t.Logf("%s needs %s, glibc %d.%d or later", filepath.Base(filepath.Dir(bin)), strings.Join(libs, " "), newest[0], newest[1])
	if newest[0] > 2 || newest[0] == 2 && newest[1] > 34 {
		t.Errorf("%s needs glibc %d.%d; releases run on glibc 2.34 and later (docs/install.md)", bin, newest[0], newest[1])
	}
}

var glibcVersion = regexp.MustCompile(`^GLIBC_(\d+)\.(\d+)`)

// testReleaseBinary runs the unpacked binary, under qemu-user for another architecture.
func testReleaseBinary(t *testing.T, bin, arch, version string) {
	t.Helper()
	prefix := []string{}
	if arch != runtime.GOARCH {
		emu := releaseEmulators[arch]
		qemu, err := exec.LookPath(emu.qemu)
		if err != nil {
			t.Skipf("%s is not installed (Debian's qemu-user): the %s binary is not run here", emu.qemu, arch)
		}
		prefix = []string{qemu}
		if _, err := os.Stat(emu.loader); err != nil {
			prefix = append(prefix, "-L", emu.sysroot)
		}
	}
	home := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		argv := append(append(slices.Clone(prefix), bin), args...)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+home, "XDG_DATA_HOME="+home, "LEDGERLINE_MODELS="+home)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
		}
		t.Logf("ledgerline %s: %.1fs", strings.Join(args, " "), time.Since(start).Seconds())
		return string(out)
	}

	want := fmt.Sprintf("ledgerline %s\nwhisper.cpp %s\nbackend CPU\n", version, asr.WhisperVersion())
	if out := run("--version"); out != want {
		t.Errorf("--version printed %q; want %q", out, want)
	}
	model := filepath.Join(home, "ggml-test.bin")
	run("models", "make-random", "--shape", "test", "--seed", "11", "--out", model)
	out := run("transcribe", sample, "--model", model, "--format", "json", "--language", "en", "--fallbacks", "-1")
	var res struct {
		DurationMS int64             `json:"duration_ms"`
		Segments   []json.RawMessage `json:"segments"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("transcribe printed no JSON transcript: %v\n%s", err, out)
	}
	if len(res.Segments) == 0 || res.DurationMS < 34000 || res.DurationMS > 34100 {
		t.Errorf("transcript of %d ms with %d segments; want the sample's 34066 ms with segments", res.DurationMS, len(res.Segments))
	}
}
