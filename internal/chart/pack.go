package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	helmarchive "helm.sh/helm/v4/pkg/chart/loader/archive"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/ignore"
)

// PackDir builds the canonical archive of the chart in directory dir, so
// that a local chart has a content digest like a downloaded one.
//
// The archive holds the files Helm's directory loader would load: those
// that dir/.helmignore and Helm's default rules (dotfiles in templates/) do
// not exclude, matched with Helm's pkg/ignore. Symbolic links are followed
// when they resolve inside dir, and are an error naming the link when they
// do not or when they make a cycle; other irregular files are an error
// unless ignored. The chart's name comes from Chart.yaml, parsed and
// validated by Helm's loader along with the rest of the chart; a missing or
// invalid Chart.yaml is an error. DefaultLimits bound what is read, and
// the archive must pass CheckArchive with them.
//
// The archive is canonical: one entry per file, none for directories,
// sorted by path under the top-level directory <chart name>/, each with
// mode 0644 (0755 when any execute bit is set), the Unix epoch as its
// modification time, uid and gid 0 and no user or group names, in PAX
// format (USTAR headers, with PAX records only for what USTAR cannot hold,
// such as long names). PackDir returns it gzip-compressed, with no name and
// a zero time in the gzip header, together with the digest
// "sha256:<hex>" of the uncompressed tar stream, which does not depend on
// the compressor. Errors name files relative to dir, and do not name dir.
func PackDir(dir string) (archive []byte, digest string, err error) {
	root, err := filepath.Abs(dir)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return nil, "", fmt.Errorf("chart directory: %w", unwrapPath(err))
	}
	if fi, err := os.Stat(root); err != nil {
		return nil, "", fmt.Errorf("chart directory: %w", unwrapPath(err))
	} else if !fi.IsDir() {
		return nil, "", errors.New("chart directory is not a directory")
	}

	p := &dirPacker{root: root, lim: DefaultLimits, rules: ignore.Empty()}
	if f, ok, err := p.helmignore(); err != nil {
		return nil, "", err
	} else if ok {
		rules, err := ignore.Parse(bytes.NewReader(f))
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", ignore.HelmIgnore, err)
		}
		p.rules = rules
	}
	p.rules.AddDefaults()
	if err := p.walk(root, "", []string{root}); err != nil {
		return nil, "", err
	}
	slices.SortFunc(p.files, func(a, b packFile) int { return strings.Compare(a.rel, b.rel) })

	// Let Helm's loader read the chart as it will read the archive, for
	// the chart's name and to refuse what it refuses.
	buffered := make([]*helmarchive.BufferedFile, len(p.files))
	for i, f := range p.files {
		buffered[i] = &helmarchive.BufferedFile{Name: f.rel, ModTime: time.Unix(0, 0), Data: bytes.TrimPrefix(f.data, utf8BOM)}
	}
	c, err := loader.LoadFiles(buffered)
	if err != nil {
		return nil, "", fmt.Errorf("load chart: %w", err)
	}

	sum := sha256.New()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(io.MultiWriter(sum, zw))
	for _, f := range p.files {
		mode := int64(0o644)
		if f.exec {
			mode = 0o755
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     c.Name() + "/" + f.rel,
			Size:     int64(len(f.data)),
			Mode:     mode,
			ModTime:  time.Unix(0, 0),
			Format:   tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, "", fmt.Errorf("archive %s: %w", f.rel, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, "", fmt.Errorf("archive %s: %w", f.rel, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", fmt.Errorf("archive: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, "", fmt.Errorf("archive: %w", err)
	}
	if err := CheckArchive(out.Bytes(), DefaultLimits); err != nil {
		return nil, "", fmt.Errorf("packed archive: %w", err)
	}
	return out.Bytes(), "sha256:" + hex.EncodeToString(sum.Sum(nil)), nil
}

// utf8BOM is the byte order mark Helm's loader drops from file contents.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// dirPacker collects the files of a chart directory.
type dirPacker struct {
	root  string // the chart directory, absolute, symlinks resolved
	lim   Limits
	rules *ignore.Rules
	files []packFile
	total int64
}

// packFile is one file of a chart directory.
type packFile struct {
	rel  string // slash-separated path below the chart directory
	data []byte
	exec bool
}

// helmignore returns the content of the chart's .helmignore, if it has one.
func (p *dirPacker) helmignore() ([]byte, bool, error) {
	name := filepath.Join(p.root, ignore.HelmIgnore)
	if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	real, fi, err := p.resolve(name, ignore.HelmIgnore)
	if err == nil {
		err = p.inside(name, ignore.HelmIgnore, real)
	}
	if err != nil {
		return nil, false, err
	}
	if !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%s is not a regular file", ignore.HelmIgnore)
	}
	data, err := p.read(real, ignore.HelmIgnore, fi)
	return data, err == nil, err
}

// resolve returns the real path of name, whose path below the chart is
// rel, and the file information of what it leads to. For a symlink that
// leads nowhere, it returns the information of the link with the error.
func (p *dirPacker) resolve(name, rel string) (string, fs.FileInfo, error) {
	fi, err := os.Lstat(name)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", rel, unwrapPath(err))
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return name, fi, nil
	}
	real, err := filepath.EvalSymlinks(name)
	if err == nil {
		var tfi fs.FileInfo
		if tfi, err = os.Stat(real); err == nil {
			return real, tfi, nil
		}
	}
	return "", fi, fmt.Errorf("symlink %s to %s: %w", rel, linkTarget(name), unwrapPath(err))
}

// inside refuses real, the real path of name, whose path below the chart
// is rel, when it is outside the chart directory.
func (p *dirPacker) inside(name, rel, real string) error {
	r, err := filepath.Rel(p.root, real)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return fmt.Errorf("symlink %s to %s leads outside the chart directory", rel, linkTarget(name))
	}
	return nil
}

// walk adds the files of directory dir, whose path below the chart is
// prefix, and below it; stack holds the real paths of dir and the
// directories above it.
func (p *dirPacker) walk(dir, prefix string, stack []string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("directory %s: %w", displayDir(prefix), unwrapPath(err))
	}
	for _, e := range entries {
		rel := e.Name()
		if prefix != "" {
			rel = prefix + "/" + rel
		}
		name := filepath.Join(dir, e.Name())
		// Helm's loader matches the rules against the path in the chart
		// and the information of what a symlink leads to; what the rules
		// exclude is not looked at further.
		real, fi, err := p.resolve(name, rel)
		if fi != nil && p.rules.Ignore(rel, fi) {
			continue
		}
		if err != nil {
			return err
		}
		if real != name {
			if err := p.inside(name, rel, real); err != nil {
				return err
			}
		}
		if fi.IsDir() {
			if slices.Contains(stack, real) {
				return fmt.Errorf("symlink %s to %s leads to a directory that contains it", rel, linkTarget(name))
			}
			if err := p.walk(real, rel, append(stack, real)); err != nil {
				return err
			}
			continue
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file but a %s", rel, fileKind(fi.Mode()))
		}
		if len(p.files) >= p.lim.MaxEntries {
			return fmt.Errorf("chart has more than %d files", p.lim.MaxEntries)
		}
		data, err := p.read(real, rel, fi)
		if err != nil {
			return err
		}
		p.files = append(p.files, packFile{rel: rel, data: data, exec: fi.Mode()&0o111 != 0})
	}
	return nil
}

// read returns the content of the regular file name, whose path below the
// chart is rel, within the limits on one file and on the whole chart.
func (p *dirPacker) read(name, rel string, fi fs.FileInfo) ([]byte, error) {
	if fi.Size() > p.lim.MaxFile {
		return nil, fmt.Errorf("%s is larger than the limit of %d bytes", rel, p.lim.MaxFile)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, unwrapPath(err))
	}
	defer f.Close()
	// The file may have grown since it was looked at.
	data, err := io.ReadAll(io.LimitReader(f, p.lim.MaxFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, unwrapPath(err))
	}
	if int64(len(data)) > p.lim.MaxFile {
		return nil, fmt.Errorf("%s is larger than the limit of %d bytes", rel, p.lim.MaxFile)
	}
	p.total += int64(len(data))
	if p.total > p.lim.MaxDecompressed {
		return nil, fmt.Errorf("chart is larger than the limit of %d bytes", p.lim.MaxDecompressed)
	}
	return data, nil
}

// displayDir names a directory below the chart for messages.
func displayDir(rel string) string {
	if rel == "" {
		return "."
	}
	return rel
}

// fileKind names the type of an irregular file.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "file of mode " + m.String()
	}
}

// linkTarget returns what the symlink name points to, for messages.
func linkTarget(name string) string {
	target, err := os.Readlink(name)
	if err != nil {
		return "?"
	}
	return printable(target)
}
