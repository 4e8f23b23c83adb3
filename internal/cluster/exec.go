package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Command is one run of an external program.
type Command struct {
	// Name is the program, looked up on PATH.
	Name string
	// Args are its arguments.
	Args []string
	// Env holds KEY=VALUE pairs added to wookie's environment.
	Env []string
	// Progress, when set, receives the program's stdout and stderr while
	// it runs, each line indented.
	Progress io.Writer
}

// String is the command line, for messages.
func (c Command) String() string {
	return strings.Join(append([]string{c.Name}, c.Args...), " ")
}

// Runner runs external programs (k3d and docker). Exec is the one real
// implementation; tests put stand-in programs on PATH instead.
type Runner interface {
	// Run runs c and returns its stdout. A program that is not installed
	// is a *MissingToolError, one that exits with an error an *ExitError.
	Run(ctx context.Context, c Command) ([]byte, error)
}

// Exec runs programs found on PATH.
type Exec struct{}

// Run runs c with os/exec.
func (Exec) Run(ctx context.Context, c Command) ([]byte, error) {
	path, err := exec.LookPath(c.Name)
	if err != nil {
		return nil, &MissingToolError{Tool: c.Name}
	}
	cmd := exec.CommandContext(ctx, path, c.Args...)
	cmd.Env = append(os.Environ(), c.Env...)
	// Interrupted, k3d rolls back what it made; it is killed when it
	// takes longer than WaitDelay.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	var stdout bytes.Buffer
	output := &lockedBuffer{} // stdout and stderr interleaved, for errors
	var progress io.Writer = io.Discard
	if c.Progress != nil {
		pw := &indentWriter{w: c.Progress, prefix: "    "}
		defer pw.flush()
		progress = pw
	}
	cmd.Stdout = io.MultiWriter(&stdout, output, progress)
	cmd.Stderr = io.MultiWriter(output, progress)
	err = cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s: %w", c, ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return nil, &ExitError{Command: c.String(), Code: ee.ExitCode(), Output: strings.TrimRight(output.String(), "\n"), Shown: c.Progress != nil}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	return stdout.Bytes(), nil
}

// MissingToolError reports a program that is not on PATH.
type MissingToolError struct {
	Tool string
}

func (e *MissingToolError) Error() string {
	return fmt.Sprintf("%s is not installed (not found on PATH)", e.Tool)
}

// DaemonError reports a Docker daemon that does not answer.
type DaemonError struct {
	// Output is what docker info said, on one line.
	Output string
}

func (e *DaemonError) Error() string {
	return "the Docker daemon does not answer: docker info: " + e.Output
}

// ExitError reports a program that exited with an error.
type ExitError struct {
	// Command is the command line.
	Command string
	// Code is the exit code.
	Code int
	// Output is what the program wrote to stdout and stderr.
	Output string
	// Shown reports that the output was already shown as progress, so
	// the message leaves it out.
	Shown bool
}

// Error is the command and its exit code, then the program's output,
// indented, unless it was shown already.
func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s: exit code %d", e.Command, e.Code)
	if e.Shown || e.Output == "" {
		return msg
	}
	return msg + ", output:\n    " + strings.ReplaceAll(e.Output, "\n", "\n    ")
}

// lockedBuffer is a bytes.Buffer for two writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// indentWriter writes whole lines to w, each after prefix.
type indentWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	part   []byte
}

func (iw *indentWriter) Write(p []byte) (int, error) {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	iw.part = append(iw.part, p...)
	for {
		i := bytes.IndexByte(iw.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		if _, err := fmt.Fprintf(iw.w, "%s%s\n", iw.prefix, iw.part[:i]); err != nil {
			return len(p), err
		}
		iw.part = iw.part[i+1:]
	}
}

// flush writes what is left of a last line without a line break.
func (iw *indentWriter) flush() {
	iw.mu.Lock()
	defer iw.mu.Unlock()
	if len(iw.part) > 0 {
		fmt.Fprintf(iw.w, "%s%s\n", iw.prefix, iw.part)
		iw.part = nil
	}
}
