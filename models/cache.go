package models

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// EnvModelsDir names the environment variable that overrides the cache
// directory.
const EnvModelsDir = "LEDGERLINE_MODELS"

// ErrNotDownloaded means a catalogue model is not in the cache.
var ErrNotDownloaded = errors.New("model not downloaded")

const (
	partSuffix  = ".part"
	stampSuffix = ".sha1"
)

// CacheDir returns the directory models are kept in: $LEDGERLINE_MODELS when
// set, otherwise ledgerline/models under the user's cache directory. It does
// not create the directory.
func CacheDir() (string, error) {
	if dir := os.Getenv(EnvModelsDir); dir != "" {
		return dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the user cache directory: %w; set %s to a directory for models", err, EnvModelsDir)
	}
	return filepath.Join(base, "ledgerline", "models"), nil
}

// Cache is a directory of model files named as on the model host
// ("ggml-base.bin"). Beside each file Pull may leave NAME.bin.part, an
// unfinished download, and NAME.bin.sha1, a stamp recording that the file
// was verified.
type Cache struct {
	Dir string
}

// Installed describes a catalogue model found in a cache.
type Installed struct {
	Model Model
	// Path is the model file; empty when only a partial download exists.
	Path string
	// Size is the size of the model file in bytes, 0 when absent.
	Size int64
	// Verified reports a stamp from Pull that still matches the file.
	Verified bool
	// Partial is the size of an unfinished download waiting to be resumed.
	Partial int64
}

// Path returns where the model called name is kept, whether or not it is
// there. A name outside the catalogue maps to ggml-NAME.bin all the same.
func (c *Cache) Path(name string) string {
	if m, err := Lookup(name); err == nil {
		return filepath.Join(c.Dir, m.File)
	}
	return filepath.Join(c.Dir, "ggml-"+normalizeName(name)+".bin")
}

// List reports the catalogue models present in the cache, complete or
// partly downloaded, in catalogue order. A missing cache directory is an
// empty list.
func (c *Cache) List() ([]Installed, error) {
	var out []Installed
	for _, m := range catalogue {
		inst := Installed{Model: m}
		path := filepath.Join(c.Dir, m.File)
		fi, err := os.Stat(path)
		switch {
		case err == nil && fi.Mode().IsRegular():
			inst.Path = path
			inst.Size = fi.Size()
			inst.Verified = stampValid(path, fi, m)
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("list models in %s: %w", c.Dir, err)
		}
		if pfi, err := os.Stat(path + partSuffix); err == nil {
			inst.Partial = pfi.Size()
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("list models in %s: %w", c.Dir, err)
		}
		if inst.Path != "" || inst.Partial > 0 {
			out = append(out, inst)
		}
	}
	return out, nil
}

// Remove deletes a model from the cache together with its stamp and any
// partial download. Removing a model that is not there is an error wrapping
// ErrNotDownloaded.
func (c *Cache) Remove(name string) error {
	m, err := Lookup(name)
	if err != nil {
		return err
	}
	path := filepath.Join(c.Dir, m.File)
	removed := false
	for _, p := range []string{path, path + partSuffix, path + stampSuffix} {
		err := os.Remove(p)
		switch {
		case err == nil:
			removed = removed || p != path+stampSuffix
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("remove model %s: %w", m.Name, err)
		}
	}
	if !removed {
		return fmt.Errorf("remove model %s: %w: it is not in %s, so there is nothing to remove",
			m.Name, ErrNotDownloaded, c.Dir)
	}
	return nil
}

// Resolve turns what a user passed as a model into a file to load. An
// existing file is returned as given; a catalogue name is looked up in the
// cache. A catalogue model that is not downloaded gives an error wrapping
// ErrNotDownloaded; any other name gives an error saying how to find one.
// Resolve does not verify the file's checksum.
func (c *Cache) Resolve(nameOrPath string) (string, error) {
	if nameOrPath == "" {
		return "", fmt.Errorf("no model given: pass a model name such as %q or --model FILE", Default)
	}
	fi, statErr := os.Stat(nameOrPath)
	if statErr == nil {
		if fi.IsDir() {
			return "", fmt.Errorf("model %s is a directory: pass a ggml model file", nameOrPath)
		}
		return nameOrPath, nil
	}
	m, err := Lookup(nameOrPath)
	if err != nil {
		if looksLikePath(nameOrPath) {
			return "", fmt.Errorf("open model %s: %w", nameOrPath, statErr)
		}
		return "", err
	}
	path := filepath.Join(c.Dir, m.File)
	fi, err = os.Stat(path)
	switch {
	case err == nil && fi.Mode().IsRegular():
		return path, nil
	case err == nil:
		return "", fmt.Errorf("model %s: %s is not a regular file: remove it and run 'ledgerline models pull %s'",
			m.Name, path, m.Name)
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("model %s: %w: run 'ledgerline models pull %s' or pass --model FILE",
			m.Name, ErrNotDownloaded, m.Name)
	default:
		return "", fmt.Errorf("model %s: %w", m.Name, err)
	}
}

func looksLikePath(s string) bool {
	return strings.ContainsRune(s, '/') || strings.ContainsRune(s, filepath.Separator) ||
		filepath.Ext(s) == ".bin"
}

// A stamp is one line: the file's SHA-1, its size and its modification time
// in Unix nanoseconds. It is valid while the file keeps that size and time and
// the SHA-1 is the one the catalogue expects.

func writeStamp(path string, fi fs.FileInfo, sum string) error {
	line := fmt.Sprintf("%s %d %d\n", sum, fi.Size(), fi.ModTime().UnixNano())
	if err := os.WriteFile(path+stampSuffix, []byte(line), 0o644); err != nil {
		return fmt.Errorf("write checksum stamp for %s: %w", path, err)
	}
	return nil
}

func stampValid(path string, fi fs.FileInfo, m Model) bool {
	b, err := os.ReadFile(path + stampSuffix)
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return false
	}
	size, err1 := strconv.ParseInt(f[1], 10, 64)
	mtime, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	if m.SHA1 != "" && !strings.EqualFold(f[0], m.SHA1) {
		return false
	}
	return size == fi.Size() && mtime == fi.ModTime().UnixNano()
}
