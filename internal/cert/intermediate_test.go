package cert

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIntermediate(t *testing.T) {
	root := newTestRoot(t)
	later := t0.Add(days(100))
	tests := []struct {
		name    string
		cluster string
		opts    IntermediateOptions
		want    facts
	}{
		{
			name:    "defaults",
			cluster: "east",
			opts:    IntermediateOptions{Now: at(t0)},
			want: facts{
				Subject: "CN=Intermediate CA,O=Istio,L=east", Issuer: "CN=Root CA,O=Istio",
				IsCA: true, BasicConstraintsValid: true, MaxPathLen: 0, MaxPathLenZero: true, KeyUsage: caUsage,
				DNSNames: []string{"istiod.istio-system.svc"}, NotBefore: t0, NotAfter: t0.Add(days(730)),
				Key: "ECDSA P-256", HasSubjectKeyID: true,
			},
		},
		{
			name:    "later with validity",
			cluster: "west-2",
			opts:    IntermediateOptions{Now: at(later), Validity: days(30), KeyAlgorithm: ECDSA},
			want: facts{
				Subject: "CN=Intermediate CA,O=Istio,L=west-2", Issuer: "CN=Root CA,O=Istio",
				IsCA: true, BasicConstraintsValid: true, MaxPathLen: 0, MaxPathLenZero: true, KeyUsage: caUsage,
				DNSNames: []string{"istiod.istio-system.svc"}, NotBefore: later, NotAfter: later.Add(days(30)),
				Key: "ECDSA P-256", HasSubjectKeyID: true,
			},
		},
		{
			name:    "longest cluster name",
			cluster: strings.Repeat("a", 62) + "1",
			opts:    IntermediateOptions{Now: at(t0)},
			want: facts{
				Subject: "CN=Intermediate CA,O=Istio,L=" + strings.Repeat("a", 62) + "1", Issuer: "CN=Root CA,O=Istio",
				IsCA: true, BasicConstraintsValid: true, MaxPathLen: 0, MaxPathLenZero: true, KeyUsage: caUsage,
				DNSNames: []string{"istiod.istio-system.svc"}, NotBefore: t0, NotAfter: t0.Add(days(730)),
				Key: "ECDSA P-256", HasSubjectKeyID: true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inter, err := root.Intermediate(tt.cluster, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if inter.Cluster != tt.cluster {
				t.Errorf("Cluster = %q, want %q", inter.Cluster, tt.cluster)
			}
			c := inter.Cert
			if diff := cmp.Diff(tt.want, factsOf(c)); diff != "" {
				t.Errorf("intermediate certificate (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{tt.cluster}, c.Subject.Locality); diff != "" {
				t.Errorf("L (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"Istio"}, c.Subject.Organization); diff != "" {
				t.Errorf("O (-want +got):\n%s", diff)
			}
			if !bytes.Equal(c.AuthorityKeyId, root.Cert.SubjectKeyId) {
				t.Errorf("AuthorityKeyId %x is not the root's SubjectKeyId %x", c.AuthorityKeyId, root.Cert.SubjectKeyId)
			}
			if c.SerialNumber.Cmp(root.Cert.SerialNumber) == 0 {
				t.Error("intermediate has the root's serial number")
			}
			// The validity window, at its edges.
			for _, check := range []struct {
				at time.Time
				ok bool
			}{
				{tt.want.NotBefore.Add(-time.Second), false},
				{tt.want.NotBefore, true},
				{tt.want.NotAfter, true},
				{tt.want.NotAfter.Add(time.Second), false},
			} {
				if err := verifyAt(c, root.Cert, check.at); (err == nil) != check.ok {
					t.Errorf("verify at %s: error %v, want ok=%t", check.at, err, check.ok)
				}
			}
		})
	}
}

func TestIntermediateErrors(t *testing.T) {
	root := newTestRoot(t)
	rootEnd := root.Cert.NotAfter
	tests := []struct {
		name    string
		root    *Root
		cluster string
		opts    IntermediateOptions
		want    string
	}{
		{name: "empty name", cluster: "", want: `cluster "": not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)`},
		{name: "capitals", cluster: "East", want: `cluster "East": not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)`},
		{name: "leading dash", cluster: "-east", want: `cluster "-east": not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)`},
		{name: "trailing dash", cluster: "east-", want: `cluster "east-": not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)`},
		{name: "dot", cluster: "east.1", want: `cluster "east.1": not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)`},
		{name: "path", cluster: "../etc", want: `cluster "../etc": not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)`},
		{name: "64 characters", cluster: strings.Repeat("a", 64), want: `cluster "` + strings.Repeat("a", 64) + `": not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)`},
		{name: "unknown algorithm", cluster: "east", opts: IntermediateOptions{KeyAlgorithm: "dsa", Now: at(t0)}, want: `cluster east: intermediate CA: key algorithm "dsa": want "rsa" or "ecdsa"`},
		{name: "negative validity", cluster: "east", opts: IntermediateOptions{Validity: -1, Now: at(t0)}, want: `cluster east: intermediate CA: validity -1ns: must be at least one second`},
		{
			name: "outlives the root", cluster: "east",
			opts: IntermediateOptions{Now: at(rootEnd.Add(-days(700)))},
			want: "cluster east: intermediate CA: validity 17520h0m0s would end at 2036-03-31T05:06:07Z, after the root CA (2036-03-01T05:06:07Z)",
		},
		{
			name: "root expired", cluster: "east",
			opts: IntermediateOptions{Now: at(rootEnd.Add(time.Second))},
			want: "cluster east: intermediate CA: the root CA is valid from 2026-03-04T05:06:07Z to 2036-03-01T05:06:07Z, not now (2036-03-01T05:06:08Z)",
		},
		{
			name: "root not yet valid", cluster: "east",
			opts: IntermediateOptions{Now: at(t0.Add(-time.Second))},
			want: "cluster east: intermediate CA: the root CA is valid from 2026-03-04T05:06:07Z to 2036-03-01T05:06:07Z, not now (2026-03-04T05:06:06Z)",
		},
		{name: "root without key", root: &Root{Cert: root.Cert}, cluster: "east", want: "cluster east: intermediate CA: the root CA has no certificate or no private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.root
			if r == nil {
				r = root
			}
			inter, err := r.Intermediate(tt.cluster, tt.opts)
			if err == nil {
				t.Fatalf("Intermediate = %v, want error", inter)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFiles(t *testing.T) {
	root := newTestRoot(t)
	inter, err := root.Intermediate("east", IntermediateOptions{Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	files := inter.Files(root)
	names := slices.Sorted(maps.Keys(files))
	if diff := cmp.Diff([]string{"ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"}, names); diff != "" {
		t.Errorf("file names (-want +got):\n%s", diff)
	}
	ca, err := parseCertPEM(files[CACertFile], CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Equal(inter.Cert) {
		t.Error("ca-cert.pem is not the intermediate certificate")
	}
	r, err := parseCertPEM(files[RootCertFile], RootCertFile)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Equal(root.Cert) {
		t.Error("root-cert.pem is not the root certificate")
	}
	block, rest := pem.Decode(files[CAKeyFile])
	if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) > 0 {
		t.Fatalf("ca-key.pem is not one PEM PRIVATE KEY block")
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		t.Errorf("ca-key.pem is not PKCS#8: %v", err)
	}
	key, err := parseKeyPEM(files[CAKeyFile], CAKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := matchKey(ca, key, CACertFile, CAKeyFile); err != nil {
		t.Error(err)
	}
	wantChain := append(append([]byte(nil), files[CACertFile]...), files[RootCertFile]...)
	if diff := cmp.Diff(string(wantChain), string(files[CertChainFile])); diff != "" {
		t.Errorf("cert-chain.pem is not ca-cert.pem then root-cert.pem (-want +got):\n%s", diff)
	}
	// Files returns fresh slices: changing one result leaves the next alone.
	files[CAKeyFile][0] = 'X'
	files[CertChainFile][0] = 'X'
	again := inter.Files(root)
	if again[CAKeyFile][0] != '-' || again[CACertFile][0] != '-' {
		t.Error("Files shares its slices between calls")
	}
}
