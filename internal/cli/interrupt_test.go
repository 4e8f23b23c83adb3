package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fileText is the text of a file a process writes while the test reads.
type fileText string

func (f fileText) String() string {
	b, _ := os.ReadFile(string(f))
	return string(b)
}

// TestSecondInterrupt: a first SIGINT asks wookie to stop and it goes on
// finishing what it does (here reading a Plan from a stdin that never
// ends, which no context stops); a second SIGINT exits at once with 130.
func TestSecondInterrupt(t *testing.T) {
	bin := wookieBinary(t)
	dir := t.TempDir()
	// The first SIGINT must come once wookie handles signals: a process
	// that a SIGINT killed before (exit -1) is started again, given more
	// time.
attempts:
	for _, startup := range []time.Duration{time.Second, 3 * time.Second, 10 * time.Second} {
		cmd := exec.Command(bin, "render", "--from", "-", "-o", "-")
		cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, "state"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stderrFile, err := os.CreateTemp(dir, "stderr")
		if err != nil {
			t.Fatal(err)
		}
		defer stderrFile.Close()
		stderr := fileText(stderrFile.Name())
		cmd.Stderr = stderrFile
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		time.Sleep(startup)
		_ = cmd.Process.Signal(syscall.SIGINT)
		// wookie says it stops, and does not exit: the read goes on.
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(stderr.String(), "wookie: interrupt: stopping") && time.Now().Before(deadline) {
			select {
			case err := <-exited:
				var ee *exec.ExitError
				if errors.As(err, &ee) && ee.ExitCode() == -1 {
					stdin.Close()
					continue attempts
				}
				t.Fatalf("after one SIGINT, reading stdin: %v\n%s", err, stderr.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("one SIGINT ended wookie (%v), want it to go on reading stdin\n%s", err, stderr.String())
		case <-time.After(500 * time.Millisecond):
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-exited:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupt || !strings.Contains(stderr.String(), "wookie: second interrupt: exiting now") {
				t.Errorf("after a second SIGINT: %v, want exit %d and the message\n%s", err, exitInterrupt, stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("a second SIGINT did not end wookie within 10s\n%s", stderr.String())
		}
		stdin.Close()
		return
	}
	t.Fatal("every SIGINT came before wookie handled signals")
}
