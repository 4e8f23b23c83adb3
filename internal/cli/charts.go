package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/pkg/pipeline"
)

func newChartsCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "charts",
		Short: "Work with the charts the Plan uses: pull them into the cache, list them",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newChartsPullCmd(s), newChartsListCmd(s))
	return cmd
}

type chartsFlags struct {
	config configFlags
	lock   lockFlags
	fetch  fetchFlags
	output string
}

func newChartsPullCmd(s *streams) *cobra.Command {
	f := &chartsFlags{}
	cmd := &cobra.Command{
		Use:   "pull",
		Short: "Fetch every chart of the Plan into the cache, verified against wookie.lock",
		Long: `pull fetches every chart the Plan uses, as pinned in the lock file, into the
content-addressed cache, verifying each digest, so that later commands can run
with --offline (air-gapped).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			p, pl, err := load(s, &f.config, &f.lock, &f.fetch)
			if err != nil {
				return err
			}
			entries, err := p.Pull(cmd.Context(), pl)
			if err != nil {
				return err
			}
			if !f.config.quiet {
				fmt.Fprintf(s.err, "✓ %d charts verified in %s  %.1fs\n", len(entries), p.CacheDir(), time.Since(start).Seconds())
			}
			return nil
		},
	}
	addConfigFlags(cmd, &f.config, true)
	addLockFlags(cmd, &f.lock)
	addFetchFlags(cmd, &f.fetch)
	return cmd
}

func newChartsListCmd(s *streams) *cobra.Command {
	f := &chartsFlags{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the Plan's charts: what is pinned and what is cached",
		Long: `list shows every chart the Plan uses with the bundles that use it, its pin
from the lock file (resolved version and digest, or "not pinned") and its
state in the cache: cached (verified), missing, corrupt, or local.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, "table", "json"); err != nil {
				return err
			}
			p, pl, err := load(s, &f.config, &f.lock, &f.fetch)
			if err != nil {
				return err
			}
			rows, err := p.ChartUsage(pl)
			if err != nil {
				return err
			}
			out, err := formatChartRows(rows, f.output)
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
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	return cmd
}

// formatChartRows is the table or JSON of wookie charts list.
func formatChartRows(rows []pipeline.ChartUse, format string) ([]byte, error) {
	var buf bytes.Buffer
	if format == "json" {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if rows == nil {
			rows = []pipeline.ChartUse{}
		}
		err := enc.Encode(rows)
		return buf.Bytes(), err
	}
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHART\tVERSION\tRESOLVED\tDIGEST\tCACHE\tREPO\tBUNDLES")
	for _, r := range rows {
		version, resolved, digest := r.Version, r.ResolvedVersion, shortDigest(r.Digest)
		if version == "" {
			version = "-"
		}
		if r.Digest == "" {
			resolved, digest = "-", "not pinned"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Chart, version, resolved, digest, r.Cache, r.Repo, strings.Join(r.Bundles, ","))
	}
	err := tw.Flush()
	return buf.Bytes(), err
}
