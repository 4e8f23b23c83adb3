package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"
	"wookie.dev/wookie/pkg/pipeline"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	// exitInterrupt and exitTerminated end a command stopped by SIGINT
	// and SIGTERM: 128 + the signal's number, as shells report it.
	exitInterrupt  = 130
	exitTerminated = 143
)

// Main runs wookie with the process's arguments and returns the exit code.
func Main() int {
	return Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// Run runs wookie with args and the given standard streams and returns the
// exit code: 0 on success, 1 on an error, 2 on a usage error, 130 or 143
// when SIGINT or SIGTERM stopped it.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(&streams{in: stdin, out: stdout, err: stderr})
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	// The Helm SDK logs through slog; wookie reports through its own
	// errors and warnings.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, sig, stop := interrupts(stderr)
	defer stop()
	err := root.ExecuteContext(ctx)
	if code, ok := sig(); ok {
		if err != nil {
			printError(stderr, err)
		}
		return code
	}
	if err == nil {
		return exitOK
	}
	var ee *silentExit
	if errors.As(err, &ee) {
		return ee.code
	}
	printError(stderr, err)
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	var ue *usageError
	var sel *pipeline.ClusterError
	var pick *pipeline.SelectionError
	if errors.As(err, &ue) || errors.As(err, &sel) || errors.As(err, &pick) {
		fmt.Fprintln(stderr, "Run 'wookie --help' for usage.")
		return exitUsage
	}
	return exitError
}

// printError prints err, each line after "wookie: ".
func printError(stderr io.Writer, err error) {
	for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
		fmt.Fprintf(stderr, "wookie: %s\n", line)
	}
}

// interrupts returns a context that SIGINT and SIGTERM cancel: a deploy
// then starts nothing new, records what it applied and returns. sig says
// whether a signal came, and the exit code it asks for (130 for SIGINT,
// 143 for SIGTERM). A second SIGINT exits at once with 130 (what is about
// to be applied is always recorded before it is). stop ends it.
func interrupts(stderr io.Writer) (ctx context.Context, sig func() (int, bool), stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	var got atomic.Int32
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case s := <-ch:
				code := int32(exitInterrupt)
				name := "interrupt"
				if s == syscall.SIGTERM {
					code, name = exitTerminated, "SIGTERM"
				}
				if !got.CompareAndSwap(0, code) {
					if s == os.Interrupt {
						fmt.Fprintln(stderr, "wookie: second interrupt: exiting now")
						os.Exit(exitInterrupt)
					}
					continue
				}
				fmt.Fprintf(stderr, "wookie: %s: stopping, nothing new is applied; recording what was (interrupt again to exit at once)\n", name)
				cancel(fmt.Errorf("stopped by %s", name))
			}
		}
	}()
	sig = func() (int, bool) {
		c := got.Load()
		return int(c), c != 0
	}
	stop = func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
	return ctx, sig, stop
}

// streams are the standard streams a command reads and writes.
type streams struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// usageError is an error in how wookie was called: exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usage error.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// silentExit ends wookie with a given exit code and no message of its own
// (the command has already said what it had to).
type silentExit struct{ code int }

func (e *silentExit) Error() string { return fmt.Sprintf("exit %d", e.code) }

// codedError is an error with an exit code of its own (wookie diff exits
// 2 on errors, as 1 means "differences").
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// usageArgs makes a cobra argument check report usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

func newRootCmd(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "wookie",
		Short: "NixOS-style modules for Kubernetes deployments",
		Long: `wookie evaluates a declarative configuration (targets = WHERE, projects =
WHAT) together with its embedded standard modules into a Plan of clusters,
batches and bundles (HOW), and works from that Plan.`,
		Args:          usageArgs(cobra.NoArgs),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err}
	})
	root.CompletionOptions.HiddenDefaultCmd = true
	root.AddCommand(
		newPlanCmd(s),
		newRenderCmd(s),
		newCheckCmd(s),
		newDeployCmd(s),
		newDiffCmd(s),
		newStatusCmd(s),
		newTestCmd(s),
		newClusterCmd(s),
		newCertsCmd(s),
		newUpCmd(s),
		newDownCmd(s),
		newLockCmd(s),
		newChartsCmd(s),
		newOptionsCmd(s),
		newVersionCmd(s),
	)
	return root
}
