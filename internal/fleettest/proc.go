package fleettest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"wookie.dev/wookie/internal/testenv"
)

// proc is one Fleet process, its output written to a log file.
type proc struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
}

// startProc starts cmd in its own process group, with its output in
// logPath, from a thread that lives as long as the test binary (so that
// Pdeathsig, where the platform has it, fires only when the binary dies).
func startProc(name, logPath string, cmd *exec.Cmd) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: log: %w", name, err)
	}
	fmt.Fprintf(f, "=== %s %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(cmd.Args, " "))
	cmd.Stdout = f
	cmd.Stderr = f
	if err := testenv.StartChild(cmd); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: start: %w", name, err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		fmt.Fprintf(f, "=== %s exited: %v\n", time.Now().Format(time.RFC3339Nano), cmd.ProcessState)
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop kills the process group by the PID that startProc got and waits
// for the process to be reaped.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	testenv.KillGroup(p.cmd)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// tail returns about the last n lines of the process's log.
func (p *proc) tail(n int) string {
	return testenv.TailFile(p.logPath, n)
}
