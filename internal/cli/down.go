package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/pkg/pipeline"
)

type downFlags struct {
	clusterCmdFlags
	yes bool
}

func newDownCmd(s *streams) *cobra.Command {
	f := &downFlags{}
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Delete the Plan's k3d clusters, after asking",
		Long: `down deletes every k3d cluster of the Plan (or those --cluster names) that k3d
has, as wookie cluster delete does, after asking on the terminal. --yes
deletes without asking, for scripts; without it, down refuses when standard
input is not a terminal. Clusters reached through a kubeconfig context are
never deleted.`,
		Example: `  wookie down
  wookie down -f examples/multi-k3d --yes`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, pl, err := load(s, &f.config, nil, nil)
			if err != nil {
				return err
			}
			sel, err := pipeline.SelectK3d(pl, f.clusters, "down deletes")
			if err != nil {
				return err
			}
			if len(sel) == 0 {
				if !f.config.quiet {
					fmt.Fprintln(s.err, "nothing to delete: the Plan has no k3d cluster")
				}
				return nil
			}
			m, err := newManager(s, p, &f.config, f.kubeconfig)
			if err != nil {
				return err
			}
			have, err := m.Existing(cmd.Context(), sel)
			if err != nil {
				return withClusterHint(err)
			}
			if len(have) == 0 {
				if !f.config.quiet {
					fmt.Fprintf(s.err, "nothing to delete: k3d has none of %s\n", clusterNames(sel))
				}
				return nil
			}
			if !f.yes {
				if err := confirm(s, fmt.Sprintf("Delete the k3d clusters %s, with everything in them? [y/N] ", clusterNames(have))); err != nil {
					return err
				}
			}
			_, err = m.Delete(cmd.Context(), have)
			return withClusterHint(err)
		},
	}
	addClusterCmdFlags(cmd, &f.clusterCmdFlags)
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "delete without asking")
	return cmd
}

// clusterNames lists the names of cs: "a, b".
func clusterNames(cs []plan.Cluster) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// confirm asks question on stderr and reads the answer from stdin: y or
// yes goes on, anything else stops with an error. It refuses to ask when
// stdin is a file that is not a terminal (a pipe, /dev/null); a reader
// that is not a file (a test's, or a program's that runs wookie) is asked.
func confirm(s *streams, question string) error {
	if f, ok := s.in.(*os.File); ok {
		if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
			return fmt.Errorf("not asking, as standard input is not a terminal: nothing deleted; pass --yes to delete without asking")
		}
	}
	fmt.Fprint(s.err, question)
	answer, err := bufio.NewReader(s.in).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	if err == io.EOF && answer == "" {
		fmt.Fprintln(s.err)
	}
	return fmt.Errorf("not confirmed: nothing deleted")
}
