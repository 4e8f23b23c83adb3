package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"wookie.dev/wookie/pkg/pipeline"
)

type versionFlags struct {
	output string
}

func newVersionCmd(s *streams) *cobra.Command {
	f := &versionFlags{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print wookie's version",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, "text", "json"); err != nil {
				return err
			}
			v := pipeline.Version()
			if f.output == "json" {
				b, err := json.MarshalIndent(v, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(s.out, "%s\n", b)
				return err
			}
			_, err := fmt.Fprintf(s.out, "wookie %s (plan %s, cue %s, %s)\n", v.Version, v.PlanVersion, v.CUEVersion, v.GoVersion)
			return err
		},
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	return cmd
}
