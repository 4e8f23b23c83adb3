package chart

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/lock"
)

// requestLog is a loopback server's log of the requests it received: the
// path and the Authorization header of each.
type requestLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r.URL.Path+" authorization="+r.Header.Get("Authorization"))
}

func (l *requestLog) withAuth() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.reqs {
		if !strings.HasSuffix(r, "authorization=") {
			out = append(out, r)
		}
	}
	return out
}

func (l *requestLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

func (l *requestLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// logged serves h on 127.0.0.1 and logs every request.
func logged(t *testing.T, h http.Handler) (*httptest.Server, *requestLog) {
	log := &requestLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, log
}

// proxyTo forwards requests to target's origin, with the basic auth user:pass when
// user is not empty (and the client's Authorization otherwise).
func proxyTo(t *testing.T, target, user, pass string) http.Handler {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "" // the client's path is the whole path
	p := httputil.NewSingleHostReverseProxy(u)
	if user != "" {
		direct := p.Director
		p.Director = func(r *http.Request) {
			direct(r)
			r.SetBasicAuth(user, pass)
		}
	}
	return p
}

// TestRedirectKeepsCredentialsHome: a repository on port A that answers
// with a redirect to port B of the same host (or to A again) gets its
// basic-auth credentials; B never sees them, after one hop or several.
func TestRedirectKeepsCredentialsHome(t *testing.T) {
	for _, tc := range []struct {
		name string
		// redirect says where port A sends a request for path; "" serves
		// it (from the repository, with the credentials checked).
		redirect func(b, path string) string
		// hops says where port B sends a request for path before it
		// serves it; "" serves it.
		hops func(b, path string) string
	}{{
		name:     "index and archive on the other port",
		redirect: func(b, path string) string { return b + path },
	}, {
		name:     "archive only on the other port",
		redirect: func(b, path string) string { return map[bool]string{true: b + path}[strings.HasSuffix(path, ".tgz")] },
	}, {
		name:     "two hops on the other port",
		redirect: func(b, path string) string { return b + "/hop" + path },
		hops: func(b, path string) string {
			return map[bool]string{true: b + strings.TrimPrefix(path, "/hop")}[strings.HasPrefix(path, "/hop/")]
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			repo := charttest.NewRepo(t, charttest.RepoOptions{Username: "ci", Password: "s3cret"}, pkg(t, "alpha", "1.0.0"))
			b, bLog := logged(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.hops != nil {
					if to := tc.hops("http://"+r.Host, r.URL.Path); to != "" {
						http.Redirect(w, r, to, http.StatusFound)
						return
					}
				}
				// B serves the repository's files itself: it needs no
				// credentials from the client.
				proxyTo(t, repo.URL, "ci", "s3cret").ServeHTTP(w, r)
			}))
			a, aLog := logged(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if to := tc.redirect(b.URL, r.URL.Path); to != "" {
					http.Redirect(w, r, to, http.StatusFound)
					return
				}
				proxyTo(t, repo.URL, "", "").ServeHTTP(w, r)
			}))
			c := newClient(t)
			c.Credentials = &Credentials{Repositories: []Credential{{URL: a.URL, Username: "ci", Password: "s3cret"}}}
			ref := lock.Ref{Repo: a.URL + "/charts", Name: "alpha", Version: "1.0.0"}
			if _, err := c.Lock(context.Background(), []lock.Ref{ref}, nil, nil); err != nil {
				t.Fatal(err)
			}
			if bLog.len() == 0 {
				t.Fatal("no request reached port B")
			}
			if got := bLog.withAuth(); len(got) > 0 {
				t.Errorf("port B received credentials: %q", got)
			}
			if len(aLog.withAuth()) != aLog.len() {
				t.Errorf("port A received requests without its credentials: %q", aLog.reqs)
			}
		})
	}
}

// lockAlphaWithRobot locks alpha 1.0.0 from the OCI registry served by
// front, with the credentials robot:pw configured for it.
func lockAlphaWithRobot(t *testing.T, front *httptest.Server) {
	t.Helper()
	repo := "oci://" + strings.TrimPrefix(front.URL, "http://") + "/charts"
	c := newClient(t)
	c.Credentials = &Credentials{Repositories: []Credential{{URL: repo, Username: "robot", Password: "pw"}}}
	if _, err := c.Lock(context.Background(), []lock.Ref{{Repo: repo, Name: "alpha", Version: "1.0.0"}}, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestOCIRedirectKeepsCredentialsHome: a registry that requires basic
// auth on port A and redirects blob downloads to port B (as registries do
// to their storage), where they are redirected once more, sends B no
// credentials. (oras-go drops them on a hop to another origin than the
// previous hop's; net/http copies them from the first request again on
// the next hop, which B to B is.)
func TestOCIRedirectKeepsCredentialsHome(t *testing.T) {
	reg := charttest.NewRegistry(t, charttest.RegistryOptions{Username: "robot", Password: "pw"})
	reg.Push(t, "charts", pkg(t, "alpha", "1.0.0"))
	b, bLog := logged(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/hop"); ok {
			http.Redirect(w, r, "http://"+r.Host+rest, http.StatusTemporaryRedirect)
			return
		}
		proxyTo(t, "http://"+reg.Host, "robot", "pw").ServeHTTP(w, r)
	}))
	a, aLog := logged(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/") && r.Header.Get("Authorization") != "" {
			http.Redirect(w, r, b.URL+"/hop"+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		proxyTo(t, "http://"+reg.Host, "", "").ServeHTTP(w, r)
	}))
	lockAlphaWithRobot(t, a)
	if bLog.len() == 0 {
		t.Fatal("no blob request reached port B")
	}
	if got := bLog.withAuth(); len(got) > 0 {
		t.Errorf("port B received credentials: %q", got)
	}
	if len(aLog.withAuth()) == 0 {
		t.Error("the registry on port A never received its credentials")
	}
}

// TestIndexURLOnAnotherOriginGetsNoCredentials: an index on port A, whose
// credentials are configured, lists its archive by an absolute URL on port
// B of the same host (no redirect): B is asked for it without them.
func TestIndexURLOnAnotherOriginGetsNoCredentials(t *testing.T) {
	repo := charttest.NewRepo(t, charttest.RepoOptions{AbsoluteURLs: true}, pkg(t, "alpha", "1.0.0"))
	b, bLog := logged(t, proxyTo(t, repo.URL, "", ""))
	a, aLog := logged(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/index.yaml") {
			w.Write([]byte(strings.ReplaceAll(string(repo.Index()), repo.URL, b.URL+"/charts")))
			return
		}
		http.NotFound(w, r)
	}))
	c := newClient(t)
	c.Credentials = &Credentials{Repositories: []Credential{{URL: a.URL, Username: "ci", Password: "s3cret"}}}
	if _, err := c.Lock(context.Background(), []lock.Ref{{Repo: a.URL + "/charts", Name: "alpha", Version: "1.0.0"}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if bLog.len() == 0 {
		t.Fatal("the archive was not fetched from port B")
	}
	if got := bLog.withAuth(); len(got) > 0 {
		t.Errorf("port B received credentials: %q", got)
	}
	if aLog.len() == 0 || len(aLog.withAuth()) != aLog.len() {
		t.Errorf("port A received requests without its credentials: %q", aLog.reqs)
	}
}

// TestOCIManifestRedirectKeepsCredentialsHome: a registry that requires
// basic auth on port A and redirects manifest requests (tag and digest) to
// port B sends B no credentials.
func TestOCIManifestRedirectKeepsCredentialsHome(t *testing.T) {
	reg := charttest.NewRegistry(t, charttest.RegistryOptions{Username: "robot", Password: "pw"})
	reg.Push(t, "charts", pkg(t, "alpha", "1.0.0"))
	b, bLog := logged(t, proxyTo(t, "http://"+reg.Host, "robot", "pw"))
	a, aLog := logged(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") && r.Header.Get("Authorization") != "" {
			http.Redirect(w, r, b.URL+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		proxyTo(t, "http://"+reg.Host, "", "").ServeHTTP(w, r)
	}))
	lockAlphaWithRobot(t, a)
	if !slices.ContainsFunc(bLog.all(), func(r string) bool { return strings.Contains(r, "/manifests/") }) {
		t.Fatalf("no manifest request reached port B: %q", bLog.all())
	}
	if got := bLog.withAuth(); len(got) > 0 {
		t.Errorf("port B received credentials: %q", got)
	}
	if len(aLog.withAuth()) == 0 {
		t.Error("the registry on port A never received its credentials")
	}
}

// TestOCITokenRealmOnAnotherOrigin: a registry on port A that answers with
// a bearer challenge whose realm is on port B: B, the registry's token
// service, gets the registry's credentials (as the distribution spec and
// Helm have it, and README's Security section says), and A gets only the
// token.
func TestOCITokenRealmOnAnotherOrigin(t *testing.T) {
	reg := charttest.NewRegistry(t, charttest.RegistryOptions{Username: "robot", Password: "pw"})
	reg.Push(t, "charts", pkg(t, "alpha", "1.0.0"))
	b, bLog := logged(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "robot" || p != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"token": "t0ken"}`))
	}))
	a, aLog := logged(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0ken" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+b.URL+`/token",service="registry",scope="repository:charts/alpha:pull"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		proxyTo(t, "http://"+reg.Host, "robot", "pw").ServeHTTP(w, r)
	}))
	lockAlphaWithRobot(t, a)
	basic := "authorization=Basic " + base64.StdEncoding.EncodeToString([]byte("robot:pw"))
	if got := bLog.all(); len(got) == 0 || !strings.HasSuffix(got[0], basic) {
		t.Errorf("the token realm on port B: requests %q, want the registry's credentials", got)
	}
	for _, r := range aLog.all() {
		if !strings.HasSuffix(r, "authorization=") && !strings.HasSuffix(r, "authorization=Bearer t0ken") {
			t.Errorf("port A received %q, want no credentials or the token", r)
		}
	}
}

// TestCredentialFor: a credential applies to exactly its origin and to
// the paths under its own, never to a host or port that only starts the
// same.
func TestCredentialFor(t *testing.T) {
	creds := &Credentials{Repositories: []Credential{
		{URL: "https://charts.example.com", Username: "origin"},
		{URL: "https://charts.example.com/team/", Username: "team"},
		{URL: "http://127.0.0.1:8080", Username: "loopback"},
		{URL: "oci://registry.example.com/team", Username: "oci-team"},
	}}
	for _, tc := range []struct{ location, want string }{
		{"https://charts.example.com/index.yaml", "origin"},
		{"https://CHARTS.example.com:443/x/a.tgz", "origin"},
		{"https://charts.example.com/team/index.yaml", "team"},
		{"https://charts.example.com/team", "team"},
		{"https://charts.example.com/teamster/index.yaml", "origin"},
		{"https://charts.example.com.evil.io/index.yaml", ""},
		{"https://charts.example.com:8443/index.yaml", ""},
		{"http://charts.example.com/index.yaml", ""},
		{"http://127.0.0.1:8080/charts/index.yaml", "loopback"},
		{"http://127.0.0.1:80801/charts/index.yaml", ""},
		{"http://127.0.0.1:8081/index.yaml", ""},
		{"oci://registry.example.com/team/alpha", "oci-team"},
		{"oci://registry.example.com/team/alpha@sha256:0123", "oci-team"},
		{"oci://registry.example.com/teamster/alpha", ""},
		{"oci://registry.example.com:5000/team/alpha", ""},
		{"not a url", ""},
	} {
		a, err := creds.For(tc.location)
		if err != nil {
			t.Fatalf("%s: %v", tc.location, err)
		}
		got := ""
		if a != nil {
			got = a.username
		}
		if got != tc.want {
			t.Errorf("For(%q) = %q, want %q", tc.location, got, tc.want)
		}
	}
}
