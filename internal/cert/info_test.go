package cert

import (
	"crypto/x509"
	"encoding/json"
	"math/big"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDescribe(t *testing.T) {
	root := newTestRoot(t)
	inter, err := root.Intermediate("east", IntermediateOptions{Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	spiffe, _ := url.Parse("spiffe://cluster.local/ns/a/sa/b")
	other := &x509.Certificate{
		SerialNumber:   big.NewInt(255),
		DNSNames:       []string{"a.example"},
		IPAddresses:    []net.IP{net.ParseIP("10.0.0.1")},
		URIs:           []*url.URL{spiffe},
		EmailAddresses: []string{"a@example.com"},
		NotBefore:      t0.In(time.FixedZone("x", 3600)),
		NotAfter:       t0.Add(time.Hour),
	}
	tests := []struct {
		name string
		cert *x509.Certificate
		want Info
	}{
		{
			name: "root",
			cert: root.Cert,
			want: Info{
				Subject: "CN=Root CA,O=Istio", Issuer: "CN=Root CA,O=Istio",
				NotBefore: t0, NotAfter: t0.Add(days(3650)),
				KeyAlgorithm: "ECDSA", KeySize: 256, Serial: root.Cert.SerialNumber.Text(16), IsCA: true,
			},
		},
		{
			name: "intermediate",
			cert: inter.Cert,
			want: Info{
				Subject: "CN=Intermediate CA,O=Istio,L=east", Issuer: "CN=Root CA,O=Istio",
				SANs:      []string{"istiod.istio-system.svc"},
				NotBefore: t0, NotAfter: t0.Add(days(730)),
				KeyAlgorithm: "ECDSA", KeySize: 256, Serial: inter.Cert.SerialNumber.Text(16), IsCA: true,
			},
		},
		{
			name: "every kind of SAN, times in UTC",
			cert: other,
			want: Info{
				SANs:      []string{"a.example", "10.0.0.1", "spiffe://cluster.local/ns/a/sa/b", "a@example.com"},
				NotBefore: t0, NotAfter: t0.Add(time.Hour),
				KeyAlgorithm: "unknown", Serial: "ff",
			},
		},
		{name: "nil", cert: nil, want: Info{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Describe(tt.cert)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Describe (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInfoString(t *testing.T) {
	info := Info{
		Cluster: "east", Subject: "CN=Intermediate CA,O=Istio,L=east", Issuer: "CN=Root CA,O=Istio",
		NotBefore: t0, NotAfter: t0.Add(days(730)), KeyAlgorithm: "RSA", KeySize: 4096, Serial: "ab",
	}
	want := "cluster east: CN=Intermediate CA,O=Istio,L=east (issuer CN=Root CA,O=Istio; RSA 4096; serial ab; valid 2026-03-04T05:06:07Z to 2028-03-03T05:06:07Z)"
	if diff := cmp.Diff(want, info.String()); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}
	data, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"cluster":"east","subject":"CN=Intermediate CA,O=Istio,L=east","issuer":"CN=Root CA,O=Istio",` +
		`"notBefore":"2026-03-04T05:06:07Z","notAfter":"2028-03-03T05:06:07Z","keyAlgorithm":"RSA","keySize":4096,"serial":"ab","isCA":false}`
	if diff := cmp.Diff(wantJSON, string(data)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func TestExpiresWithin(t *testing.T) {
	c := &x509.Certificate{NotBefore: t0, NotAfter: t0.Add(days(730))}
	month := days(30)
	tests := []struct {
		name string
		cert *x509.Certificate
		d    time.Duration
		now  time.Time
		want bool
	}{
		{"just issued", c, month, t0, false},
		{"31 days left", c, month, c.NotAfter.Add(-days(31)), false},
		{"exactly 30 days left", c, month, c.NotAfter.Add(-month), false},
		{"a second under 30 days left", c, month, c.NotAfter.Add(-month + time.Second), true},
		{"at the last valid second", c, 0, c.NotAfter, false},
		{"expired", c, 0, c.NotAfter.Add(time.Second), true},
		{"expired long ago", c, month, c.NotAfter.Add(days(400)), true},
		{"nil certificate", nil, month, t0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExpiresWithin(tt.cert, tt.d, tt.now); got != tt.want {
				t.Errorf("ExpiresWithin(%s, %s) = %t, want %t", tt.d, tt.now, got, tt.want)
			}
		})
	}
}
