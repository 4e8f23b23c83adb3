package cert

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrExists is the cause of an error from a Store that refuses to replace
// certificates without force.
var ErrExists = errors.New("already exists")

// Store keeps a root CA and the intermediate CAs of clusters in a state
// directory, laid out as the package documentation shows.
type Store struct {
	// Dir is the state directory. The Store creates it, mode 0700, when
	// it writes and Dir is missing.
	Dir string
	// Now is the clock: the time certificates are checked at when loaded,
	// and the default of the options' Now. Nil means time.Now.
	Now func() time.Time
}

// InitRoot makes a root CA with NewRoot and writes root-cert.pem and
// root-key.pem into Dir. Unless force is set, it refuses, with an error
// that wraps ErrExists, when either file exists. Replacing a root leaves
// the intermediates it signed behind; they no longer load. opts.Now
// defaults to the Store's Now.
func (s Store) InitRoot(opts RootOptions, force bool) error {
	if err := s.initRoot(opts, force); err != nil {
		return fmt.Errorf("root CA: %w", err)
	}
	return nil
}

// initRoot does the work of InitRoot.
func (s Store) initRoot(opts RootOptions, force bool) error {
	if err := s.check(); err != nil {
		return err
	}
	if !force {
		for _, name := range []string{RootCertFile, RootKeyFile} {
			if err := refuseExisting(filepath.Join(s.Dir, name)); err != nil {
				return err
			}
		}
	}
	if opts.Now == nil {
		opts.Now = s.Now
	}
	root, err := NewRoot(opts)
	if err != nil {
		return err
	}
	key, err := keyPEM(root.key)
	if err != nil {
		return err
	}
	if err := mkdirPrivate(s.Dir); err != nil {
		return err
	}
	return writeFiles(s.Dir, map[string][]byte{RootCertFile: root.CertPEM(), RootKeyFile: key})
}

// LoadRoot reads the root CA from Dir and checks that its certificate is a
// self-signed CA and that its key matches it.
func (s Store) LoadRoot() (*Root, error) {
	root, err := s.loadRoot()
	if err != nil {
		return nil, fmt.Errorf("root CA: %w", err)
	}
	return root, nil
}

// loadRoot does the work of LoadRoot.
func (s Store) loadRoot() (*Root, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	certPath, keyPath := filepath.Join(s.Dir, RootCertFile), filepath.Join(s.Dir, RootKeyFile)
	certData, err := readFile(certPath)
	if err != nil {
		return nil, err
	}
	keyData, err := readFile(keyPath)
	if err != nil {
		return nil, err
	}
	return parseRoot(certData, keyData, certPath, keyPath)
}

// parseRoot parses and checks a root CA read from certName and keyName.
func parseRoot(certData, keyData []byte, certName, keyName string) (*Root, error) {
	cert, err := parseRootCert(certData, certName)
	if err != nil {
		return nil, err
	}
	key, err := parseKeyPEM(keyData, keyName)
	if err != nil {
		return nil, err
	}
	if err := matchKey(cert, key, certName, keyName); err != nil {
		return nil, err
	}
	return &Root{Cert: cert, key: key}, nil
}

// parseRootCert parses the root certificate read from name and checks that
// it is a self-signed CA.
func parseRootCert(data []byte, name string) (*x509.Certificate, error) {
	cert, err := parseCertPEM(data, name)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s: not a CA certificate", name)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		return nil, fmt.Errorf("%s: not self-signed: %w", name, err)
	}
	return cert, nil
}

// IssueIntermediate makes the intermediate CA of cluster, signed by the
// Store's root, and writes its four files into Dir/<cluster>. Unless force
// is set, it refuses, with an error that wraps ErrExists, when that
// directory exists. With force it replaces the directory as a whole, and
// only when it holds nothing but the four files. opts.Now defaults to the
// Store's Now.
func (s Store) IssueIntermediate(cluster string, opts IntermediateOptions, force bool) error {
	if err := checkCluster(cluster); err != nil {
		return err
	}
	if err := s.issue(cluster, opts, force); err != nil {
		return fmt.Errorf("cluster %s: %w", cluster, err)
	}
	return nil
}

// Rotate replaces the intermediate CA of cluster by a new one signed by the
// same root, as IssueIntermediate with force does. It fails, with an error
// that wraps fs.ErrNotExist, when cluster has no intermediate CA yet, so
// that a mistyped name does not make a new one.
func (s Store) Rotate(cluster string, opts IntermediateOptions) error {
	if err := checkCluster(cluster); err != nil {
		return err
	}
	if err := s.rotate(cluster, opts); err != nil {
		return fmt.Errorf("cluster %s: %w", cluster, err)
	}
	return nil
}

// rotate does the work of Rotate.
func (s Store) rotate(cluster string, opts IntermediateOptions) error {
	if err := s.check(); err != nil {
		return err
	}
	dir := filepath.Join(s.Dir, cluster)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("nothing to rotate: missing %s: %w", dir, fs.ErrNotExist)
	}
	return s.issue(cluster, opts, true)
}

// issue does the work of IssueIntermediate for a checked cluster name.
func (s Store) issue(cluster string, opts IntermediateOptions, force bool) error {
	if err := s.check(); err != nil {
		return err
	}
	dir := filepath.Join(s.Dir, cluster)
	if !force {
		if err := refuseExisting(dir); err != nil {
			return err
		}
	}
	root, err := s.LoadRoot()
	if err != nil {
		return err
	}
	if opts.Now == nil {
		opts.Now = s.Now
	}
	inter, err := root.intermediate(cluster, opts)
	if err != nil {
		return fmt.Errorf("intermediate CA: %w", err)
	}
	return replaceDir(dir, inter.Files(root), force)
}

// LoadIntermediate reads the four files of cluster and checks them: each
// parses, ca-key.pem matches ca-cert.pem, root-cert.pem is the Store's
// root certificate, cert-chain.pem is ca-cert.pem followed by it, and
// ca-cert.pem is a CA that chains to the root at the Store's Now. It
// returns the files, by name, and the intermediate certificate. It does not
// read the root key.
func (s Store) LoadIntermediate(cluster string) (map[string][]byte, *x509.Certificate, error) {
	if err := checkCluster(cluster); err != nil {
		return nil, nil, err
	}
	files, cert, err := s.loadIntermediate(cluster)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	return files, cert, nil
}

// loadIntermediate does the work of LoadIntermediate for a checked cluster
// name.
func (s Store) loadIntermediate(cluster string) (map[string][]byte, *x509.Certificate, error) {
	if err := s.check(); err != nil {
		return nil, nil, err
	}
	rootPath := filepath.Join(s.Dir, RootCertFile)
	rootData, err := readFile(rootPath)
	if err != nil {
		return nil, nil, err
	}
	root, err := parseRootCert(rootData, rootPath)
	if err != nil {
		return nil, nil, err
	}
	dir := filepath.Join(s.Dir, cluster)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("missing %s: %w", dir, fs.ErrNotExist)
	}
	files, err := readClusterFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	cert, err := verifyIntermediate(files, dir, root, rootPath, nowOr(s.Now))
	if err != nil {
		return nil, nil, err
	}
	return files, cert, nil
}

// readClusterFiles reads the files of the cluster directory dir, by name.
func readClusterFiles(dir string) (map[string][]byte, error) {
	files := make(map[string][]byte, len(clusterFiles))
	for _, name := range clusterFiles {
		data, err := readFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		files[name] = data
	}
	return files, nil
}

// verifyIntermediate checks the files of the cluster directory dir against
// root, the Store's root certificate read from rootName, at now, and returns
// the intermediate certificate. A zero now checks that root signed the
// intermediate without checking either validity period.
func verifyIntermediate(files map[string][]byte, dir string, root *x509.Certificate, rootName string, now time.Time) (*x509.Certificate, error) {
	path := func(name string) string { return filepath.Join(dir, name) }
	ca, err := parseCertPEM(files[CACertFile], path(CACertFile))
	if err != nil {
		return nil, err
	}
	key, err := parseKeyPEM(files[CAKeyFile], path(CAKeyFile))
	if err != nil {
		return nil, err
	}
	if err := matchKey(ca, key, path(CACertFile), path(CAKeyFile)); err != nil {
		return nil, err
	}
	r, err := parseCertPEM(files[RootCertFile], path(RootCertFile))
	if err != nil {
		return nil, err
	}
	if !r.Equal(root) {
		return nil, fmt.Errorf("%s is not the root certificate %s", path(RootCertFile), rootName)
	}
	chain, err := parseCertsPEM(files[CertChainFile], path(CertChainFile))
	if err != nil {
		return nil, err
	}
	if len(chain) != 2 || !chain[0].Equal(ca) || !chain[1].Equal(root) {
		return nil, fmt.Errorf("%s is not %s followed by %s", path(CertChainFile), CACertFile, RootCertFile)
	}
	if !ca.IsCA {
		return nil, fmt.Errorf("%s: not a CA certificate", path(CACertFile))
	}
	if now.IsZero() {
		if err := ca.CheckSignatureFrom(root); err != nil {
			return nil, fmt.Errorf("%s is not signed by %s: %w", path(CACertFile), rootName, err)
		}
		return ca, nil
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	_, err = ca.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, fmt.Errorf("%s does not chain to %s: %w", path(CACertFile), rootName, err)
	}
	return ca, nil
}

// Clusters returns the names of the clusters that have a directory in Dir,
// sorted.
func (s Store) Clusters() ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("missing %s: %w", s.Dir, fs.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && checkCluster(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Describe returns the Info of the root certificate and then of the
// intermediate certificate of each cluster, in name order. It checks every
// file of the store as LoadRoot and LoadIntermediate do (each parses, keys
// match their certificates, chains are whole), failing with an error that
// names the first damaged file, except that it accepts certificates outside
// their validity period, so that expired material can still be shown. It
// reads the keys but returns nothing of them.
func (s Store) Describe() ([]Info, error) {
	clusters, err := s.Clusters()
	if err != nil {
		return nil, err
	}
	root, err := s.LoadRoot()
	if err != nil {
		return nil, err
	}
	rootPath := filepath.Join(s.Dir, RootCertFile)
	info := Describe(root.Cert)
	info.File = rootPath
	infos := []Info{info}
	for _, c := range clusters {
		dir := filepath.Join(s.Dir, c)
		files, err := readClusterFiles(dir)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c, err)
		}
		ca, err := verifyIntermediate(files, dir, root.Cert, rootPath, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c, err)
		}
		info := Describe(ca)
		info.File = filepath.Join(dir, CACertFile)
		info.Cluster = c
		infos = append(infos, info)
	}
	return infos, nil
}

// check checks that the Store names a directory.
func (s Store) check() error {
	if s.Dir == "" {
		return errors.New("certificate store: no directory")
	}
	return nil
}

// refuseExisting returns an error wrapping ErrExists when path exists.
func refuseExisting(path string) error {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return fmt.Errorf("%s: %w", path, ErrExists)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	}
	return err
}

// readFile reads path; a missing file gives an error that names it and
// wraps fs.ErrNotExist.
func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("missing %s: %w", path, fs.ErrNotExist)
	}
	return data, err
}
