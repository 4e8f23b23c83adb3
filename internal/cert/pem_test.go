package cert

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseKeyPEM(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// 1024 bits is enough to test the PKCS#1 form and quick to make.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(typ string, der []byte, headers map[string]string) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Headers: headers, Bytes: der}))
	}
	must := func(der []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	pkcs8EC := enc("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(ecKey)), nil)
	sec1 := enc("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(ecKey)), nil)
	params := enc("EC PARAMETERS", []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}, nil)

	tests := []struct {
		name    string
		data    string
		wantErr string
	}{
		{name: "PKCS#8 ECDSA", data: pkcs8EC},
		{name: "PKCS#1 RSA", data: enc("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), nil)},
		{name: "SEC 1 after EC PARAMETERS, as openssl ecparam writes", data: "text openssl wrote\n" + params + sec1},
		{name: "empty", data: "", wantErr: "k.pem: no PEM data"},
		{name: "encrypted", data: enc("PRIVATE KEY", []byte{1}, map[string]string{"Proc-Type": "4,ENCRYPTED"}), wantErr: "k.pem: PEM block 1 has headers; encrypted keys are not supported"},
		{name: "two keys", data: pkcs8EC + sec1, wantErr: "k.pem: holds more than one private key"},
		{name: "parameters only", data: params, wantErr: "k.pem: no private key"},
		{name: "public key", data: enc("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(ecKey.Public())), nil), wantErr: `k.pem: PEM block 1 is "PUBLIC KEY", want "PRIVATE KEY"`},
		{name: "Ed25519", data: enc("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(edKey)), nil), wantErr: "k.pem: private key of type ed25519.PrivateKey is not supported, want RSA or ECDSA"},
		{name: "bad SEC 1", data: params + enc("EC PRIVATE KEY", []byte{0x30, 0}, nil), wantErr: "k.pem: PEM block 2: malformed SEC 1 private key"},
		{name: "bad DER", data: enc("PRIVATE KEY", []byte("not DER"), nil), wantErr: "k.pem: PEM block 1: malformed PKCS#8 private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := parseKeyPEM([]byte(tt.data), "k.pem")
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if err == nil && key == nil {
				t.Error("no key and no error")
			}
		})
	}
}

// TestErrorsHideKeys checks that no error about a key file quotes it.
func TestErrorsHideKeys(t *testing.T) {
	s := setupStore(t, "east", "west")
	eastKey := readTestFile(t, filepath.Join(s.Dir, "east", CAKeyFile))
	body := strings.Split(string(eastKey), "\n")[1] // a base64 line of the key
	cases := map[string][]byte{
		"mismatch":      eastKey,
		"trailing":      append(append([]byte(nil), eastKey...), 'x'),
		"truncated":     eastKey[:len(eastKey)/2],
		"wrong type":    []byte(strings.Replace(string(eastKey), "PRIVATE KEY", "SECRET", 2)),
		"corrupted DER": []byte(strings.Replace(string(eastKey), body[10:20], "AAAAAAAAAA", 1)),
	}
	for name, data := range cases {
		writeTestFile(t, filepath.Join(s.Dir, "west", CAKeyFile), data)
		_, _, err := s.LoadIntermediate("west")
		if err == nil {
			t.Errorf("%s: loads", name)
			continue
		}
		if strings.Contains(err.Error(), body[:20]) || strings.Contains(err.Error(), "MII") {
			t.Errorf("%s: error quotes the key: %v", name, err)
		}
	}
}
