package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cert"
	"wookie.dev/wookie/internal/plan"
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

// certExpiryWarnings warns about the intermediate CAs of p's clusters in the
// configuration's certificate store that expire within 30 days (or have
// expired). A configuration without certificates gets none; a store that
// cannot be read is a warning too, never an error: rendering does not need
// the certificates.
func certExpiryWarnings(cf *configFlags, p *plan.Plan, now time.Time) []string {
	store, err := certStore(cf)
	if err != nil {
		return nil
	}
	if _, err := os.Stat(store.Dir); err != nil {
		return nil
	}
	infos, err := store.Describe()
	if err != nil {
		return []string{fmt.Sprintf("certificates in %s: %v", store.Dir, err)}
	}
	var out []string
	for _, i := range infos {
		if i.Cluster == "" || !slices.ContainsFunc(p.Clusters, func(c plan.Cluster) bool { return c.Name == i.Cluster }) {
			continue
		}
		if msg := expiryWarning(i, now); msg != "" {
			out = append(out, msg)
		}
	}
	return out
}

// expiryWarning is the warning about an intermediate CA that expires
// within 30 days, or "".
func expiryWarning(i cert.Info, now time.Time) string {
	if i.Cluster == "" || i.NotAfter.Sub(now) >= certExpiryWarning {
		return ""
	}
	return fmt.Sprintf("cluster %s: the intermediate CA expires %s: run 'wookie certs rotate --cluster %s'", i.Cluster, i.NotAfter.UTC().Format(time.RFC3339), i.Cluster)
}
