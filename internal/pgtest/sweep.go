package pgtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sweep removes the cluster directories under root that a killed run left:
// those whose owning process is gone and whose server, if it wrote its pid,
// is gone too. Directories of live runs, including a run still in initdb,
// carry a live owner's id and stay.
func sweep(root string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), dirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		ownerID, _, _ := strings.Cut(rest, "-")
		owner, err := strconv.Atoi(ownerID)
		if err != nil || owner <= 0 || alive(owner) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if pid := postmasterPID(dir); pid > 0 && alive(pid) {
			continue
		}
		os.RemoveAll(dir)
	}
}

// postmasterPID reads the server's process id from the first line of the
// postmaster.pid file it keeps while it runs; 0 when there is none.
func postmasterPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}
