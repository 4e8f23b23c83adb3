package cert

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// PEM block types.
const (
	certificateType = "CERTIFICATE"
	pkcs8KeyType    = "PRIVATE KEY"
	pkcs1KeyType    = "RSA PRIVATE KEY"
	ecKeyType       = "EC PRIVATE KEY"
	ecParamsType    = "EC PARAMETERS"
)

// certPEM encodes c as a PEM CERTIFICATE block; a nil c gives nil.
func certPEM(c *x509.Certificate) []byte {
	if c == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: certificateType, Bytes: c.Raw})
}

// keyPEM encodes key as a PKCS#8 PEM PRIVATE KEY block.
func keyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pkcs8KeyType, Bytes: der}), nil
}

// pemBlocks decodes the PEM blocks of data, read from name. Text before a
// block is ignored, as openssl writes it; anything but white space after the
// last block is an error.
func pemBlocks(data []byte, name string) ([]*pem.Block, error) {
	var blocks []*pem.Block
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%s: no PEM data", name)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%s: data after the last PEM block", name)
	}
	return blocks, nil
}

// parseCertsPEM parses the certificates of data, read from name: one or
// more CERTIFICATE blocks and nothing else.
func parseCertsPEM(data []byte, name string) ([]*x509.Certificate, error) {
	blocks, err := pemBlocks(data, name)
	if err != nil {
		return nil, err
	}
	certs := make([]*x509.Certificate, 0, len(blocks))
	for i, b := range blocks {
		if b.Type != certificateType {
			return nil, fmt.Errorf("%s: PEM block %d is %q, want %q", name, i+1, b.Type, certificateType)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", name, i+1, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// parseCertPEM parses data, read from name, which must hold exactly one
// certificate.
func parseCertPEM(data []byte, name string) (*x509.Certificate, error) {
	certs, err := parseCertsPEM(data, name)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("%s: holds %d certificates, want 1", name, len(certs))
	}
	return certs[0], nil
}

// parseKeyPEM parses data, read from name, which must hold exactly one RSA
// or ECDSA private key in PKCS#8, PKCS#1 or SEC 1 form, not encrypted. An EC
// PARAMETERS block, as openssl ecparam writes, is skipped. Errors never
// quote the key.
func parseKeyPEM(data []byte, name string) (crypto.Signer, error) {
	blocks, err := pemBlocks(data, name)
	if err != nil {
		return nil, err
	}
	var key crypto.Signer
	for i, b := range blocks {
		if b.Type == ecParamsType {
			continue
		}
		if key != nil {
			return nil, fmt.Errorf("%s: holds more than one private key", name)
		}
		if len(b.Headers) > 0 {
			return nil, fmt.Errorf("%s: PEM block %d has headers; encrypted keys are not supported", name, i+1)
		}
		var parsed any
		var form string
		switch b.Type {
		case pkcs8KeyType:
			parsed, err = x509.ParsePKCS8PrivateKey(b.Bytes)
			form = "PKCS#8"
		case pkcs1KeyType:
			parsed, err = x509.ParsePKCS1PrivateKey(b.Bytes)
			form = "PKCS#1"
		case ecKeyType:
			parsed, err = x509.ParseECPrivateKey(b.Bytes)
			form = "SEC 1"
		default:
			return nil, fmt.Errorf("%s: PEM block %d is %q, want %q", name, i+1, b.Type, pkcs8KeyType)
		}
		if err != nil {
			// The parser's error is left out: it may describe the
			// key's bytes.
			return nil, fmt.Errorf("%s: PEM block %d: malformed %s private key", name, i+1, form)
		}
		switch k := parsed.(type) {
		case *rsa.PrivateKey:
			key = k
		case *ecdsa.PrivateKey:
			key = k
		default:
			return nil, fmt.Errorf("%s: private key of type %T is not supported, want RSA or ECDSA", name, parsed)
		}
	}
	if key == nil {
		return nil, fmt.Errorf("%s: no private key", name)
	}
	return key, nil
}

// matchKey checks that key is the private key of cert. The error names both
// files, keyName first.
func matchKey(cert *x509.Certificate, key crypto.Signer, certName, keyName string) error {
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return fmt.Errorf("%s does not match %s", keyName, certName)
	}
	return nil
}
