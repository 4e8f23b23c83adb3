// Package atomicfile writes files so that readers, and other wookie
// processes, see the old content or the new one and never a part.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes data to path through a temporary file in the same
// directory (TempFile), synced and then renamed into place; it first
// removes the temporaries of killed writers of path (CleanStale). It
// creates missing parent directories.
func Write(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	CleanStale(path)
	f, err := TempFile(path)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Marker is the file ReplaceDir leaves in every directory it writes, so
// that it later replaces only directories it wrote itself.
const Marker = ".wookie-output"

// ReplaceDir builds a new directory with build, in a temporary directory
// beside target (see TempDir), and then puts it in target's place; it
// first cleans up after killed runs (CleanStale). On any error target is
// left exactly as it was. An existing target is replaced only when it is
// empty or holds Marker (it was written by ReplaceDir), so a mistyped
// output path never deletes a user's files. The new target has mode perm,
// 0o755 or, for a directory holding secrets, 0o700; Marker gets the
// matching file mode (FileMode).
func ReplaceDir(target string, perm fs.FileMode, build func(dir string) error) (err error) {
	target = filepath.Clean(target)
	parent := filepath.Dir(target)
	CleanStale(target)
	if st, err := os.Stat(target); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", target)
		}
		entries, err := os.ReadDir(target)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			if _, err := os.Stat(filepath.Join(target, Marker)); err != nil {
				return fmt.Errorf("refusing to replace %s: it is not empty and wookie did not write it (no %s in it)", target, Marker)
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := TempDir(target)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, perm); err != nil {
		return err
	}
	if err := build(tmp); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, Marker), []byte("written by wookie; the whole directory is replaced on every run\n"), FileMode(perm)); err != nil {
		return err
	}
	return SwapDir(tmp, target)
}

// SwapDir puts the directory tmp in target's place: a missing target is
// simply renamed to; an existing one is moved aside, replaced, and removed,
// or put back when the replacing rename fails. tmp and target must be in
// the same directory.
func SwapDir(tmp, target string) error {
	if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, target)
	}
	old, err := os.MkdirTemp(filepath.Dir(target), tempPrefix(target, oldInfix))
	if err != nil {
		return err
	}
	if err := os.Remove(old); err != nil {
		return err
	}
	if err := os.Rename(target, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		if rerr := os.Rename(old, target); rerr != nil {
			return fmt.Errorf("%w; and restoring the previous %s failed: %v (it is at %s)", err, target, rerr, old)
		}
		return err
	}
	return os.RemoveAll(old)
}

// FileMode is the mode of the files in a directory of mode dir: 0o600 in
// a private directory (no permission for group or others), else 0o644.
func FileMode(dir fs.FileMode) fs.FileMode {
	if dir.Perm()&0o077 == 0 {
		return 0o600
	}
	return 0o644
}
