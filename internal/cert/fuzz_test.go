package cert

import (
	"strings"
	"testing"
)

// FuzzLoadPEM feeds arbitrary bytes to the parsers and checks behind
// Store.LoadRoot and Store.LoadIntermediate. They must never panic, must
// fail with a one-line error naming the file, and must accept the fuzzed
// files only when they are the real ones.
func FuzzLoadPEM(f *testing.F) {
	root, err := NewRoot(RootOptions{KeyAlgorithm: ECDSA, Now: at(t0)})
	if err != nil {
		f.Fatal(err)
	}
	inter, err := root.Intermediate("east", IntermediateOptions{Now: at(t0)})
	if err != nil {
		f.Fatal(err)
	}
	files := inter.Files(root)
	ca, key, rootPEM, chain := files[CACertFile], files[CAKeyFile], files[RootCertFile], files[CertChainFile]
	f.Add(ca, key, rootPEM, chain)
	f.Add(rootPEM, key, ca, append(append([]byte(nil), rootPEM...), ca...))
	f.Add(ca[:len(ca)/2], key[:len(key)/3], rootPEM[1:], chain[:len(chain)-40])
	f.Add([]byte(""), []byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"), []byte("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"), []byte("\x00\xff"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\nAA==\n-----END CERTIFICATE-----\n"),
		[]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n"),
		[]byte("-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n"), []byte("-----BEGIN CERTIFICATE-----"))

	f.Fuzz(func(t *testing.T, caData, keyData, rootData, chainData []byte) {
		oneLine := func(what string, err error, name string) {
			if err == nil {
				return
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, name) {
				t.Fatalf("%s: error is not one line naming %s: %q", what, name, msg)
			}
		}
		_, err := parseCertsPEM(chainData, "chain.pem")
		oneLine("parseCertsPEM", err, "chain.pem")
		_, err = parseKeyPEM(keyData, "key.pem")
		oneLine("parseKeyPEM", err, "key.pem")
		_, err = parseRoot(rootData, keyData, "root.pem", "key.pem")
		oneLine("parseRoot", err, ".pem")

		got := map[string][]byte{CACertFile: caData, CAKeyFile: keyData, RootCertFile: rootData, CertChainFile: chainData}
		c, err := verifyIntermediate(got, "dir", root.Cert, "root.pem", t0)
		oneLine("verifyIntermediate", err, "dir/")
		if err == nil && !c.Equal(inter.Cert) {
			t.Fatalf("verifyIntermediate accepted a certificate that is not the intermediate")
		}
	})
}
