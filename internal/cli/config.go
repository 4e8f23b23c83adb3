package cli

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/pkg/pipeline"
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

// newPipeline returns the pipeline the flags select; lf and ff may be nil
// for commands without lock and fetch flags. An empty -f is a usage error. Warnings go to stderr unless
// -q.
func newPipeline(s *streams, cf *configFlags, lf *lockFlags, ff *fetchFlags) (*pipeline.Pipeline, error) {
	if slices.Contains(cf.files, "") {
		return nil, usagef("-f \"\": want a configuration file or directory")
	}
	if cf.from != "" && len(cf.files) > 0 {
		return nil, usagef("--from and -f exclude each other: a Plan from --from is already evaluated")
	}
	c := pipeline.Config{Files: cf.files, From: cf.from, Stdin: s.in}
	if lf != nil {
		c.LockFile, c.Locked = lf.lockFile, lf.locked
	}
	if ff != nil {
		c.CacheDir, c.Offline = ff.cacheDir, ff.offline
	}
	if !cf.quiet {
		c.Warn = func(w string) { fmt.Fprintf(s.err, "warning: %s\n", w) }
	}
	return pipeline.New(c)
}

// load returns the pipeline the flags select and its Plan, evaluated or
// read from --from.
func load(s *streams, cf *configFlags, lf *lockFlags, ff *fetchFlags) (*pipeline.Pipeline, *plan.Plan, error) {
	p, err := newPipeline(s, cf, lf, ff)
	if err != nil {
		return nil, nil, err
	}
	pl, err := p.Load()
	if err != nil {
		return nil, nil, err
	}
	return p, pl, nil
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
