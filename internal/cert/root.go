package cert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"time"
)

// Key algorithms a RootOptions or IntermediateOptions can name.
const (
	// RSA is an RSA 4096-bit key, the default, as Istio's tools/certs makes.
	RSA = "rsa"
	// ECDSA is an ECDSA key on the NIST P-256 curve.
	ECDSA = "ecdsa"
)

// rsaBits is the size of the RSA keys this package makes.
const rsaBits = 4096

// Default validity periods, the ROOTCA_DAYS and INTERMEDIATE_DAYS of Istio's
// tools/certs Makefile.
const (
	// DefaultRootValidity is how long a root CA is valid: 3650 days.
	DefaultRootValidity = 3650 * 24 * time.Hour
	// DefaultIntermediateValidity is how long an intermediate CA is valid:
	// 730 days.
	DefaultIntermediateValidity = 730 * 24 * time.Hour
)

// organization is the subject organization of every certificate, as in
// Istio's tools/certs.
const organization = "Istio"

// RootOptions says how NewRoot makes a root CA. The zero value gives an RSA
// 4096 root valid for DefaultRootValidity from the current time.
type RootOptions struct {
	// KeyAlgorithm is RSA or ECDSA; empty means RSA.
	KeyAlgorithm string
	// Validity is how long the root is valid; zero means
	// DefaultRootValidity.
	Validity time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of serial numbers and signatures; nil means
	// crypto/rand.Reader.
	Rand io.Reader
}

// Root is a root CA: its certificate and private key. Its String and Format
// methods print a summary of the certificate and never the key.
type Root struct {
	// Cert is the self-signed root certificate.
	Cert *x509.Certificate
	// key is the private key. It is never printed.
	key crypto.Signer
}

// NewRoot makes a self-signed root CA with subject O=Istio, CN=Root CA.
func NewRoot(opts RootOptions) (*Root, error) {
	alg := opts.KeyAlgorithm
	if alg == "" {
		alg = RSA
	}
	validity, err := validityOr(opts.Validity, DefaultRootValidity)
	if err != nil {
		return nil, fmt.Errorf("root CA: %w", err)
	}
	rnd := randOr(opts.Rand)
	key, err := generateKey(alg, rnd)
	if err != nil {
		return nil, fmt.Errorf("root CA: %w", err)
	}
	serial, err := randomSerial(rnd)
	if err != nil {
		return nil, fmt.Errorf("root CA: %w", err)
	}
	now := nowOr(opts.Now)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{organization}, CommonName: "Root CA"},
		NotBefore:             now,
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	cert, err := sign(rnd, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("root CA: %w", err)
	}
	return &Root{Cert: cert, key: key}, nil
}

// CertPEM returns the root certificate as PEM, the content of
// root-cert.pem.
func (r *Root) CertPEM() []byte {
	return certPEM(r.Cert)
}

// String summarizes the root certificate, without key material.
func (r Root) String() string {
	return "root CA " + summary(r.Cert)
}

// Format prints String for every verb, so that no verb prints the key.
func (r Root) Format(f fmt.State, _ rune) {
	io.WriteString(f, r.String())
}

// generateKey makes a key of the algorithm alg, RSA or ECDSA.
func generateKey(alg string, rnd io.Reader) (crypto.Signer, error) {
	switch alg {
	case RSA:
		key, err := rsa.GenerateKey(rnd, rsaBits)
		if err != nil {
			return nil, fmt.Errorf("generate RSA key: %w", err)
		}
		return key, nil
	case ECDSA:
		key, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
		if err != nil {
			return nil, fmt.Errorf("generate ECDSA key: %w", err)
		}
		return key, nil
	}
	return nil, fmt.Errorf("key algorithm %q: want %q or %q", alg, RSA, ECDSA)
}

// randomSerial returns a random serial number of up to 128 bits, never
// zero.
func randomSerial(rnd io.Reader) (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	limit.Sub(limit, big.NewInt(1))
	n, err := rand.Int(rnd, limit)
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// sign creates the certificate tmpl for pub, signed by parent with key, and
// parses it back. x509.CreateCertificate derives the SubjectKeyId of a CA
// from its public key and the AuthorityKeyId from the parent's
// SubjectKeyId.
func sign(rnd io.Reader, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rnd, tmpl, parent, pub, key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse signed certificate: %w", err)
	}
	return cert, nil
}

// validityOr checks a validity period, replacing zero by def.
func validityOr(d, def time.Duration) (time.Duration, error) {
	switch {
	case d == 0:
		return def, nil
	case d < time.Second:
		return 0, fmt.Errorf("validity %s: must be at least one second", d)
	}
	return d, nil
}

// nowOr returns the time from clock, or time.Now when clock is nil, in UTC
// and to the second as certificates hold it.
func nowOr(clock func() time.Time) time.Time {
	if clock == nil {
		clock = time.Now
	}
	return clock().UTC().Truncate(time.Second)
}

// randOr returns rnd, or crypto/rand.Reader when rnd is nil.
func randOr(rnd io.Reader) io.Reader {
	if rnd == nil {
		return rand.Reader
	}
	return rnd
}
