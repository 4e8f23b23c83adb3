package cli

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cert"
)

// certExpiryWarning is how long before its end an intermediate CA makes
// wookie warn.
const certExpiryWarning = 30 * 24 * time.Hour

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
func certStore(cf *configFlags) (cert.Store, error) {
	dir, err := configStateDir(cf)
	if err != nil {
		return cert.Store{}, err
	}
	return cert.Store{Dir: filepath.Join(dir, "certs")}, nil
}

// certClusters returns the names of the Plan's clusters the flags select.
func certClusters(s *streams, f *certsFlags) ([]string, error) {
	p, err := loadPlan(s, &f.config)
	if err != nil {
		return nil, err
	}
	sel, err := selectClusters(p, f.clusters)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(sel))
	for i, c := range sel {
		names[i] = c.Name
	}
	return names, nil
}

// say prints a progress line on stderr unless -q.
func say(s *streams, cf *configFlags, format string, args ...any) {
	if !cf.quiet {
		fmt.Fprintf(s.err, format+"\n", args...)
	}
}
