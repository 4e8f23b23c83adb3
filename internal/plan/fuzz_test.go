package plan

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecode checks that Decode and Normalize never panic, that errors are
// one line and start with the source, and that a normalized plan survives
// EncodeJSON, Decode and Normalize unchanged and re-encodes to the same
// bytes.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob("testdata/*.*")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"{",
		"null",
		"[]",
		"- a\n",
		"a: b: c",
		"\x00\xff\xfe",
		header + "}",
		header + "} {}",
		header + `, "clusters": [{"name": "a", "batches": [{"name": "b", "bundles": [{"name": "x", "manifests": [[]]}]}]}]}`,
		header + `, "clusters": [{"name": "a", "target": "t", "context": "c", "kubeVersion": "v1.2.3", "batches": [{"name": "b", "bundles": [` +
			`{"name": "x", "namespace": "n", "dependsOn": ["y"], "chart": {"repo": "./c", "name": "c", "values": {"n": 1.0, "s": "<&>"}}},` +
			`{"name": "y", "namespace": "n", "manifests": [{"apiVersion": "v1", "kind": "K", "metadata": {"name": "m"}}]}]}]}]}`,
		header + `, "clusters": [{"name": "a", "target": "t", "context": "c", "kubeVersion": "1.2.3", "batches": [{"name": "b", "bundles": [` +
			`{"name": "x", "namespace": "n", "generate": {"istioCACerts": {"cluster": "a"}}},` +
			`{"name": "y", "namespace": "n", "sensitive": true, "dependsOn": ["x"], "manifests": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}]}]}]}]}`,
		"apiVersion: wookie.dev/v1alpha1\nkind: Plan\nclusters:\n- name: a\n  batches:\n  - name: b\n    bundles:\n    - name: x\n      dependsOn: [x]\n",
		header + `, "clusters": [{"name": "a", "target": "t", "context": "k3d-a", "kubeVersion": "1.31.4", "batches": [], "k3d": {"name": "a", "servers": 1, "agents": 0, "image": "k3s", "apiPort": 6550,` +
			`"ports": [{"name": "https", "hostPort": 8443, "containerPort": 443}, {"name": "http", "hostPort": 8080, "containerPort": 80}], "k3sArgs": [{"arg": "--x", "nodeFilters": ["server:*"]}], "registries": {"use": ["b:1", "a:1"], "config": "m: {}"}}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const source = "fuzz.in"
		p, err := Decode(data, source)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, source) {
				t.Fatalf("Decode error is not one line starting with the source: %q", msg)
			}
			if p != nil {
				t.Fatal("Decode returned a plan and an error")
			}
			return
		}
		if err := Normalize(p); err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("Normalize returned %T, want non-empty Errors: %v", err, err)
			}
			return
		}
		js, err := EncodeJSON(p)
		if err != nil {
			t.Fatalf("EncodeJSON of a normalized plan: %v", err)
		}
		back, err := Decode(js, "fuzz.json")
		if err != nil {
			t.Fatalf("Decode(EncodeJSON(p)): %v\n%s", err, js)
		}
		if err := Normalize(back); err != nil {
			t.Fatalf("Normalize(Decode(EncodeJSON(p))): %v\n%s", err, js)
		}
		if diff := cmp.Diff(p, back); diff != "" {
			t.Fatalf("JSON round trip (-want +got):\n%s", diff)
		}
		again, err := EncodeJSON(back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(js, again) {
			t.Fatalf("re-encoding differs:\n%s\n%s", js, again)
		}
		// The YAML form must encode and decode to a valid plan too; its
		// numbers may be spelt differently (see EncodeYAML).
		y, err := EncodeYAML(p)
		if err != nil {
			t.Fatalf("EncodeYAML of a normalized plan: %v", err)
		}
		fromYAML, err := Decode(y, "fuzz.yaml")
		if err != nil {
			t.Fatalf("Decode(EncodeYAML(p)): %v\n%s", err, y)
		}
		if err := Normalize(fromYAML); err != nil {
			t.Fatalf("Normalize(Decode(EncodeYAML(p))): %v\n%s", err, y)
		}
	})
}
