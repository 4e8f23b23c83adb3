package cert

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"wookie.dev/wookie/internal/atomicfile"
)

// Modes of what a Store writes: key material is for its owner only.
const (
	fileMode fs.FileMode = 0o600
	dirMode  fs.FileMode = 0o700
)

// mkdirPrivate creates dir and its missing parents with mode 0700, setting
// the mode again after the umask, and sets an existing dir that others may
// read or enter to 0700: keys are written into it. Parents that exist are
// left alone.
func mkdirPrivate(dir string) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s: not a directory", d)
			}
			if d == filepath.Clean(dir) && st.Mode().Perm() != dirMode {
				if err := os.Chmod(d, dirMode); err != nil {
					return fmt.Errorf("%s: make it private to its owner: %w", d, err)
				}
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, d := range slices.Backward(missing) {
		if err := os.Mkdir(d, dirMode); err != nil {
			if errors.Is(err, fs.ErrExist) {
				continue // made meanwhile by someone else: not ours to chmod
			}
			return err
		}
		if err := os.Chmod(d, dirMode); err != nil {
			return err
		}
	}
	return nil
}

// writeFiles writes files, by name, into dir with mode 0600. Each file goes
// through a temporary file in dir (atomicfile.TempFile, whose stale copies
// of killed writers it removes first); all are written and synced before the
// first is renamed into place, in name order.
func writeFiles(dir string, files map[string][]byte) (err error) {
	names := sortedKeys(files)
	tmps := make([]string, 0, len(names))
	defer func() {
		if err != nil {
			for _, t := range tmps {
				os.Remove(t)
			}
		}
	}()
	for _, name := range names {
		atomicfile.CleanStale(filepath.Join(dir, name))
		f, err := atomicfile.TempFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		tmps = append(tmps, f.Name())
		if err := finish(f, files[name]); err != nil {
			return err
		}
	}
	for i, name := range names {
		if err := os.Rename(tmps[i], filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// replaceDir puts a directory holding exactly files, by name, at target:
// it writes them into a temporary directory beside target and renames that
// into place, so that target is never half written. An existing target is
// replaced only when replace is set and target holds no file but those
// named in clusterFiles; it is moved aside first and restored if the
// rename fails.
func replaceDir(target string, files map[string][]byte, replace bool) (err error) {
	parent := filepath.Dir(target)
	atomicfile.CleanStale(target) // before the check: it may put back a previous target
	if _, err := checkReplaceable(target, replace); err != nil {
		return err
	}
	if err := mkdirPrivate(parent); err != nil {
		return err
	}
	tmp, err := atomicfile.TempDir(target)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, dirMode); err != nil {
		return err
	}
	for _, name := range sortedKeys(files) {
		f, err := os.OpenFile(filepath.Join(tmp, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
		if err != nil {
			return err
		}
		if err := finish(f, files[name]); err != nil {
			return err
		}
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	if err := atomicfile.SwapDir(tmp, target); err != nil {
		return err
	}
	return syncDir(parent)
}

// checkReplaceable reports whether target exists, and returns an error
// when it may not be replaced: when replace is not set (wrapping
// ErrExists), when it is not a directory, or when it holds a file that is
// not one of clusterFiles, so that a mistyped directory is never deleted.
func checkReplaceable(target string, replace bool) (bool, error) {
	st, err := os.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !replace {
		return true, fmt.Errorf("%s: %w", target, ErrExists)
	}
	if !st.IsDir() {
		return true, fmt.Errorf("%s: not a directory; refusing to replace it", target)
	}
	entries, err := os.ReadDir(target)
	if err != nil {
		return true, err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !slices.Contains(clusterFiles, e.Name()) {
			return true, fmt.Errorf("%s holds %s, which wookie does not write there; refusing to replace it", target, e.Name())
		}
	}
	return true, nil
}

// finish writes data to f, sets mode 0600, syncs and closes f.
func finish(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(fileMode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir syncs the directory dir, so that renames in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string][]byte) []string {
	return slices.Sorted(maps.Keys(m))
}
