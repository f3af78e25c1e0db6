package reliability

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/models"
)

// built is the ledgerline binary and a speech model, made once for the checks that run processes.
var built struct {
	once        sync.Once
	dir         string
	binary      string
	model       string
	err         error
	buildOutput []byte
}

// ledgerline returns the ledgerline binary and a model of random weights that loads in a moment.
// The binary is built once, into a temporary directory, with the environment the tests run in:
// scripts/with-whisper's cgo flags, which `make test` sets.
func ledgerline(t *testing.T) (binary, model string) {
	t.Helper()
	built.once.Do(func() {
		start := time.Now()
		if built.dir, built.err = os.MkdirTemp("", "ledgerline-reliability-"); built.err != nil {
			return
		}
		built.binary = filepath.Join(built.dir, "ledgerline")
		cmd := exec.Command("go", "build", "-o", built.binary, "github.com/ledgerline/ledgerline/cmd/ledgerline")
		if built.buildOutput, built.err = cmd.CombinedOutput(); built.err != nil {
			return
		}
		built.model = filepath.Join(built.dir, "ggml-test.bin")
		if built.err = models.GenerateRandomFile(built.model, models.ShapeTest, 11); built.err == nil {
			t.Logf("built the ledgerline binary and a model in %s", time.Since(start).Round(time.Millisecond))
		}
	})
	if built.err != nil {
		t.Fatalf("building the ledgerline binary (run the tests through scripts/with-whisper, as make test does): %v\n%s",
			built.err, built.buildOutput)
	}
	return built.binary, built.model
}

// removeBuilt removes what ledgerline built.
func removeBuilt() {
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
}

// process is the ledgerline binary running as a child process.
type process struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout lockedLines
	stderr lockedLines
	done   chan struct{} // closed once it has exited and its output is read
}

// start runs `ledgerline args…` in a child process, killed at the end of the test if still running.
func start(t *testing.T, args ...string) *process {
	t.Helper()
	bin, _ := ledgerline(t)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "LEDGERLINE_LOG=warn")
	p := &process{t: t, cmd: cmd, done: make(chan struct{})}
	outR, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var copied sync.WaitGroup
	copied.Add(2)
	go func() { defer copied.Done(); p.stdout.copyFrom(outR) }()
	go func() { defer copied.Done(); p.stderr.copyFrom(errR) }()
	go func() {
		copied.Wait()
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

// pid is the process's ID, as /proc names it.
func (p *process) pid() string { return strconv.Itoa(p.cmd.Process.Pid) }

// await returns the last submatch of re in a line of the output so far, waiting up to limit for
// one; a process that ends first fails the test.
func (p *process) await(re string, limit time.Duration) string {
	p.t.Helper()
	rx := regexp.MustCompile("(?m)" + re)
	deadline := time.Now().Add(limit)
	for {
		if m := rx.FindStringSubmatch(p.stdout.String() + p.stderr.String()); m != nil {
			return m[len(m)-1]
		}
		select {
		case <-p.done:
			if m := rx.FindStringSubmatch(p.stdout.String() + p.stderr.String()); m != nil {
				return m[len(m)-1]
			}
			p.t.Fatalf("%v ended before printing %q:\n%s", p.cmd.Args[1:], re, p.output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%v did not print %q in %s:\n%s", p.cmd.Args[1:], re, limit, p.output())
		}
	}
}

// exited waits up to limit for the process to end by itself and returns its exit code.
func (p *process) exited(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		p.t.Fatalf("%v still running after %s:\n%s", p.cmd.Args[1:], limit, p.output())
	}
	return p.cmd.ProcessState.ExitCode()
}

// interrupt asks the process to stop (SIGINT, as Ctrl-C does) and returns its exit code.
func (p *process) interrupt(limit time.Duration) int {
	p.t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	return p.exited(limit)
}

// kill ends the process at once (SIGKILL), as a crash or a power cut would.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *process) output() string {
	return "stdout:\n" + p.stdout.String() + "stderr:\n" + p.stderr.String()
}
