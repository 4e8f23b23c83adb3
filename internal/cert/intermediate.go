package cert

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"time"
)

// Names of the files istiod reads from the cacerts Secret, and of the root
// key a Store keeps beside root-cert.pem.
const (
	// CACertFile is the intermediate CA certificate.
	CACertFile = "ca-cert.pem"
	// CAKeyFile is the intermediate CA private key, PKCS#8.
	CAKeyFile = "ca-key.pem"
	// RootCertFile is the root CA certificate.
	RootCertFile = "root-cert.pem"
	// CertChainFile is the intermediate certificate followed by the root
	// certificate.
	CertChainFile = "cert-chain.pem"
	// RootKeyFile is the root CA private key, PKCS#8. It is never part of
	// a cluster's files.
	RootKeyFile = "root-key.pem"
)

// clusterFiles are the files of one cluster, in the order they are written.
var clusterFiles = []string{CACertFile, CAKeyFile, CertChainFile, RootCertFile}

// IstiodSAN is the DNS name every intermediate CA carries, the name of
// istiod's Service, as Istio's tools/certs puts it.
const IstiodSAN = "istiod.istio-system.svc"

// IntermediateOptions says how Root.Intermediate makes an intermediate CA.
// The zero value gives a key of the root's algorithm valid for
// DefaultIntermediateValidity from the current time.
type IntermediateOptions struct {
	// KeyAlgorithm is RSA or ECDSA; empty means the root's algorithm.
	KeyAlgorithm string
	// Validity is how long the intermediate is valid; zero means
	// DefaultIntermediateValidity. It must end before the root does.
	Validity time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of serial numbers and signatures; nil means
	// crypto/rand.Reader.
	Rand io.Reader
}

// Intermediate is the intermediate CA of one cluster: its certificate and
// private key. Its String and Format methods print a summary of the
// certificate and never the key.
type Intermediate struct {
	// Cluster is the name of the cluster, the subject's locality.
	Cluster string
	// Cert is the intermediate certificate, signed by the root.
	Cert *x509.Certificate
	// keyPEM is the private key as PKCS#8 PEM, made once so that Files
	// cannot fail. It is never printed.
	keyPEM []byte
}

// Intermediate makes the intermediate CA of cluster, signed by r, with
// subject O=Istio, L=<cluster>, CN=Intermediate CA and the DNS name
// IstiodSAN. cluster must be a DNS-1123 label.
func (r *Root) Intermediate(cluster string, opts IntermediateOptions) (*Intermediate, error) {
	if err := checkCluster(cluster); err != nil {
		return nil, err
	}
	inter, err := r.intermediate(cluster, opts)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: intermediate CA: %w", cluster, err)
	}
	return inter, nil
}

// intermediate does the work of Intermediate.
func (r *Root) intermediate(cluster string, opts IntermediateOptions) (*Intermediate, error) {
	if r.Cert == nil || r.key == nil {
		return nil, errors.New("the root CA has no certificate or no private key")
	}
	alg := opts.KeyAlgorithm
	if alg == "" {
		var err error
		if alg, err = algorithmOf(r.Cert); err != nil {
			return nil, err
		}
	}
	validity, err := validityOr(opts.Validity, DefaultIntermediateValidity)
	if err != nil {
		return nil, err
	}
	now := nowOr(opts.Now)
	notAfter := now.Add(validity)
	if now.Before(r.Cert.NotBefore) || now.After(r.Cert.NotAfter) {
		return nil, fmt.Errorf("the root CA is valid from %s to %s, not now (%s)",
			r.Cert.NotBefore.Format(time.RFC3339), r.Cert.NotAfter.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if notAfter.After(r.Cert.NotAfter) {
		return nil, fmt.Errorf("validity %s would end at %s, after the root CA (%s)",
			validity, notAfter.Format(time.RFC3339), r.Cert.NotAfter.Format(time.RFC3339))
	}
	rnd := randOr(opts.Rand)
	key, err := generateKey(alg, rnd)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial(rnd)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization: []string{organization},
			Locality:     []string{cluster},
			CommonName:   "Intermediate CA",
		},
		NotBefore:             now,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		DNSNames:              []string{IstiodSAN},
		AuthorityKeyId:        r.Cert.SubjectKeyId,
	}
	cert, err := sign(rnd, tmpl, r.Cert, key.Public(), r.key)
	if err != nil {
		return nil, err
	}
	kp, err := keyPEM(key)
	if err != nil {
		return nil, err
	}
	return &Intermediate{Cluster: cluster, Cert: cert, keyPEM: kp}, nil
}

// Files returns the four files istiod reads from the cacerts Secret, by
// name: CACertFile, CAKeyFile, RootCertFile and CertChainFile. root must be
// the Root that signed i. The map holds new slices on every call.
func (i *Intermediate) Files(root *Root) map[string][]byte {
	ca := certPEM(i.Cert)
	rootPEM := root.CertPEM()
	return map[string][]byte{
		CACertFile:    ca,
		CAKeyFile:     append([]byte(nil), i.keyPEM...),
		RootCertFile:  rootPEM,
		CertChainFile: append(append([]byte(nil), ca...), rootPEM...),
	}
}

// String summarizes the intermediate certificate, without key material.
func (i Intermediate) String() string {
	return "intermediate CA of cluster " + i.Cluster + " " + summary(i.Cert)
}

// Format prints String for every verb, so that no verb prints the key.
func (i Intermediate) Format(f fmt.State, _ rune) {
	io.WriteString(f, i.String())
}

// algorithmOf returns the key algorithm, RSA or ECDSA, of c's key.
func algorithmOf(c *x509.Certificate) (string, error) {
	switch c.PublicKeyAlgorithm {
	case x509.RSA:
		return RSA, nil
	case x509.ECDSA:
		return ECDSA, nil
	}
	return "", fmt.Errorf("the root CA has a %s key: name the key algorithm, %q or %q", c.PublicKeyAlgorithm, RSA, ECDSA)
}

// checkCluster checks that name is a DNS-1123 label, as the name of a
// cluster must be: it names the cluster's directory and its certificate.
func checkCluster(name string) error {
	ok := name != "" && len(name) <= 63 && name[0] != '-' && name[len(name)-1] != '-'
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return fmt.Errorf("cluster %q: not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)", name)
	}
	return nil
}
