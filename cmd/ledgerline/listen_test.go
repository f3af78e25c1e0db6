package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerline/ledgerline/agent"
	"github.com/ledgerline/ledgerline/ledger"
)

// takePort holds a port on 127.0.0.1 for the test's lifetime and returns its address.
func takePort(t *testing.T, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func TestListenStepsPastTakenDefaultPort(t *testing.T) {
	taken := takePort(t, "127.0.0.1:0")
	store, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "meetings.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, log: newLogger(&stderr, "")}
	m, err := listenMeeting(context.Background(), e, store, agent.MeetingConfig{Listen: taken}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if strings.Contains(m.OverlayURL(), taken) {
		t.Fatalf("overlay %s is on the taken address %s", m.OverlayURL(), taken)
	}
	_, port, _ := net.SplitHostPort(taken)
	if !strings.Contains(stderr.String(), "port "+port+" is in use: serving on 127.0.0.1:") {
		t.Errorf("stderr %q does not say which port was taken instead", stderr.String())
	}
}

// Left at its default, --listen steps past a taken port 8080, and says so.
func TestDemoDefaultListenStepsPast8080(t *testing.T) {
	if ln, err := net.Listen("tcp", "127.0.0.1:8080"); err == nil {
		t.Cleanup(func() { ln.Close() })
	} // else something already holds it, as the test needs
	demo := startServing(t, "demo", "--model", filepath.Join(t.TempDir(), "no-model.bin"), "--speed", "max",
		"--db", filepath.Join(t.TempDir(), "meetings.db"))
	if strings.Contains(demo.base, ":8080/") {
		t.Fatalf("demo serves on the taken port: %s", demo.base)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(demo.stderr.String(), "port 8080 is in use: serving on ") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(demo.stderr.String(), "port 8080 is in use: serving on ") {
		t.Errorf("stderr %q does not say which port was taken instead", demo.stderr.String())
	}
}

func TestExplicitListenTakenFailsSayingWhatToDo(t *testing.T) {
	taken := takePort(t, "127.0.0.1:0")
	code, _, errOut := ledgerline(t, "demo", "--model", filepath.Join(t.TempDir(), "no-model.bin"), "--speed", "max",
		"--listen", taken, "--db", filepath.Join(t.TempDir(), "meetings.db"))
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errOut)
	}
	if !strings.Contains(errOut, taken+" is already in use") || !strings.Contains(errOut, "pick another address with --listen") {
		t.Errorf("stderr %q does not say the address is taken and how to pick another", errOut)
	}
}

// At full speed the call is over before its link can be opened: the demo keeps serving until
// interrupted, and says so.
func TestDemoSpeedMaxServesUntilInterrupted(t *testing.T) {
	demo := startServing(t, "demo", "--model", filepath.Join(t.TempDir(), "no-model.bin"), "--speed", "max",
		"--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "meetings.db"))
	deadline := time.After(30 * time.Second)
	for !strings.Contains(demo.stderr.String(), "still served until interrupted") {
		select {
		case code := <-demo.done:
			demo.done <- code
			t.Fatalf("demo --speed max ended by itself (exit %d): %s", code, demo.stderr.String())
		case <-deadline:
			t.Fatalf("demo never said it keeps serving: %s", demo.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if code := demo.end(); code != 0 {
		t.Fatalf("demo exited %d: %s", code, demo.stderr.String())
	}
}

// `LISTEN=ADDR make run` serves on ADDR: scripts/run.sh passes it on as --listen, whichever command
// it ends up running.
func TestRunScriptPassesListen(t *testing.T) {
	for _, tc := range []struct {
		name, listen, models, devices, want string
	}{
		{"live", "127.0.0.1:9000", "0", "0", "run --model /cache/ggml-base.bin --listen 127.0.0.1:9000"},
		{"no device", "127.0.0.1:9000", "0", "1", "run --input testdata/sample-call.wav --model /cache/ggml-base.bin --stay --listen 127.0.0.1:9000"},
		{"offline", "127.0.0.1:9000", "1", "0", "demo --stay --listen 127.0.0.1:9000"},
		{"default", "", "0", "0", "run --model /cache/ggml-base.bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "args")
			bin := filepath.Join(dir, "ledgerline")
			script := "#!/bin/sh\necho \"$@\" >> " + log + "\ncase $1 in models) echo /cache/ggml-base.bin; exit " + tc.models + ";; devices) exit " + tc.devices + ";; esac\n"
			if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", "../../scripts/run.sh", bin)
			cmd.Env = append(os.Environ(), "LISTEN="+tc.listen)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("run.sh: %v: %s", err, out)
			}
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			if last := lines[len(lines)-1]; last != tc.want {
				t.Errorf("run.sh ran %q, want %q", last, tc.want)
			}
		})
	}
}

// Behind a reverse proxy, the printed links are built on --public-url, path prefix kept.
func TestDemoLinksUsePublicURL(t *testing.T) {
	demo := startServing(t, "demo", "--model", filepath.Join(t.TempDir(), "no-model.bin"), "--speed", "max",
		"--listen", "127.0.0.1:0", "--public-url", "https://meet.example.com/ll/", "--db", filepath.Join(t.TempDir(), "meetings.db"))
	if want := "https://meet.example.com/ll/m/" + demo.meeting; demo.base != want {
		t.Fatalf("overlay link %s?t=..., want %s?t=...", demo.base, want)
	}
}

func TestPublicURLMustBeAnHTTPBase(t *testing.T) {
	for _, bad := range []string{"meet.example.com", "ftp://meet.example.com", "https://", "https://meet.example.com/?a=1",
		"https://meet.example.com/#top", "https://user:secret@meet.example.com/"} {
		for _, cmd := range [][]string{
			{"demo", "--model", filepath.Join(t.TempDir(), "no-model.bin")},
			{"run", "--bot", "--model", filepath.Join(t.TempDir(), "no-model.bin")},
		} {
			args := append(cmd, "--public-url", bad, "--db", filepath.Join(t.TempDir(), "meetings.db"))
			code, _, errOut := ledgerline(t, args...)
			if code != 2 || !strings.Contains(errOut, "public URL") || !strings.Contains(errOut, "such as https://") {
				t.Errorf("%s --public-url %s: exit %d, %q; want 2 saying what a public URL looks like", cmd[0], bad, code, errOut)
			}
		}
	}
}
