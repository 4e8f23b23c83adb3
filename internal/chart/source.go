package chart

import (
	"net"
	"net/url"
	"path/filepath"
	"strings"

	"wookie.dev/wookie/internal/lock"
)

// Kind is where a chart comes from.
type Kind int

// The kinds of chart sources.
const (
	KindHTTP  Kind = iota // an http(s) chart repository with index.yaml
	KindOCI               // an oci:// registry
	KindLocal             // a local directory or .tgz
)

// KindOf tells the kind of a chart repository string.
func KindOf(repo string) Kind {
	switch {
	case strings.HasPrefix(repo, "http://"), strings.HasPrefix(repo, "https://"):
		return KindHTTP
	case strings.HasPrefix(repo, "oci://"):
		return KindOCI
	default:
		return KindLocal
	}
}

// ociRef returns the registry reference (host/path/name) of a chart in an
// oci:// repository.
func ociRef(ref lock.Ref) string {
	return strings.TrimSuffix(strings.TrimPrefix(ref.Repo, "oci://"), "/") + "/" + ref.Name
}

// ociTag turns a chart version into an OCI tag: OCI tags cannot hold '+',
// which Helm writes as '_'.
func ociTag(version string) string {
	return strings.ReplaceAll(version, "+", "_")
}

// isLoopback reports whether the host of an oci:// or http(s) location is a
// loopback address; such registries are spoken to over plain HTTP, as
// docker and Helm do for localhost.
func isLoopback(location string) bool {
	host := location
	if u, err := url.Parse(location); err == nil && u.Host != "" {
		host = u.Host
	} else {
		host = strings.TrimPrefix(host, "oci://")
		if i := strings.IndexByte(host, '/'); i >= 0 {
			host = host[:i]
		}
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// localPath returns the file system path of a local repository, relative
// paths starting at base.
func localPath(base, repo string) string {
	if filepath.IsAbs(repo) || base == "" {
		return filepath.Clean(repo)
	}
	return filepath.Join(base, repo)
}
