package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The infixes of the temporaries beside a target: for a directory, the new
// version being built and the old one moved aside while the new one is
// renamed into place; for a file, the new content being written.
const (
	newInfix = ".new-"
	oldInfix = ".old-"
	tmpInfix = ".tmp-"
)

// tempPrefix is the name prefix of a temporary of this process beside
// target: .<base><infix><pid>- (os.MkdirTemp appends random digits).
func tempPrefix(target, infix string) string {
	return "." + filepath.Base(target) + infix + strconv.Itoa(os.Getpid()) + "-"
}

// TempDir makes an empty directory beside target for a new version of it
// to be built in and renamed into place: .<base>.new-<pid>-<random>, so
// that CleanStale of a later run can tell whether its process is gone.
func TempDir(target string) (string, error) {
	target = filepath.Clean(target)
	return os.MkdirTemp(filepath.Dir(target), tempPrefix(target, newInfix))
}

// TempFile creates a file beside path for its new content to be written
// to and renamed into place: .<base>.tmp-<pid>-<random>, mode 0600, so that
// CleanStale of a later write can tell whether its process is gone.
func TempFile(path string) (*os.File, error) {
	path = filepath.Clean(path)
	return os.CreateTemp(filepath.Dir(path), tempPrefix(path, tmpInfix))
}

// CleanStale removes the temporaries beside target (the directories
// .<base>.new-<pid>-* and .<base>.old-<pid>-*, and those of wookie versions
// that named them .<base>.new-<random>; the files .<base>.tmp-<pid>-*) of
// processes that no longer run. An .old- one is
// target's previous version, moved aside by a process killed before it
// renamed the new one into place: when target is missing it is put back
// instead, so call it before looking at target. It is best effort: what cannot be removed stays for a later
// run, and where a process cannot be looked up (not Unix) nothing is
// removed.
func CleanStale(target string) {
	target = filepath.Clean(target)
	parent, base := filepath.Dir(target), filepath.Base(target)
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, infix, ok := staleOwner(e.Name(), base)
		if !ok || e.IsDir() != (infix != tmpInfix) || pid == os.Getpid() || !processGone(pid) {
			continue
		}
		p := filepath.Join(parent, e.Name())
		if infix == oldInfix {
			if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
				if os.Rename(p, target) == nil {
					continue
				}
			}
		}
		_ = os.RemoveAll(p)
	}
}

// staleOwner parses name as a temporary beside the target base:
// .<base><infix><pid>[-<random>], and returns the process id and infix.
func staleOwner(name, base string) (pid int, infix string, ok bool) {
	for _, infix := range []string{newInfix, oldInfix, tmpInfix} {
		rest, found := strings.CutPrefix(name, "."+base+infix)
		if !found {
			continue
		}
		digits, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(digits)
		if err != nil || pid <= 0 || len(digits) > 10 {
			return 0, "", false
		}
		return pid, infix, true
	}
	return 0, "", false
}
