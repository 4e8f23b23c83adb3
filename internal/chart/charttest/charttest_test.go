package charttest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/registry"
	repo "helm.sh/helm/v4/pkg/repo/v1"
)

var demo = Chart{
	Name:    "demo",
	Version: "1.2.3",
	Files: map[string]string{
		"values.yaml":       "replicas: 2\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
		"crds/crd.yaml":     "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n",
	},
}

// rawFiles returns the files of a loaded chart by name.
func rawFiles(c *chart.Chart) map[string]string {
	files := map[string]string{}
	for _, f := range c.Raw {
		files[f.Name] = string(f.Data)
	}
	return files
}

func TestPackage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		chart     Chart
		wantFiles map[string]string
		wantMeta  chart.Metadata
	}{{
		name:  "generated Chart.yaml",
		chart: demo,
		wantFiles: map[string]string{
			"Chart.yaml":        "apiVersion: v2\nname: demo\nversion: 1.2.3\ntype: application\n",
			"values.yaml":       demo.Files["values.yaml"],
			"templates/cm.yaml": demo.Files["templates/cm.yaml"],
			"crds/crd.yaml":     demo.Files["crds/crd.yaml"],
		},
		wantMeta: chart.Metadata{APIVersion: "v2", Name: "demo", Version: "1.2.3", Type: "application"},
	}, {
		name: "Chart.yaml replaced",
		chart: Chart{Name: "lib", Version: "0.1.0", Files: map[string]string{
			"Chart.yaml": "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\ndescription: a library\n",
		}},
		wantFiles: map[string]string{
			"Chart.yaml": "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\ndescription: a library\n",
		},
		wantMeta: chart.Metadata{APIVersion: "v2", Name: "lib", Version: "0.1.0", Type: "library", Description: "a library"},
	}, {
		name:  "build metadata in version",
		chart: Chart{Name: "demo", Version: "1.0.0+build.7"},
		wantFiles: map[string]string{
			"Chart.yaml": "apiVersion: v2\nname: demo\nversion: 1.0.0+build.7\ntype: application\n",
		},
		wantMeta: chart.Metadata{APIVersion: "v2", Name: "demo", Version: "1.0.0+build.7", Type: "application"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := Package(t, tt.chart), Package(t, tt.chart)
			if !bytes.Equal(a, b) {
				t.Fatal("Package gave different bytes for the same chart")
			}
			c, err := loader.LoadArchive(bytes.NewReader(a))
			if err != nil {
				t.Fatalf("LoadArchive: %v", err)
			}
			if diff := cmp.Diff(tt.wantFiles, rawFiles(c)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(&tt.wantMeta, c.Metadata); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}

			dir := WriteDir(t, t.TempDir(), tt.chart)
			if filepath.Base(dir) != tt.chart.Name {
				t.Errorf("WriteDir = %s, want a directory named %s", dir, tt.chart.Name)
			}
			d, err := loader.LoadDir(dir)
			if err != nil {
				t.Fatalf("LoadDir: %v", err)
			}
			if diff := cmp.Diff(tt.wantFiles, rawFiles(d)); diff != "" {
				t.Errorf("WriteDir files (-want +got):\n%s", diff)
			}
		})
	}
}

// tarEntry is what the tests check of a tar entry.
type tarEntry struct {
	Name     string
	Typeflag byte
	Linkname string
	Size     int64
	Mode     int64
	ModTime  int64
	Uid, Gid int
	Body     string
}

// readTar lists the entries of a tar.gz, and the error that stopped it.
func readTar(t *testing.T, archive []byte) ([]tarEntry, error) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header has name %q, time %v; want none", zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	var entries []tarEntry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return entries, nil
		}
		if err != nil {
			return entries, err
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return entries, err
		}
		entries = append(entries, tarEntry{
			Name: h.Name, Typeflag: h.Typeflag, Linkname: h.Linkname, Size: h.Size,
			Mode: h.Mode, ModTime: h.ModTime.Unix(), Uid: h.Uid, Gid: h.Gid, Body: string(body),
		})
	}
}

func TestPackageLayout(t *testing.T) {
	t.Parallel()
	got, err := readTar(t, Package(t, demo))
	if err != nil {
		t.Fatal(err)
	}
	want := []tarEntry{
		{Name: "demo/Chart.yaml", Body: "apiVersion: v2\nname: demo\nversion: 1.2.3\ntype: application\n"},
		{Name: "demo/crds/crd.yaml", Body: demo.Files["crds/crd.yaml"]},
		{Name: "demo/templates/cm.yaml", Body: demo.Files["templates/cm.yaml"]},
		{Name: "demo/values.yaml", Body: demo.Files["values.yaml"]},
	}
	for i := range want {
		want[i].Typeflag, want[i].Mode, want[i].Size = tar.TypeReg, 0o644, int64(len(want[i].Body))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestArchive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		entries []Entry
		want    []tarEntry
		wantErr bool
	}{{
		name: "hostile paths and links",
		entries: []Entry{
			{Name: "evil/Chart.yaml", Body: "apiVersion: v2\nname: evil\nversion: 0.1.0\n"},
			{Name: "evil/../../escape.yaml", Body: "x"},
			{Name: "/abs/path.yaml", Body: "y"},
			{Name: "evil/templates/link.yaml", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
			{Name: "evil/templates/hard.yaml", Typeflag: tar.TypeLink, Linkname: "../../outside"},
			{Name: "evil/templates/", Typeflag: tar.TypeDir},
		},
		want: []tarEntry{
			{Name: "evil/Chart.yaml", Typeflag: tar.TypeReg, Mode: 0o644, Size: 41, Body: "apiVersion: v2\nname: evil\nversion: 0.1.0\n"},
			{Name: "evil/../../escape.yaml", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1, Body: "x"},
			{Name: "/abs/path.yaml", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1, Body: "y"},
			{Name: "evil/templates/link.yaml", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd", Mode: 0o777},
			{Name: "evil/templates/hard.yaml", Typeflag: tar.TypeLink, Linkname: "../../outside", Mode: 0o644},
			{Name: "evil/templates/", Typeflag: tar.TypeDir, Mode: 0o755},
		},
	}, {
		name: "header claims less than the body",
		entries: []Entry{
			{Name: "liar/values.yaml", Body: strings.Repeat("x: 1\n", 200), Size: 10},
		},
		want: []tarEntry{
			{Name: "liar/values.yaml", Typeflag: tar.TypeReg, Mode: 0o644, Size: 10, Body: "x: 1\nx: 1\n"},
		},
		wantErr: true, // the second block of the body is read as a header
	}, {
		name: "header claims more than the body",
		entries: []Entry{
			{Name: "liar/templates/big.yaml", Body: "short", Size: 1 << 30},
		},
		wantErr: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := Archive(t, tt.entries...)
			if !bytes.Equal(a, Archive(t, tt.entries...)) {
				t.Error("Archive gave different bytes for the same entries")
			}
			got, err := readTar(t, a)
			if (err != nil) != tt.wantErr {
				t.Errorf("reading the archive: error %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBomb(t *testing.T) {
	t.Parallel()
	const n = 64 << 20
	b := Bomb(t, "boom", n)
	if len(b) > n/500 {
		t.Errorf("bomb is %d bytes, want at most %d", len(b), n/500)
	}
	md, err := readMetadata(b)
	if err != nil {
		t.Fatalf("Chart.yaml: %v", err)
	}
	if md.Name != "boom" || md.Version != "0.1.0" || md.Validate() != nil {
		t.Errorf("Chart.yaml = %+v, want a valid chart boom 0.1.0", md)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	var size int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		m, err := io.Copy(io.Discard, tr)
		if err != nil {
			t.Fatal(err)
		}
		size = m
	}
	if diff := cmp.Diff([]string{"boom/Chart.yaml", "boom/templates/big.yaml"}, names); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if size != n {
		t.Errorf("big.yaml decompresses to %d bytes, want %d", size, n)
	}
}

// get fetches u and returns the status and body.
func get(t *testing.T, c *http.Client, u string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode, body
}

// loadIndex parses an index with Helm's own loader.
func loadIndex(t *testing.T, raw []byte) *repo.IndexFile {
	t.Helper()
	p := filepath.Join(t.TempDir(), "index.yaml")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	idx, err := repo.LoadIndexFile(p)
	if err != nil {
		t.Fatalf("LoadIndexFile: %v", err)
	}
	return idx
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestRepoIndex(t *testing.T) {
	t.Parallel()
	archives := [][]byte{
		Package(t, Chart{Name: "demo", Version: "1.0.0"}),
		Package(t, Chart{Name: "demo", Version: "1.1.0"}),
		Package(t, Chart{Name: "other", Version: "0.1.0+build.1"}),
	}
	tests := []struct {
		name     string
		opts     RepoOptions
		wantBase string // prefix of the index URLs, "" for relative URLs
		wantPath string // URL path of the repository
	}{
		{name: "relative URLs", wantPath: "/charts"},
		{name: "absolute URLs", opts: RepoOptions{AbsoluteURLs: true}, wantBase: "URL/", wantPath: "/charts"},
		{name: "custom path", opts: RepoOptions{Path: "/a/b/"}, wantPath: "/a/b"},
		{name: "root path", opts: RepoOptions{Path: "/"}, wantPath: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewRepo(t, tt.opts, archives...)
			u, err := url.Parse(r.URL)
			if err != nil {
				t.Fatal(err)
			}
			if u.Hostname() != "127.0.0.1" || u.Path != tt.wantPath || strings.HasSuffix(r.URL, "/") {
				t.Errorf("URL = %s, want http://127.0.0.1:PORT%s", r.URL, tt.wantPath)
			}
			status, raw := get(t, http.DefaultClient, r.URL+"/index.yaml")
			if status != http.StatusOK {
				t.Fatalf("GET index.yaml: %d", status)
			}
			if !bytes.Equal(raw, r.Index()) {
				t.Error("served index differs from Index()")
			}
			idx := loadIndex(t, raw)

			type version struct{ Name, Version, URL, Digest string }
			var got []version
			for _, name := range []string{"demo", "other"} {
				for _, cv := range idx.Entries[name] {
					if len(cv.URLs) != 1 {
						t.Fatalf("%s %s: URLs %v, want one", name, cv.Version, cv.URLs)
					}
					got = append(got, version{cv.Name, cv.Version, cv.URLs[0], cv.Digest})

					// The digest is that of the archive served at the URL.
					archiveURL, err := url.Parse(r.URL + "/")
					if err != nil {
						t.Fatal(err)
					}
					if archiveURL, err = archiveURL.Parse(cv.URLs[0]); err != nil {
						t.Fatal(err)
					}
					if archiveURL.String() != r.ArchiveURL(cv.Name, cv.Version) {
						t.Errorf("index URL resolves to %s, ArchiveURL gives %s", archiveURL, r.ArchiveURL(cv.Name, cv.Version))
					}
					status, body := get(t, http.DefaultClient, archiveURL.String())
					if status != http.StatusOK {
						t.Fatalf("GET %s: %d", archiveURL, status)
					}
					if sha256Hex(body) != cv.Digest {
						t.Errorf("%s: index digest %s, served archive has %s", archiveURL, cv.Digest, sha256Hex(body))
					}
				}
			}
			base := strings.ReplaceAll(tt.wantBase, "URL/", r.URL+"/")
			want := []version{
				{"demo", "1.1.0", base + "demo-1.1.0.tgz", sha256Hex(archives[1])},
				{"demo", "1.0.0", base + "demo-1.0.0.tgz", sha256Hex(archives[0])},
				{"other", "0.1.0+build.1", base + "other-0.1.0+build.1.tgz", sha256Hex(archives[2])},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("index entries (-want +got):\n%s", diff)
			}

			// The index is reproducible.
			again := NewRepo(t, RepoOptions{}, archives[2], archives[1], archives[0])
			if !tt.opts.AbsoluteURLs && tt.opts.Path == "" && !bytes.Equal(again.Index(), r.Index()) {
				t.Error("the same archives gave different indexes")
			}
		})
	}
}

func TestRepoAdd(t *testing.T) {
	t.Parallel()
	r := NewRepo(t, RepoOptions{})
	if idx := loadIndex(t, r.Index()); len(idx.Entries) != 0 {
		t.Errorf("empty repository lists %v", idx.Entries)
	}
	v1 := Package(t, Chart{Name: "demo", Version: "1.0.0"})
	r.Add(v1)
	v1b := Package(t, Chart{Name: "demo", Version: "1.0.0", Files: map[string]string{"values.yaml": "a: 1\n"}})
	r.Add(v1b) // replaces
	bomb := Bomb(t, "boom", 1<<20)
	r.Add(bomb) // reads only Chart.yaml
	broken := Archive(t, Entry{Name: "broken/templates/x.yaml", Body: "x"})
	r.AddRaw("broken", "2.0.0", broken)

	idx := loadIndex(t, r.Index())
	got := map[string]string{}
	for name, versions := range idx.Entries {
		for _, cv := range versions {
			got[name+" "+cv.Version] = cv.Digest
		}
	}
	want := map[string]string{
		"demo 1.0.0":   sha256Hex(v1b),
		"boom 0.1.0":   sha256Hex(bomb),
		"broken 2.0.0": sha256Hex(broken),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("index digests (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name, version string
		want          []byte
	}{{"demo", "1.0.0", v1b}, {"boom", "0.1.0", bomb}, {"broken", "2.0.0", broken}} {
		if status, body := get(t, http.DefaultClient, r.ArchiveURL(tc.name, tc.version)); status != http.StatusOK || !bytes.Equal(body, tc.want) {
			t.Errorf("GET %s: %d, body matches %v", r.ArchiveURL(tc.name, tc.version), status, bytes.Equal(body, tc.want))
		}
	}
	if status, _ := get(t, http.DefaultClient, r.URL+"/missing-1.0.0.tgz"); status != http.StatusNotFound {
		t.Errorf("GET a missing archive: %d, want 404", status)
	}
}

func TestRepoAuth(t *testing.T) {
	t.Parallel()
	archive := Package(t, Chart{Name: "demo", Version: "1.0.0"})
	basic := func(u, p string) string {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
		req.SetBasicAuth(u, p)
		return req.Header.Get("Authorization")
	}
	type attempt struct {
		authorization string
		want          int
	}
	tests := []struct {
		name      string
		opts      RepoOptions
		challenge []string
		attempts  []attempt
	}{{
		name: "none",
		attempts: []attempt{
			{"", http.StatusOK},
			{basic("any", "thing"), http.StatusOK},
		},
	}, {
		name:      "basic",
		opts:      RepoOptions{Username: "user", Password: "s3cret"},
		challenge: []string{`Basic realm="charttest"`},
		attempts: []attempt{
			{"", http.StatusUnauthorized},
			{basic("user", "wrong"), http.StatusUnauthorized},
			{basic("other", "s3cret"), http.StatusUnauthorized},
			{"Bearer s3cret", http.StatusUnauthorized},
			{basic("user", "s3cret"), http.StatusOK},
		},
	}, {
		name:      "bearer",
		opts:      RepoOptions{BearerToken: "t0ken"},
		challenge: []string{`Bearer realm="charttest"`},
		attempts: []attempt{
			{"", http.StatusUnauthorized},
			{"Bearer wrong", http.StatusUnauthorized},
			{"bearer t0ken", http.StatusUnauthorized},
			{basic("user", "t0ken"), http.StatusUnauthorized},
			{"Bearer t0ken", http.StatusOK},
		},
	}, {
		name:      "basic or bearer",
		opts:      RepoOptions{Username: "user", Password: "s3cret", BearerToken: "t0ken"},
		challenge: []string{`Basic realm="charttest"`, `Bearer realm="charttest"`},
		attempts: []attempt{
			{"", http.StatusUnauthorized},
			{basic("user", "s3cret"), http.StatusOK},
			{"Bearer t0ken", http.StatusOK},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewRepo(t, tt.opts, archive)
			for _, a := range tt.attempts {
				for _, u := range []string{r.URL + "/index.yaml", r.ArchiveURL("demo", "1.0.0")} {
					req, err := http.NewRequest(http.MethodGet, u, nil)
					if err != nil {
						t.Fatal(err)
					}
					if a.authorization != "" {
						req.Header.Set("Authorization", a.authorization)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != a.want {
						t.Errorf("GET %s with %q: %d, want %d", u, a.authorization, resp.StatusCode, a.want)
					}
					if resp.StatusCode == http.StatusUnauthorized {
						if diff := cmp.Diff(tt.challenge, resp.Header.Values("WWW-Authenticate")); diff != "" {
							t.Errorf("challenge (-want +got):\n%s", diff)
						}
					}
				}
			}
		})
	}
}

func TestRepoTLS(t *testing.T) {
	t.Parallel()
	r := NewRepo(t, RepoOptions{TLS: true}, Package(t, demo))
	if !strings.HasPrefix(r.URL, "https://127.0.0.1:") {
		t.Errorf("URL = %s, want https://127.0.0.1:PORT/charts", r.URL)
	}
	pemBytes, err := os.ReadFile(r.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("CAFile %s holds no certificate", r.CAFile)
	}
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(transport.CloseIdleConnections)
	trusting := &http.Client{Transport: transport}
	if status, _ := get(t, trusting, r.URL+"/index.yaml"); status != http.StatusOK {
		t.Errorf("GET index.yaml trusting the CA: %d", status)
	}
	// By name too: the certificate covers localhost.
	if status, _ := get(t, trusting, strings.Replace(r.ArchiveURL("demo", "1.2.3"), "127.0.0.1", "localhost", 1)); status != http.StatusOK {
		t.Errorf("GET the archive by localhost: %d", status)
	}

	untrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	_, err = untrusting.Get(r.URL + "/index.yaml")
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); !ok {
		t.Errorf("GET without trusting the CA: %v, want a certificate verification error", err)
	}

	if plain := NewRepo(t, RepoOptions{}); plain.CAFile != "" {
		t.Errorf("CAFile = %q without TLS", plain.CAFile)
	}
}

func TestRepoFailNext(t *testing.T) {
	t.Parallel()
	r := NewRepo(t, RepoOptions{Username: "u", Password: "p"}, Package(t, demo))
	index := r.URL + "/index.yaml"
	r.FailNext(2, http.StatusServiceUnavailable)
	var got []int
	for range 3 {
		status, _ := get(t, http.DefaultClient, index) // no credentials: failures come first
		got = append(got, status)
	}
	status, _ := get(t, http.DefaultClient, r.ArchiveURL("demo", "1.2.3"), "Authorization", "Basic dTpw")
	got = append(got, status)
	want := []int{http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusUnauthorized, http.StatusOK}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if n := r.Requests("/charts/index.yaml"); n != 3 {
		t.Errorf("Requests(index) = %d, want 3", n)
	}
	if n := r.Requests("/charts/demo-1.2.3.tgz"); n != 1 {
		t.Errorf("Requests(archive) = %d, want 1", n)
	}
	if n := r.Requests("/charts/other.tgz"); n != 0 {
		t.Errorf("Requests(other) = %d, want 0", n)
	}

	// Concurrent requests share the failures.
	r.FailNext(5, http.StatusBadGateway)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, index, nil)
			req.SetBasicAuth("u", "p")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if diff := cmp.Diff(map[int]int{http.StatusBadGateway: 5, http.StatusOK: 15}, statuses); diff != "" {
		t.Errorf("concurrent statuses (-want +got):\n%s", diff)
	}
	if n := r.Requests("/charts/index.yaml"); n != 23 {
		t.Errorf("Requests(index) = %d, want 23", n)
	}
}

func TestRepoDelay(t *testing.T) {
	t.Parallel()
	r := NewRepo(t, RepoOptions{})
	impatient := &http.Client{Timeout: 50 * time.Millisecond}
	r.Delay(time.Minute)
	start := time.Now()
	_, err := impatient.Get(r.URL + "/index.yaml")
	if err == nil {
		t.Fatal("GET with a 50ms timeout against a 1m delay succeeded")
	}
	if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
		t.Errorf("GET: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("GET took %v", d)
	}

	r.Delay(100 * time.Millisecond)
	start = time.Now()
	if status, _ := get(t, http.DefaultClient, r.URL+"/index.yaml"); status != http.StatusOK {
		t.Errorf("GET: %d", status)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("GET took %v, want at least the 100ms delay", d)
	}

	r.Delay(0)
	if _, err := impatient.Get(r.URL + "/index.yaml"); err != nil {
		t.Errorf("GET after Delay(0): %v", err)
	}
	if n := r.Requests("/charts/index.yaml"); n != 3 {
		t.Errorf("Requests = %d, want 3", n)
	}

	// Close does not wait for a pending delay.
	r.Delay(time.Hour)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(r.URL + "/index.yaml")
		if err == nil {
			resp.Body.Close()
		}
	}()
	for r.Requests("/charts/index.yaml") < 4 {
		time.Sleep(time.Millisecond)
	}
	start = time.Now()
	r.Close()
	<-done
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if _, err := http.Get(r.URL + "/index.yaml"); err == nil {
		t.Error("GET after Close succeeded")
	}
}

func TestRepoTamperAndSetIndex(t *testing.T) {
	t.Parallel()
	archive := Package(t, demo)
	r := NewRepo(t, RepoOptions{}, archive)
	index := r.Index()

	r.Tamper("demo", "1.2.3", func(b []byte) []byte {
		b[len(b)-1] ^= 0xff
		return b
	})
	_, body := get(t, http.DefaultClient, r.ArchiveURL("demo", "1.2.3"))
	if bytes.Equal(body, archive) || len(body) != len(archive) {
		t.Error("tampered archive served unchanged")
	}
	_, served := get(t, http.DefaultClient, r.URL+"/index.yaml")
	if !bytes.Equal(served, index) {
		t.Error("Tamper changed the index")
	}
	if cv, err := loadIndex(t, served).Get("demo", "1.2.3"); err != nil || cv.Digest != sha256Hex(archive) || cv.Digest == sha256Hex(body) {
		t.Errorf("index entry %+v, %v: want the digest of the original archive", cv, err)
	}

	r.Tamper("demo", "1.2.3", func([]byte) []byte { return nil })
	if status, body := get(t, http.DefaultClient, r.ArchiveURL("demo", "1.2.3")); status != http.StatusOK || len(body) != 0 {
		t.Errorf("archive tampered to nothing: %d, %d bytes", status, len(body))
	}

	// Adding the version again ends the tampering.
	r.Add(archive)
	if _, body := get(t, http.DefaultClient, r.ArchiveURL("demo", "1.2.3")); !bytes.Equal(body, archive) {
		t.Error("archive still tampered after Add")
	}

	for _, raw := range [][]byte{[]byte("{{{ not yaml"), {}} {
		r.SetIndex(raw)
		if _, served := get(t, http.DefaultClient, r.URL+"/index.yaml"); !bytes.Equal(served, raw) {
			t.Errorf("SetIndex(%q): served %q", raw, served)
		}
	}
	r.SetIndex(nil)
	if _, served := get(t, http.DefaultClient, r.URL+"/index.yaml"); !bytes.Equal(served, index) {
		t.Error("SetIndex(nil) did not restore the generated index")
	}
}

// newClient returns a Helm registry client for reg.
func newClient(t *testing.T, username, password string) *registry.Client {
	t.Helper()
	opts := []registry.ClientOption{
		registry.ClientOptPlainHTTP(),
		registry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "config.json")),
	}
	if username != "" || password != "" {
		opts = append(opts, registry.ClientOptBasicAuth(username, password))
	}
	c, err := registry.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t, RegistryOptions{})
	if !strings.HasPrefix(reg.Host, "127.0.0.1:") {
		t.Errorf("Host = %s, want 127.0.0.1:PORT", reg.Host)
	}
	tests := []struct {
		name     string
		repoPath string
		chart    Chart
		wantRepo string // repository after Host
		wantTag  string
	}{
		{name: "plain", repoPath: "charts", chart: demo, wantRepo: "/charts/demo", wantTag: "1.2.3"},
		{name: "nested path", repoPath: "/team/charts/", chart: demo, wantRepo: "/team/charts/demo", wantTag: "1.2.3"},
		{name: "no path", chart: demo, wantRepo: "/demo", wantTag: "1.2.3"},
		{name: "build metadata", repoPath: "charts", chart: Chart{Name: "meta", Version: "1.0.0+build.1"}, wantRepo: "/charts/meta", wantTag: "1.0.0_build.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			archive := Package(t, tt.chart)
			digest := reg.Push(t, tt.repoPath, archive)
			if !strings.HasPrefix(digest, "sha256:") {
				t.Errorf("Push = %q, want sha256:...", digest)
			}
			if again := reg.Push(t, tt.repoPath, archive); again != digest {
				t.Errorf("pushing the same archive again gave %s, then %s", digest, again)
			}
			repository := reg.Host + tt.wantRepo
			if got := reg.URL(tt.repoPath) + "/" + tt.chart.Name; got != "oci://"+repository {
				t.Errorf("URL(%q) + name = %s, want oci://%s", tt.repoPath, got, repository)
			}

			ref := repository + ":" + tt.wantTag
			c := newClient(t, "", "")
			res, err := c.Pull("oci://" + ref)
			if err != nil {
				t.Fatalf("Pull %s: %v", ref, err)
			}
			if !bytes.Equal(res.Chart.Data, archive) {
				t.Error("pulled chart differs from the pushed archive")
			}
			if res.Manifest.Digest != digest {
				t.Errorf("pulled manifest digest %s, pushed %s", res.Manifest.Digest, digest)
			}
			if res.Chart.Meta.Name != tt.chart.Name || res.Chart.Meta.Version != tt.chart.Version {
				t.Errorf("pulled chart %s %s, want %s %s", res.Chart.Meta.Name, res.Chart.Meta.Version, tt.chart.Name, tt.chart.Version)
			}
			desc, err := c.Resolve(ref)
			if err != nil {
				t.Fatalf("Resolve %s: %v", ref, err)
			}
			if desc.Digest.String() != digest {
				t.Errorf("Resolve = %s, Push = %s", desc.Digest, digest)
			}
			byDigest, err := c.Pull(repository + "@" + digest)
			if err != nil {
				t.Fatalf("Pull by digest: %v", err)
			}
			if !bytes.Equal(byDigest.Chart.Data, archive) {
				t.Error("chart pulled by digest differs from the pushed archive")
			}
		})
	}
}

func TestRegistryPushAs(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t, RegistryOptions{})
	before := Package(t, demo)
	moved := demo
	moved.Files = map[string]string{"templates/cm.yaml": "changed after the lock\n"}
	after := Package(t, moved)

	first := reg.Push(t, "charts", before)
	ref := reg.Host + "/charts/demo:1.2.3"
	c := newClient(t, "", "")
	if desc, err := c.Resolve(ref); err != nil || desc.Digest.String() != first {
		t.Fatalf("Resolve before the move: %v, %v", desc.Digest, err)
	}

	second := reg.PushAs(t, "charts", "1.2.3", after)
	if second == first {
		t.Fatal("different content gave the same manifest digest")
	}
	desc, err := c.Resolve(ref)
	if err != nil || desc.Digest.String() != second {
		t.Errorf("Resolve after the move: %v, %v, want %s", desc.Digest, err, second)
	}
	res, err := c.Pull(ref)
	if err != nil || !bytes.Equal(res.Chart.Data, after) {
		t.Errorf("Pull after the move: %v; want the new archive", err)
	}
	// The old manifest is still there by digest.
	if old, err := c.Pull(reg.Host + "/charts/demo@" + first); err != nil || !bytes.Equal(old.Chart.Data, before) {
		t.Errorf("Pull of the old digest: %v", err)
	}

	// A tag that is not a version.
	stable := reg.PushAs(t, "charts", "stable", before)
	if stable != first {
		t.Errorf("PushAs(stable) = %s, want %s (same archive, same manifest)", stable, first)
	}
	tags, err := c.Tags(reg.Host + "/charts/demo")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1.2.3"}, tags); diff != "" {
		t.Errorf("semver tags (-want +got):\n%s", diff)
	}
}

func TestRegistryAuth(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t, RegistryOptions{Username: "user", Password: "s3cret"})
	archive := Package(t, demo)
	digest := reg.Push(t, "charts", archive)
	ref := "oci://" + reg.Host + "/charts/demo:1.2.3"

	// The registry challenges with basic auth.
	resp, err := http.Get("http://" + reg.Host + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Basic realm="charttest"` {
		t.Errorf("GET /v2/: %d %q, want 401 with a basic challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	tests := []struct {
		name, username, password string
		wantErr                  bool
	}{
		{name: "anonymous", wantErr: true},
		{name: "wrong password", username: "user", password: "wrong", wantErr: true},
		{name: "wrong user", username: "other", password: "s3cret", wantErr: true},
		{name: "right", username: "user", password: "s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := newClient(t, tt.username, tt.password).Pull(ref)
			if tt.wantErr {
				// oras reports "basic credential not found" when it has none
				// to answer the challenge with, and the 401 otherwise.
				if err == nil || !strings.Contains(err.Error(), "401") && !strings.Contains(err.Error(), "credential not found") {
					t.Errorf("Pull: %v, want an authentication error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if res.Manifest.Digest != digest || !bytes.Equal(res.Chart.Data, archive) {
				t.Errorf("Pull gave %s, want %s and the pushed archive", res.Manifest.Digest, digest)
			}
		})
	}
}

func TestRegistryRequestsAndFaults(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t, RegistryOptions{})
	archive := Package(t, demo)
	reg.Push(t, "charts", archive)
	reg.PushAs(t, "charts", "stable", archive)
	if n := reg.Requests(); n != 0 {
		t.Fatalf("Requests after pushes = %d, want 0", n)
	}
	ref := reg.Host + "/charts/demo:1.2.3"
	c := newClient(t, "", "")
	if _, err := c.Resolve(ref); err != nil {
		t.Fatal(err)
	}
	n := reg.Requests()
	if n == 0 {
		t.Fatal("Requests after Resolve = 0")
	}

	// FailNext answers before the registry, and Helm's client retries on
	// 5xx, so a 4xx shows through.
	reg.FailNext(1, http.StatusForbidden)
	if _, err := c.Resolve(ref); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("Resolve with a failure injected: %v, want 403", err)
	}
	if _, err := c.Resolve(ref); err != nil {
		t.Errorf("Resolve after the failure: %v", err)
	}
	// Pushes are neither failed nor counted.
	reg.FailNext(100, http.StatusForbidden)
	before := reg.Requests()
	reg.PushAs(t, "charts", "other", archive)
	if reg.Requests() != before {
		t.Errorf("Requests changed by a push: %d -> %d", before, reg.Requests())
	}
	reg.FailNext(0, http.StatusForbidden)

	reg.Delay(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+reg.Host+"/v2/", nil)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GET /v2/ with a delay: %v, want a deadline error", err)
	}
	reg.Delay(0)

	reg.Close()
	if _, err := c.Resolve(ref); err == nil {
		t.Error("Resolve after Close succeeded")
	}
}
