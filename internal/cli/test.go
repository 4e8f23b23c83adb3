package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/atomicfile"
	"wookie.dev/wookie/pkg/pipeline"
)

type testFlags struct {
	liveFlags
	output  string
	junit   string
	timeout time.Duration
}

func newTestCmd(s *streams) *cobra.Command {
	f := &testFlags{}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Verify a deployed stack: Helm test hooks and the checks the configuration declares",
		Long: `test checks what deploy put in the live clusters, per bundle in batch order:

  - the chart's Helm test hooks (helm.sh/hook: test), which render and deploy
    leave out: each Pod or Job is created (replacing one of its name), waited
    for until it succeeds or fails, its logs shown when it fails, and deleted
    as its helm.sh/hook-delete-policy says;
  - the bundle's tests (option tests): cel, a CEL expression over one live
    object (status.state == 'ready'); http, a GET from inside the cluster
    by a Job running curl; injection, a server-side dry-run Pod in a
    namespace with given labels that must come back with an injected
    container.

It prints a line per check, ✓ or ✗ with its duration and, when it failed,
the cause (the logs of a failed Pod follow, indented, unless -q); -o json
prints the results as a JSON list instead. --junit FILE also writes them as
JUnit XML for CI systems. It exits 0 when every check passed and 1 when one
failed or a cluster could not be checked.`,
		Example: `  wookie test
  wookie test --cluster wookie-local --bundle pxc-db -o json
  wookie test --junit test-results.xml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, "text", "json"); err != nil {
				return err
			}
			if cmd.Flags().Changed("junit") && f.junit == "" {
				return usagef("--junit \"\": want the file to write the JUnit XML to")
			}
			p, pl, res, err := renderLive(cmd, s, &f.liveFlags)
			if err != nil {
				return err
			}
			opts := pipeline.TestOptions{DeployOptions: liveOptions(s, &f.liveFlags)}
			opts.Timeout = f.timeout
			if f.output == "text" {
				opts.OnResult = func(r pipeline.TestResult) {
					fmt.Fprintln(s.out, pipeline.TestLine(r))
					if !r.Passed && r.Logs != "" && !f.config.quiet {
						for _, l := range strings.Split(strings.TrimRight(r.Logs, "\n"), "\n") {
							fmt.Fprintln(s.err, "    "+l)
						}
					}
				}
			}
			results, runErr := p.Test(cmd.Context(), pl, res, opts)
			if f.junit != "" {
				data, err := pipeline.TestJUnit(results)
				if err == nil {
					err = atomicfile.Write(f.junit, data, 0o644)
				}
				if err != nil {
					return fmt.Errorf("junit %s: %w", f.junit, err)
				}
			}
			if f.output == "json" {
				if results == nil {
					results = []pipeline.TestResult{}
				}
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false) // CEL's && and > as they are written
				if err := enc.Encode(results); err != nil {
					return err
				}
			}
			if runErr != nil {
				return runErr
			}
			failed := pipeline.TestsFailed(results)
			if !f.config.quiet {
				fmt.Fprintf(s.err, "%d checks, %d failed\n", len(results), failed)
			}
			if failed > 0 {
				return &silentExit{code: 1}
			}
			return nil
		},
	}
	addLiveFlags(cmd, &f.liveFlags)
	addSelectFlags(cmd, &f.sel, false)
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "text (a line per check) or json")
	cmd.Flags().StringVar(&f.junit, "junit", "", "also write the results as JUnit XML to this file")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long each check may wait (a Helm test Pod, an HTTP test's Job)")
	return cmd
}
