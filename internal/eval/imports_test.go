package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the front end light and free of side effects: eval and
// plan must not depend on Helm, client-go, controller-runtime, Flux, HTTP or
// process execution. CUE's own packages are not followed: the CUE runtime
// links its tool packages (tool/http, tool/exec), which only `cue cmd` runs.
func TestImports(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found: cannot list dependencies")
	}
	forbidden := []string{
		"helm.sh/",
		"k8s.io/client-go",
		"sigs.k8s.io/controller-runtime",
		"github.com/fluxcd/",
		"net/http",
		"os/exec",
	}
	// internal/plan has its own, stricter test (no os, net or syscall).
	for _, root := range []string{"wookie.dev/wookie/internal/eval"} {
		out, err := exec.Command(goBin, "list", "-deps", "-json", root).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", root, err)
		}
		imports := map[string][]string{}
		dec := json.NewDecoder(bytes.NewReader(out))
		for {
			var p struct {
				ImportPath string
				Imports    []string
			}
			if err := dec.Decode(&p); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			imports[p.ImportPath] = p.Imports
		}
		seen := map[string]bool{root: true}
		queue := []string{root}
		for len(queue) > 0 {
			pkg := queue[0]
			queue = queue[1:]
			for _, f := range forbidden {
				if strings.HasPrefix(pkg, f) {
					t.Errorf("%s depends on %s", root, pkg)
				}
			}
			if strings.HasPrefix(pkg, "cuelang.org/go/") {
				continue
			}
			for _, dep := range imports[pkg] {
				if !seen[dep] {
					seen[dep] = true
					queue = append(queue, dep)
				}
			}
		}
	}
}
