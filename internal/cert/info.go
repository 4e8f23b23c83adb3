package cert

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"
)

// Info describes one certificate for `wookie certs show`. It holds only
// public facts of the certificate, never key material, and its JSON form is
// stable.
type Info struct {
	// Cluster is the cluster whose intermediate CA this is; empty for the
	// root CA.
	Cluster string `json:"cluster,omitempty"`
	// File is the path the certificate was read from, if any.
	File string `json:"file,omitempty"`
	// Subject is the subject's distinguished name, as RFC 2253 writes it.
	Subject string `json:"subject"`
	// Issuer is the issuer's distinguished name, as RFC 2253 writes it.
	Issuer string `json:"issuer"`
	// SANs are the subject alternative names: DNS names, IP addresses,
	// URIs and email addresses, in that order.
	SANs []string `json:"sans,omitempty"`
	// NotBefore is the start of the validity period.
	NotBefore time.Time `json:"notBefore"`
	// NotAfter is the end of the validity period.
	NotAfter time.Time `json:"notAfter"`
	// KeyAlgorithm is the public key's algorithm: RSA, ECDSA, Ed25519 or
	// unknown.
	KeyAlgorithm string `json:"keyAlgorithm"`
	// KeySize is the size of the public key in bits: the modulus for RSA,
	// the curve for ECDSA.
	KeySize int `json:"keySize"`
	// Serial is the serial number in lowercase hexadecimal.
	Serial string `json:"serial"`
	// IsCA reports whether the certificate is a CA.
	IsCA bool `json:"isCA"`
}

// Describe returns the Info of c; Cluster and File are left for the caller.
// A nil c gives the zero Info.
func Describe(c *x509.Certificate) Info {
	if c == nil {
		return Info{}
	}
	info := Info{
		Subject:      c.Subject.String(),
		Issuer:       c.Issuer.String(),
		NotBefore:    c.NotBefore.UTC(),
		NotAfter:     c.NotAfter.UTC(),
		KeyAlgorithm: c.PublicKeyAlgorithm.String(),
		KeySize:      keySize(c.PublicKey),
		IsCA:         c.IsCA,
	}
	if c.PublicKeyAlgorithm == x509.UnknownPublicKeyAlgorithm {
		info.KeyAlgorithm = "unknown"
	}
	if c.SerialNumber != nil {
		info.Serial = c.SerialNumber.Text(16)
	}
	info.SANs = append(info.SANs, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		info.SANs = append(info.SANs, ip.String())
	}
	for _, u := range c.URIs {
		info.SANs = append(info.SANs, u.String())
	}
	info.SANs = append(info.SANs, c.EmailAddresses...)
	return info
}

// String summarizes i on one line.
func (i Info) String() string {
	s := fmt.Sprintf("%s (issuer %s; %s %d; serial %s; valid %s to %s)",
		i.Subject, i.Issuer, i.KeyAlgorithm, i.KeySize, i.Serial,
		i.NotBefore.Format(time.RFC3339), i.NotAfter.Format(time.RFC3339))
	if i.Cluster != "" {
		s = "cluster " + i.Cluster + ": " + s
	}
	return s
}

// ExpiresWithin reports whether c is no longer valid at now+d, that is,
// whether it expires within d of now or has already expired. It serves the
// warning that an intermediate CA expires within 30 days. A nil c does not
// expire.
func ExpiresWithin(c *x509.Certificate, d time.Duration, now time.Time) bool {
	if c == nil {
		return false
	}
	return now.Add(d).After(c.NotAfter)
}

// keySize returns the size in bits of the public key pub, or 0 for a key
// of another type.
func keySize(pub any) int {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return k.N.BitLen()
	case *ecdsa.PublicKey:
		return k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return 8 * ed25519.PublicKeySize
	}
	return 0
}

// summary describes c for the String methods of Root and Intermediate.
func summary(c *x509.Certificate) string {
	if c == nil {
		return "(no certificate)"
	}
	i := Describe(c)
	return fmt.Sprintf("%s (%s %d; serial %s; valid %s to %s)", i.Subject, i.KeyAlgorithm, i.KeySize,
		i.Serial, i.NotBefore.Format(time.RFC3339), i.NotAfter.Format(time.RFC3339))
}
