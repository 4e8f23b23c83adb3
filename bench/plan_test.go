package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"wookie.dev/wookie/internal/testgen"
)

// buildWookie builds the wookie binary once per benchmark run.
func buildWookie(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "wookie")
	cmd := exec.Command("go", "build", "-o", bin, "wookie.dev/wookie/cmd/wookie")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("go build: %v", err)
	}
	return bin
}

// run runs the binary once with args in dir and fails on a non-zero exit.
func run(b *testing.B, dir, bin string, args ...string) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("wookie %v: %v\n%s", args, err, out)
	}
}

// BenchmarkPlanProcess measures a whole `wookie plan` process on the
// embedded default, warm (target: under 150 ms).
func BenchmarkPlanProcess(b *testing.B) {
	bin := buildWookie(b)
	dir := b.TempDir()
	run(b, dir, bin, "plan", "-o", "json") // warm the page cache
	for b.Loop() {
		run(b, dir, bin, "plan", "-o", "json")
	}
}

// BenchmarkPlanProcessLarge measures `wookie plan` on a generated
// configuration of 10 clusters x 200 bundles (target: under 1 s).
func BenchmarkPlanProcessLarge(b *testing.B) {
	bin := buildWookie(b)
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wookie.cue"), []byte(testgen.LargeConfig(10, 200)), 0o644); err != nil {
		b.Fatal(err)
	}
	run(b, dir, bin, "plan", "-o", "json")
	for b.Loop() {
		run(b, dir, bin, "plan", "-o", "json")
	}
}
