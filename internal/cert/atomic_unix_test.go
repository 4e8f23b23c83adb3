//go:build unix

package cert

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStoreRemovesKilledWritesTemporaries: the temporary files a writer
// killed mid-write left in the store (.<name>.tmp-<pid>-*, pid gone) are
// removed when the store writes that file again; one of a running process
// stays.
func TestStoreRemovesKilledWritesTemporaries(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	if err := mkdirPrivate(s.Dir); err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf(".%s.tmp-%d-1", RootKeyFile, gone.Process.Pid)
	live := fmt.Sprintf(".%s.tmp-%d-2", RootKeyFile, os.Getppid())
	for _, name := range []string{dead, live} {
		if err := os.WriteFile(filepath.Join(s.Dir, name), []byte("half a key"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InitRoot(RootOptions{KeyAlgorithm: ECDSA}, false); err != nil {
		t.Fatal(err)
	}
	want := []string{". drwx------", live + " -rw-------", "root-cert.pem -rw-------", "root-key.pem -rw-------"}
	if diff := cmp.Diff(want, tree(t, s.Dir)); diff != "" {
		t.Errorf("store after InitRoot (-want +got):\n%s", diff)
	}
}
