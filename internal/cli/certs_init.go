package cli

import (
	"errors"
	"io/fs"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cert"
	"wookie.dev/wookie/pkg/pipeline"
)

type certsInitFlags struct {
	certsFlags
	keyAlgorithm string
	force        bool
}

func newCertsInitCmd(s *streams) *cobra.Command {
	f := &certsInitFlags{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Make the root CA (unless there is one) and an intermediate CA for every cluster that has none",
		Long: `init makes the root CA when the state directory has none (RSA 4096 by
default, --key-algorithm ecdsa for P-256; valid 10 years) and, for every
cluster of the Plan (or those --cluster names) without one, an intermediate CA
signed by it (valid 2 years; CA:true, pathlen 0; SAN istiod.istio-system.svc;
O=Istio, L=<cluster>). Existing material is kept; --force replaces it: the
root and every selected cluster's intermediate.`,
		Example: `  wookie certs init
  wookie certs init --key-algorithm ecdsa --cluster east --cluster west`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCertsInit(s, f, cmd.Flags().Changed("key-algorithm"))
		},
	}
	addCertsFlags(cmd, &f.certsFlags)
	cmd.Flags().StringVar(&f.keyAlgorithm, "key-algorithm", cert.RSA, "key algorithm of new CAs: rsa (4096 bits) or ecdsa (P-256)")
	cmd.Flags().BoolVar(&f.force, "force", false, "replace the existing root and intermediates")
	return cmd
}

// runCertsInit runs certs init; intermediates take the root's key
// algorithm unless --key-algorithm was given (explicit).
func runCertsInit(s *streams, f *certsInitFlags, explicit bool) error {
	if f.keyAlgorithm != cert.RSA && f.keyAlgorithm != cert.ECDSA {
		return usagef("--key-algorithm %q: want %s or %s", f.keyAlgorithm, cert.RSA, cert.ECDSA)
	}
	p, names, err := certClusters(s, &f.certsFlags)
	if err != nil {
		return err
	}
	return p.InitCerts(names, pipeline.CertsOptions{
		KeyAlgorithm: f.keyAlgorithm, Explicit: explicit, Force: f.force,
		OnCert: func(a pipeline.CertAction) { sayCert(s, &f.config, a, false) },
	})
}

// sayCert says on stderr, unless -q, what was done to a CA; for wookie up
// (forUp) with the prefix "certs: ", and nothing about material kept.
func sayCert(s *streams, cf *configFlags, a pipeline.CertAction, forUp bool) {
	prefix := ""
	if forUp {
		prefix = "certs: "
	}
	switch {
	case !a.Made && forUp:
	case a.Cluster == "" && a.Made:
		say(s, cf, "✓ %sroot CA made in %s (%s)", prefix, a.Dir, a.KeyAlgorithm)
	case a.Cluster == "":
		say(s, cf, "✓ root CA exists in %s: kept (--force replaces it)", a.Dir)
	case a.Made:
		say(s, cf, "✓ %scluster %s: intermediate CA made", prefix, a.Cluster)
	default:
		say(s, cf, "✓ cluster %s: intermediate CA exists: kept", a.Cluster)
	}
}

// isMissing tells whether err says a certificate file does not exist.
func isMissing(err error) bool { return errors.Is(err, fs.ErrNotExist) }
