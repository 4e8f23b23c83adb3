//go:build unix

package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// deadPID returns the id of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// livePID returns the id of a process that runs until the test ends.
func livePID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

func mkdirs(t *testing.T, parent string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(parent, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCleanStale: the temporaries of processes that are gone are removed
// before the next write; those of running processes, of other targets and
// everything else beside the target stay. A moved-aside previous target
// is put back when the target is missing.
func TestCleanStale(t *testing.T) {
	dead, live, self := deadPID(t), livePID(t), os.Getpid()
	tests := []struct {
		name          string
		before        []string // directories
		files         []string
		targetMissing bool
		want          []string
	}{{
		name: "dead, running and other",
		before: []string{
			fmt.Sprintf(".out.new-%d-1", dead),
			fmt.Sprintf(".out.old-%d-2", dead),
			fmt.Sprintf(".out.new-%d-3", live),
			fmt.Sprintf(".out.new-%d-4", self),
			".out.new-3999999999", // named by an older wookie: random digits
			fmt.Sprintf(".other.new-%d-5", dead),
			fmt.Sprintf("out.new-%d-6", dead),
			".out.new-x-7",
			"out",
		},
		want: []string{
			fmt.Sprintf(".other.new-%d-5", dead),
			".out.new-x-7",
			fmt.Sprintf(".out.new-%d-3", live),
			fmt.Sprintf(".out.new-%d-4", self),
			"out",
			fmt.Sprintf("out.new-%d-6", dead),
		},
	}, {
		name: "file temporaries",
		files: []string{
			fmt.Sprintf(".out.tmp-%d-1", dead),
			fmt.Sprintf(".out.tmp-%d-2", live),
			fmt.Sprintf(".out.tmp-%d-3", self),
			fmt.Sprintf(".other.tmp-%d-4", dead),
			fmt.Sprintf(".out.new-%d-5", dead), // a file where a directory is expected: not ours
			"out",
		},
		before: []string{fmt.Sprintf(".out.tmp-%d-6", dead)}, // a directory: not ours
		want: []string{
			fmt.Sprintf(".other.tmp-%d-4", dead),
			fmt.Sprintf(".out.new-%d-5", dead),
			fmt.Sprintf(".out.tmp-%d-2", live),
			fmt.Sprintf(".out.tmp-%d-3", self),
			fmt.Sprintf(".out.tmp-%d-6", dead),
			"out",
		},
	}, {
		name:   "previous target put back",
		before: []string{fmt.Sprintf(".out.old-%d-1", dead), fmt.Sprintf(".out.new-%d-2", dead)},
		want:   []string{"out"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			mkdirs(t, parent, tc.before...)
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(parent, f), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			CleanStale(filepath.Join(parent, "out"))
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if diff := cmp.Diff(want, names(t, parent)); diff != "" {
				t.Errorf("after CleanStale (-want +got):\n%s", diff)
			}
		})
	}
}

// killWhenReady runs the test named test in a child process with env set
// to dir, waits for the child to write dir/ready, kills it (SIGKILL) and
// returns its pid.
func killWhenReady(t *testing.T, test, env, dir string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env+"="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the writer never got going")
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	return cmd.Process.Pid
}

// TestKilledWriteCleanedUp kills (SIGKILL) a process in the middle of
// ReplaceDir: its temporary directory stays, and the next ReplaceDir
// removes it and writes the target.
func TestKilledWriteCleanedUp(t *testing.T) {
	if dir := os.Getenv("ATOMICFILE_TEST_WRITE_AND_HANG"); dir != "" {
		_ = ReplaceDir(filepath.Join(dir, "out-w"), 0o700, func(tmp string) error {
			if err := os.WriteFile(filepath.Join(tmp, "half"), []byte("x"), 0o600); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "ready"), nil, 0o600); err != nil {
				return err
			}
			time.Sleep(time.Minute)
			return nil
		})
		os.Exit(3)
	}
	parent := t.TempDir()
	pid := killWhenReady(t, "TestKilledWriteCleanedUp", "ATOMICFILE_TEST_WRITE_AND_HANG", parent)
	left := names(t, parent)
	prefix := ".out-w.new-" + strconv.Itoa(pid) + "-"
	if len(left) != 2 || !strings.HasPrefix(left[0], prefix) || left[1] != "ready" {
		t.Fatalf("after the kill: %q, want %s* and ready", left, prefix)
	}

	if err := ReplaceDir(filepath.Join(parent, "out-w"), 0o755, func(tmp string) error {
		return os.WriteFile(filepath.Join(tmp, "whole"), []byte("x"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"out-w", "ready"}, names(t, parent)); diff != "" {
		t.Errorf("after the next write (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(parent, "out-w", "whole")); errors.Is(err, fs.ErrNotExist) {
		t.Error("the next write did not write the target")
	}
}

// TestKilledFileWriteCleanedUp kills (SIGKILL) a process while it writes a
// file's temporary (TempFile, as Write does): the temporary stays, and the
// next Write of the file removes it.
func TestKilledFileWriteCleanedUp(t *testing.T) {
	if dir := os.Getenv("ATOMICFILE_TEST_FILE_AND_HANG"); dir != "" {
		f, err := TempFile(filepath.Join(dir, "wookie.lock"))
		if err == nil {
			_, _ = f.Write([]byte("half"))
			_ = os.WriteFile(filepath.Join(dir, "ready"), nil, 0o600)
			time.Sleep(time.Minute)
		}
		os.Exit(3)
	}
	parent := t.TempDir()
	pid := killWhenReady(t, "TestKilledFileWriteCleanedUp", "ATOMICFILE_TEST_FILE_AND_HANG", parent)
	left := names(t, parent)
	prefix := ".wookie.lock.tmp-" + strconv.Itoa(pid) + "-"
	if len(left) != 2 || !strings.HasPrefix(left[0], prefix) || left[1] != "ready" {
		t.Fatalf("after the kill: %q, want %s* and ready", left, prefix)
	}

	if err := Write(filepath.Join(parent, "wookie.lock"), []byte("whole"), 0o644); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ready", "wookie.lock"}, names(t, parent)); diff != "" {
		t.Errorf("after the next write (-want +got):\n%s", diff)
	}
}
