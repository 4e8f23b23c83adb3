// Package testgen generates configurations for tests and benchmarks.
package testgen

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// LargeConfig returns a configuration that declares a target with n clusters and a project that adds
// bundles bundles to each: a quarter per standard batch, each depending on
// the one before it in its batch, chart and manifest bundles alternating.
func LargeConfig(clusters, bundles int) string {
	var b strings.Builder
	b.WriteString(`package wookie

import "list"

#Targets: many: {
	enable: *false | bool
	count: int
}
if targets.many.enable {
	for i, _ in [for i in list.Range(0, targets.many.count, 1) {i}] {
		clusters: "c\(i)": {target: "many", context: "ctx-\(i)", kubeVersion: "1.31.4"}
	}
}
targets: many: {enable: true, count: ` + fmt.Sprint(clusters) + `}
`)
	batches := []string{"crds", "namespaces", "operators", "services"}
	b.WriteString("for cn, _ in clusters {\n\tclusters: (cn): batches: {\n")
	for i := 0; i < bundles; i++ {
		batch := batches[i*len(batches)/bundles]
		fmt.Fprintf(&b, "\t\t%s: bundles: \"b%d\": {\n\t\t\tnamespace: \"ns%d\"\n", batch, i, i%7)
		if i > 0 && batches[(i-1)*len(batches)/bundles] == batch {
			fmt.Fprintf(&b, "\t\t\tdependsOn: gen: [\"b%d\"]\n", i-1)
		}
		if i%2 == 0 {
			fmt.Fprintf(&b, "\t\t\tchart: {repo: \"https://charts.example.test\", name: \"c%d\", version: \"1.0.%d\", values: {replicas: %d, name: \"b%d\"}}\n", i, i, i%3+1, i)
		} else {
			fmt.Fprintf(&b, "\t\t\tmanifests: gen: [{apiVersion: \"v1\", kind: \"ConfigMap\", metadata: name: \"b%d\", data: key: \"v%d\"}]\n", i, i)
		}
		b.WriteString("\t\t}\n")
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// Examples returns the configurations tests run over: "default" (the
// embedded default, no files) and every directory under examples/, by its
// name, as the absolute path to give wookie with -f.
func Examples(tb testing.TB) map[string][]string {
	tb.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("testgen: cannot locate the repository")
	}
	dirs, err := filepath.Glob(filepath.Join(filepath.Dir(self), "..", "..", "examples", "*"))
	if err != nil {
		tb.Fatal(err)
	}
	cases := map[string][]string{"default": nil}
	for _, d := range dirs {
		cases[filepath.Base(d)] = []string{filepath.Clean(d)}
	}
	return cases
}
