package cert

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// t0 is the fixed clock of the tests.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// at returns a clock that always reads t.
func at(t time.Time) func() time.Time {
	return func() time.Time { return t }
}

// days is n days as a duration.
func days(n int) time.Duration {
	return time.Duration(n) * 24 * time.Hour
}

// newTestRoot makes an ECDSA root CA at t0.
func newTestRoot(t testing.TB) *Root {
	t.Helper()
	root, err := NewRoot(RootOptions{KeyAlgorithm: ECDSA, Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// facts are the properties of a certificate the tests compare.
type facts struct {
	Subject, Issuer       string
	IsCA                  bool
	BasicConstraintsValid bool
	MaxPathLen            int
	MaxPathLenZero        bool
	KeyUsage              x509.KeyUsage
	ExtKeyUsage           []x509.ExtKeyUsage
	DNSNames              []string
	NotBefore, NotAfter   time.Time
	Key                   string
	HasSubjectKeyID       bool
}

// factsOf returns the facts of c.
func factsOf(c *x509.Certificate) facts {
	f := facts{
		Subject:               c.Subject.String(),
		Issuer:                c.Issuer.String(),
		IsCA:                  c.IsCA,
		BasicConstraintsValid: c.BasicConstraintsValid,
		MaxPathLen:            c.MaxPathLen,
		MaxPathLenZero:        c.MaxPathLenZero,
		KeyUsage:              c.KeyUsage,
		ExtKeyUsage:           c.ExtKeyUsage,
		DNSNames:              c.DNSNames,
		NotBefore:             c.NotBefore,
		NotAfter:              c.NotAfter,
		HasSubjectKeyID:       len(c.SubjectKeyId) > 0,
	}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		f.Key = fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		f.Key = "ECDSA " + k.Curve.Params().Name
	}
	return f
}

// verifyAt verifies c against root at now with x509.Verify.
func verifyAt(c, root *x509.Certificate, now time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(root)
	_, err := c.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

const caUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature

func TestNewRoot(t *testing.T) {
	tests := []struct {
		name string
		opts RootOptions
		want facts
	}{
		{
			name: "defaults with ECDSA",
			opts: RootOptions{KeyAlgorithm: ECDSA, Now: at(t0)},
			want: facts{
				Subject: "CN=Root CA,O=Istio", Issuer: "CN=Root CA,O=Istio",
				IsCA: true, BasicConstraintsValid: true, MaxPathLen: -1, KeyUsage: caUsage,
				NotBefore: t0, NotAfter: t0.Add(days(3650)), Key: "ECDSA P-256", HasSubjectKeyID: true,
			},
		},
		{
			name: "validity and sub-second clock",
			opts: RootOptions{KeyAlgorithm: ECDSA, Now: at(t0.Add(999 * time.Millisecond).In(time.FixedZone("x", 3600))), Validity: 48 * time.Hour},
			want: facts{
				Subject: "CN=Root CA,O=Istio", Issuer: "CN=Root CA,O=Istio",
				IsCA: true, BasicConstraintsValid: true, MaxPathLen: -1, KeyUsage: caUsage,
				NotBefore: t0, NotAfter: t0.Add(48 * time.Hour), Key: "ECDSA P-256", HasSubjectKeyID: true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := NewRoot(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, factsOf(root.Cert)); diff != "" {
				t.Errorf("root certificate (-want +got):\n%s", diff)
			}
			if err := verifyAt(root.Cert, root.Cert, tt.want.NotBefore); err != nil {
				t.Errorf("root does not verify against itself: %v", err)
			}
			if s := root.Cert.SerialNumber; s.Sign() <= 0 || s.BitLen() > 128 {
				t.Errorf("serial %x: want 1 to 128 bits, positive", s)
			}
		})
	}
}

func TestNewRootErrors(t *testing.T) {
	tests := []struct {
		name string
		opts RootOptions
		want string
	}{
		{"algorithm in capitals", RootOptions{KeyAlgorithm: "RSA"}, `root CA: key algorithm "RSA": want "rsa" or "ecdsa"`},
		{"unknown algorithm", RootOptions{KeyAlgorithm: "ed25519"}, `root CA: key algorithm "ed25519": want "rsa" or "ecdsa"`},
		{"negative validity", RootOptions{KeyAlgorithm: ECDSA, Validity: -time.Hour}, "root CA: validity -1h0m0s: must be at least one second"},
		{"sub-second validity", RootOptions{KeyAlgorithm: ECDSA, Validity: time.Millisecond}, "root CA: validity 1ms: must be at least one second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := NewRoot(tt.opts)
			if err == nil {
				t.Fatalf("NewRoot = %v, want error", root)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRSA is the one test that makes RSA 4096 keys, which takes seconds:
// the default root, an intermediate that follows it and one that does not.
func TestRSA(t *testing.T) {
	t.Parallel()
	root, err := NewRoot(RootOptions{Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		alg     string
		wantKey string
	}{
		{"follows the root", "", "RSA 4096"},
		{"overridden", ECDSA, "ECDSA P-256"},
	}
	if got := factsOf(root.Cert).Key; got != "RSA 4096" {
		t.Errorf("root key = %s, want RSA 4096", got)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inter, err := root.Intermediate("east", IntermediateOptions{KeyAlgorithm: tt.alg, Now: at(t0)})
			if err != nil {
				t.Fatal(err)
			}
			if got := factsOf(inter.Cert).Key; got != tt.wantKey {
				t.Errorf("intermediate key = %s, want %s", got, tt.wantKey)
			}
			if err := verifyAt(inter.Cert, root.Cert, t0); err != nil {
				t.Error(err)
			}
			files := inter.Files(root)
			if _, err := parseKeyPEM(files[CAKeyFile], CAKeyFile); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestSerial(t *testing.T) {
	seed := [32]byte{1, 2, 3}
	serial := func(rnd io.Reader) string {
		root, err := NewRoot(RootOptions{KeyAlgorithm: ECDSA, Now: at(t0), Rand: rnd})
		if err != nil {
			t.Fatal(err)
		}
		return root.Cert.SerialNumber.Text(16)
	}
	a, b := serial(rand.NewChaCha8(seed)), serial(rand.NewChaCha8(seed))
	if a != b {
		t.Errorf("serials from the same random source differ: %s and %s", a, b)
	}
	if c := serial(nil); c == a {
		t.Errorf("serial from crypto/rand equals the seeded one: %s", c)
	}
}

// TestFormatHidesKeys prints a Root and an Intermediate with every verb and
// expects the summary of the certificate and nothing else.
func TestFormatHidesKeys(t *testing.T) {
	root := newTestRoot(t)
	inter, err := root.Intermediate("east", IntermediateOptions{Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	rootKey, err := keyPEM(root.key)
	if err != nil {
		t.Fatal(err)
	}
	values := []struct {
		name string
		v    any
		want string
	}{
		{"*Root", root, root.String()},
		{"Root", *root, root.String()},
		{"*Intermediate", inter, inter.String()},
		{"Intermediate", *inter, inter.String()},
	}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
			got := fmt.Sprintf(verb, v.v)
			if got != v.want {
				t.Errorf("%s printed with %s = %q, want %q", v.name, verb, got, v.want)
			}
		}
		nested := fmt.Sprintf("%+v", struct{ V any }{v.v})
		if nested != "{V:"+v.want+"}" {
			t.Errorf("%s printed inside a struct = %q", v.name, nested)
		}
	}
	for _, s := range []string{root.String(), inter.String()} {
		if strings.Contains(s, "PRIVATE") || strings.Contains(s, string(rootKey[30:60])) || strings.Contains(s, string(inter.keyPEM[30:60])) {
			t.Errorf("String prints key material: %s", s)
		}
	}
	want := "root CA CN=Root CA,O=Istio (ECDSA 256; serial " + root.Cert.SerialNumber.Text(16) +
		"; valid 2026-03-04T05:06:07Z to 2036-03-01T05:06:07Z)"
	if diff := cmp.Diff(want, root.String()); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}
}
