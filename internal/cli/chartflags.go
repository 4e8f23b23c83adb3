package cli

import (
	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/chart"
	"wookie.dev/wookie/internal/lock"
)

// lockFlags select the lock file and how strictly it is used.
type lockFlags struct {
	lockFile string
	locked   bool
}

func addLockFlags(cmd *cobra.Command, f *lockFlags) {
	cmd.Flags().StringVar(&f.lockFile, "lock-file", lock.FileName, "lock file pinning chart versions and digests")
	cmd.Flags().BoolVar(&f.locked, "locked", false, "fail instead of warning when a chart is not pinned in the lock file (for CI)")
}

// fetchFlags configure chart fetching.
type fetchFlags struct {
	cacheDir string
	offline  bool
}

func addFetchFlags(cmd *cobra.Command, f *fetchFlags) {
	cmd.Flags().StringVar(&f.cacheDir, "cache-dir", "", "chart cache directory (default $"+chart.CacheEnv+", else $XDG_CACHE_HOME/wookie)")
	cmd.Flags().BoolVar(&f.offline, "offline", false, "use only the cache: never contact a chart repository or registry")
}
