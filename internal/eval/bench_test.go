package eval

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"wookie.dev/wookie/internal/testgen"
)

// BenchmarkEvaluateDefault evaluates the embedded default into a Plan.
func BenchmarkEvaluateDefault(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		if _, err := Evaluate(Config{Dir: dir}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateLarge evaluates generated configurations of N clusters
// with 200 bundles each, so growth with N can be read off (linear is the
// target; 10 x 200 under 1 s).
func BenchmarkEvaluateLarge(b *testing.B) {
	for _, n := range []int{1, 5, 10} {
		b.Run(fmt.Sprintf("clusters=%d/bundles=200", n), func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "large.cue")
			if err := os.WriteFile(path, []byte(testgen.LargeConfig(n, 200)), 0o644); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				res, err := Evaluate(Config{Files: []string{path}})
				if err != nil {
					b.Fatal(err)
				}
				if got := len(res.Plan.Clusters); got != n {
					b.Fatalf("clusters: got %d, want %d", got, n)
				}
			}
		})
	}
}
