package chart

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v4/pkg/registry"
	orasauth "oras.land/oras-go/v2/registry/remote/auth"

	"wookie.dev/wookie/internal/lock"
)

// registryClient returns Helm's registry client for an oci:// location,
// with the location's credentials, the retrying transport, and plain HTTP
// for loopback registries or when the credentials say so. Credentials come
// only from wookie's credentials file: the client never reads Helm's
// registry configuration or Docker's config.json (its authorizer is ours,
// and its credentials file is empty).
func (c *Client) registryClient(location string) (*registry.Client, error) {
	a, hc, err := c.httpFor(location)
	if err != nil {
		return nil, err
	}
	authorizer := orasauth.Client{Client: hc} // no Credential: none
	authorizer.SetUserAgent("wookie")
	if a != nil {
		if a.token != "" {
			return nil, fmt.Errorf("credentials for %s: token is for http(s) repositories; give an OCI registry a username and password", a.prefix)
		}
		if a.username != "" || a.password != "" {
			host, _, _ := strings.Cut(strings.TrimPrefix(location, "oci://"), "/")
			authorizer.Credential = orasauth.StaticCredential(host, orasauth.Credential{Username: a.username, Password: a.password})
		}
	}
	opts := []registry.ClientOption{
		registry.ClientOptHTTPClient(hc),
		registry.ClientOptWriter(io.Discard),
		registry.ClientOptAuthorizer(authorizer),
		registry.ClientOptCredentialsFile(os.DevNull),
	}
	if isLoopback(location) || a != nil && a.plainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	rc, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	return rc, nil
}

// resolveOCI resolves a chart in an OCI registry: the tag of the version
// (or the newest tag matching a constraint) to its manifest digest.
func (c *Client) resolveOCI(_ context.Context, ref lock.Ref) (*Resolved, error) {
	rc, err := c.registryClient(ref.Repo)
	if err != nil {
		return nil, err
	}
	base := ociRef(ref)
	version := ref.Version
	if _, err := semver.StrictNewVersion(version); err != nil {
		constraint, cerr := semver.NewConstraint(version)
		if cerr != nil {
			return nil, fmt.Errorf("version %q is neither a version nor a constraint: %w", version, cerr)
		}
		tags, err := rc.Tags(base)
		if err != nil {
			return nil, fmt.Errorf("list tags of %s: %w", base, err)
		}
		version = ""
		for _, t := range tags { // newest first
			if v, err := semver.NewVersion(t); err == nil && constraint.Check(v) {
				version = t
				break
			}
		}
		if version == "" {
			return nil, fmt.Errorf("no tag of %s matches %q (newest first: %s)", base, ref.Version, listSome(tags))
		}
	}
	desc, err := rc.Resolve(base + ":" + ociTag(version))
	if err != nil {
		return nil, fmt.Errorf("resolve %s:%s: %w", base, ociTag(version), err)
	}
	digest := desc.Digest.String()
	data, err := c.pullOCI(rc, base, digest, ref.Name, version)
	if err != nil {
		return nil, err
	}
	e := lock.Entry{Ref: ref, ResolvedVersion: version, URL: "oci://" + base + "@" + digest, Digest: digest}
	return &Resolved{Entry: e, Archive: data}, nil
}

// pullOCI pulls the manifest with the given digest and its chart layer,
// verifies both digests and the chart, and caches them.
func (c *Client) pullOCI(rc *registry.Client, base, digest, name, version string) ([]byte, error) {
	res, err := rc.Pull(base + "@" + digest)
	if err != nil {
		return nil, fmt.Errorf("pull %s@%s: %w", base, digest, err)
	}
	if res.Manifest == nil || res.Chart == nil {
		return nil, fmt.Errorf("pull %s@%s: no chart layer in the manifest", base, digest)
	}
	if got := Digest(res.Manifest.Data); got != digest {
		return nil, &DigestMismatchError{What: "manifest of " + base, Expected: digest, Actual: got}
	}
	layer, err := chartLayer(res.Manifest.Data)
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", base, err)
	}
	if got := Digest(res.Chart.Data); got != layer {
		return nil, &DigestMismatchError{What: "chart layer of " + base, Expected: layer, Actual: got}
	}
	if _, err := Load(res.Chart.Data, c.limits(), name, version); err != nil {
		return nil, fmt.Errorf("chart layer of %s: %w", base, err)
	}
	if err := c.store(res.Chart.Data); err != nil {
		return nil, err
	}
	if err := c.store(res.Manifest.Data); err != nil {
		return nil, err
	}
	return res.Chart.Data, nil
}

// chartLayer returns the digest of the Helm chart layer of an OCI manifest.
func chartLayer(manifest []byte) (string, error) {
	var m struct {
		Layers []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return "", fmt.Errorf("not an OCI manifest: %w", err)
	}
	for _, l := range m.Layers {
		if l.MediaType == registry.ChartLayerMediaType || l.MediaType == registry.LegacyChartLayerMediaType {
			return l.Digest, nil
		}
	}
	return "", fmt.Errorf("no layer of media type %s", registry.ChartLayerMediaType)
}

// fetchOCI returns the archive an OCI entry pins: from the cache (the
// manifest by its digest, then the chart layer by the manifest's layer
// digest, both verified), else pulled by digest.
func (c *Client) fetchOCI(_ context.Context, e lock.Entry) ([]byte, error) {
	manifest, err := c.cached(e.Digest)
	if err != nil {
		return nil, err
	}
	if manifest != nil {
		layer, err := chartLayer(manifest)
		if err != nil {
			return nil, fmt.Errorf("cached manifest %s: %w", e.Digest, err)
		}
		data, err := c.cached(layer)
		if err != nil || data != nil {
			return data, err
		}
	}
	if c.Offline {
		return nil, offlineMiss(e)
	}
	base, digest, ok := strings.Cut(strings.TrimPrefix(e.URL, "oci://"), "@")
	if !ok || digest != e.Digest {
		return nil, fmt.Errorf("lock entry url %q does not end in @%s", e.URL, e.Digest)
	}
	rc, err := c.registryClient(e.URL)
	if err != nil {
		return nil, err
	}
	return c.pullOCI(rc, base, digest, e.Name, e.ResolvedVersion)
}
