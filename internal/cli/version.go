package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/plan"
)

// version is wookie's version, set at build time with
// -ldflags "-X wookie.dev/wookie/internal/cli.version=v0.1.0".
var version = ""

// versionInfo is what `wookie version` reports.
type versionInfo struct {
	Version     string `json:"version"`
	PlanVersion string `json:"planVersion"`
	GoVersion   string `json:"goVersion"`
	CUEVersion  string `json:"cueVersion"`
}

func currentVersion() versionInfo {
	v := versionInfo{Version: version, PlanVersion: plan.APIVersion, GoVersion: runtime.Version(), CUEVersion: "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == "cuelang.org/go" {
				v.CUEVersion = d.Version
			}
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && v.Version == "" && len(s.Value) >= 12 {
				v.Version = "devel-" + s.Value[:12]
			}
		}
	}
	if v.Version == "" {
		v.Version = "devel"
	}
	return v
}

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
			v := currentVersion()
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
