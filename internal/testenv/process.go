package testenv

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// proc is one control-plane process, its output appended to a log file.
type proc struct {
	name    string
	bin     string
	args    []string
	logPath string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

// start runs the process in its own process group, with a signal to it when
// the parent dies (on Linux), writing stdout and stderr to p.logPath.
func (p *proc) start() error {
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: log: %w", p.name, err)
	}
	fmt.Fprintf(f, "=== %s %s %s\n", time.Now().Format(time.RFC3339Nano), p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Env = os.Environ()
	if err := StartChild(cmd); err != nil {
		f.Close()
		return fmt.Errorf("%s: start: %w", p.name, err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	p.err = nil
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(f, "=== %s exited: %v\n", time.Now().Format(time.RFC3339Nano), cmd.ProcessState)
		f.Close()
		p.err = err
		close(p.done)
	}()
	return nil
}

// exited reports whether the process has ended, and how.
func (p *proc) exited() (bool, error) {
	if p.done == nil {
		return true, nil
	}
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stop kills the process group by the PID that start got and waits for
// the process to be reaped.
func (p *proc) stop() {
	if p.cmd == nil || p.done == nil {
		return
	}
	if done, _ := p.exited(); !done {
		killGroup(p.cmd)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	}
}

// StartChild starts cmd as testenv starts its own processes: in a process
// group of its own and, on Linux, killed by the kernel when the test binary
// dies (started from a thread that lives as long as the binary, since Linux
// signals when the forking thread exits, not the process). Fields of
// cmd.SysProcAttr already set are kept.
func StartChild(cmd *exec.Cmd) error {
	cmd.SysProcAttr = childAttr(cmd.SysProcAttr)
	return startLocked(cmd)
}

// KillGroup kills the process group of a command StartChild started (the
// process alone where there are no process groups).
func KillGroup(cmd *exec.Cmd) { killGroup(cmd) }

// tail returns about the last n lines of the process's log.
func (p *proc) tail(n int) string {
	return TailFile(p.logPath, n)
}

// TailFile returns about the last n lines of the file at path (read from
// its last 64 KiB), "" when it cannot be read: the end of a process log.
func TailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		if _, err := f.Seek(-max, io.SeekEnd); err != nil {
			return ""
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
