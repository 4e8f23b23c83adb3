package chart

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/lock"
)

// TestOCINoAmbientCredentials: with no wookie credential for a registry,
// the registry client sends none, although Docker's config.json (in $HOME
// and in $DOCKER_CONFIG) and Helm's registry configuration hold
// credentials for it: the registry's request log shows no Authorization
// header, and the pull fails as unauthorized.
func TestOCINoAmbientCredentials(t *testing.T) {
	reg := charttest.NewRegistry(t, charttest.RegistryOptions{Username: "robot", Password: "pw"})
	reg.Push(t, "charts", pkg(t, "alpha", "1.0.0"))
	front, log := logged(t, proxyTo(t, "http://"+reg.Host, "", ""))
	host := strings.TrimPrefix(front.URL, "http://")

	config := fmt.Appendf(nil, `{"auths": {%q: {"auth": %q}}}`, host, base64.StdEncoding.EncodeToString([]byte("robot:pw")))
	home, docker, helm := t.TempDir(), t.TempDir(), t.TempDir()
	for _, p := range []string{
		filepath.Join(home, ".docker", "config.json"),
		filepath.Join(docker, "config.json"),
		filepath.Join(home, ".config", "helm", "registry", "config.json"),
		filepath.Join(helm, "registry", "config.json"),
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, config, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", docker)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("HELM_CONFIG_HOME", helm)
	t.Setenv("HELM_REGISTRY_CONFIG", filepath.Join(helm, "registry", "config.json"))

	c := newClient(t)
	c.Credentials = &Credentials{}
	_, err := c.Lock(context.Background(), []lock.Ref{{Repo: "oci://" + host + "/charts", Name: "alpha", Version: "1.0.0"}}, nil, nil)
	if err == nil {
		t.Error("lock succeeded: the client authenticated with credentials from outside the credentials file")
	}
	if log.len() == 0 {
		t.Fatal("no request reached the registry")
	}
	if got := log.withAuth(); len(got) > 0 {
		t.Errorf("the registry received credentials that are not in the credentials file: %q", got)
	}
}
