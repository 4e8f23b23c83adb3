package charttest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd" // basic auth
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // storage
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"
	"helm.sh/helm/v4/pkg/registry"
)

// RegistryOptions configure an OCI registry.
type RegistryOptions struct {
	// Username and Password, when either is set, require HTTP basic auth
	// on every request: the registry answers 401 with a Basic challenge,
	// as a registry with an htpasswd file does. Set both: Helm's registry
	// client sends no credentials when either is empty.
	Username, Password string
}

// Registry is an OCI registry on 127.0.0.1, served in-process over plain
// HTTP by the distribution registry (the one Helm's own tests use) with
// in-memory storage. Charts are pushed to it with Helm's registry client.
type Registry struct {
	// Host is the registry's address, "127.0.0.1:PORT".
	Host string

	t         testing.TB
	srv       *httptest.Server
	app       *handlers.App
	faults    *faults
	transport *http.Transport
	client    *registry.Client
	closeOnce sync.Once
}

// quietLogs silences the distribution registry, which logs every request
// through logrus's standard logger.
var quietLogs sync.Once

// NewRegistry starts an empty OCI registry. The server is closed when the
// test ends. The first call silences logrus's standard logger for the rest
// of the test binary.
func NewRegistry(t testing.TB, opts RegistryOptions) *Registry {
	t.Helper()
	quietLogs.Do(func() { logrus.SetLevel(logrus.PanicLevel) })

	config := &configuration.Configuration{}
	// The secret only signs upload state; a fixed one avoids a warning.
	config.HTTP.Secret = "charttest"
	config.Storage = configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}
	clientOpts := []registry.ClientOption{
		registry.ClientOptPlainHTTP(),
		registry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "registry-config.json")),
	}
	if opts.Username != "" || opts.Password != "" {
		// The cost is the lowest: the registry checks the password on
		// every request.
		hash, err := bcrypt.GenerateFromPassword([]byte(opts.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatalf("charttest: registry: hash password: %v", err)
		}
		htpasswd := filepath.Join(t.TempDir(), "htpasswd")
		if err := os.WriteFile(htpasswd, fmt.Appendf(nil, "%s:%s\n", opts.Username, hash), 0o600); err != nil {
			t.Fatalf("charttest: registry: %v", err)
		}
		config.Auth = configuration.Auth{
			"htpasswd": configuration.Parameters{"realm": "charttest", "path": htpasswd},
		}
		clientOpts = append(clientOpts, registry.ClientOptBasicAuth(opts.Username, opts.Password))
	}

	r := &Registry{
		t:         t,
		app:       handlers.NewApp(context.Background(), config),
		faults:    newFaults(t),
		transport: &http.Transport{},
	}
	r.srv = httptest.NewUnstartedServer(r.faults.wrap(r.app))
	r.srv.Config.ErrorLog = r.faults.errorLog()
	r.srv.Start()
	t.Cleanup(r.Close)
	r.Host = strings.TrimPrefix(r.srv.URL, "http://")

	clientOpts = append(clientOpts, registry.ClientOptHTTPClient(&http.Client{Transport: setupTransport{r.transport}}))
	client, err := registry.NewClient(clientOpts...)
	if err != nil {
		t.Fatalf("charttest: registry: client: %v", err)
	}
	r.client = client
	return r
}

// setupTransport marks the requests charttest sends itself, so that the
// faults middleware lets them through uncounted.
type setupTransport struct {
	base http.RoundTripper
}

func (s setupTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set(setupHeader, "1")
	return s.base.RoundTrip(req)
}

// URL returns the OCI URL of a repository path in the registry,
// oci://<Host>/<repoPath>, under which charts are pushed by name.
func (r *Registry) URL(repoPath string) string {
	return "oci://" + r.ref(repoPath, "")
}

// ref returns <Host>/<repoPath>/<name>, without empty parts.
func (r *Registry) ref(repoPath, name string) string {
	ref := r.Host
	for _, p := range []string{strings.Trim(repoPath, "/"), name} {
		if p != "" {
			ref += "/" + p
		}
	}
	return ref
}

// Push pushes a chart archive as a Helm OCI artifact to
// oci://<Host>/<repoPath>/<chart name>:<version with + replaced by _>, using
// Helm's own pkg/registry client over plain HTTP, and returns the manifest
// digest ("sha256:..."). The manifest's creation annotation is fixed, so
// pushing the same archive gives the same digest.
func (r *Registry) Push(t testing.TB, repoPath string, archive []byte) string {
	t.Helper()
	md, err := readMetadata(archive)
	if err != nil {
		t.Fatalf("charttest: registry: push: %v", err)
	}
	return r.push(t, repoPath, md.Name, md.Version, archive, true)
}

// PushAs pushes a chart archive like Push but under tag, which need not be
// the chart's version ("+" is replaced by "_" all the same). Pushing another
// archive of the same chart under an existing tag moves the tag, as when a
// publisher overwrites a version after it was locked.
func (r *Registry) PushAs(t testing.TB, repoPath, tag string, archive []byte) string {
	t.Helper()
	md, err := readMetadata(archive)
	if err != nil {
		t.Fatalf("charttest: registry: push: %v", err)
	}
	return r.push(t, repoPath, md.Name, tag, archive, false)
}

func (r *Registry) push(t testing.TB, repoPath, name, tag string, archive []byte, strict bool) string {
	t.Helper()
	ref := r.ref(repoPath, name) + ":" + tag
	res, err := r.client.Push(archive, ref,
		registry.PushOptStrictMode(strict),
		registry.PushOptCreationTime(epoch.Format(time.RFC3339)))
	if err != nil {
		t.Fatalf("charttest: registry: push %s: %v", ref, err)
	}
	return res.Manifest.Digest
}

// FailNext makes the next n requests answer status (e.g. 503) with a short
// text body, before authentication. Pushes by charttest are exempt. It
// replaces any failures still pending; n = 0 cancels them. Note that Helm's
// registry client retries 5xx answers itself, with backoff.
func (r *Registry) FailNext(n int, status int) {
	r.t.Helper()
	if status < 100 || status > 999 {
		r.t.Fatalf("charttest: registry: invalid status %d", status)
	}
	r.faults.failNext(n, status)
}

// Delay makes every following request wait d before it is answered, or until
// the client gives up; 0 restores immediate answers. Pushes by charttest are
// exempt.
func (r *Registry) Delay(d time.Duration) {
	r.faults.setDelay(d)
}

// Requests returns how many requests the registry received, failed ones
// included, other than those of Push and PushAs: it stays 0 while the code
// under test stays offline.
func (r *Registry) Requests() int {
	return r.faults.requestsTotal()
}

// Close shuts the registry down, ending the requests that wait for a Delay;
// later requests are refused. It is safe to call more than once.
func (r *Registry) Close() {
	r.closeOnce.Do(func() {
		r.faults.close()
		r.srv.Close()
		r.transport.CloseIdleConnections()
		_ = r.app.Shutdown()
	})
}
