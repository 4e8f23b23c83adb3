package render

import (
	"os"
	"path/filepath"

	"wookie.dev/wookie/internal/atomicfile"
)

// The modes of the render cache: its directories are private, since an
// entry may hold a chart's Secret with data or a private key; such entries
// are readable by their owner only, the others by everyone who can reach
// them.
const (
	cacheDirMode    = 0o700
	cacheFileMode   = 0o644
	cacheSecretMode = 0o600
)

// write stores the entry data under key, mode cacheSecretMode when secret
// (its objects carry secrets), inside directories of mode cacheDirMode,
// which it makes or narrows: a cache written by an older wookie has wider
// ones.
func (c *Cache) write(key entryName, data []byte, secret bool) error {
	path := c.path(key)
	for _, dir := range []string{filepath.Join(c.Dir, key.kind), filepath.Dir(path)} {
		if err := os.MkdirAll(dir, cacheDirMode); err != nil {
			return err
		}
		if err := os.Chmod(dir, cacheDirMode); err != nil {
			return err
		}
	}
	mode := os.FileMode(cacheFileMode)
	if secret {
		mode = cacheSecretMode
	}
	return atomicfile.Write(path, data, mode)
}
