package cli

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cert"
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
	names, err := certClusters(s, &f.certsFlags)
	if err != nil {
		return err
	}
	store, err := certStore(&f.config)
	if err != nil {
		return err
	}
	return initCerts(s, &f.config, store, names, certsInitHow{keyAlgorithm: f.keyAlgorithm, explicit: explicit, force: f.force})
}

// certsInitHow are the choices of initCerts.
type certsInitHow struct {
	// keyAlgorithm is the key algorithm of a new root, and with explicit
	// of new intermediates, which otherwise take the root's.
	keyAlgorithm string
	explicit     bool
	// force replaces the root and the intermediates.
	force bool
	// forUp prefixes the progress lines with "certs: " and says nothing
	// about material kept, for wookie up.
	forUp bool
}

// initCerts makes the root CA of store unless it has one, and the
// intermediate CA of every cluster of names that has none, checking the
// material it keeps; with how.force it replaces both. It says on stderr
// what it made or kept.
func initCerts(s *streams, cf *configFlags, store cert.Store, names []string, how certsInitHow) error {
	prefix := ""
	if how.forUp {
		prefix = "certs: "
	}
	kept := func(format string, args ...any) {
		if !how.forUp {
			say(s, cf, format, args...)
		}
	}
	switch err := store.InitRoot(cert.RootOptions{KeyAlgorithm: how.keyAlgorithm}, how.force); {
	case errors.Is(err, cert.ErrExists):
		if _, err := store.LoadRoot(); err != nil {
			return fmt.Errorf("certs: %w", err)
		}
		kept("✓ root CA exists in %s: kept (--force replaces it)", store.Dir)
	case err != nil:
		return fmt.Errorf("certs: root CA: %w", err)
	default:
		say(s, cf, "✓ %sroot CA made in %s (%s)", prefix, store.Dir, how.keyAlgorithm)
	}
	for _, name := range names {
		opts := cert.IntermediateOptions{}
		if how.explicit {
			opts.KeyAlgorithm = how.keyAlgorithm
		}
		err := store.IssueIntermediate(name, opts, how.force)
		switch {
		case errors.Is(err, cert.ErrExists):
			if _, _, err := store.LoadIntermediate(name); err != nil {
				return fmt.Errorf("certs: cluster %s: %w", name, err)
			}
			kept("✓ cluster %s: intermediate CA exists: kept", name)
		case err != nil:
			return fmt.Errorf("certs: cluster %s: %w", name, err)
		default:
			say(s, cf, "✓ %scluster %s: intermediate CA made", prefix, name)
		}
	}
	return nil
}

// isMissing tells whether err says a certificate file does not exist.
func isMissing(err error) bool { return errors.Is(err, fs.ErrNotExist) }
