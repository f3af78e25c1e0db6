package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that notes how a test would have ended.
type recorder struct {
	testing.TB
	ended string // "skip", "fatal" or ""
	msg   string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(f string, a ...any) {
	r.ended, r.msg = "skip", fmt.Sprintf(f, a...)
}
func (r *recorder) Fatalf(f string, a ...any) {
	r.ended, r.msg = "fatal", fmt.Sprintf(f, a...)
}
func (r *recorder) Fatal(a ...any) { r.ended, r.msg = "fatal", fmt.Sprint(a...) }

func TestRequire(t *testing.T) {
	unavailable := fmt.Errorf("%w: no initdb", ErrUnavailable)
	other := errors.New("initdb: disk full")
	for _, tc := range []struct {
		env  string
		err  error
		want string
	}{
		{"", nil, ""},
		{"1", nil, ""},
		{"", unavailable, "skip"},
		{"0", unavailable, "skip"},
		{"1", unavailable, "fatal"},
		{"true", unavailable, "fatal"},
		{"", other, "fatal"},
	} {
		t.Setenv(EnvRequire, tc.env)
		r := &recorder{TB: t}
		Require(r, tc.err)
		if r.ended != tc.want {
			t.Errorf("%s=%q, err %v: ended %q, want %q", EnvRequire, tc.env, tc.err, r.ended, tc.want)
		}
		if tc.err != nil && !strings.Contains(r.msg, tc.err.Error()) {
			t.Errorf("the reason %q does not carry the error %v", r.msg, tc.err)
		}
	}
}

// fakeInstall makes dir hold executables named like the server's.
func fakeInstall(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"initdb", "postgres"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFindBin(t *testing.T) {
	root := t.TempDir()
	debian := filepath.Join(root, "lib", "postgresql")
	v9 := fakeInstall(t, filepath.Join(debian, "9.6", "bin"))
	v15 := fakeInstall(t, filepath.Join(debian, "15", "bin"))
	fakeInstall(t, filepath.Join(debian, "13", "bin"))
	os.MkdirAll(filepath.Join(debian, "17", "bin"), 0o755) // a client-only install
	custom := fakeInstall(t, filepath.Join(root, "custom"))
	linked := filepath.Join(root, "local", "bin")
	os.MkdirAll(linked, 0o755)
	if err := os.Symlink(filepath.Join(v9, "initdb"), filepath.Join(linked, "initdb")); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(root, "empty")
	os.MkdirAll(empty, 0o755)

	for _, tc := range []struct {
		name, env, path, debian string
		want                    string
		unavailable             bool
	}{
		{"the environment first", custom, linked, debian, custom, false},
		{"PATH, through its links", "", empty + string(filepath.ListSeparator) + linked, debian, v9, false},
		{"newest Debian version", "", empty, debian, v15, false},
		{"nothing installed", "", empty, filepath.Join(root, "none"), "", true},
	} {
		got, err := findBinIn(tc.env, tc.path, tc.debian)
		if got != tc.want || errors.Is(err, ErrUnavailable) != tc.unavailable {
			t.Errorf("%s: findBinIn = %q, %v; want %q, unavailable %v", tc.name, got, err, tc.want, tc.unavailable)
		}
	}
	// A wrong setting fails the tests rather than skipping them.
	if _, err := findBinIn(empty, "", debian); err == nil || errors.Is(err, ErrUnavailable) {
		t.Errorf("%s naming a directory without the server: %v, want a plain error", EnvBin, err)
	}
}

// deadPID is the id of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true command:", err)
	}
	return cmd.Process.Pid
}

func TestSweepRemovesOnlyDeadRunsDirectories(t *testing.T) {
	root := t.TempDir()
	dead, me := deadPID(t), os.Getpid()
	mk := func(name string, postmaster int) string {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
			t.Fatal(err)
		}
		if postmaster != 0 {
			pid := fmt.Sprintf("%d\n/some/data\n", postmaster)
			if err := os.WriteFile(filepath.Join(dir, "data", "postmaster.pid"), []byte(pid), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	gone := []string{
		mk(fmt.Sprintf("%s%d-1", dirPrefix, dead), dead), // killed with its server
		mk(fmt.Sprintf("%s%d-2", dirPrefix, dead), 0),    // killed during initdb
	}
	kept := []string{
		mk(fmt.Sprintf("%s%d-3", dirPrefix, me), 0),    // a live run still in initdb
		mk(fmt.Sprintf("%s%d-4", dirPrefix, me), dead), // a live run whose server died
		mk(fmt.Sprintf("%s%d-5", dirPrefix, dead), me), // a server that outlived its run
		mk(dirPrefix+"x-6", 0),                         // not named by this package
		mk(fmt.Sprintf("other-%d", dead), 0),
	}
	sweep(root)
	for _, d := range gone {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s stayed (%v)", filepath.Base(d), err)
		}
	}
	for _, d := range kept {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s went: %v", filepath.Base(d), err)
		}
	}
}

func TestStartWithoutServerIsUnavailable(t *testing.T) {
	defer func(d string) { debianRoot = d }(debianRoot)
	debianRoot = t.TempDir()
	t.Setenv("PATH", t.TempDir())
	t.Setenv(EnvBin, "")
	c, err := Start(t.Context())
	if !errors.Is(err, ErrUnavailable) || c != nil {
		t.Fatalf("Start = %v, %v; want ErrUnavailable", c, err)
	}
	t.Setenv(EnvRequire, "")
	r := &recorder{TB: t}
	Require(r, err)
	if r.ended != "skip" || !strings.Contains(r.msg, "install the postgresql package") {
		t.Errorf("Require: %s %q", r.ended, r.msg)
	}
}
