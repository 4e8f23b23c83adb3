package cli

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/planview"
	"wookie.dev/wookie/pkg/pipeline"
)

type planFlags struct {
	config configFlags
	lock   lockFlags
	fetch  fetchFlags
	output string
	render bool
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
written by another front end.

-o dot and -o mermaid draw the Plan as a graph: clusters as groups holding
their batches in deploy order, bundles as nodes (sensitive and generated
ones marked), dependsOn and cross-cluster inputs as edges. -o html writes
one self-contained, searchable page with the graph and, per bundle, its
chart, version, digest, namespace, values and objects; --render renders the
Plan first so that the objects of chart bundles are listed too.`,
		Example: `  wookie plan
  wookie plan -f wookie.cue -o json
  wookie plan -o dot | dot -Tsvg > plan.svg
  wookie plan -o html --render > plan.html
  nix eval --json .#wookiePlan > plan.json && wookie plan --from plan.json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, "table", "json", "yaml", "dot", "mermaid", "html"); err != nil {
				return err
			}
			if f.render && !slices.Contains([]string{"dot", "mermaid", "html"}, f.output) {
				return usagef("--render goes with -o dot, mermaid or html")
			}
			p, pl, err := load(s, &f.config, &f.lock, &f.fetch)
			if err != nil {
				return err
			}
			if err := p.Pin(pl); err != nil {
				return err
			}
			var res *pipeline.Result
			if f.render {
				if res, err = p.Render(cmd.Context(), pl, pipeline.RenderOptions{}); err != nil {
					return renderHints(err)
				}
				warn(s, &f.config, res.Warnings)
			}
			out, err := formatPlan(pl, res, f.output)
			if err != nil {
				return err
			}
			_, err = s.out.Write(out)
			return err
		},
	}
	addConfigFlags(cmd, &f.config, true)
	addLockFlags(cmd, &f.lock)
	addFetchFlags(cmd, &f.fetch)
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "output format: table, json, yaml, dot, mermaid or html")
	cmd.Flags().BoolVar(&f.render, "render", false, "with -o dot, mermaid or html: render the Plan first, to list every bundle's objects")
	return cmd
}

// formatPlan renders p in the given output format; res, when not nil, is
// p rendered, for the graph formats.
func formatPlan(p *plan.Plan, res *pipeline.Result, format string) ([]byte, error) {
	switch format {
	case "json":
		return plan.EncodeJSON(p)
	case "yaml":
		return plan.EncodeYAML(p)
	case "dot", "mermaid", "html":
		g, err := planview.Build(p, res)
		if err != nil {
			return nil, err
		}
		switch format {
		case "dot":
			return planview.DOT(g), nil
		case "mermaid":
			return planview.Mermaid(g), nil
		}
		return planview.HTML(g, planview.Options{})
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
