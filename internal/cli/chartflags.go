package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/chart"
	"wookie.dev/wookie/internal/lock"
	"wookie.dev/wookie/internal/plan"
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

// newChartClient builds the chart client the flags describe, with the
// credentials from $WOOKIE_CREDENTIALS or the default credentials file.
func newChartClient(f *fetchFlags) (*chart.Client, error) {
	dir := cacheDir(f)
	_, explicit := os.LookupEnv(chart.CredentialsEnv)
	creds, err := chart.LoadCredentials(chart.DefaultCredentialsPath(), explicit)
	if err != nil {
		return nil, err
	}
	return &chart.Client{Cache: &chart.Cache{Dir: dir}, Offline: f.offline, Credentials: creds}, nil
}

// cacheDir is the cache directory: --cache-dir, else the default.
func cacheDir(f *fetchFlags) string {
	if f.cacheDir != "" {
		return f.cacheDir
	}
	return chart.DefaultCacheDir()
}

// readLock reads the lock file; a missing file gives nil and no error.
func readLock(path string) (*lock.File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("lock file: %w", err)
	}
	return lock.Decode(data, path)
}

// pinPlan attaches the lock file's pins to p. Charts without a pin are a
// warning, or an error with --locked.
func pinPlan(s *streams, cf *configFlags, lf *lockFlags, p *plan.Plan) error {
	refs := lock.Refs(p)
	if len(refs) == 0 {
		return nil
	}
	lf0, err := readLock(lf.lockFile)
	if err != nil {
		return err
	}
	if lf0 == nil {
		if lf.locked {
			return fmt.Errorf("%s: no lock file, and --locked needs every chart pinned: run 'wookie lock'", lf.lockFile)
		}
		warn(s, cf, []string{fmt.Sprintf("%d charts are not pinned (no %s): run 'wookie lock'", len(refs), lf.lockFile)})
		return nil
	}
	missing, err := lock.Apply(p, lf0)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	var names []string
	for _, r := range missing {
		names = append(names, r.String())
	}
	if lf.locked {
		return fmt.Errorf("%s: not pinned (--locked): %s: run 'wookie lock'", lf.lockFile, strings.Join(names, "; "))
	}
	warn(s, cf, []string{fmt.Sprintf("not pinned in %s: %s: run 'wookie lock'", lf.lockFile, strings.Join(names, "; "))})
	return nil
}
