package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/deploy"
)

type diffFlags struct {
	liveFlags
	prune          bool
	forceConflicts bool
	output         string
}

func newDiffCmd(s *streams) *cobra.Command {
	f := &diffFlags{}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show what a deploy would change, through server-side dry runs",
		Long: `diff shows what wookie deploy with the same flags would do, without doing it:
it is deploy --dry-run=server, through the same code, and prints a unified
diff per object that would be created or changed (Secret values masked), the
namespaces deploy would create because objects go there and no bundle creates
them, and the fields other field managers own, which deploy refuses unless
--force-conflicts (diff goes on past them, as if forced). With --prune it also
shows what deploy --prune would delete, in its order (a CRD says which custom
resources go with it), and what it would keep. A cluster that has nothing yet
is previewed as its first deploy: objects whose namespace or CRD the deploy
creates first cannot be checked by the server, and say so.

Like kubectl diff it exits 0 when nothing differs, 1 when something does, and
2 on an error; objects that prune keeps are shown but are no change. A
cluster's inputs are read once from the live clusters they come from; an
input without a value is a warning, and its ((input NAME)) reference stays in
the diff.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, "text", "json"); err != nil {
				return err
			}
			changes, err := runDiff(cmd, s, f)
			if err != nil {
				return &codedError{code: 2, err: withDepsHint(err)}
			}
			if err := printChanges(s, changes, f.output); err != nil {
				return &codedError{code: 2, err: err}
			}
			if slices.ContainsFunc(changes, func(c deploy.Change) bool { return c.Action != "keep" }) {
				return &silentExit{code: 1}
			}
			return nil
		},
	}
	addLiveFlags(cmd, &f.liveFlags)
	addSelectFlags(cmd, &f.sel, true)
	cmd.Flags().BoolVar(&f.prune, "prune", false, "also show what deploy --prune would delete and keep")
	cmd.Flags().BoolVar(&f.forceConflicts, "force-conflicts", false, "show what deploy --force-conflicts would do: fields of other managers taken over, no conflicts")
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "text (unified diffs) or json")
	return cmd
}

func runDiff(cmd *cobra.Command, s *streams, f *diffFlags) ([]deploy.Change, error) {
	p, pl, res, err := renderLive(cmd, s, &f.liveFlags)
	if err != nil {
		return nil, err
	}
	opts := liveOptions(s, &f.liveFlags)
	opts.Prune, opts.ForceConflicts = f.prune, f.forceConflicts
	return p.Diff(cmd.Context(), pl, res, opts)
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
		where := c.Cluster + ": bundle " + c.Bundle
		switch c.Action {
		case "create", "configure":
			fmt.Fprintf(&b, "# %s: %s would be %sd", where, c.Object, c.Action)
			if c.Message != "" {
				fmt.Fprintf(&b, " (%s)", c.Message)
			}
			fmt.Fprintf(&b, "\n%s", c.Diff)
		case "namespace":
			fmt.Fprintf(&b, "# %s: %s would be created (objects go to it and no bundle creates it)\n", where, c.Object)
		case "conflict":
			fmt.Fprintf(&b, "# %s: %s: conflict: %s (deploy refuses the bundle unless --force-conflicts)\n", where, c.Object, c.Message)
		case "prune":
			fmt.Fprintf(&b, "# %s: %s would be deleted (it left the Plan; it was applied by bundle %s)", c.Cluster, c.Object, c.Bundle)
			if c.Message != "" {
				fmt.Fprintf(&b, ": %s", c.Message)
			}
			b.WriteString("\n")
		case "keep":
			fmt.Fprintf(&b, "# %s: %s left the Plan and is kept: %s\n", c.Cluster, c.Object, c.Message)
		}
	}
	_, err := fmt.Fprint(s.out, b.String())
	return err
}
