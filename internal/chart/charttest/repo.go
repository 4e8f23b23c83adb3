package charttest

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"
)

// RepoOptions configure an HTTP chart repository.
type RepoOptions struct {
	// TLS serves HTTPS with a certificate signed by a throwaway CA;
	// Repo.CAFile is a PEM file of that CA.
	TLS bool
	// Username and Password, when either is set, require HTTP basic auth
	// on every request (index and archives).
	Username string
	Password string
	// BearerToken, when set, requires "Authorization: Bearer <token>" on
	// every request. With basic auth also configured, either is accepted.
	BearerToken string
	// AbsoluteURLs makes index entries carry absolute archive URLs; by
	// default they are relative ("mychart-1.0.0.tgz").
	AbsoluteURLs bool
	// Path is the URL path of the repository, "/charts" by default; "/"
	// serves it at the server root.
	Path string
}

// Repo is a Helm HTTP chart repository on 127.0.0.1. It serves index.yaml,
// generated with Helm's own pkg/repo/v1 IndexFile with each archive's sha256
// digest, and the archives, as <Path>/<name>-<version>.tgz. The index is
// deterministic: its timestamps are fixed and its entries sorted.
type Repo struct {
	// URL is the repository URL, e.g. http://127.0.0.1:PORT/charts, without
	// a trailing slash.
	URL string
	// CAFile is the path of a PEM file of the CA that signed the server
	// certificate, when RepoOptions.TLS is set.
	CAFile string

	t         testing.TB
	opts      RepoOptions
	path      string // URL path, "" for the root
	srv       *httptest.Server
	faults    *faults
	closeOnce sync.Once

	mu       sync.Mutex
	entries  map[string]repoEntry // by file name
	tampered map[string][]byte    // by file name
	index    []byte               // generated
	rawIndex []byte               // set by SetIndex; nil serves index
}

// repoEntry is one chart version in a Repo.
type repoEntry struct {
	md      *chart.Metadata
	archive []byte
}

// NewRepo starts a chart repository serving archives, which must be chart
// archives as built by Package. The server is closed when the test ends.
func NewRepo(t testing.TB, opts RepoOptions, archives ...[]byte) *Repo {
	t.Helper()
	p := opts.Path
	if p == "" {
		p = "/charts"
	}
	p = "/" + strings.Trim(p, "/")
	if p == "/" {
		p = ""
	}
	r := &Repo{
		t:        t,
		opts:     opts,
		path:     p,
		faults:   newFaults(t),
		entries:  map[string]repoEntry{},
		tampered: map[string][]byte{},
	}
	r.srv = httptest.NewUnstartedServer(r.faults.wrap(http.HandlerFunc(r.serve)))
	r.srv.Config.ErrorLog = r.faults.errorLog()
	if opts.TLS {
		var cert tls.Certificate
		cert, r.CAFile = newTLS(t)
		r.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		r.srv.StartTLS()
	} else {
		r.srv.Start()
	}
	t.Cleanup(r.Close)
	r.URL = r.srv.URL + r.path

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range archives {
		r.addLocked(a)
	}
	r.regenerateLocked()
	return r
}

// fileName returns the file name of a chart archive in a repository.
func fileName(name, version string) string {
	return name + "-" + version + ".tgz"
}

// Add adds a chart archive, or replaces the one with the same name and
// version (and ends its tampering), and regenerates the index. The name,
// version and the rest of the index entry come from the archive's
// Chart.yaml. Add fails the test given to NewRepo when the archive has no
// valid Chart.yaml; use AddRaw for archives without one.
func (r *Repo) Add(archive []byte) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addLocked(archive)
	r.regenerateLocked()
}

// AddRaw adds any bytes as the archive of chart name at version, or replaces
// it, and regenerates the index; the archive is not read. It serves broken
// and hostile archives (see Archive and Bomb) through the index.
func (r *Repo) AddRaw(name, version string, archive []byte) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	md := &chart.Metadata{APIVersion: chart.APIVersionV2, Name: name, Version: version, Type: "application"}
	r.putLocked(md, archive)
	r.regenerateLocked()
}

func (r *Repo) addLocked(archive []byte) {
	r.t.Helper()
	md, err := readMetadata(archive)
	if err != nil {
		r.t.Fatalf("charttest: repo: add archive: %v", err)
	}
	r.putLocked(md, archive)
}

func (r *Repo) putLocked(md *chart.Metadata, archive []byte) {
	file := fileName(md.Name, md.Version)
	r.entries[file] = repoEntry{md: md, archive: bytes.Clone(archive)}
	delete(r.tampered, file)
}

// regenerateLocked rebuilds the index from the entries.
func (r *Repo) regenerateLocked() {
	r.t.Helper()
	base := ""
	if r.opts.AbsoluteURLs {
		base = r.URL
	}
	idx := repo.NewIndexFile()
	idx.Generated = epoch
	for _, file := range slices.Sorted(maps.Keys(r.entries)) {
		e := r.entries[file]
		sum := sha256.Sum256(e.archive)
		if err := idx.MustAdd(e.md, file, base, hex.EncodeToString(sum[:])); err != nil {
			r.t.Fatalf("charttest: repo: index %s: %v", file, err)
		}
		versions := idx.Entries[e.md.Name]
		versions[len(versions)-1].Created = epoch
	}
	idx.SortEntries()
	b, err := yaml.Marshal(idx)
	if err != nil {
		r.t.Fatalf("charttest: repo: marshal index: %v", err)
	}
	r.index = b
}

// Index returns the generated index.yaml, whatever SetIndex serves instead.
func (r *Repo) Index() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.index)
}

// ArchiveURL returns the absolute URL of the archive of chart name at
// version.
func (r *Repo) ArchiveURL(name, version string) string {
	return r.URL + "/" + url.PathEscape(fileName(name, version))
}

// Tamper makes the repository serve fn(archive) from now on for the archive
// of chart name at version, with the index unchanged, so that the index
// digest no longer matches. fn gets a copy of the archive. Tamper fails the
// test given to NewRepo when there is no such chart version.
func (r *Repo) Tamper(name, version string, fn func([]byte) []byte) {
	r.t.Helper()
	file := fileName(name, version)
	r.mu.Lock()
	e, ok := r.entries[file]
	r.mu.Unlock()
	if !ok {
		r.t.Fatalf("charttest: repo: tamper: no chart %s", file)
	}
	tampered := fn(bytes.Clone(e.archive))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tampered[file] = tampered
}

// SetIndex makes the repository serve raw as index.yaml from now on (garbage,
// malformed YAML, an empty file); nil restores the generated index.
func (r *Repo) SetIndex(raw []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rawIndex = bytes.Clone(raw)
}

// FailNext makes the next n requests, to any path, answer status (e.g. 503)
// with a short text body, before authentication. It replaces any failures
// still pending; n = 0 cancels them.
func (r *Repo) FailNext(n int, status int) {
	r.t.Helper()
	if status < 100 || status > 999 {
		r.t.Fatalf("charttest: repo: invalid status %d", status)
	}
	r.faults.failNext(n, status)
}

// Delay makes every following request wait d before it is answered, or until
// the client gives up; 0 restores immediate answers.
func (r *Repo) Delay(d time.Duration) {
	r.faults.setDelay(d)
}

// Requests returns how many requests reached the URL path (e.g.
// "/charts/index.yaml"), counting the failed ones.
func (r *Repo) Requests(path string) int {
	return r.faults.requests(path)
}

// Close shuts the server down, ending the requests that wait for a Delay;
// later requests are refused. It is safe to call more than once.
func (r *Repo) Close() {
	r.closeOnce.Do(func() {
		r.faults.close()
		r.srv.Close()
	})
}

// serve answers the requests that passed the faults.
func (r *Repo) serve(w http.ResponseWriter, req *http.Request) {
	if !r.authorized(req) {
		if r.opts.Username != "" || r.opts.Password != "" {
			w.Header().Add("WWW-Authenticate", `Basic realm="charttest"`)
		}
		if r.opts.BearerToken != "" {
			w.Header().Add("WWW-Authenticate", `Bearer realm="charttest"`)
		}
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	file, ok := strings.CutPrefix(req.URL.Path, r.path+"/")
	if !ok {
		http.NotFound(w, req)
		return
	}

	var body []byte
	contentType := "application/gzip"
	r.mu.Lock()
	switch {
	case file == "index.yaml":
		body, contentType = r.index, "application/yaml"
		if r.rawIndex != nil {
			body = r.rawIndex
		}
	default:
		var tampered bool
		if body, tampered = r.tampered[file]; !tampered {
			var e repoEntry
			e, ok = r.entries[file]
			body = e.archive
		}
	}
	r.mu.Unlock()
	if !ok {
		http.NotFound(w, req)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// authorized reports whether req carries the credentials the repository
// requires, if any.
func (r *Repo) authorized(req *http.Request) bool {
	basic := r.opts.Username != "" || r.opts.Password != ""
	bearer := r.opts.BearerToken != ""
	if !basic && !bearer {
		return true
	}
	if basic {
		if u, p, ok := req.BasicAuth(); ok && equal(u, r.opts.Username) && equal(p, r.opts.Password) {
			return true
		}
	}
	if bearer {
		if tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok && equal(tok, r.opts.BearerToken) {
			return true
		}
	}
	return false
}

// equal compares secrets in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
