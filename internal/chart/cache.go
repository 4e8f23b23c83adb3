package chart

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"wookie.dev/wookie/internal/atomicfile"
)

// CacheEnv names the environment variable that overrides the cache
// directory.
const CacheEnv = "WOOKIE_CACHE_DIR"

// DefaultCacheDir returns $WOOKIE_CACHE_DIR, else $XDG_CACHE_HOME/wookie
// (~/.cache/wookie).
func DefaultCacheDir() string {
	if d := os.Getenv(CacheEnv); d != "" {
		return d
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "wookie-cache")
	}
	return filepath.Join(dir, "wookie")
}

// Cache is a content-addressed store of blobs (chart archives and OCI
// manifests) under Dir/blobs/sha256/<hex>. Every read re-verifies the
// digest; writes go to a temporary file renamed into place, so concurrent
// wookie processes sharing a cache never see a torn file.
type Cache struct {
	Dir string
}

// ErrNotCached reports a blob that is not in the cache.
var ErrNotCached = errors.New("not in the cache")

// DigestMismatchError reports bytes whose digest is not the pinned one.
type DigestMismatchError struct {
	What     string // where the bytes came from
	Expected string
	Actual   string
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("digest mismatch for %s: expected %s, actual %s", e.What, e.Expected, e.Actual)
}

// Digest returns "sha256:<hex>" of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// path returns the file of a digest, or an error for a malformed digest.
func (c *Cache) path(digest string) (string, error) {
	hexPart, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexPart) != 64 || strings.Trim(hexPart, "0123456789abcdef") != "" {
		return "", fmt.Errorf("malformed digest %q", digest)
	}
	return filepath.Join(c.Dir, "blobs", "sha256", hexPart), nil
}

// Get returns the blob with the given digest. A missing blob is
// ErrNotCached; a blob whose bytes no longer match its digest is a
// *DigestMismatchError naming the file.
func (c *Cache) Get(digest string) ([]byte, error) {
	p, err := c.path(digest)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotCached
		}
		return nil, fmt.Errorf("cache: %w", err)
	}
	if got := Digest(data); got != digest {
		return nil, &DigestMismatchError{What: "cache file " + p + " (delete it to fetch again)", Expected: digest, Actual: got}
	}
	return data, nil
}

// Has reports whether a blob is cached, without verifying it.
func (c *Cache) Has(digest string) bool {
	p, err := c.path(digest)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// Put stores data under its digest and returns the digest.
func (c *Cache) Put(data []byte) (string, error) {
	digest := Digest(data)
	p, err := c.path(digest)
	if err != nil {
		return "", err
	}
	if err := atomicfile.Write(p, data, 0o644); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	return digest, nil
}
