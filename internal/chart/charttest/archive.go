package charttest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"sigs.k8s.io/yaml"
)

// epoch is the modification time of every entry in the archives built here,
// so that the same input always gives the same bytes.
var epoch = time.Unix(0, 0).UTC()

// Chart describes a small chart to build.
type Chart struct {
	// Name and Version go into the generated Chart.yaml; Name is also the
	// top directory of the archive.
	Name, Version string
	// Files are extra files by path relative to the chart root, e.g. "templates/cm.yaml", "crds/crd.yaml", "values.yaml".
	// A "Chart.yaml" entry replaces the generated one (apiVersion v2, name, version, type application).
	Files map[string]string
}

// files returns the chart's files by path relative to the chart root, with
// the generated Chart.yaml unless Files replaces it.
func (c Chart) files(t testing.TB) map[string]string {
	t.Helper()
	if c.Name == "" || strings.ContainsAny(c.Name, `/\`) || c.Name == "." || c.Name == ".." {
		t.Fatalf("charttest: invalid chart name %q", c.Name)
	}
	files := make(map[string]string, len(c.Files)+1)
	files["Chart.yaml"] = fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\ntype: application\n", c.Name, c.Version)
	for name, body := range c.Files {
		clean := path.Clean(name)
		if name == "" || clean != name || path.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../") {
			t.Fatalf("charttest: chart %s: invalid file path %q (use Archive for hostile paths)", c.Name, name)
		}
		files[name] = body
	}
	return files
}

// sortedPaths returns the paths of files with Chart.yaml first, as helm
// package writes it, and the others in lexical order.
func sortedPaths(files map[string]string) []string {
	paths := slices.Sorted(maps.Keys(files))
	if i := slices.Index(paths, "Chart.yaml"); i > 0 {
		paths = slices.Delete(paths, i, i+1)
		paths = slices.Insert(paths, 0, "Chart.yaml")
	}
	return paths
}

// Package builds a chart archive (.tgz) the way `helm package` lays it out:
// regular files only, under the top directory <Name>/, Chart.yaml first.
// It is deterministic: the other entries are sorted, every entry has mode
// 0644, uid and gid 0 and a fixed modification time, and the gzip header has
// no name and no time, so the same input gives the same bytes.
func Package(t testing.TB, c Chart) []byte {
	t.Helper()
	files := c.files(t)
	var entries []Entry
	for _, p := range sortedPaths(files) {
		entries = append(entries, Entry{Name: c.Name + "/" + p, Body: files[p]})
	}
	return Archive(t, entries...)
}

// WriteDir writes the chart as a directory <dir>/<Name> and returns its path.
func WriteDir(t testing.TB, dir string, c Chart) string {
	t.Helper()
	root := filepath.Join(dir, c.Name)
	for p, body := range c.files(t) {
		name := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatalf("charttest: write chart %s: %v", c.Name, err)
		}
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatalf("charttest: write chart %s: %v", c.Name, err)
		}
	}
	return root
}

// Entry is one raw tar entry, for building broken or hostile archives.
type Entry struct {
	// Name is written to the header as it is: absolute paths, ".." and
	// backslashes included.
	Name string
	// Body is the entry's content, written whatever the header claims.
	Body string
	// Typeflag is the entry type; zero means tar.TypeReg.
	Typeflag byte
	// Linkname is the target of a symlink (tar.TypeSymlink) or hard link
	// (tar.TypeLink).
	Linkname string
	// Size, when non-zero, is the size the header claims instead of
	// len(Body), for lying headers.
	Size int64
}

// Archive builds a tar.gz from raw entries, in order, with no checks at all:
// each header is followed by exactly Body, padded to the tar block size, so a
// header whose Size disagrees with Body yields a corrupt stream. Headers are
// as deterministic as in Package.
func Archive(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := newGzipWriter(&buf)
	for _, e := range entries {
		h := header(e.Name, e.Typeflag, int64(len(e.Body)))
		h.Linkname = e.Linkname
		if e.Size != 0 {
			h.Size = e.Size
		}
		if err := writeRawHeader(zw, h); err != nil {
			t.Fatalf("charttest: archive entry %q: %v", e.Name, err)
		}
		if _, err := io.WriteString(zw, e.Body); err != nil {
			t.Fatalf("charttest: archive entry %q: %v", e.Name, err)
		}
		if _, err := zw.Write(make([]byte, padding(int64(len(e.Body))))); err != nil {
			t.Fatalf("charttest: archive entry %q: %v", e.Name, err)
		}
	}
	// The end of a tar archive is two zero blocks.
	if _, err := zw.Write(make([]byte, 2*blockSize)); err != nil {
		t.Fatalf("charttest: archive: %v", err)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("charttest: archive: %v", err)
	}
	return buf.Bytes()
}

// Bomb returns a small .tgz whose single file Name+"/templates/big.yaml"
// decompresses to n bytes of zeros (200 MiB compress to about 200 KB),
// after a valid Chart.yaml (version 0.1.0).
func Bomb(t testing.TB, name string, n int64) []byte {
	t.Helper()
	chartYAML := Chart{Name: name, Version: "0.1.0"}.files(t)["Chart.yaml"]
	var buf bytes.Buffer
	zw := newGzipWriter(&buf)
	tw := tar.NewWriter(zw)
	write := func(name string, size int64, body io.Reader) {
		t.Helper()
		if err := tw.WriteHeader(header(name, tar.TypeReg, size)); err != nil {
			t.Fatalf("charttest: bomb %s: %v", name, err)
		}
		if _, err := io.Copy(tw, body); err != nil {
			t.Fatalf("charttest: bomb %s: %v", name, err)
		}
	}
	write(name+"/Chart.yaml", int64(len(chartYAML)), strings.NewReader(chartYAML))
	write(name+"/templates/big.yaml", n, io.LimitReader(zeros{}, n))
	if err := tw.Close(); err != nil {
		t.Fatalf("charttest: bomb %s: %v", name, err)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("charttest: bomb %s: %v", name, err)
	}
	return buf.Bytes()
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

const blockSize = 512

// padding returns how many zero bytes follow a body of n bytes in a tar
// stream.
func padding(n int64) int64 {
	return -n & (blockSize - 1)
}

// newGzipWriter returns a gzip writer with an empty header (no name, no
// modification time), so its output depends on the content only.
func newGzipWriter(w io.Writer) *gzip.Writer {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		panic(err) // unreachable: the level is valid
	}
	return zw
}

// header returns a deterministic tar header.
func header(name string, typeflag byte, size int64) *tar.Header {
	if typeflag == 0 {
		typeflag = tar.TypeReg
	}
	mode := int64(0o644)
	switch typeflag {
	case tar.TypeDir:
		mode = 0o755
	case tar.TypeSymlink:
		mode = 0o777
	}
	return &tar.Header{
		Typeflag: typeflag,
		Name:     name,
		Mode:     mode,
		Size:     size,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}
}

// writeRawHeader writes the header blocks of h to w, without the
// bookkeeping of tar.Writer that refuses bodies of the wrong size.
func writeRawHeader(w io.Writer, h *tar.Header) error {
	// tar.Writer writes the header blocks at once; the writer is then
	// dropped so that it never checks the body.
	return tar.NewWriter(w).WriteHeader(h)
}

// readMetadata returns the metadata in the top-level Chart.yaml of a chart
// archive. It reads no further than that file, so it is safe on bombs whose
// Chart.yaml comes first.
func readMetadata(archive []byte) (*chart.Metadata, error) {
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no Chart.yaml")
		}
		if err != nil {
			return nil, err
		}
		dir, file, ok := strings.Cut(h.Name, "/")
		if !ok || dir == "" || file != "Chart.yaml" || h.Typeflag != tar.TypeReg {
			continue
		}
		body, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return nil, err
		}
		md := new(chart.Metadata)
		if err := yaml.Unmarshal(body, md); err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		return md, nil
	}
}
