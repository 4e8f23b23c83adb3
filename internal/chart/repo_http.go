package chart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	repov1 "helm.sh/helm/v4/pkg/repo/v1"

	"wookie.dev/wookie/internal/errtext"
	"wookie.dev/wookie/internal/lock"
)

// maxIndex bounds the size of a repository index.
const maxIndex = 64 << 20

type indexResult struct {
	index *repov1.IndexFile
}

// index downloads and parses a repository's index.yaml, once per
// repository and Client.
func (c *Client) index(ctx context.Context, repoURL string) (*repov1.IndexFile, error) {
	res, err := c.indexes.do(repoURL, func() (*indexResult, error) {
		url := strings.TrimSuffix(repoURL, "/") + "/index.yaml"
		a, hc, err := c.httpFor(url)
		if err != nil {
			return nil, err
		}
		data, err := get(ctx, hc, a, url, maxIndex)
		if err != nil {
			return nil, fmt.Errorf("repository index: %w", err)
		}
		idx, err := parseIndex(data)
		if err != nil {
			return nil, fmt.Errorf("repository index %s: %w", url, err)
		}
		return &indexResult{index: idx}, nil
	})
	if err != nil {
		return nil, err
	}
	return res.index, nil
}

// parseIndex parses index.yaml with Helm's loader, which reads files only.
func parseIndex(data []byte) (*repov1.IndexFile, error) {
	dir, err := os.MkdirTemp("", "wookie-index-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "index.yaml")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return nil, err
	}
	idx, err := repov1.LoadIndexFile(p)
	switch {
	case errors.Is(err, repov1.ErrNoAPIVersion):
		return nil, errors.New("not a Helm chart repository index (no apiVersion)")
	case errors.Is(err, repov1.ErrEmptyIndexYaml):
		return nil, errors.New("empty")
	case err != nil:
		return nil, fmt.Errorf("malformed: %s", strings.TrimPrefix(errtext.OneLine(strings.ReplaceAll(err.Error(), p, "index.yaml")), "error loading index.yaml: "))
	}
	return idx, nil
}

// resolveHTTP resolves a chart in an http(s) repository.
func (c *Client) resolveHTTP(ctx context.Context, ref lock.Ref) (*Resolved, error) {
	idx, err := c.index(ctx, ref.Repo)
	if err != nil {
		return nil, err
	}
	versions, ok := idx.Entries[ref.Name]
	if !ok || len(versions) == 0 {
		names := make([]string, 0, len(idx.Entries))
		for n := range idx.Entries {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("no chart named %q in the repository (it has %s)", ref.Name, listSome(names))
	}
	cv, err := idx.Get(ref.Name, ref.Version)
	if err != nil {
		var have []string
		for _, v := range versions {
			have = append(have, v.Version)
		}
		return nil, fmt.Errorf("version %q is not in the repository index (newest first: %s)", ref.Version, listSome(have))
	}
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("version %s has no download URL in the repository index", cv.Version)
	}
	url, err := repov1.ResolveReferenceURL(ref.Repo, cv.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("version %s: download URL %q: %w", cv.Version, cv.URLs[0], err)
	}
	data, err := c.download(ctx, url)
	if err != nil {
		return nil, err
	}
	digest := Digest(data)
	if cv.Digest != "" && "sha256:"+cv.Digest != digest {
		return nil, &DigestMismatchError{What: url + " against the repository index", Expected: "sha256:" + cv.Digest, Actual: digest}
	}
	if _, err := Load(data, c.limits(), ref.Name, cv.Version); err != nil {
		return nil, fmt.Errorf("archive %s: %w", url, err)
	}
	if err := c.store(data); err != nil {
		return nil, err
	}
	e := lock.Entry{Ref: ref, ResolvedVersion: cv.Version, URL: url, Digest: digest}
	return &Resolved{Entry: e, Archive: data}, nil
}

// download fetches an archive over http(s).
func (c *Client) download(ctx context.Context, url string) ([]byte, error) {
	a, hc, err := c.httpFor(url)
	if err != nil {
		return nil, err
	}
	return get(ctx, hc, a, url, c.limits().MaxArchive)
}

// fetchHTTP returns the archive an http(s) entry pins.
func (c *Client) fetchHTTP(ctx context.Context, e lock.Entry) ([]byte, error) {
	data, err := c.cached(e.Digest)
	if err != nil || data != nil {
		return data, err
	}
	if c.Offline {
		return nil, offlineMiss(e)
	}
	data, err = c.download(ctx, e.URL)
	if err != nil {
		return nil, err
	}
	if got := Digest(data); got != e.Digest {
		return nil, &DigestMismatchError{What: e.URL, Expected: e.Digest, Actual: got}
	}
	if _, err := Load(data, c.limits(), e.Name, e.ResolvedVersion); err != nil {
		return nil, fmt.Errorf("archive %s: %w", e.URL, err)
	}
	return data, c.store(data)
}

// listSome lists at most ten items.
func listSome(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	if len(items) > 10 {
		return strings.Join(items[:10], ", ") + fmt.Sprintf(" and %d more", len(items)-10)
	}
	return strings.Join(items, ", ")
}
