package cli

import (
	"bytes"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/plan"
)

type planFlags struct {
	config configFlags
	lock   lockFlags
	output string
}

func newPlanCmd(s *streams) *cobra.Command {
	f := &planFlags{}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Evaluate the configuration and print its Plan",
		Long: `plan evaluates the configuration (the embedded standard modules unified with
./wookie.cue or the files given with -f, or the embedded default when there
are none) and prints the Plan: every cluster, its batches in deploy order and
their bundles in dependency order, with each chart's version and digest
pinned from wookie.lock. With --from it validates and prints a Plan
written by another front end.`,
		Example: `  wookie plan
  wookie plan -f wookie.cue -o json
  nix eval --json .#wookiePlan > plan.json && wookie plan --from plan.json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, "table", "json", "yaml"); err != nil {
				return err
			}
			p, pl, err := load(s, &f.config, &f.lock, nil)
			if err != nil {
				return err
			}
			if err := p.Pin(pl); err != nil {
				return err
			}
			out, err := formatPlan(pl, f.output)
			if err != nil {
				return err
			}
			_, err = s.out.Write(out)
			return err
		},
	}
	addConfigFlags(cmd, &f.config, true)
	addLockFlags(cmd, &f.lock)
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "output format: table, json or yaml")
	return cmd
}

// formatPlan renders p in the given output format.
func formatPlan(p *plan.Plan, format string) ([]byte, error) {
	switch format {
	case "json":
		return plan.EncodeJSON(p)
	case "yaml":
		return plan.EncodeYAML(p)
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tBATCH\tPRIORITY\tBUNDLE\tNAMESPACE\tSOURCE\tDEPENDSON")
	for _, c := range p.Clusters {
		for _, b := range c.Batches {
			for _, bu := range b.Bundles {
				deps := "-"
				if len(bu.DependsOn) > 0 {
					deps = strings.Join(bu.DependsOn, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", c.Name, b.Name, b.Priority, bu.Name, bu.Namespace, bundleSource(bu), deps)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// bundleSource says where a bundle's objects come from: chart@version,
// "N manifests", or what a generated bundle makes ("cacerts of east");
// "(sensitive)" follows a bundle that carries secrets and is only deployed.
func bundleSource(b plan.Bundle) string {
	if b.Generate != nil && b.Generate.IstioCACerts != nil {
		return "cacerts of " + b.Generate.IstioCACerts.Cluster
	}
	if b.Sensitive {
		return manifestCount(b) + " (sensitive)"
	}
	return manifestCount(b)
}

// manifestCount is bundleSource for bundles without generate or sensitive.
func manifestCount(b plan.Bundle) string {
	if b.Chart != nil {
		if b.Chart.Version == "" {
			return b.Chart.Name
		}
		return b.Chart.Name + "@" + b.Chart.Version
	}
	if len(b.Manifests) == 1 {
		return "1 manifest"
	}
	return fmt.Sprintf("%d manifests", len(b.Manifests))
}
