package cluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/eval"
	"wookie.dev/wookie/internal/testgen"
)

// TestConfigFileGolden writes the k3d config file of every k3d cluster of
// the embedded default and of every example, and compares it with
// testdata/k3d/<example>/<cluster>.yaml (-update rewrites them).
func TestConfigFileGolden(t *testing.T) {
	cases := testgen.Examples(t)
	seen := 0
	for name, files := range cases {
		res, err := eval.Evaluate(eval.Config{Files: files, Dir: t.TempDir()})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range res.Plan.Clusters {
			c := &res.Plan.Clusters[i]
			if c.K3d == nil {
				continue
			}
			seen++
			t.Run(name+"/"+c.Name, func(t *testing.T) {
				got, err := ConfigFile(c)
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", "k3d", name, c.Name+".yaml")
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./internal/cluster -update)", err)
				}
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("k3d config differs from %s (-want +got):\n%s", golden, diff)
				}
			})
		}
	}
	if seen < 4 {
		t.Errorf("only %d k3d clusters in the default and the examples; want the default, local-k3d and both of multi-k3d at least", seen)
	}
}
