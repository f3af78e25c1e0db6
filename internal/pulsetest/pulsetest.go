// Package pulsetest runs a private PulseAudio server with a null sink for tests that record from
// real audio devices: what is played into the sink is heard on its monitor, the way a laptop
// records the meeting audio it plays.
//
// Concurrency: Start changes the process's environment (t.Setenv): tests that use it cannot run
// in parallel.
package pulsetest

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Start runs the server with a null sink named sink, points this process's audio clients at it
// and stops it when the test ends. It skips the test when PulseAudio is not installed or will not
// start.
func Start(t *testing.T, sink string) {
	t.Helper()
	for _, bin := range []string{"pulseaudio", "paplay", "pactl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (Debian: apt-get install pulseaudio pulseaudio-utils); recording from real devices is not tested", bin)
		}
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("HOME", dir)
	t.Setenv("PULSE_SERVER", "unix:"+filepath.Join(dir, "pulse", "native"))
	// -D returns once the server is ready to take clients.
	cmd := exec.Command("pulseaudio", "-D", "-n", "--exit-idle-time=-1", "--use-pid-file=yes",
		"--load=module-native-protocol-unix auth-anonymous=1",
		"--load=module-null-sink sink_name="+sink+" rate=48000",
		"--log-target=stderr")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("PulseAudio would not start: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("pulseaudio", "--kill").CombinedOutput(); err != nil {
			t.Errorf("stop PulseAudio: %v\n%s", err, out)
		}
		// --kill only asks: wait for the server to be gone, so that it writes nothing more in the
		// test's directory while that is removed.
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if exec.Command("pulseaudio", "--check").Run() != nil {
				return
			}
		}
		t.Error("PulseAudio still runs 30 s after it was told to stop")
	})
}
