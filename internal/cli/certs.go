package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cert"
	"wookie.dev/wookie/pkg/pipeline"
)

func newCertsCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Make and inspect the Istio plug-in CA: a root and an intermediate CA per cluster",
		Long: `certs keeps the certificates a multi-cluster Istio mesh needs, as Istio's
plug-in CA documents them: one root CA and, per cluster, an intermediate CA
signed by it (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem for the
cacerts Secret in istio-system). They live in
$XDG_STATE_HOME/wookie/<configuration>/certs (else ~/.local/state/wookie/...),
files 0600 and directories 0700; key material is never printed and never
written into render or GitOps outputs.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newCertsInitCmd(s), newCertsShowCmd(s), newCertsRotateCmd(s))
	return cmd
}

// certsFlags are the flags every certs command has.
type certsFlags struct {
	config   configFlags
	clusters []string
}

func addCertsFlags(cmd *cobra.Command, f *certsFlags) {
	addConfigFlags(cmd, &f.config, true)
	cmd.Flags().StringArrayVar(&f.clusters, "cluster", nil, "cluster of the Plan to work on; repeatable; default all")
}

// certStore is the certificate store of the configuration cf selects.
func certStore(s *streams, cf *configFlags) (cert.Store, error) {
	p, err := newPipeline(s, cf, nil, nil)
	if err != nil {
		return cert.Store{}, err
	}
	return p.CertStore()
}

// certClusters returns the pipeline the flags select and the names of the
// Plan's clusters they select.
func certClusters(s *streams, f *certsFlags) (*pipeline.Pipeline, []string, error) {
	p, pl, err := load(s, &f.config, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	sel, err := pipeline.SelectClusters(pl, f.clusters)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(sel))
	for i, c := range sel {
		names[i] = c.Name
	}
	return p, names, nil
}

// say prints a progress line on stderr unless -q.
func say(s *streams, cf *configFlags, format string, args ...any) {
	if !cf.quiet {
		fmt.Fprintf(s.err, format+"\n", args...)
	}
}
