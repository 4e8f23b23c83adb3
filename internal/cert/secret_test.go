package cert

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCacertsSecret(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name  string
		files map[string][]byte
		data  map[string]any
	}{
		{
			name: "four files",
			files: map[string][]byte{
				CACertFile: []byte("ca"), CAKeyFile: []byte("key"), RootCertFile: []byte("root"), CertChainFile: []byte("chain"),
			},
			data: map[string]any{
				"ca-cert.pem": b64([]byte("ca")), "ca-key.pem": b64([]byte("key")),
				"root-cert.pem": b64([]byte("root")), "cert-chain.pem": b64([]byte("chain")),
			},
		},
		{
			name:  "other files left out, missing ones empty",
			files: map[string][]byte{CACertFile: []byte("ca"), RootKeyFile: []byte("root key"), "notes": []byte("x")},
			data: map[string]any{
				"ca-cert.pem": b64([]byte("ca")), "ca-key.pem": "", "root-cert.pem": "", "cert-chain.pem": "",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := map[string]any{
				"apiVersion": "v1",
				"kind":       "Secret",
				"metadata":   map[string]any{"name": "cacerts", "namespace": "istio-system"},
				"type":       "Opaque",
				"data":       tt.data,
			}
			got := CacertsSecret(tt.files)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CacertsSecret (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCacertsSecretDeterministic(t *testing.T) {
	root := newTestRoot(t)
	inter, err := root.Intermediate("east", IntermediateOptions{Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	files := inter.Files(root)
	first, err := json.Marshal(CacertsSecret(files))
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		again, err := json.Marshal(CacertsSecret(inter.Files(root)))
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(first) {
			t.Fatalf("marshalled Secret changed:\n%s\n%s", first, again)
		}
	}
	// The data decodes back to the files.
	var s struct {
		Data map[string][]byte `json:"data"`
	}
	if err := json.Unmarshal(first, &s); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(files, s.Data); diff != "" {
		t.Errorf("Secret data (-want +got):\n%s", diff)
	}
}
