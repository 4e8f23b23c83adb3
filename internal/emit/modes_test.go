package emit

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// modesPlan has a sensitive bundle and a Secret with data in a bundle that
// is not sensitive.
const modesPlan = `
apiVersion: wookie.dev/v1alpha1
kind: Plan
clusters:
- name: east
  target: kubeconfig
  context: east
  kubeVersion: 1.31.0
  batches:
  - name: services
    bundles:
    - name: remote
      namespace: mesh
      sensitive: true
      manifests:
      - {apiVersion: v1, kind: Secret, metadata: {name: remote}, stringData: {token: not-a-real-token}}
    - name: app
      namespace: mesh
      manifests:
      - {apiVersion: v1, kind: ConfigMap, metadata: {name: app}}
      - {apiVersion: v1, kind: Secret, metadata: {name: key}, data: {tls.key: bm90LWEta2V5}}
`

// TestWriteModes: an output rendered with the secrets (render
// --include-secrets) is readable by its owner only, in every format:
// every file 0600, every directory 0700, the output directory included.
// Without them the output is 0644 and 0755 (less what the umask takes).
func TestWriteModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	umask := currentUmask(t)
	p, err := plan.Decode([]byte(modesPlan), "plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Normalize(p); err != nil {
		t.Fatal(err)
	}
	for _, format := range Formats {
		for _, include := range []bool{false, true} {
			r, err := render.Render(context.Background(), p, render.Options{IncludeSecrets: include})
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			// Written twice: the second replaces the first.
			for range 2 {
				if _, err := Write(out, p, r, Options{Format: format, Repo: "https://git.example.org/x.git"}); err != nil {
					t.Fatalf("%s: %v", format, err)
				}
			}
			wantFile, wantDir := 0o644&^umask, 0o755&^umask
			if include {
				wantFile, wantDir = 0o600, 0o700
			}
			files := 0
			err = filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				info, err := d.Info()
				if err != nil {
					return err
				}
				want := wantFile
				if d.IsDir() {
					want = wantDir
				} else {
					files++
				}
				if got := info.Mode().Perm(); got != want {
					t.Errorf("%s, secrets %v: %s is %04o, want %04o", format, include, path, got, want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if files < 2 {
				t.Errorf("%s: %d files written", format, files)
			}
		}
	}
}

// currentUmask returns the process's umask, read off a new file's mode.
func currentUmask(t *testing.T) fs.FileMode {
	f := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(f, nil, 0o777); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	return 0o777 &^ st.Mode().Perm()
}
