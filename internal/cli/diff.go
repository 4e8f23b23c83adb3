package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/deploy"
)

type diffFlags struct {
	liveFlags
	prune  bool
	output string
}

func newDiffCmd(s *streams) *cobra.Command {
	f := &diffFlags{}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show what a deploy would change, through server-side dry runs",
		Long: `diff renders the Plan and sends every object to its cluster as a server-side
dry run, printing a unified diff per object that would be created or changed
(Secret values masked); with --prune also the objects a deploy --prune would
delete or keep. Like kubectl diff it exits 0 when nothing differs, 1 when
something does, and 2 on an error. A cluster's inputs are read once from the
live clusters they come from; an input without a value is a warning, and its
((input NAME)) reference stays in the diff.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, "text", "json"); err != nil {
				return err
			}
			changes, err := runDiff(cmd, s, f)
			if err != nil {
				return &codedError{code: 2, err: err}
			}
			if err := printChanges(s, changes, f.output); err != nil {
				return &codedError{code: 2, err: err}
			}
			if len(changes) > 0 {
				return &silentExit{code: 1}
			}
			return nil
		},
	}
	addLiveFlags(cmd, &f.liveFlags)
	cmd.Flags().BoolVar(&f.prune, "prune", false, "also list what deploy --prune would delete")
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "text (unified diffs) or json")
	return cmd
}

func runDiff(cmd *cobra.Command, s *streams, f *diffFlags) ([]deploy.Change, error) {
	p, res, err := renderLive(cmd, s, &f.liveFlags)
	if err != nil {
		return nil, err
	}
	opts, err := readOptions(s, &f.liveFlags)
	if err != nil {
		return nil, err
	}
	opts.Prune = f.prune
	return deploy.Diff(cmd.Context(), p, res, opts)
}

func printChanges(s *streams, changes []deploy.Change, format string) error {
	if format == "json" {
		if changes == nil {
			changes = []deploy.Change{}
		}
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		return enc.Encode(changes)
	}
	var b strings.Builder
	for _, c := range changes {
		switch c.Action {
		case "prune":
			fmt.Fprintf(&b, "# %s: %s would be deleted (bundle %s is gone from the Plan)\n", c.Cluster, c.Object, c.Bundle)
		case "keep":
			fmt.Fprintf(&b, "# %s: %s left the Plan but is kept (CRDs, Namespaces and PVCs need prune: true)\n", c.Cluster, c.Object)
		default:
			fmt.Fprintf(&b, "# %s: bundle %s: %s would be %sd\n%s", c.Cluster, c.Bundle, c.Object, c.Action, c.Diff)
		}
	}
	_, err := fmt.Fprint(s.out, b.String())
	return err
}
