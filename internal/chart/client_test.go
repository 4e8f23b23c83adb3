package chart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/lock"
)

// fastRetry keeps failing tests quick.
var fastRetry = Retry{Attempts: 3, Backoff: 10 * time.Millisecond, Timeout: 2 * time.Second}

func newClient(t *testing.T) *Client {
	t.Helper()
	return &Client{Cache: &Cache{Dir: t.TempDir()}, Retry: fastRetry}
}

func pkg(t *testing.T, name, version string) []byte {
	return charttest.Package(t, charttest.Chart{Name: name, Version: version, Files: map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n",
	}})
}

func mustErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	t.Logf("error: %v", err)
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// TestLockHTTP locks charts from a real HTTP repository (relative and
// absolute chart URLs) and checks digests against the served bytes.
func TestLockHTTP(t *testing.T) {
	for _, abs := range []bool{false, true} {
		t.Run(map[bool]string{false: "relative", true: "absolute"}[abs], func(t *testing.T) {
			a1, a2, b := pkg(t, "alpha", "1.0.0"), pkg(t, "alpha", "1.2.3"), pkg(t, "beta", "0.1.0")
			repo := charttest.NewRepo(t, charttest.RepoOptions{AbsoluteURLs: abs}, a1, a2, b)
			c := newClient(t)
			refs := []lock.Ref{
				{Repo: repo.URL, Name: "alpha", Version: "~1.2"},
				{Repo: repo.URL, Name: "alpha", Version: "1.0.0"},
				{Repo: repo.URL, Name: "beta", Version: "0.1.0"},
			}
			f, err := c.Lock(context.Background(), refs, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := []lock.Entry{
				{Ref: refs[1], ResolvedVersion: "1.0.0", URL: repo.ArchiveURL("alpha", "1.0.0"), Digest: Digest(a1)},
				{Ref: refs[0], ResolvedVersion: "1.2.3", URL: repo.ArchiveURL("alpha", "1.2.3"), Digest: Digest(a2)},
				{Ref: refs[2], ResolvedVersion: "0.1.0", URL: repo.ArchiveURL("beta", "0.1.0"), Digest: Digest(b)},
			}
			if diff := cmp.Diff(want, f.Charts); diff != "" {
				t.Errorf("lock (-want +got):\n%s", diff)
			}
			if n := repo.Requests("/charts/index.yaml"); n != 1 {
				t.Errorf("index fetched %d times, want 1", n)
			}
			// A fresh cache fetches and verifies the pinned bytes.
			fresh := newClient(t)
			got, err := fresh.Fetch(context.Background(), f.Charts[1])
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(a2) {
				t.Error("fetched bytes differ from the served archive")
			}
		})
	}
}

// TestKeepAndUpdate keeps existing entries unless asked to update them, and
// drops entries no ref uses.
func TestKeepAndUpdate(t *testing.T) {
	repo := charttest.NewRepo(t, charttest.RepoOptions{}, pkg(t, "alpha", "1.0.0"))
	c := newClient(t)
	ref := lock.Ref{Repo: repo.URL, Name: "alpha", Version: "^1"}
	first, err := c.Lock(context.Background(), []lock.Ref{ref}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Set(lock.Entry{Ref: lock.Ref{Repo: repo.URL, Name: "gone", Version: "1"}, ResolvedVersion: "1", URL: "x", Digest: first.Charts[0].Digest})
	repo.Add(pkg(t, "alpha", "1.1.0"))
	kept, err := newClient(t).Lock(context.Background(), []lock.Ref{ref}, first, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept.Charts) != 1 || kept.Charts[0].ResolvedVersion != "1.0.0" {
		t.Errorf("kept: %+v", kept.Charts)
	}
	updated, err := newClient(t).Lock(context.Background(), []lock.Ref{ref}, first, func(lock.Ref) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if updated.Charts[0].ResolvedVersion != "1.1.0" {
		t.Errorf("updated: %+v", updated.Charts)
	}
}

// TestTampered changes one byte of an archive on the server and in the
// cache: the next fetch fails with both digests.
func TestTampered(t *testing.T) {
	a := pkg(t, "alpha", "1.0.0")
	repo := charttest.NewRepo(t, charttest.RepoOptions{}, a)
	c := newClient(t)
	f, err := c.Lock(context.Background(), []lock.Ref{{Repo: repo.URL, Name: "alpha", Version: "1.0.0"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := f.Charts[0]
	flip := func(b []byte) []byte {
		out := append([]byte(nil), b...)
		out[len(out)/2] ^= 0xff
		return out
	}

	t.Run("server", func(t *testing.T) {
		repo.Tamper("alpha", "1.0.0", flip)
		defer repo.Add(a)
		_, err := newClient(t).Fetch(context.Background(), e)
		var mm *DigestMismatchError
		if !errors.As(err, &mm) {
			t.Fatalf("got %v, want a digest mismatch", err)
		}
		mustErr(t, err, "chart alpha@1.0.0 from "+repo.URL, "expected "+e.Digest, "actual "+Digest(flip(a)))
	})

	t.Run("cache", func(t *testing.T) {
		p, _ := c.Cache.path(e.Digest)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, flip(data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = c.Fetch(context.Background(), e)
		mustErr(t, err, "digest mismatch for cache file "+p, "expected "+e.Digest, "actual "+Digest(flip(data)))
		if got := c.CacheState(e); got != "corrupt" {
			t.Errorf("cache state %q, want corrupt", got)
		}
	})
}

// TestOffline serves from the cache without a request, and names what is
// missing.
func TestOffline(t *testing.T) {
	repo := charttest.NewRepo(t, charttest.RepoOptions{}, pkg(t, "alpha", "1.0.0"))
	c := newClient(t)
	ref := lock.Ref{Repo: repo.URL, Name: "alpha", Version: "1.0.0"}
	f, err := c.Lock(context.Background(), []lock.Ref{ref}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := repo.Requests("/charts/alpha-1.0.0.tgz") + repo.Requests("/charts/index.yaml")
	off := &Client{Cache: c.Cache, Offline: true}
	if _, err := off.Fetch(context.Background(), f.Charts[0]); err != nil {
		t.Fatal(err)
	}
	if after := repo.Requests("/charts/alpha-1.0.0.tgz") + repo.Requests("/charts/index.yaml"); after != before {
		t.Errorf("offline fetch made %d requests", after-before)
	}
	empty := &Client{Cache: &Cache{Dir: t.TempDir()}, Offline: true}
	_, err = empty.Fetch(context.Background(), f.Charts[0])
	mustErr(t, err, "chart alpha@1.0.0", "not in the cache and --offline forbids downloading it")
	_, err = empty.Lock(context.Background(), []lock.Ref{ref}, nil, nil)
	mustErr(t, err, "chart alpha@1.0.0", "not pinned in the lock file, and resolving it needs the network (--offline)")
}

// TestHTTPErrors gives every kind of bad repository and its message.
func TestHTTPErrors(t *testing.T) {
	good := pkg(t, "alpha", "1.0.0")
	tests := []struct {
		name  string
		setup func(r *charttest.Repo)
		ref   func(r *charttest.Repo) lock.Ref
		want  []string
	}{{
		name: "version not in the index",
		ref:  func(r *charttest.Repo) lock.Ref { return lock.Ref{Repo: r.URL, Name: "alpha", Version: "9.9.9"} },
		want: []string{"chart alpha@9.9.9", `version "9.9.9" is not in the repository index (newest first: 1.0.0)`},
	}, {
		name: "chart not found",
		ref:  func(r *charttest.Repo) lock.Ref { return lock.Ref{Repo: r.URL, Name: "gamma", Version: "1.0.0"} },
		want: []string{`no chart named "gamma" in the repository (it has alpha)`},
	}, {
		name:  "garbage index",
		setup: func(r *charttest.Repo) { r.SetIndex([]byte("<html><body>hello</body></html>")) },
		want:  []string{"repository index " + "", "/index.yaml: malformed"},
	}, {
		name:  "index without apiVersion",
		setup: func(r *charttest.Repo) { r.SetIndex([]byte("entries: {}\n")) },
		want:  []string{"not a Helm chart repository index (no apiVersion)"},
	}, {
		name:  "malformed index",
		setup: func(r *charttest.Repo) { r.SetIndex([]byte("apiVersion: v1\nentries: [1, 2\n")) },
		want:  []string{"/index.yaml: malformed"},
	}, {
		name: "truncated archive",
		setup: func(r *charttest.Repo) {
			r.AddRaw("alpha", "2.0.0", good[:len(good)/2])
		},
		ref:  func(r *charttest.Repo) lock.Ref { return lock.Ref{Repo: r.URL, Name: "alpha", Version: "2.0.0"} },
		want: []string{"chart alpha@2.0.0", "alpha-2.0.0.tgz"},
	}, {
		name: "archive with ..",
		setup: func(r *charttest.Repo) {
			r.AddRaw("alpha", "2.0.0", charttest.Archive(t,
				charttest.Entry{Name: "alpha/Chart.yaml", Body: "apiVersion: v2\nname: alpha\nversion: 2.0.0\n"},
				charttest.Entry{Name: "alpha/../../etc/passwd", Body: "x"}))
		},
		ref:  func(r *charttest.Repo) lock.Ref { return lock.Ref{Repo: r.URL, Name: "alpha", Version: "2.0.0"} },
		want: []string{"chart alpha@2.0.0", ".."},
	}, {
		name: "archive with a link leaving the chart",
		setup: func(r *charttest.Repo) {
			r.AddRaw("alpha", "2.0.0", charttest.Archive(t,
				charttest.Entry{Name: "alpha/Chart.yaml", Body: "apiVersion: v2\nname: alpha\nversion: 2.0.0\n"},
				charttest.Entry{Name: "alpha/templates/x.yaml", Typeflag: '2', Linkname: "../../../etc/passwd"}))
		},
		ref:  func(r *charttest.Repo) lock.Ref { return lock.Ref{Repo: r.URL, Name: "alpha", Version: "2.0.0"} },
		want: []string{"is a symlink to ../../../etc/passwd: links are not allowed in chart archives"},
	}, {
		name:  "decompression bomb",
		setup: func(r *charttest.Repo) { r.AddRaw("alpha", "2.0.0", charttest.Bomb(t, "alpha", 200<<20)) },
		ref:   func(r *charttest.Repo) lock.Ref { return lock.Ref{Repo: r.URL, Name: "alpha", Version: "2.0.0"} },
		want:  []string{"chart alpha@2.0.0"},
	}, {
		name: "missing Chart.yaml",
		setup: func(r *charttest.Repo) {
			r.AddRaw("alpha", "2.0.0", charttest.Archive(t, charttest.Entry{Name: "alpha/values.yaml", Body: "a: 1\n"}))
		},
		ref:  func(r *charttest.Repo) lock.Ref { return lock.Ref{Repo: r.URL, Name: "alpha", Version: "2.0.0"} },
		want: []string{"Chart.yaml"},
	}, {
		name:  "server errors until retries run out",
		setup: func(r *charttest.Repo) { r.FailNext(100, 503) },
		want:  []string{"503 Service Unavailable (gave up after 3 tries)"},
	}, {
		name:  "server errors then success",
		setup: func(r *charttest.Repo) { r.FailNext(2, 502) },
		want:  nil,
	}, {
		name:  "timeout",
		setup: func(r *charttest.Repo) { r.Delay(5 * time.Second) },
		want:  []string{"index.yaml", "gave up after 3 tries"},
	}, {
		name: "wrong name inside the archive",
		setup: func(r *charttest.Repo) {
			r.AddRaw("alpha", "2.0.0", pkg(t, "other", "2.0.0"))
		},
		ref:  func(r *charttest.Repo) lock.Ref { return lock.Ref{Repo: r.URL, Name: "alpha", Version: "2.0.0"} },
		want: []string{"chart alpha@2.0.0", "other"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := charttest.NewRepo(t, charttest.RepoOptions{}, good)
			if tt.setup != nil {
				tt.setup(repo)
			}
			ref := lock.Ref{Repo: repo.URL, Name: "alpha", Version: "1.0.0"}
			if tt.ref != nil {
				ref = tt.ref(repo)
			}
			c := &Client{Cache: &Cache{Dir: t.TempDir()}, Retry: Retry{Attempts: 3, Backoff: 10 * time.Millisecond, Timeout: 300 * time.Millisecond}}
			f, err := c.Lock(context.Background(), []lock.Ref{ref}, nil, nil)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			mustErr(t, err, tt.want...)
			if f != nil {
				t.Error("a lock file came back with the error")
			}
			entries, _ := os.ReadDir(filepath.Join(c.Cache.Dir, "blobs", "sha256"))
			for _, e := range entries {
				data, _ := os.ReadFile(filepath.Join(c.Cache.Dir, "blobs", "sha256", e.Name()))
				if "sha256:"+e.Name() != Digest(data) {
					t.Errorf("cache holds a blob under the wrong name: %s", e.Name())
				}
			}
		})
	}
}

// TestUnreachable reports a repository nobody answers at.
func TestUnreachable(t *testing.T) {
	repo := charttest.NewRepo(t, charttest.RepoOptions{})
	url := repo.URL
	repo.Close()
	c := newClient(t)
	_, err := c.Lock(context.Background(), []lock.Ref{{Repo: url, Name: "alpha", Version: "1.0.0"}}, nil, nil)
	mustErr(t, err, "chart alpha@1.0.0 from "+url, "repository index: GET "+url+"/index.yaml", "connection refused", "gave up after 3 tries")
}

// TestCredentials covers basic auth from the environment, bearer tokens,
// wrong credentials and a custom CA over TLS.
func TestCredentials(t *testing.T) {
	a := pkg(t, "alpha", "1.0.0")
	basic := charttest.NewRepo(t, charttest.RepoOptions{Username: "ci", Password: "s3cret", TLS: true}, a)
	bearer := charttest.NewRepo(t, charttest.RepoOptions{BearerToken: "tok"}, a)
	t.Setenv("TEST_CHART_PASSWORD", "s3cret")
	t.Setenv("TEST_CHART_TOKEN", "tok")
	creds := &Credentials{Repositories: []Credential{
		{URL: basic.URL, Username: "ci", PasswordEnv: "TEST_CHART_PASSWORD", CAFile: basic.CAFile},
		{URL: bearer.URL, TokenEnv: "TEST_CHART_TOKEN"},
	}}
	c := newClient(t)
	c.Credentials = creds
	refs := []lock.Ref{{Repo: basic.URL, Name: "alpha", Version: "1.0.0"}, {Repo: bearer.URL, Name: "alpha", Version: "1.0.0"}}
	if _, err := c.Lock(context.Background(), refs, nil, nil); err != nil {
		t.Fatal(err)
	}

	wrong := newClient(t)
	wrong.Credentials = &Credentials{Repositories: []Credential{{URL: basic.URL, Username: "ci", Password: "nope", CAFile: basic.CAFile}}}
	_, err := wrong.Lock(context.Background(), refs[:1], nil, nil)
	mustErr(t, err, "401 Unauthorized: wrong or missing credentials")

	noCA := newClient(t)
	noCA.Credentials = &Credentials{Repositories: []Credential{{URL: basic.URL, Username: "ci", Password: "s3cret"}}}
	_, err = noCA.Lock(context.Background(), refs[:1], nil, nil)
	mustErr(t, err, "certificate")

	unset := newClient(t)
	unset.Credentials = &Credentials{Repositories: []Credential{{URL: bearer.URL, TokenEnv: "TEST_NOT_SET_ANYWHERE"}}}
	_, err = unset.Lock(context.Background(), refs[1:], nil, nil)
	mustErr(t, err, "environment variable TEST_NOT_SET_ANYWHERE is not set")
}

// TestOCI locks a chart in a real OCI registry: the digest is the manifest
// digest, a moved tag does not change what a pin fetches, and --update
// follows the tag.
func TestOCI(t *testing.T) {
	reg := charttest.NewRegistry(t, charttest.RegistryOptions{})
	v1 := pkg(t, "alpha", "1.0.0")
	manifest := reg.Push(t, "charts", v1)
	reg.Push(t, "charts", pkg(t, "alpha", "1.1.0+build.7"))
	c := newClient(t)
	refs := []lock.Ref{
		{Repo: reg.URL("charts"), Name: "alpha", Version: "1.0.0"},
		{Repo: reg.URL("charts"), Name: "alpha", Version: "~1.1"},
	}
	f, err := c.Lock(context.Background(), refs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := f.Charts[0]
	if e.Ref != refs[0] || e.Digest != manifest || e.ResolvedVersion != "1.0.0" || e.URL != reg.URL("charts")+"/alpha@"+manifest {
		t.Errorf("entry: %+v, want digest %s", e, manifest)
	}
	if f.Charts[1].ResolvedVersion != "1.1.0+build.7" {
		t.Errorf("constraint resolved to %s", f.Charts[1].ResolvedVersion)
	}

	// The tag moves; the pin still fetches the locked bytes.
	reg.PushAs(t, "charts/alpha", "1.0.0", pkg(t, "alpha", "1.0.0-moved"))
	got, err := newClient(t).Fetch(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(v1) {
		t.Error("fetch by pin did not return the locked bytes")
	}

	// Offline from the cache: no request reaches the registry.
	before := reg.Requests()
	if _, err := (&Client{Cache: c.Cache, Offline: true}).Fetch(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if reg.Requests() != before {
		t.Errorf("offline fetch reached the registry")
	}
	if got := c.CacheState(e); got != "cached" {
		t.Errorf("cache state %q", got)
	}

	_, err = newClient(t).Lock(context.Background(), []lock.Ref{{Repo: reg.URL("charts"), Name: "nope", Version: "1.0.0"}}, nil, nil)
	mustErr(t, err, "chart nope@1.0.0", "resolve "+strings.TrimPrefix(reg.URL("charts"), "oci://")+"/nope:1.0.0")
}

// TestOCIAuth uses basic auth against the registry.
func TestOCIAuth(t *testing.T) {
	reg := charttest.NewRegistry(t, charttest.RegistryOptions{Username: "robot", Password: "pw"})
	reg.Push(t, "charts", pkg(t, "alpha", "1.0.0"))
	ref := lock.Ref{Repo: reg.URL("charts"), Name: "alpha", Version: "1.0.0"}
	c := newClient(t)
	c.Credentials = &Credentials{Repositories: []Credential{{URL: reg.URL(""), Username: "robot", Password: "pw"}}}
	if _, err := c.Lock(context.Background(), []lock.Ref{ref}, nil, nil); err != nil {
		t.Fatal(err)
	}
	bad := newClient(t)
	bad.Credentials = &Credentials{Repositories: []Credential{{URL: reg.URL(""), Username: "robot", Password: "wrong"}}}
	_, err := bad.Lock(context.Background(), []lock.Ref{ref}, nil, nil)
	mustErr(t, err, "chart alpha@1.0.0", "401")
}

// TestLocal pins local chart directories and archives.
func TestLocal(t *testing.T) {
	dir := t.TempDir()
	charttest.WriteDir(t, dir, charttest.Chart{Name: "web", Version: "0.3.0", Files: map[string]string{"templates/cm.yaml": "kind: ConfigMap\n"}})
	tgz := pkg(t, "api", "1.0.0")
	if err := os.WriteFile(filepath.Join(dir, "api-1.0.0.tgz"), tgz, 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Client{BaseDir: dir, Retry: fastRetry}
	refs := []lock.Ref{{Repo: ".", Name: "web"}, {Repo: ".", Name: "api", Version: "1.0.0"}}
	f, err := c.Lock(context.Background(), refs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, packed, err := PackDir(filepath.Join(dir, "web"))
	if err != nil {
		t.Fatal(err)
	}
	want := []lock.Entry{
		{Ref: refs[1], ResolvedVersion: "1.0.0", URL: "api-1.0.0.tgz", Digest: Digest(tgz)},
		{Ref: refs[0], ResolvedVersion: "0.3.0", URL: "web", Digest: packed},
	}
	if diff := cmp.Diff(want, f.Charts); diff != "" {
		t.Errorf("lock (-want +got):\n%s", diff)
	}
	for _, e := range f.Charts {
		if _, err := c.Fetch(context.Background(), e); err != nil {
			t.Errorf("fetch %s: %v", e.Name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "web", "templates", "cm.yaml"), []byte("kind: Secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = c.Fetch(context.Background(), f.Charts[1])
	mustErr(t, err, "chart web@(any version) from .", "the local chart changed since it was locked", "expected "+packed)

	_, err = c.Lock(context.Background(), []lock.Ref{{Repo: ".", Name: "web", Version: "2.0.0"}}, nil, nil)
	mustErr(t, err, "chart version is 0.3.0, which does not match 2.0.0")
	_, err = c.Lock(context.Background(), []lock.Ref{{Repo: "./nope", Name: "web"}}, nil, nil)
	mustErr(t, err, "local repository ./nope: no such file or directory")
}
