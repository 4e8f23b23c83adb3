package chart

import (
	"archive/tar"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode"

	helmarchive "helm.sh/helm/v4/pkg/chart/loader/archive"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
)

// Limits bound what wookie accepts from a chart archive. A field that is
// zero or negative takes its value from DefaultLimits.
//
// The byte and entry limits count everything Helm's loader would read,
// subchart archives under charts/ included: the bytes of a charts/x.tgz
// count once as an entry of its parent and again, decompressed, as the
// entries of x. Besides the entries' contents, the decompressed tar stream
// as a whole (headers, long names, padding, anything after the end of the
// archive) may not exceed MaxDecompressed by more than 4 KiB per allowed
// entry plus 1 MiB.
type Limits struct {
	MaxArchive      int64 // compressed size of the archive, in bytes
	MaxDecompressed int64 // total size of all entries, in bytes
	MaxFile         int64 // size of one entry, in bytes
	MaxEntries      int   // number of entries, directories included
}

// DefaultLimits are the limits wookie uses: a 50 MiB archive, 100 MiB
// decompressed, 20 MiB per file and 10000 entries.
var DefaultLimits = Limits{
	MaxArchive:      50 << 20,
	MaxDecompressed: 100 << 20,
	MaxFile:         20 << 20,
	MaxEntries:      10000,
}

const (
	// maxNameLen bounds the length of an entry's name.
	maxNameLen = 4096
	// maxNesting bounds how deep subchart archives may nest in charts/.
	maxNesting = 8
	// headerAllowance is what the tar stream may hold per allowed entry
	// besides the entries' contents, and streamSlack what it may hold in
	// all (the two end-of-archive blocks and record padding).
	headerAllowance = 4 << 10
	streamSlack     = 1 << 20
)

// withDefaults returns l with its unset fields taken from DefaultLimits.
func (l Limits) withDefaults() Limits {
	if l.MaxArchive <= 0 {
		l.MaxArchive = DefaultLimits.MaxArchive
	}
	if l.MaxDecompressed <= 0 {
		l.MaxDecompressed = DefaultLimits.MaxDecompressed
	}
	if l.MaxFile <= 0 {
		l.MaxFile = DefaultLimits.MaxFile
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultLimits.MaxEntries
	}
	return l
}

// CheckArchive verifies that data is a gzip-compressed tar archive of one
// chart that is safe to hand to Helm's loader:
//
//   - data is at most lim.MaxArchive bytes, and its gzip and tar streams
//     read to the end without error (a truncated or corrupt archive is an
//     error saying so);
//   - every entry's name is a clean relative path (no "..", "." or empty
//     element, not absolute, no Windows drive at the start of the name or
//     of the path below the top-level directory, no control characters,
//     "\" only as the sole separator) under one top-level directory shared
//     by all entries, and no file appears twice;
//   - no entry is a symbolic or hard link, a device or a fifo;
//   - the entries' real sizes (the bytes read, not what headers claim) stay
//     within lim.MaxFile each and lim.MaxDecompressed in all, and there are
//     at most lim.MaxEntries entries; reading stops as soon as a limit is
//     passed, so a decompression bomb costs about the limit in time and no
//     more than a small buffer in memory;
//   - <top>/Chart.yaml is a file;
//   - every subchart archive Helm's loader would open (charts/*.tgz, also
//     inside directory subcharts) passes the same checks, sharing the
//     limits with its parent, nested at most 8 deep.
//
// The error is one line and does not name the chart: the caller adds that.
func CheckArchive(data []byte, lim Limits) error {
	_, err := checkArchive(data, lim.withDefaults())
	return err
}

// Load checks data with CheckArchive and loads it with Helm's loader
// (pkg/chart/v2/loader), then checks that the chart's name and version are
// wantName and wantVersion, compared exactly; an empty want skips its
// check.
//
// Helm's loader has its own limit, the package variable
// archive.MaxDecompressedChartSize (100 MiB unless a program changes it),
// which it applies to each archive, subchart archives separately, and which
// an archive reaches when its files total that size or more. Load does not
// change that variable. It enforces lim first, then refuses with a clear
// error an archive that Helm's limit would refuse, so a Helm limit lower
// than lim.MaxDecompressed is never silent.
func Load(data []byte, lim Limits, wantName, wantVersion string) (*chartv2.Chart, error) {
	st, err := checkArchive(data, lim.withDefaults())
	if err != nil {
		return nil, err
	}
	if helmMax := helmarchive.MaxDecompressedChartSize; st.largest >= helmMax {
		return nil, fmt.Errorf("archive holds %d bytes of files, and Helm's loader takes less than %d (archive.MaxDecompressedChartSize)", st.largest, helmMax)
	}
	c, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("load archive: %w", err)
	}
	if wantName != "" && c.Name() != wantName {
		return nil, fmt.Errorf("archive holds chart %s, not %s", c.Name(), wantName)
	}
	if wantVersion != "" && c.Metadata.Version != wantVersion {
		return nil, fmt.Errorf("archive holds version %s of chart %s, not %s", c.Metadata.Version, c.Name(), wantVersion)
	}
	return c, nil
}

// archiveChecker holds what the checks of an archive and its subchart archives
// have used of the limits.
type archiveChecker struct {
	lim       Limits
	maxStream int64 // bound of the decompressed tar streams, in all
	stream    int64 // bytes of decompressed tar streams read
	total     int64 // bytes of entries read
	entries   int   // entries read
	largest   int64 // bytes of files in the largest single archive
}

// checkArchive checks data against lim, which has no unset fields.
func checkArchive(data []byte, lim Limits) (*archiveChecker, error) {
	c := &archiveChecker{
		lim:       lim,
		maxStream: lim.MaxDecompressed + int64(lim.MaxEntries)*headerAllowance + streamSlack,
	}
	if err := c.archive(data, 0); err != nil {
		return nil, err
	}
	return c, nil
}

// errStreamLimit is returned by a stream that passed its bound.
var errStreamLimit = errors.New("decompressed stream limit passed")

// countedStream counts the decompressed bytes of a gzip reader against the
// checker's bound and remembers the gzip reader's own error, so that a
// failure of the tar reader above it can be told apart from a failure of
// the gzip stream under it.
type countedStream struct {
	c       *archiveChecker
	r       io.Reader
	err     error // the gzip reader's error, if not io.EOF
	limited bool  // the bound was passed
}

// Read implements io.Reader.
func (s *countedStream) Read(p []byte) (int, error) {
	if s.c.stream > s.c.maxStream {
		s.limited = true
		return 0, errStreamLimit
	}
	if room := s.c.maxStream - s.c.stream + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := s.r.Read(p)
	s.c.stream += int64(n)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// fail turns an error met while reading the archive into the error to
// report; entry is the name of the entry being read, or "".
func (c *archiveChecker) fail(s *countedStream, entry string, err error) error {
	switch {
	case s.limited || errors.Is(err, errStreamLimit):
		return fmt.Errorf("archive decompresses to a tar stream of more than %d bytes", c.maxStream)
	case s.err != nil:
		return gzipError(s.err)
	case errors.Is(err, io.ErrUnexpectedEOF) && entry != "":
		return fmt.Errorf("entry %s is truncated: the tar stream ends inside it", entry)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("tar stream is truncated: %w", err)
	default:
		return fmt.Errorf("tar stream is corrupt: %w", err)
	}
}

// gzipError describes an error of the gzip reader.
func gzipError(err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("archive is truncated: %w", err)
	case errors.As(err, &corrupt), errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
		return fmt.Errorf("archive is corrupt: %w", err)
	default:
		return fmt.Errorf("archive is unreadable: %w", err)
	}
}

// archive checks one archive; depth counts the subchart archives it is in.
func (c *archiveChecker) archive(data []byte, depth int) error {
	if int64(len(data)) > c.lim.MaxArchive {
		return fmt.Errorf("archive is %d bytes, more than the limit of %d", len(data), c.lim.MaxArchive)
	}
	if len(data) == 0 {
		return errors.New("archive is empty")
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, gzip.ErrHeader) && !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			return fmt.Errorf("archive is not gzip-compressed: its content looks like %s", http.DetectContentType(data))
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return gzipError(err)
	}
	s := &countedStream{c: c, r: zr}
	tr := tar.NewReader(s)

	var (
		top      string
		own      int64 // bytes of this archive's files
		hasChart bool
		seen     = map[string]bool{}
	)
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) && s.err == nil && !s.limited {
			break
		}
		if err != nil {
			return c.fail(s, "", err)
		}
		c.entries++
		if c.entries > c.lim.MaxEntries {
			return fmt.Errorf("archive has more than %d entries", c.lim.MaxEntries)
		}
		if hd.Typeflag == tar.TypeXGlobalHeader {
			// A pax global header (git archive writes one) holds no file;
			// Helm's loader skips it too.
			continue
		}
		name := hd.Name
		t, rel, err := splitName(name)
		if err != nil {
			return err
		}
		if err := checkType(hd); err != nil {
			return err
		}
		if rel == "" && hd.Typeflag != tar.TypeDir {
			return fmt.Errorf("entry %s is not inside a top-level directory", name)
		}
		if top == "" {
			top = t
		} else if t != top {
			return fmt.Errorf("archive has two top-level directories, %s and %s: a chart archive has one", top, t)
		}
		if hd.Typeflag == tar.TypeDir {
			continue
		}
		if seen[rel] {
			return fmt.Errorf("entry %s appears twice", name)
		}
		seen[rel] = true
		if rel == "Chart.yaml" {
			hasChart = true
		}

		// Read the entry's real bytes, one more than the budget allows so
		// that passing it shows. Only a subchart archive is kept, to be
		// checked in turn.
		budget := min(c.lim.MaxFile, c.lim.MaxDecompressed-c.total)
		var w io.Writer = io.Discard
		var sub *bytes.Buffer
		if isSubchartArchive(rel) {
			sub = &bytes.Buffer{}
			w = sub
		}
		n, err := io.Copy(w, io.LimitReader(tr, budget+1))
		c.total += n
		own += n
		if err != nil {
			return c.fail(s, name, err)
		}
		if n > c.lim.MaxFile {
			return fmt.Errorf("entry %s is larger than the limit of %d bytes", name, c.lim.MaxFile)
		}
		if c.total > c.lim.MaxDecompressed {
			return fmt.Errorf("archive decompresses to more than the limit of %d bytes", c.lim.MaxDecompressed)
		}
		if sub != nil {
			if depth+1 > maxNesting {
				return fmt.Errorf("entry %s: subchart archives nest more than %d deep", name, maxNesting)
			}
			if err := c.archive(sub.Bytes(), depth+1); err != nil {
				return fmt.Errorf("entry %s: %w", name, err)
			}
		}
	}

	// Read the rest of the stream, so that the gzip checksum is verified
	// and nothing, however hidden, passes the bound.
	if _, err := io.Copy(io.Discard, s); err != nil {
		return c.fail(s, "", err)
	}
	if err := zr.Close(); err != nil {
		return gzipError(err)
	}
	if top == "" {
		return errors.New("archive has no entries")
	}
	if !hasChart {
		return fmt.Errorf("archive has no %s/Chart.yaml", top)
	}
	c.largest = max(c.largest, own)
	return nil
}

// checkType refuses entries other than files and directories.
func checkType(hd *tar.Header) error {
	switch hd.Typeflag {
	case tar.TypeReg:
		// Helm's loader goes by the mode, which can claim a directory or
		// a device where the type says file; refuse the disagreement.
		if !hd.FileInfo().Mode().IsRegular() {
			return fmt.Errorf("entry %s is a file with mode %s: its mode and type disagree", hd.Name, hd.FileInfo().Mode())
		}
		return nil
	case tar.TypeDir:
		return nil
	case tar.TypeSymlink:
		return fmt.Errorf("entry %s is a symlink to %s: links are not allowed in chart archives", hd.Name, printable(hd.Linkname))
	case tar.TypeLink:
		return fmt.Errorf("entry %s is a hard link to %s: links are not allowed in chart archives", hd.Name, printable(hd.Linkname))
	case tar.TypeChar:
		return fmt.Errorf("entry %s is a character device: devices and fifos are not allowed in chart archives", hd.Name)
	case tar.TypeBlock:
		return fmt.Errorf("entry %s is a block device: devices and fifos are not allowed in chart archives", hd.Name)
	case tar.TypeFifo:
		return fmt.Errorf("entry %s is a fifo: devices and fifos are not allowed in chart archives", hd.Name)
	default:
		return fmt.Errorf("entry %s has tar type %q, which chart archives do not use", hd.Name, rune(hd.Typeflag))
	}
}

// splitName splits the name of an entry into its top-level directory and
// its path below it ("" for the directory itself), as Helm's loader reads
// them, and refuses a name that is not a clean relative path.
//
// Like Helm's loader, it takes a name that holds a backslash to use
// backslashes as separators; a name that holds both separators is
// refused, as Helm would read it differently from an unpacking tool.
func splitName(name string) (top, rel string, err error) {
	if name == "" {
		return "", "", errors.New("archive has an entry with an empty name")
	}
	if len(name) > maxNameLen {
		return "", "", fmt.Errorf("entry %s... has a name of %d bytes, more than %d", printable(name[:64]), len(name), maxNameLen)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", "", fmt.Errorf("entry %s has control characters in its name", strconv.Quote(name))
	}
	n := name
	if strings.Contains(n, `\`) {
		if strings.Contains(n, "/") {
			return "", "", fmt.Errorf(`entry %s mixes / and \ as separators`, name)
		}
		n = strings.ReplaceAll(n, `\`, "/")
	}
	if strings.HasPrefix(n, "/") {
		return "", "", fmt.Errorf("entry %s has an absolute path", name)
	}
	elems := strings.Split(strings.TrimSuffix(n, "/"), "/")
	for _, e := range elems {
		if e == ".." {
			return "", "", fmt.Errorf("entry %s has a .. element", name)
		}
	}
	// A drive ("C:") makes a path absolute on Windows where it starts a
	// path: the name, or the path below the top-level directory, which is
	// where Helm's loader looks for one.
	for _, e := range elems[:min(2, len(elems))] {
		if len(e) >= 2 && e[1] == ':' && ('a' <= e[0] && e[0] <= 'z' || 'A' <= e[0] && e[0] <= 'Z') {
			return "", "", fmt.Errorf("entry %s has a Windows drive path", name)
		}
	}
	for _, e := range elems {
		if e == "" || e == "." {
			return "", "", fmt.Errorf("entry %s is not a clean path", name)
		}
	}
	return elems[0], path.Join(elems[1:]...), nil
}

// isSubchartArchive reports whether Helm's loader opens the file at rel,
// a path below the top-level directory, as a subchart archive: a .tgz
// directly in charts/, in the chart or in a directory subchart, whose name
// and directories do not start with "_" or ".".
func isSubchartArchive(rel string) bool {
	for {
		rest, ok := strings.CutPrefix(rel, "charts/")
		if !ok {
			return false
		}
		name, below, nested := strings.Cut(rest, "/")
		if name == "" || strings.IndexAny(name, "_.") == 0 {
			return false
		}
		if path.Ext(name) == ".tgz" {
			return !nested
		}
		if !nested {
			return false
		}
		rel = below
	}
}

// printable returns s, quoted if it holds characters that would spoil a
// one-line message.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}
