package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wookie.dev/wookie/internal/cert"
)

// TestCertsCommands: certs init makes a root and an intermediate per
// cluster in the state directory (0700/0600), keeps them on a second run,
// show prints them without key material, rotate replaces intermediates
// under the same root, and --force replaces everything.
func TestCertsCommands(t *testing.T) {
	dir := t.TempDir()
	workIn(t, dir, "targets: kubeconfig: {enable: true, clusterName: \"east\", context: \"east\", kubeVersion: \"1.31.4\"}\n")
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	certs := filepath.Join(dir, "state", "wookie", configNameOf(""), "certs")
	show := func() []cert.Info {
		t.Helper()
		code, out, stderr := run(t, "certs", "show", "-o", "json")
		if code != 0 {
			t.Fatalf("show: %d %s", code, stderr)
		}
		if strings.Contains(out, "PRIVATE") {
			t.Fatalf("show printed key material:\n%s", out)
		}
		var infos []cert.Info
		if err := json.Unmarshal([]byte(out), &infos); err != nil {
			t.Fatal(err)
		}
		return infos
	}

	if code, _, stderr := run(t, "certs", "show"); code != 1 || !strings.Contains(stderr, "wookie certs init") {
		t.Errorf("show before init: %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "certs", "init", "--key-algorithm", "dsa"); code != 2 || !strings.Contains(stderr, `--key-algorithm "dsa": want rsa or ecdsa`) {
		t.Errorf("bad algorithm: %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "certs", "init", "--key-algorithm", "ecdsa"); code != 0 || !strings.Contains(stderr, "✓ cluster east: intermediate CA made") {
		t.Fatalf("init: %d %s", code, stderr)
	}
	first := show()
	if len(first) != 2 || first[0].Cluster != "" || first[1].Cluster != "east" || first[1].KeyAlgorithm != "ECDSA" || first[1].SANs[0] != "istiod.istio-system.svc" {
		t.Fatalf("infos: %+v", first)
	}
	err := filepath.Walk(certs, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if info.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A second init keeps everything.
	if code, _, stderr := run(t, "certs", "init"); code != 0 || !strings.Contains(stderr, "root CA exists") || !strings.Contains(stderr, "intermediate CA exists: kept") {
		t.Errorf("second init: %d %s", code, stderr)
	}
	if again := show(); again[0].Serial != first[0].Serial || again[1].Serial != first[1].Serial {
		t.Errorf("second init changed certificates")
	}

	// rotate: a new intermediate, the same root.
	if code, _, stderr := run(t, "certs", "rotate"); code != 0 {
		t.Fatalf("rotate: %s", stderr)
	}
	rotated := show()
	if rotated[0].Serial != first[0].Serial || rotated[1].Serial == first[1].Serial {
		t.Errorf("rotate: root %s -> %s, intermediate %s -> %s", first[0].Serial, rotated[0].Serial, first[1].Serial, rotated[1].Serial)
	}
	if _, _, err := (cert.Store{Dir: certs}).LoadIntermediate("east"); err != nil {
		t.Errorf("rotated intermediate does not load: %v", err)
	}

	// --force replaces the root too.
	if code, _, stderr := run(t, "certs", "init", "--force", "--key-algorithm", "ecdsa"); code != 0 {
		t.Fatalf("init --force: %s", stderr)
	}
	if forced := show(); forced[0].Serial == first[0].Serial || forced[1].Serial == rotated[1].Serial {
		t.Errorf("init --force kept certificates")
	}

	// An intermediate that expires within 30 days: show, render and deploy
	// warn.
	if err := (cert.Store{Dir: certs}).IssueIntermediate("east", cert.IntermediateOptions{Validity: 10 * 24 * time.Hour}, true); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"certs", "show"}, {"render", "-o", "out"}} {
		code, _, stderr := run(t, args...)
		if code != 0 || !strings.Contains(stderr, "warning: cluster east: the intermediate CA expires ") || !strings.Contains(stderr, "run 'wookie certs rotate --cluster east'") {
			t.Errorf("%v with an expiring intermediate: %d %s", args, code, stderr)
		}
	}
	if code, _, stderr := run(t, "render", "-o", "out", "-q"); code != 0 || stderr != "" {
		t.Errorf("render -q: %d %q", code, stderr)
	}

	// Unknown cluster: a usage error.
	if code, _, stderr := run(t, "certs", "rotate", "--cluster", "west"); code != 2 || !strings.Contains(stderr, "cluster west: no such cluster in the Plan (it has east)") {
		t.Errorf("rotate --cluster west: %d %s", code, stderr)
	}
}

// TestCertsShowCorruptStore: certs show on a damaged store, whichever file
// is damaged, exits 1 naming the file and prints no table.
func TestCertsShowCorruptStore(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, certs string)
		file   string // named in the message, relative to the store
	}{
		{"root certificate garbage", damageWrite("root-cert.pem", "garbage\n"), "root-cert.pem"},
		{"root key empty", damageWrite("root-key.pem", ""), "root-key.pem"},
		{"root key missing", damageRemove("root-key.pem"), "root-key.pem"},
		{"root key of the intermediate", damageCopy("east/ca-key.pem", "root-key.pem"), "root-key.pem"},
		{"intermediate certificate garbage", damageWrite("east/ca-cert.pem", "garbage\n"), "east/ca-cert.pem"},
		{"intermediate key missing", damageRemove("east/ca-key.pem"), "east/ca-key.pem"},
		{"intermediate key empty", damageWrite("east/ca-key.pem", ""), "east/ca-key.pem"},
		{"intermediate key of the root", damageCopy("root-key.pem", "east/ca-key.pem"), "east/ca-key.pem"},
		{"chain truncated", damageTruncate("east/cert-chain.pem"), "east/cert-chain.pem"},
		{"chain missing", damageRemove("east/cert-chain.pem"), "east/cert-chain.pem"},
		{"cluster root certificate not the root", damageCopy("east/ca-cert.pem", "east/root-cert.pem"), "east/root-cert.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			workIn(t, dir, "targets: kubeconfig: {enable: true, clusterName: \"east\", context: \"east\", kubeVersion: \"1.31.4\"}\n")
			t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
			if code, _, stderr := run(t, "certs", "init", "--key-algorithm", "ecdsa"); code != 0 {
				t.Fatalf("init: %d %s", code, stderr)
			}
			certs := filepath.Join(dir, "state", "wookie", configNameOf(""), "certs")
			tt.damage(t, certs)
			code, out, stderr := run(t, "certs", "show")
			first, _, _ := strings.Cut(stderr, "\n")
			if code != 1 || out != "" || !strings.Contains(first, filepath.Join(certs, tt.file)) {
				t.Errorf("show of a damaged store: exit %d, stdout %q, stderr %q; want exit 1, a first line naming %s, no stdout", code, out, stderr, tt.file)
			}
		})
	}
}

// damageWrite returns a damage that writes data over the store's file name.
func damageWrite(name, data string) func(*testing.T, string) {
	return func(t *testing.T, certs string) {
		if err := os.WriteFile(filepath.Join(certs, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// damageRemove returns a damage that removes the store's file name.
func damageRemove(name string) func(*testing.T, string) {
	return func(t *testing.T, certs string) {
		if err := os.Remove(filepath.Join(certs, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// damageTruncate returns a damage that cuts the store's file name in half.
func damageTruncate(name string) func(*testing.T, string) {
	return func(t *testing.T, certs string) {
		data, err := os.ReadFile(filepath.Join(certs, name))
		if err != nil {
			t.Fatal(err)
		}
		damageWrite(name, string(data[:len(data)/2]))(t, certs)
	}
}

// damageCopy returns a damage that puts the store's file from in place of to.
func damageCopy(from, to string) func(*testing.T, string) {
	return func(t *testing.T, certs string) {
		data, err := os.ReadFile(filepath.Join(certs, from))
		if err != nil {
			t.Fatal(err)
		}
		damageWrite(to, string(data))(t, certs)
	}
}
