package cli

import (
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/eval"
	"wookie.dev/wookie/internal/plan"
)

// configFlags select the configuration a command works on.
type configFlags struct {
	files []string
	from  string
	quiet bool
}

// addConfigFlags registers -f and -q; withFrom adds --from.
func addConfigFlags(cmd *cobra.Command, f *configFlags, withFrom bool) {
	cmd.Flags().StringArrayVarP(&f.files, "file", "f", nil, "configuration file or directory (.cue, .yaml, .json); repeatable; default ./wookie.cue, else the embedded default")
	if withFrom {
		cmd.Flags().StringVar(&f.from, "from", "", "read a Plan (JSON or YAML, \"-\" for stdin) written by any front end instead of evaluating modules")
	}
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "print no warnings or progress on stderr")
}

// loadPlan evaluates the configuration, or reads the Plan given with --from,
// and prints warnings to stderr.
func loadPlan(s *streams, f *configFlags) (*plan.Plan, error) {
	if f.from != "" {
		if len(f.files) > 0 {
			return nil, usagef("--from and -f exclude each other: a Plan from --from is already evaluated")
		}
		return readPlan(s, f.from)
	}
	res, err := eval.Evaluate(eval.Config{Files: f.files})
	if err != nil {
		return nil, err
	}
	warn(s, f, res.Warnings)
	return res.Plan, nil
}

// readPlan decodes and normalizes a Plan file ("-" for stdin).
func readPlan(s *streams, name string) (*plan.Plan, error) {
	var data []byte
	var err error
	source := name
	if name == "-" {
		source = "<stdin>"
		data, err = io.ReadAll(s.in)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	p, err := plan.Decode(data, source)
	if err != nil {
		return nil, err
	}
	if err := plan.Normalize(p); err != nil {
		return nil, fmt.Errorf("%s: invalid plan:\n%w", source, err)
	}
	return p, nil
}

// warn prints warnings to stderr unless -q was given.
func warn(s *streams, f *configFlags, warnings []string) {
	if f.quiet {
		return
	}
	for _, w := range warnings {
		fmt.Fprintf(s.err, "warning: %s\n", w)
	}
}

// note prints notes to stderr unless -q.
func note(s *streams, f *configFlags, notes []string) {
	if f.quiet {
		return
	}
	for _, n := range notes {
		fmt.Fprintf(s.err, "note: %s\n", n)
	}
}

// checkOutput validates an -o value against the formats a command knows.
func checkOutput(value string, formats ...string) error {
	if !slices.Contains(formats, value) {
		return usagef("-o %q: want one of %v", value, formats)
	}
	return nil
}
