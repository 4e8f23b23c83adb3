package pipeline

import (
	"errors"
	"fmt"

	"wookie.dev/wookie/internal/cert"
)

// CertsOptions are the choices of InitCerts.
type CertsOptions struct {
	// KeyAlgorithm is the key algorithm of a new root (cert.RSA when
	// empty) and, with Explicit, of new intermediates, which otherwise
	// take the root's.
	KeyAlgorithm string
	Explicit     bool
	// Force replaces the root and the intermediates.
	Force bool
	// OnCert receives what was done to each CA.
	OnCert func(CertAction)
}

// CertAction says what InitCerts did to a CA: made it, or kept the one
// there was (after checking it).
type CertAction struct {
	// Cluster is the intermediate CA's cluster; "" for the root.
	Cluster string
	Made    bool
	// Dir is the certificate store's directory.
	Dir string
	// KeyAlgorithm is the root's key algorithm when it was made.
	KeyAlgorithm string
}

// InitCerts makes the root CA of the configuration's certificate store
// unless it has one, and the intermediate CA of every cluster of names
// that has none, checking the material it keeps; with o.Force it
// replaces both.
func (p *Pipeline) InitCerts(names []string, o CertsOptions) error {
	store, err := p.CertStore()
	if err != nil {
		return err
	}
	if o.KeyAlgorithm == "" {
		o.KeyAlgorithm = cert.RSA
	}
	tell := func(a CertAction) {
		if o.OnCert != nil {
			a.Dir = store.Dir
			o.OnCert(a)
		}
	}
	switch err := store.InitRoot(cert.RootOptions{KeyAlgorithm: o.KeyAlgorithm}, o.Force); {
	case errors.Is(err, cert.ErrExists):
		if _, err := store.LoadRoot(); err != nil {
			return fmt.Errorf("certs: %w", err)
		}
		tell(CertAction{})
	case err != nil:
		return fmt.Errorf("certs: root CA: %w", err)
	default:
		tell(CertAction{Made: true, KeyAlgorithm: o.KeyAlgorithm})
	}
	for _, name := range names {
		opts := cert.IntermediateOptions{}
		if o.Explicit {
			opts.KeyAlgorithm = o.KeyAlgorithm
		}
		err := store.IssueIntermediate(name, opts, o.Force)
		switch {
		case errors.Is(err, cert.ErrExists):
			if _, _, err := store.LoadIntermediate(name); err != nil {
				return fmt.Errorf("certs: cluster %s: %w", name, err)
			}
			tell(CertAction{Cluster: name})
		case err != nil:
			return fmt.Errorf("certs: cluster %s: %w", name, err)
		default:
			tell(CertAction{Cluster: name, Made: true})
		}
	}
	return nil
}
