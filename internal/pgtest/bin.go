package pgtest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// EnvBin names a directory holding initdb and postgres, chosen over any
// other install.
const EnvBin = "LEDGERLINE_PG_BIN"

// debianRoot holds one directory per installed major version, as Debian's
// packages lay them out: /usr/lib/postgresql/15/bin. Debian puts initdb and
// postgres on no PATH.
var debianRoot = "/usr/lib/postgresql"

func findBin() (string, error) {
	return findBinIn(os.Getenv(EnvBin), os.Getenv("PATH"), debianRoot)
}

// findBinIn returns the directory of the server binaries: the one env names,
// else the first PATH entry with initdb (followed through links, as
// /usr/local/bin/initdb may point into a versioned directory), else the
// newest Debian version.
func findBinIn(env, path, debian string) (string, error) {
	if env != "" {
		if hasServer(env) {
			return env, nil
		}
		// Named on purpose, so a wrong name fails rather than skips.
		return "", fmt.Errorf("pgtest: %s=%s holds no initdb and postgres", EnvBin, env)
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			continue
		}
		initdb, err := filepath.EvalSymlinks(filepath.Join(d, "initdb"))
		if err != nil {
			continue
		}
		if dir := filepath.Dir(initdb); hasServer(dir) {
			return dir, nil
		}
	}
	versions, _ := filepath.Glob(filepath.Join(debian, "*", "bin"))
	sort.Slice(versions, func(i, j int) bool { return version(versions[i]) > version(versions[j]) })
	for _, d := range versions {
		if hasServer(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w: no initdb and postgres in $%s, on PATH or in %s/*/bin; install the postgresql package (make deps)",
		ErrUnavailable, EnvBin, debian)
}

// version is the major version in .../<version>/bin, 0 when not a number.
func version(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}
