package cert

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// newStore returns a Store at t0 whose directory and its parent do not exist
// yet.
func newStore(t *testing.T) Store {
	t.Helper()
	return Store{Dir: filepath.Join(t.TempDir(), "state", "certs"), Now: at(t0)}
}

// setupStore returns a Store with an ECDSA root and the intermediates of
// clusters.
func setupStore(t *testing.T, clusters ...string) Store {
	t.Helper()
	s := newStore(t)
	if err := s.InitRoot(RootOptions{KeyAlgorithm: ECDSA}, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range clusters {
		if err := s.IssueIntermediate(c, IntermediateOptions{}, false); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// tree lists everything under dir, each entry as its path relative to dir
// and its mode.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel)+" "+info.Mode().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readTestFile reads path or fails the test.
func readTestFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeTestFile writes path or fails the test.
func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// errorText is err's message with dir replaced by $DIR.
func errorText(err error, dir string) string {
	if err == nil {
		return "<nil>"
	}
	return strings.ReplaceAll(err.Error(), dir, "$DIR")
}

func TestStoreLayoutAndModes(t *testing.T) {
	s := setupStore(t, "west", "east")
	want := []string{
		". drwx------",
		"certs drwx------",
		"certs/east drwx------",
		"certs/east/ca-cert.pem -rw-------",
		"certs/east/ca-key.pem -rw-------",
		"certs/east/cert-chain.pem -rw-------",
		"certs/east/root-cert.pem -rw-------",
		"certs/root-cert.pem -rw-------",
		"certs/root-key.pem -rw-------",
		"certs/west drwx------",
		"certs/west/ca-cert.pem -rw-------",
		"certs/west/ca-key.pem -rw-------",
		"certs/west/cert-chain.pem -rw-------",
		"certs/west/root-cert.pem -rw-------",
	}
	if diff := cmp.Diff(want, tree(t, filepath.Dir(s.Dir))); diff != "" {
		t.Errorf("store layout (-want +got):\n%s", diff)
	}
	// Rotating and re-initializing keep the layout and the modes, and leave
	// no temporary files behind.
	if err := s.Rotate("east", IntermediateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.InitRoot(RootOptions{KeyAlgorithm: ECDSA}, true); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, tree(t, filepath.Dir(s.Dir))); diff != "" {
		t.Errorf("store layout after rotation (-want +got):\n%s", diff)
	}
}

// TestStoreTightensExistingDirectory: a store directory, and a cluster
// directory, that others may read become 0700 when keys are written into
// them; the parent of the store keeps its mode.
func TestStoreTightensExistingDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "certs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{parent, dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := Store{Dir: dir, Now: at(t0)}
	if err := s.InitRoot(RootOptions{KeyAlgorithm: ECDSA}, false); err != nil {
		t.Fatal(err)
	}
	want := []string{". drwx------", "root-cert.pem -rw-------", "root-key.pem -rw-------"}
	if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
		t.Errorf("store in an existing directory (-want +got):\n%s", diff)
	}
	if st, err := os.Stat(parent); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("parent of the store: %v %v, want mode 0755 kept", st.Mode().Perm(), err)
	}

	if err := s.IssueIntermediate("east", IntermediateOptions{}, false); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "east")} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Rotate("east", IntermediateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "east")} {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s after rotate: mode %v %v, want 0700", d, st.Mode().Perm(), err)
		}
	}
}

func TestStoreRefusesOverwrite(t *testing.T) {
	s := setupStore(t, "east")
	rootBefore := readTestFile(t, filepath.Join(s.Dir, RootCertFile))
	eastBefore := readTestFile(t, filepath.Join(s.Dir, "east", CACertFile))

	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"root", func() error { return s.InitRoot(RootOptions{KeyAlgorithm: ECDSA}, false) }, "root CA: $DIR/root-cert.pem: already exists"},
		{"intermediate", func() error { return s.IssueIntermediate("east", IntermediateOptions{}, false) }, "cluster east: $DIR/east: already exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if !errors.Is(err, ErrExists) {
				t.Errorf("error %v does not wrap ErrExists", err)
			}
			if diff := cmp.Diff(tt.want, errorText(err, s.Dir)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
	if !bytes.Equal(rootBefore, readTestFile(t, filepath.Join(s.Dir, RootCertFile))) {
		t.Error("refused InitRoot changed root-cert.pem")
	}
	if !bytes.Equal(eastBefore, readTestFile(t, filepath.Join(s.Dir, "east", CACertFile))) {
		t.Error("refused IssueIntermediate changed ca-cert.pem")
	}

	// Only the key left: still refused.
	onlyKey := newStore(t)
	if err := mkdirPrivate(onlyKey.Dir); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(onlyKey.Dir, RootKeyFile), []byte("x"))
	if err := onlyKey.InitRoot(RootOptions{KeyAlgorithm: ECDSA}, false); !errors.Is(err, ErrExists) {
		t.Errorf("InitRoot over a lone root-key.pem: %v, want ErrExists", err)
	}

	// With force, both are replaced.
	_, oldEast, err := s.LoadIntermediate("east")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.IssueIntermediate("east", IntermediateOptions{}, true); err != nil {
		t.Fatal(err)
	}
	_, newEast, err := s.LoadIntermediate("east")
	if err != nil {
		t.Fatal(err)
	}
	if newEast.SerialNumber.Cmp(oldEast.SerialNumber) == 0 {
		t.Error("forced IssueIntermediate kept the old certificate")
	}
	oldRoot, err := s.LoadRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InitRoot(RootOptions{KeyAlgorithm: ECDSA}, true); err != nil {
		t.Fatal(err)
	}
	newRoot, err := s.LoadRoot()
	if err != nil {
		t.Fatal(err)
	}
	if newRoot.Cert.Equal(oldRoot.Cert) {
		t.Error("forced InitRoot kept the old root")
	}
	// The intermediate of the old root no longer loads.
	_, _, err = s.LoadIntermediate("east")
	if diff := cmp.Diff("cluster east: $DIR/east/root-cert.pem is not the root certificate $DIR/root-cert.pem", errorText(err, s.Dir)); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}

func TestStoreRotate(t *testing.T) {
	s := setupStore(t, "east", "west")
	oldFiles, oldCert, err := s.LoadIntermediate("east")
	if err != nil {
		t.Fatal(err)
	}
	_, westBefore, err := s.LoadIntermediate("west")
	if err != nil {
		t.Fatal(err)
	}
	later := t0.Add(days(700))
	s.Now = at(later)
	if err := s.Rotate("east", IntermediateOptions{}); err != nil {
		t.Fatal(err)
	}
	files, cert, err := s.LoadIntermediate("east")
	if err != nil {
		t.Fatal(err)
	}
	if cert.SerialNumber.Cmp(oldCert.SerialNumber) == 0 {
		t.Error("rotated certificate has the old serial number")
	}
	if bytes.Equal(files[CAKeyFile], oldFiles[CAKeyFile]) {
		t.Error("rotated intermediate has the old key")
	}
	if !bytes.Equal(files[RootCertFile], oldFiles[RootCertFile]) {
		t.Error("rotation changed the root certificate")
	}
	root, err := s.LoadRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyAt(cert, root.Cert, later); err != nil {
		t.Errorf("rotated intermediate does not verify against the root: %v", err)
	}
	if !cert.NotBefore.Equal(later) || !cert.NotAfter.Equal(later.Add(days(730))) {
		t.Errorf("rotated intermediate valid %s to %s, want from %s for 730 days", cert.NotBefore, cert.NotAfter, later)
	}
	_, westAfter, err := s.LoadIntermediate("west")
	if err != nil {
		t.Fatal(err)
	}
	if !westAfter.Equal(westBefore) {
		t.Error("rotating east changed west")
	}

	err = s.Rotate("north", IntermediateOptions{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Rotate of a cluster without an intermediate: %v, want fs.ErrNotExist", err)
	}
	if diff := cmp.Diff("cluster north: nothing to rotate: missing $DIR/north: file does not exist", errorText(err, s.Dir)); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if _, err := os.Lstat(filepath.Join(s.Dir, "north")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Rotate made a directory for north: %v", err)
	}
}

func TestStoreLoadIntermediateWithoutRootKey(t *testing.T) {
	s := setupStore(t, "east")
	if err := os.Remove(filepath.Join(s.Dir, RootKeyFile)); err != nil {
		t.Fatal(err)
	}
	files, cert, err := s.LoadIntermediate("east")
	if err != nil {
		t.Fatalf("LoadIntermediate without the root key: %v", err)
	}
	for _, name := range clusterFiles {
		if diff := cmp.Diff(string(readTestFile(t, filepath.Join(s.Dir, "east", name))), string(files[name])); diff != "" {
			t.Errorf("%s (-disk +loaded):\n%s", name, diff)
		}
	}
	if got := cert.Subject.Locality; len(got) != 1 || got[0] != "east" {
		t.Errorf("loaded certificate L = %v, want east", got)
	}
	// Issuing needs the key.
	err = s.IssueIntermediate("west", IntermediateOptions{}, false)
	if diff := cmp.Diff("cluster west: root CA: missing $DIR/root-key.pem: file does not exist", errorText(err, s.Dir)); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}

func TestStoreLoadErrors(t *testing.T) {
	// other is a second store, with another root, whose files the cases
	// plant in the store under test.
	other := setupStore(t, "east")
	otherFile := func(name string) []byte { return readTestFile(t, filepath.Join(other.Dir, name)) }

	tests := []struct {
		name    string
		cluster string // empty: load the root
		now     time.Time
		mutate  func(t *testing.T, s Store)
		want    string
		missing bool // the error wraps fs.ErrNotExist
	}{
		{
			name:    "intermediate key does not match",
			cluster: "east",
			mutate: func(t *testing.T, s Store) {
				writeTestFile(t, filepath.Join(s.Dir, "east", CAKeyFile), readTestFile(t, filepath.Join(s.Dir, "west", CAKeyFile)))
			},
			want: "cluster east: $DIR/east/ca-key.pem does not match $DIR/east/ca-cert.pem",
		},
		{
			name: "root key does not match",
			mutate: func(t *testing.T, s Store) {
				writeTestFile(t, filepath.Join(s.Dir, RootKeyFile), readTestFile(t, filepath.Join(s.Dir, "west", CAKeyFile)))
			},
			want: "root CA: $DIR/root-key.pem does not match $DIR/root-cert.pem",
		},
		{
			name:    "intermediate key missing",
			cluster: "east",
			mutate:  func(t *testing.T, s Store) { os.Remove(filepath.Join(s.Dir, "east", CAKeyFile)) },
			want:    "cluster east: missing $DIR/east/ca-key.pem: file does not exist",
			missing: true,
		},
		{
			name:    "chain missing",
			cluster: "east",
			mutate:  func(t *testing.T, s Store) { os.Remove(filepath.Join(s.Dir, "east", CertChainFile)) },
			want:    "cluster east: missing $DIR/east/cert-chain.pem: file does not exist",
			missing: true,
		},
		{
			name:    "cluster missing",
			cluster: "north",
			mutate:  func(t *testing.T, s Store) {},
			want:    "cluster north: missing $DIR/north: file does not exist",
			missing: true,
		},
		{
			name:    "store root missing",
			cluster: "east",
			mutate:  func(t *testing.T, s Store) { os.Remove(filepath.Join(s.Dir, RootCertFile)) },
			want:    "cluster east: missing $DIR/root-cert.pem: file does not exist",
			missing: true,
		},
		{
			name:    "root key missing",
			mutate:  func(t *testing.T, s Store) { os.Remove(filepath.Join(s.Dir, RootKeyFile)) },
			want:    "root CA: missing $DIR/root-key.pem: file does not exist",
			missing: true,
		},
		{
			name:    "ca-cert.pem not PEM",
			cluster: "east",
			mutate: func(t *testing.T, s Store) {
				writeTestFile(t, filepath.Join(s.Dir, "east", CACertFile), []byte("hello\n"))
			},
			want: "cluster east: $DIR/east/ca-cert.pem: no PEM data",
		},
		{
			name:    "ca-cert.pem with trailing data",
			cluster: "east",
			mutate: func(t *testing.T, s Store) {
				p := filepath.Join(s.Dir, "east", CACertFile)
				writeTestFile(t, p, append(readTestFile(t, p), "junk"...))
			},
			want: "cluster east: $DIR/east/ca-cert.pem: data after the last PEM block",
		},
		{
			name:    "ca-cert.pem holds the chain",
			cluster: "east",
			mutate: func(t *testing.T, s Store) {
				writeTestFile(t, filepath.Join(s.Dir, "east", CACertFile), readTestFile(t, filepath.Join(s.Dir, "east", CertChainFile)))
			},
			want: "cluster east: $DIR/east/ca-cert.pem: holds 2 certificates, want 1",
		},
		{
			name:    "ca-key.pem holds a certificate",
			cluster: "east",
			mutate: func(t *testing.T, s Store) {
				writeTestFile(t, filepath.Join(s.Dir, "east", CAKeyFile), readTestFile(t, filepath.Join(s.Dir, "east", CACertFile)))
			},
			want: `cluster east: $DIR/east/ca-key.pem: PEM block 1 is "CERTIFICATE", want "PRIVATE KEY"`,
		},
		{
			name:    "root-cert.pem of another root",
			cluster: "east",
			mutate: func(t *testing.T, s Store) {
				writeTestFile(t, filepath.Join(s.Dir, "east", RootCertFile), otherFile(RootCertFile))
			},
			want: "cluster east: $DIR/east/root-cert.pem is not the root certificate $DIR/root-cert.pem",
		},
		{
			name:    "chain in the wrong order",
			cluster: "east",
			mutate: func(t *testing.T, s Store) {
				dir := filepath.Join(s.Dir, "east")
				chain := append(readTestFile(t, filepath.Join(dir, RootCertFile)), readTestFile(t, filepath.Join(dir, CACertFile))...)
				writeTestFile(t, filepath.Join(dir, CertChainFile), chain)
			},
			want: "cluster east: $DIR/east/cert-chain.pem is not ca-cert.pem followed by root-cert.pem",
		},
		{
			name:    "chain without the root",
			cluster: "east",
			mutate: func(t *testing.T, s Store) {
				dir := filepath.Join(s.Dir, "east")
				writeTestFile(t, filepath.Join(dir, CertChainFile), readTestFile(t, filepath.Join(dir, CACertFile)))
			},
			want: "cluster east: $DIR/east/cert-chain.pem is not ca-cert.pem followed by root-cert.pem",
		},
		{
			name:    "intermediate of another root",
			cluster: "east",
			mutate: func(t *testing.T, s Store) {
				dir := filepath.Join(s.Dir, "east")
				ca := otherFile(filepath.Join("east", CACertFile))
				writeTestFile(t, filepath.Join(dir, CACertFile), ca)
				writeTestFile(t, filepath.Join(dir, CAKeyFile), otherFile(filepath.Join("east", CAKeyFile)))
				writeTestFile(t, filepath.Join(dir, CertChainFile), append(ca, readTestFile(t, filepath.Join(dir, RootCertFile))...))
			},
			want: "cluster east: $DIR/east/ca-cert.pem does not chain to $DIR/root-cert.pem: x509: certificate signed by unknown authority" +
				` (possibly because of "x509: ECDSA verification failure" while trying to verify candidate authority certificate "Root CA")`,
		},
		{
			name:    "intermediate expired",
			cluster: "east",
			now:     t0.Add(days(731)),
			mutate:  func(t *testing.T, s Store) {},
			want:    "cluster east: $DIR/east/ca-cert.pem does not chain to $DIR/root-cert.pem: x509: certificate has expired or is not yet valid: current time 2028-03-04T05:06:07Z is after 2028-03-03T05:06:07Z",
		},
		{
			name:    "invalid cluster name",
			cluster: "../east",
			mutate:  func(t *testing.T, s Store) {},
			want:    `cluster "../east": not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := setupStore(t, "east", "west")
			tt.mutate(t, s)
			if !tt.now.IsZero() {
				s.Now = at(tt.now)
			}
			var err error
			if tt.cluster == "" {
				_, err = s.LoadRoot()
			} else {
				_, _, err = s.LoadIntermediate(tt.cluster)
			}
			if diff := cmp.Diff(tt.want, errorText(err, s.Dir)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tt.missing {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %t, want %t", got, tt.missing)
			}
		})
	}
}

func TestStoreNoDirectory(t *testing.T) {
	var s Store
	for name, err := range map[string]error{
		"InitRoot":          s.InitRoot(RootOptions{KeyAlgorithm: ECDSA}, false),
		"IssueIntermediate": s.IssueIntermediate("east", IntermediateOptions{}, false),
	} {
		if err == nil || !strings.Contains(err.Error(), "certificate store: no directory") {
			t.Errorf("%s on a Store without a directory: %v", name, err)
		}
	}
}

func TestStoreClustersAndDescribe(t *testing.T) {
	s := setupStore(t, "west", "east")
	// Neither a file, nor a temporary directory, nor an invalid name is a
	// cluster.
	for _, d := range []string{".east.new-123", "Upper"} {
		if err := os.Mkdir(filepath.Join(s.Dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeTestFile(t, filepath.Join(s.Dir, "notes"), nil)
	clusters, err := s.Clusters()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"east", "west"}, clusters); diff != "" {
		t.Errorf("Clusters (-want +got):\n%s", diff)
	}

	infos, err := s.Describe()
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Cluster, File, Subject string }
	var got []row
	for _, i := range infos {
		got = append(got, row{i.Cluster, strings.ReplaceAll(i.File, s.Dir, "$DIR"), i.Subject})
	}
	want := []row{
		{"", "$DIR/root-cert.pem", "CN=Root CA,O=Istio"},
		{"east", "$DIR/east/ca-cert.pem", "CN=Intermediate CA,O=Istio,L=east"},
		{"west", "$DIR/west/ca-cert.pem", "CN=Intermediate CA,O=Istio,L=west"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}

	// Describe shows expired material that no longer loads.
	s.Now = at(t0.Add(days(1000)))
	if _, _, err := s.LoadIntermediate("east"); err == nil {
		t.Error("expired intermediate loads")
	}
	if _, err := s.Describe(); err != nil {
		t.Errorf("Describe of expired material: %v", err)
	}

	missing := Store{Dir: filepath.Join(t.TempDir(), "none")}
	_, err = missing.Describe()
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Describe of a missing directory: %v, want fs.ErrNotExist", err)
	}
}

// TestReplaceDirFailure makes a cluster directory fail half way through and
// expects the previous one untouched and nothing left behind.
func TestReplaceDirFailure(t *testing.T) {
	s := setupStore(t, "east")
	dir := filepath.Join(s.Dir, "east")
	before := tree(t, s.Dir)
	oldCert := readTestFile(t, filepath.Join(dir, CACertFile))

	// "z/…" sorts after the real files, so they are written before the
	// failure.
	files := map[string][]byte{CACertFile: []byte("new"), CAKeyFile: []byte("new"), "z/fail": []byte("x")}
	if err := replaceDir(dir, files, true); err == nil {
		t.Fatal("replaceDir with an unwritable file succeeded")
	}
	if diff := cmp.Diff(before, tree(t, s.Dir)); diff != "" {
		t.Errorf("store after a failed write (-before +after):\n%s", diff)
	}
	if !bytes.Equal(oldCert, readTestFile(t, filepath.Join(dir, CACertFile))) {
		t.Error("failed write changed ca-cert.pem")
	}
	if _, _, err := s.LoadIntermediate("east"); err != nil {
		t.Errorf("after a failed write: %v", err)
	}
}

func TestReplaceDirRefusesForeignDirectory(t *testing.T) {
	s := setupStore(t)
	dir := filepath.Join(s.Dir, "east")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(dir, "thesis.tex"), []byte("precious"))
	err := s.IssueIntermediate("east", IntermediateOptions{}, true)
	if diff := cmp.Diff("cluster east: $DIR/east holds thesis.tex, which wookie does not write there; refusing to replace it", errorText(err, s.Dir)); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if got := string(readTestFile(t, filepath.Join(dir, "thesis.tex"))); got != "precious" {
		t.Errorf("foreign file changed: %q", got)
	}
}

// TestLoadedIntermediateMakesSecret checks the way from the store to the
// cacerts Secret.
func TestLoadedIntermediateMakesSecret(t *testing.T) {
	s := setupStore(t, "east")
	files, cert, err := s.LoadIntermediate("east")
	if err != nil {
		t.Fatal(err)
	}
	data := CacertsSecret(files)["data"].(map[string]any)
	if len(data) != 4 {
		t.Errorf("Secret data has %d entries, want 4", len(data))
	}
	chain, err := parseCertsPEM(files[CertChainFile], CertChainFile)
	if err != nil {
		t.Fatal(err)
	}
	root, err := s.LoadRoot()
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 2 || !chain[0].Equal(cert) || !chain[1].Equal(root.Cert) {
		t.Error("cert-chain.pem is not the loaded certificate and the root")
	}
}
