package chart

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/errtext"
)

// CredentialsEnv names the environment variable that points at the
// credentials file.
const CredentialsEnv = "WOOKIE_CREDENTIALS"

// Credentials are the secrets and TLS settings wookie uses to reach chart
// repositories and registries. They come from a credentials file and the
// environment, never from the configuration, so a configuration can be
// committed and shared.
//
//	apiVersion: wookie.dev/v1alpha1
//	kind: Credentials
//	repositories:
//	- url: https://charts.example.com/   # this origin, and the paths under this path
//	  username: ci
//	  passwordEnv: CHARTS_PASSWORD       # read from the environment
//	- url: oci://registry.example.com/team
//	  tokenEnv: REGISTRY_TOKEN
//	  caFile: /etc/ssl/team-ca.pem
type Credentials struct {
	APIVersion   string       `json:"apiVersion"`
	Kind         string       `json:"kind"`
	Repositories []Credential `json:"repositories"`
	source       string
}

// Credential holds what wookie sends to the repositories whose URL starts
// with URL.
type Credential struct {
	// URL says where the credential is sent: to URLs of exactly its
	// origin (scheme, host and port) whose path starts with its path, on a
	// "/" boundary (oci://host/path for registries); the longest matching
	// path wins. A redirect to another origin is followed without it.
	URL string `json:"url"`
	// Username and Password for HTTP basic authentication; the *Env
	// fields name environment variables to read them from instead.
	Username    string `json:"username,omitempty"`
	UsernameEnv string `json:"usernameEnv,omitempty"`
	Password    string `json:"password,omitempty"`
	PasswordEnv string `json:"passwordEnv,omitempty"`
	// Token is sent as "Authorization: Bearer <token>" (http(s) only).
	Token    string `json:"token,omitempty"`
	TokenEnv string `json:"tokenEnv,omitempty"`
	// CAFile is a PEM bundle of certificate authorities to trust in
	// addition to the system's.
	CAFile string `json:"caFile,omitempty"`
	// PlainHTTP speaks plain HTTP to an OCI registry (loopback registries
	// always are).
	PlainHTTP bool `json:"plainHTTP,omitempty"`
}

// DefaultCredentialsPath returns $WOOKIE_CREDENTIALS, else
// $XDG_CONFIG_HOME/wookie/credentials.yaml.
func DefaultCredentialsPath() string {
	if p := os.Getenv(CredentialsEnv); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "wookie", "credentials.yaml")
}

// LoadCredentials reads a credentials file. A missing file at the default
// location (required false) means no credentials.
func LoadCredentials(path string, required bool) (*Credentials, error) {
	if path == "" {
		return &Credentials{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !required {
			return &Credentials{}, nil
		}
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if err := errtext.CheckYAMLSyntax(path, data); err != nil {
		return nil, err
	}
	var c Credentials
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("credentials %s: %s", path, errtext.OneLine(err.Error()))
	}
	if c.APIVersion != "wookie.dev/v1alpha1" || c.Kind != "Credentials" {
		return nil, fmt.Errorf("credentials %s: want apiVersion wookie.dev/v1alpha1 and kind Credentials", path)
	}
	for i, r := range c.Repositories {
		if r.URL == "" {
			return nil, fmt.Errorf("credentials %s: repositories[%d]: url is required", path, i)
		}
		if _, err := parseScope(r.URL); err != nil {
			return nil, fmt.Errorf("credentials %s: repositories[%d]: %w", path, i, err)
		}
	}
	c.source = path
	return &c, nil
}

// auth is a resolved credential: secrets read from the environment.
type auth struct {
	prefix    string
	username  string
	password  string
	token     string
	caFile    string
	plainHTTP bool
}

// For returns the credential for location (a URL or oci:// reference),
// with secrets resolved from the environment, or nil when none applies.
func (c *Credentials) For(location string) (*auth, error) {
	if c == nil {
		return nil, nil
	}
	loc, err := parseScope(location)
	if err != nil {
		return nil, nil // no credential for what is no URL
	}
	var best *Credential
	bestLen := -1
	for i := range c.Repositories {
		r := &c.Repositories[i]
		s, err := parseScope(r.URL)
		if err != nil || !s.contains(loc) {
			continue
		}
		if len(s.path) > bestLen {
			best, bestLen = r, len(s.path)
		}
	}
	if best == nil {
		return nil, nil
	}
	a := &auth{prefix: best.URL, caFile: best.CAFile, plainHTTP: best.PlainHTTP}
	if a.username, err = secret(best.Username, best.UsernameEnv, best.URL); err != nil {
		return nil, err
	}
	if a.password, err = secret(best.Password, best.PasswordEnv, best.URL); err != nil {
		return nil, err
	}
	if a.token, err = secret(best.Token, best.TokenEnv, best.URL); err != nil {
		return nil, err
	}
	return a, nil
}

// secret returns value, or the environment variable env when it is named.
func secret(value, env, url string) (string, error) {
	if env == "" {
		return value, nil
	}
	v, ok := os.LookupEnv(env)
	if !ok {
		return "", fmt.Errorf("credentials for %s: environment variable %s is not set", url, env)
	}
	return v, nil
}

// scope is where a credential applies: an origin and a path under it.
type scope struct {
	origin string // scheme://host:port, lowercase, with the default port
	path   string // without a trailing "/"
}

// parseScope parses an http(s) URL or an oci://host/path reference (a
// bare host/path is read as OCI) into a scope.
func parseScope(location string) (scope, error) {
	raw := location
	if !strings.Contains(raw, "://") {
		raw = "oci://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return scope{}, fmt.Errorf("url %q: not a URL", errtext.RedactURL(location))
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	switch scheme {
	case "http":
		port = cmp.Or(port, "80")
	case "https", "oci":
		port = cmp.Or(port, "443")
	default:
		return scope{}, fmt.Errorf("url %q: want an http://, https:// or oci:// URL", errtext.RedactURL(location))
	}
	if u.Hostname() == "" {
		return scope{}, fmt.Errorf("url %q: no host", errtext.RedactURL(location))
	}
	if scheme == "oci" {
		// An OCI reference may carry a tag or digest after its path.
		u.Path, _, _ = strings.Cut(u.Path, "@")
	}
	return scope{
		origin: scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port),
		path:   strings.TrimSuffix(u.Path, "/"),
	}, nil
}

// contains reports whether loc is s's origin and under s's path.
func (s scope) contains(loc scope) bool {
	return s.origin == loc.origin && (loc.path == s.path || strings.HasPrefix(loc.path, s.path+"/"))
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	sa, err := parseScope(a.String())
	if err != nil {
		return false
	}
	sb, err := parseScope(b.String())
	return err == nil && sa.origin == sb.origin
}
