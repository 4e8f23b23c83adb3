package cli

import (
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"wookie.dev/wookie/pkg/pipeline"
)

// selectFlags pick batches and bundles of the selected clusters.
type selectFlags struct {
	batches  []string
	bundles  []string
	until    string
	withDeps bool
	// untilFlag tells an empty --until from none.
	untilFlag *pflag.Flag
}

// addSelectFlags registers --batch and --bundle and, for deploy and diff
// (deploying), --until and --with-deps.
func addSelectFlags(cmd *cobra.Command, f *selectFlags, deploying bool) {
	cmd.Flags().StringArrayVar(&f.batches, "batch", nil, "batch to work on, by name or priority (crds, 300); repeatable; default all")
	cmd.Flags().StringArrayVar(&f.bundles, "bundle", nil, "bundle to work on, by name; repeatable; default all")
	if deploying {
		cmd.Flags().StringVar(&f.until, "until", "", "deploy this batch (by name or priority) and every batch before it")
		f.untilFlag = cmd.Flags().Lookup("until")
		cmd.Flags().BoolVar(&f.withDeps, "with-deps", false, "with --batch or --bundle, also deploy what they depend on: the batches before them and their bundles' dependsOn")
	}
}

// selection is the pipeline.Selection of the flags; --until and --batch
// exclude each other, and an empty --batch, --bundle or --until is a usage error
// (it would select nothing, or everything).
func (f *selectFlags) selection() (pipeline.Selection, error) {
	if slices.Contains(f.batches, "") {
		return pipeline.Selection{}, usagef("--batch \"\": want a batch name or priority")
	}
	if slices.Contains(f.bundles, "") {
		return pipeline.Selection{}, usagef("--bundle \"\": want a bundle name")
	}
	if f.untilFlag != nil && f.untilFlag.Changed && f.until == "" {
		return pipeline.Selection{}, usagef("--until \"\": want a batch name or priority")
	}
	if f.until != "" && len(f.batches) > 0 {
		return pipeline.Selection{}, usagef("--until and --batch exclude each other: --until %s already names the batches", f.until)
	}
	return pipeline.Selection{Batches: f.batches, Bundles: f.bundles, Until: f.until, WithDeps: f.withDeps}, nil
}

// withDepsHint adds a hint to a deploy that stopped because what the
// selection depends on is not ready.
func withDepsHint(err error) error {
	var de *pipeline.DependencyError
	if errors.As(err, &de) {
		return fmt.Errorf("%w\nhint: deploy those first ('wookie deploy --until BATCH' deploys a batch and those before it), or add --with-deps to deploy them with the selection", err)
	}
	return err
}
