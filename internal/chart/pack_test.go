package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
)

// writeChartFiles writes files (slash-separated path to content) under dir.
func writeChartFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// makeSymlink makes a symlink at dir/name to target.
func makeSymlink(t *testing.T, dir, name, target string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// packTestChart returns a directory with a small chart.
func packTestChart(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeChartFiles(t, dir, map[string]string{
		"Chart.yaml":        testChartYAML,
		"values.yaml":       "replicas: 1\n",
		"templates/cm.yaml": "kind: ConfigMap\n",
		"files/run.sh":      "#!/bin/sh\n",
	})
	return dir
}

// mustPackDir packs dir and fails the test on an error.
func mustPackDir(t *testing.T, dir string) ([]byte, string) {
	t.Helper()
	data, digest, err := PackDir(dir)
	if err != nil {
		t.Fatalf("PackDir: %v", err)
	}
	return data, digest
}

// packedEntry is what the tests look at of a tar header.
type packedEntry struct {
	Name     string
	Typeflag byte
	Mode     int64
	Size     int64
	ModTime  time.Time
	Uid, Gid int
	Uname    string
	Gname    string
	PAX      bool
	Body     string
}

// packedEntries returns the headers and contents of a .tgz archive.
func packedEntries(t *testing.T, data []byte) []packedEntry {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []packedEntry
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, packedEntry{
			Name: hd.Name, Typeflag: hd.Typeflag, Mode: hd.Mode, Size: hd.Size, ModTime: hd.ModTime,
			Uid: hd.Uid, Gid: hd.Gid, Uname: hd.Uname, Gname: hd.Gname, PAX: len(hd.PAXRecords) > 0, Body: string(body),
		})
	}
	return out
}

// canonicalEntry returns the header a canonical archive has for a file.
func canonicalEntry(name, body string, mode int64) packedEntry {
	return packedEntry{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(body)), ModTime: time.Unix(0, 0), Body: body}
}

func TestPackDirDeterministic(t *testing.T) {
	dir := packTestChart(t)
	a1, d1 := mustPackDir(t, dir)
	a2, d2 := mustPackDir(t, dir)
	if !bytes.Equal(a1, a2) || d1 != d2 {
		t.Errorf("PackDir twice gave different results: %s and %s", d1, d2)
	}

	// The same files written again elsewhere, in another order and at
	// another time, give the same archive.
	other := t.TempDir()
	time.Sleep(10 * time.Millisecond)
	for _, name := range []string{"templates/cm.yaml", "files/run.sh", "values.yaml", "Chart.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		writeChartFiles(t, other, map[string]string{name: string(b)})
	}
	a3, d3 := mustPackDir(t, other)
	if !bytes.Equal(a1, a3) || d1 != d3 {
		t.Errorf("PackDir of a copy gave %s, want %s", d3, d1)
	}
}

func TestPackDirDigest(t *testing.T) {
	tests := []struct {
		name     string
		change   func(t *testing.T, dir string)
		wantSame bool
	}{
		{
			name: "content changed",
			change: func(t *testing.T, dir string) {
				writeChartFiles(t, dir, map[string]string{"values.yaml": "replicas: 2\n"})
			},
		},
		{
			name:   "file added",
			change: func(t *testing.T, dir string) { writeChartFiles(t, dir, map[string]string{"files/new.txt": ""}) },
		},
		{
			name: "file renamed",
			change: func(t *testing.T, dir string) {
				if err := os.Rename(filepath.Join(dir, "files/run.sh"), filepath.Join(dir, "files/run2.sh")); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "exec bit set",
			change: func(t *testing.T, dir string) {
				if err := os.Chmod(filepath.Join(dir, "files/run.sh"), 0o744); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "mtimes changed",
			change: func(t *testing.T, dir string) {
				when := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
				for _, name := range []string{"Chart.yaml", "values.yaml", "templates/cm.yaml", "templates", "."} {
					if err := os.Chtimes(filepath.Join(dir, name), when, when); err != nil {
						t.Fatal(err)
					}
				}
			},
			wantSame: true,
		},
		{
			name: "permissions changed, not the exec bit",
			change: func(t *testing.T, dir string) {
				if err := os.Chmod(filepath.Join(dir, "values.yaml"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(filepath.Join(dir, "templates/cm.yaml"), 0o664); err != nil {
					t.Fatal(err)
				}
			},
			wantSame: true,
		},
		{
			name: "ignored file added",
			change: func(t *testing.T, dir string) {
				writeChartFiles(t, dir, map[string]string{"templates/.notes.swp": "x"})
			},
			wantSame: true,
		},
		{
			name: "empty directory added",
			change: func(t *testing.T, dir string) {
				if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			wantSame: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := packTestChart(t)
			_, before := mustPackDir(t, dir)
			tt.change(t, dir)
			_, after := mustPackDir(t, dir)
			if got := before == after; got != tt.wantSame {
				t.Errorf("digest %s before, %s after: same = %v, want %v", before, after, got, tt.wantSame)
			}
		})
	}
}

func TestPackDirEntries(t *testing.T) {
	dir := packTestChart(t)
	outside := t.TempDir()
	writeChartFiles(t, outside, map[string]string{"secret": "s3cret"})
	writeChartFiles(t, dir, map[string]string{
		".helmignore":            "# comment\n*.bak\nsecrets/\n/local.txt\n",
		"values.yaml.bak":        "old",
		"secrets/key":            "k",
		"local.txt":              "l",
		"files/local.txt":        "kept: only the root one is ignored",
		"templates/.hidden.yaml": "ignored by Helm's default rules",
		"templates/_helpers.tpl": "{{/* helpers */}}",
		"crds/" + strings.Repeat("long", 30) + ".yaml": "kind: CustomResourceDefinition\n",
	})
	if err := os.Chmod(filepath.Join(dir, "files/run.sh"), 0o700); err != nil {
		t.Fatal(err)
	}
	makeSymlink(t, dir, "templates/link.yaml", "cm.yaml")
	makeSymlink(t, dir, "linked", "files")
	makeSymlink(t, dir, "outside.bak", filepath.Join(outside, "secret")) // ignored, so never followed

	data, _ := mustPackDir(t, dir)
	long := "mychart/crds/" + strings.Repeat("long", 30) + ".yaml"
	longHeader := canonicalEntry(long, "kind: CustomResourceDefinition\n", 0o644)
	longHeader.PAX = true
	want := []packedEntry{
		canonicalEntry("mychart/.helmignore", "# comment\n*.bak\nsecrets/\n/local.txt\n", 0o644),
		canonicalEntry("mychart/Chart.yaml", testChartYAML, 0o644),
		longHeader,
		canonicalEntry("mychart/files/local.txt", "kept: only the root one is ignored", 0o644),
		canonicalEntry("mychart/files/run.sh", "#!/bin/sh\n", 0o755),
		canonicalEntry("mychart/linked/local.txt", "kept: only the root one is ignored", 0o644),
		canonicalEntry("mychart/linked/run.sh", "#!/bin/sh\n", 0o755),
		canonicalEntry("mychart/templates/_helpers.tpl", "{{/* helpers */}}", 0o644),
		canonicalEntry("mychart/templates/cm.yaml", "kind: ConfigMap\n", 0o644),
		canonicalEntry("mychart/templates/link.yaml", "kind: ConfigMap\n", 0o644),
		canonicalEntry("mychart/values.yaml", "replicas: 1\n", 0o644),
	}
	if diff := cmp.Diff(want, packedEntries(t, data)); diff != "" {
		t.Errorf("archive entries (-want +got):\n%s", diff)
	}
}

func TestPackDirArchive(t *testing.T) {
	dir := packTestChart(t)
	writeChartFiles(t, dir, map[string]string{"charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n"})
	data, digest := mustPackDir(t, dir)

	if err := CheckArchive(data, DefaultLimits); err != nil {
		t.Errorf("CheckArchive: %v", err)
	}
	c, err := Load(data, DefaultLimits, "mychart", "1.2.3")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff([]string{"sub"}, []string{c.Dependencies()[0].Name()}); diff != "" {
		t.Errorf("dependencies (-want +got):\n%s", diff)
	}
	if _, err := loader.LoadArchive(bytes.NewReader(data)); err != nil {
		t.Errorf("Helm's LoadArchive: %v", err)
	}

	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if want := "sha256:" + hex.EncodeToString(sum[:]); digest != want {
		t.Errorf("digest %s, want the sha256 of the tar stream %s", digest, want)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() || zr.Comment != "" || zr.Extra != nil {
		t.Errorf("gzip header has name %q, mtime %v, comment %q, extra %q; want none", zr.Name, zr.ModTime, zr.Comment, zr.Extra)
	}

	whole := sha256.Sum256(data)
	if got, want := Digest(data), "sha256:"+hex.EncodeToString(whole[:]); got != want {
		t.Errorf("Digest = %s, want %s", got, want)
	}
	if Digest(data) == digest {
		t.Errorf("Digest of the archive equals the digest of its tar stream")
	}
}

func TestDigest(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", []byte("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Digest(tt.data)); diff != "" {
				t.Errorf("Digest (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPackDirErrors(t *testing.T) {
	outside := t.TempDir()
	writeChartFiles(t, outside, map[string]string{"secret": "s3cret", "dir/x": "x"})
	secret := filepath.Join(outside, "secret")

	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{
			name: "missing Chart.yaml",
			setup: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "Chart.yaml")); err != nil {
					t.Fatal(err)
				}
			},
			want: "load chart: Chart.yaml file is missing",
		},
		{
			name: "Chart.yaml ignored",
			setup: func(t *testing.T, dir string) {
				writeChartFiles(t, dir, map[string]string{".helmignore": "Chart.yaml\n"})
			},
			want: "load chart: Chart.yaml file is missing",
		},
		{
			name: "invalid Chart.yaml",
			setup: func(t *testing.T, dir string) {
				writeChartFiles(t, dir, map[string]string{"Chart.yaml": "apiVersion: v2\nname: mychart\n"})
			},
			want: "load chart: validation: chart.metadata.version is required",
		},
		{
			name: "chart name with a slash",
			setup: func(t *testing.T, dir string) {
				writeChartFiles(t, dir, map[string]string{"Chart.yaml": "apiVersion: v2\nname: a/b\nversion: 1.0.0\n"})
			},
			want: `load chart: validation: chart.metadata.name "a/b" is invalid`,
		},
		{
			name:  "symlink to a file outside",
			setup: func(t *testing.T, dir string) { makeSymlink(t, dir, "templates/evil.yaml", secret) },
			want:  "symlink templates/evil.yaml to " + secret + " leads outside the chart directory",
		},
		{
			name:  "relative symlink outside",
			setup: func(t *testing.T, dir string) { makeSymlink(t, dir, "files/up", "../..") },
			want:  "symlink files/up to ../.. leads outside the chart directory",
		},
		{
			name:  "symlink to a directory outside",
			setup: func(t *testing.T, dir string) { makeSymlink(t, dir, "files/dir", filepath.Join(outside, "dir")) },
			want:  "symlink files/dir to " + filepath.Join(outside, "dir") + " leads outside the chart directory",
		},
		{
			name:  "dangling symlink",
			setup: func(t *testing.T, dir string) { makeSymlink(t, dir, "files/gone", "nowhere") },
			want:  "symlink files/gone to nowhere: no such file or directory",
		},
		{
			name:  "symlink cycle",
			setup: func(t *testing.T, dir string) { makeSymlink(t, dir, "files/loop", "..") },
			want:  "symlink files/loop to .. leads to a directory that contains it",
		},
		{
			name: "symlinked .helmignore outside",
			setup: func(t *testing.T, dir string) {
				makeSymlink(t, dir, ".helmignore", secret)
			},
			want: "symlink .helmignore to " + secret + " leads outside the chart directory",
		},
		{
			name: "bad .helmignore",
			setup: func(t *testing.T, dir string) {
				writeChartFiles(t, dir, map[string]string{".helmignore": "templates/**\n"})
			},
			want: ".helmignore: double-star (**) syntax is not supported",
		},
		{
			name: "file too large",
			setup: func(t *testing.T, dir string) {
				f, err := os.Create(filepath.Join(dir, "files/big"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if err := f.Truncate(DefaultLimits.MaxFile + 1); err != nil {
					t.Fatal(err)
				}
			},
			want: "files/big is larger than the limit of 20971520 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := packTestChart(t)
			tt.setup(t, dir)
			data, digest, err := PackDir(dir)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PackDir error (-want +got):\n%s", diff)
			}
			if err != nil && (data != nil || digest != "") {
				t.Errorf("PackDir returned an archive with its error")
			}
		})
	}

	t.Run("not a directory", func(t *testing.T) {
		_, _, err := PackDir(filepath.Join(packTestChart(t), "Chart.yaml"))
		if diff := cmp.Diff("chart directory is not a directory", errText(err)); diff != "" {
			t.Errorf("PackDir error (-want +got):\n%s", diff)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		_, _, err := PackDir(filepath.Join(t.TempDir(), "gone"))
		if diff := cmp.Diff("chart directory: no such file or directory", errText(err)); diff != "" {
			t.Errorf("PackDir error (-want +got):\n%s", diff)
		}
	})
}

// errText returns the message of err, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
