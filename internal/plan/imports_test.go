package plan

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the package pure and light: no network, process, file
// or cluster access of its own, and none of the heavy SDKs anywhere in its
// dependencies.
func TestImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	list := func(args ...string) []string {
		t.Helper()
		out, err := exec.Command(goTool, append([]string{"list"}, args...)...).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
		}
		return strings.Fields(string(out))
	}
	// Anywhere in the dependencies.
	forbiddenDeps := []string{"net/http", "os/exec", "k8s.io/client-go", "helm.sh/", "cuelang.org/"}
	for _, dep := range list("-deps", ".") {
		for _, f := range forbiddenDeps {
			if dep == strings.TrimSuffix(f, "/") || strings.HasPrefix(dep, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("package plan depends on %s", dep)
			}
		}
	}
	// Imported by the package itself: it does no I/O.
	forbiddenImports := map[string]bool{"os": true, "io/ioutil": true, "io/fs": true, "net": true, "syscall": true, "unsafe": true}
	for _, imp := range list("-f", `{{join .Imports "\n"}}`, ".") {
		if forbiddenImports[imp] {
			t.Errorf("package plan imports %s", imp)
		}
	}
}
