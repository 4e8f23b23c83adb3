package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	helmarchive "helm.sh/helm/v4/pkg/chart/loader/archive"
)

const testChartYAML = "apiVersion: v2\nname: mychart\nversion: 1.2.3\n"

// tarEntry is one entry of a test archive: a file unless typ says otherwise.
type tarEntry struct {
	name string
	typ  byte
	body string
	link string
	mode int64
	size int64 // the size the header claims, if not len(body)
}

// regFile returns a regular file entry.
func regFile(name, body string) tarEntry { return tarEntry{name: name, body: body} }

// testChartEntries returns the entries of a small good chart under top.
func testChartEntries(top string) []tarEntry {
	return []tarEntry{
		{name: top + "/", typ: tar.TypeDir},
		regFile(top+"/Chart.yaml", strings.ReplaceAll(testChartYAML, "mychart", top)),
		regFile(top+"/values.yaml", "replicas: 1\n"),
		{name: top + "/templates/", typ: tar.TypeDir},
		regFile(top+"/templates/cm.yaml", "kind: ConfigMap\n"),
	}
}

// testTarStream returns the tar stream of entries. An entry whose header
// claims more bytes than its body ends the stream after its body.
func testTarStream(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body))}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if e.size != 0 {
			hdr.Size = e.size
		}
		if e.typ == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Name: e.name, Typeflag: e.typ, PAXRecords: map[string]string{"comment": "git archive"}}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
		if e.size > int64(len(e.body)) {
			return buf.Bytes()
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testGzip returns data gzip-compressed.
func testGzip(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testTgz returns the gzip-compressed tar archive of entries.
func testTgz(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	return testGzip(t, testTarStream(t, entries...))
}

// writeZeros streams n zero bytes to w.
func writeZeros(t testing.TB, w io.Writer, n int64) {
	t.Helper()
	block := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(block)))
		if _, err := w.Write(block[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
}

// bombEntry returns a chart archive with an entry of n zero bytes, built
// without holding them in memory.
func bombEntry(t testing.TB, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	for _, e := range []tarEntry{regFile("mychart/Chart.yaml", testChartYAML)} {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(e.body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "mychart/files/zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: n}); err != nil {
		t.Fatal(err)
	}
	writeZeros(t, tw, n)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bombTrailer returns a good chart archive followed, inside the gzip
// stream, by n zero bytes after the end of the tar stream.
func bombTrailer(t testing.TB, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(testTarStream(t, testChartEntries("mychart")...)); err != nil {
		t.Fatal(err)
	}
	writeZeros(t, zw, n)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheckArchive(t *testing.T) {
	good := testTgz(t, testChartEntries("mychart")...)
	many := testChartEntries("mychart")
	for i := range 10 {
		many = append(many, regFile(fmt.Sprintf("mychart/files/%d.txt", i), "x"))
	}
	big := append(testChartEntries("mychart"),
		regFile("mychart/files/a.txt", strings.Repeat("a", 600)),
		regFile("mychart/files/b.txt", strings.Repeat("b", 600)),
	)
	badSub := testTgz(t, regFile("sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
		tarEntry{name: "sub/templates/a.yaml", typ: tar.TypeSymlink, link: "/etc/passwd"})
	garbage := strings.Repeat("this is not a tar archive\n", 40)

	tests := []struct {
		name string
		data []byte
		lim  Limits
		want string // the error, "" for none
	}{
		{name: "good", data: good},
		{name: "good without directory entries", data: testTgz(t, regFile("mychart/Chart.yaml", testChartYAML), regFile("mychart/templates/cm.yaml", "x"))},
		{
			name: "good with a pax global header",
			data: testTgz(t, append([]tarEntry{{name: "pax_global_header", typ: tar.TypeXGlobalHeader}}, testChartEntries("mychart")...)...),
		},
		{
			name: "good with backslash separators",
			data: testTgz(t, regFile(`mychart\Chart.yaml`, testChartYAML), regFile(`mychart\templates\cm.yaml`, "x")),
		},
		{
			name: "good with a subchart archive",
			data: testTgz(t, append(testChartEntries("mychart"), regFile("mychart/charts/sub.tgz", string(testTgz(t, testChartEntries("sub")...))))...),
		},
		{
			name: "good with a .tgz that is not a subchart",
			data: testTgz(t, append(testChartEntries("mychart"), regFile("mychart/files/data.tgz", "not gzip"), regFile("mychart/charts/_skip.tgz", "not gzip"))...),
		},
		{
			name: "entry with ..",
			data: testTgz(t, append(testChartEntries("mychart"), regFile("mychart/templates/../../evil.yaml", "x"))...),
			want: "entry mychart/templates/../../evil.yaml has a .. element",
		},
		{
			name: "absolute path",
			data: testTgz(t, append(testChartEntries("mychart"), regFile("/etc/cron.d/evil", "x"))...),
			want: "entry /etc/cron.d/evil has an absolute path",
		},
		{
			name: "backslash escape",
			data: testTgz(t, regFile(`mychart\Chart.yaml`, testChartYAML), regFile(`mychart\..\..\evil.yaml`, "x")),
			want: `entry mychart\..\..\evil.yaml has a .. element`,
		},
		{
			name: "backslash absolute path",
			data: testTgz(t, regFile(`\etc\evil`, "x")),
			want: `entry \etc\evil has an absolute path`,
		},
		{
			name: "mixed separators",
			data: testTgz(t, append(testChartEntries("mychart"), regFile(`mychart/templates\..\..\evil.yaml`, "x"))...),
			want: `entry mychart/templates\..\..\evil.yaml mixes / and \ as separators`,
		},
		{
			name: "windows drive path",
			data: testTgz(t, append(testChartEntries("mychart"), regFile(`mychart/C:/Windows/evil`, "x"))...),
			want: "entry mychart/C:/Windows/evil has a Windows drive path",
		},
		{
			name: "windows drive name",
			data: testTgz(t, regFile(`C:\Windows\evil`, "x")),
			want: `entry C:\Windows\evil has a Windows drive path`,
		},
		{
			name: "good with a colon deep in a name",
			data: testTgz(t, append(testChartEntries("mychart"), regFile("mychart/files/a:b.json", "{}"))...),
		},
		{
			name: "dot top directory",
			data: testTgz(t, regFile("./mychart/Chart.yaml", testChartYAML)),
			want: "entry ./mychart/Chart.yaml is not a clean path",
		},
		{
			name: "empty path element",
			data: testTgz(t, regFile("mychart//Chart.yaml", testChartYAML)),
			want: "entry mychart//Chart.yaml is not a clean path",
		},
		{
			name: "control characters in a name",
			data: testTgz(t, append(testChartEntries("mychart"), regFile("mychart/templates/a\nb.yaml", "x"))...),
			want: `entry "mychart/templates/a\nb.yaml" has control characters in its name`,
		},
		{
			name: "symlink escaping",
			data: testTgz(t, append(testChartEntries("mychart"), tarEntry{name: "mychart/templates/a.yaml", typ: tar.TypeSymlink, link: "../../etc/passwd"})...),
			want: "entry mychart/templates/a.yaml is a symlink to ../../etc/passwd: links are not allowed in chart archives",
		},
		{
			name: "symlink inside",
			data: testTgz(t, append(testChartEntries("mychart"), tarEntry{name: "mychart/templates/b.yaml", typ: tar.TypeSymlink, link: "cm.yaml"})...),
			want: "entry mychart/templates/b.yaml is a symlink to cm.yaml: links are not allowed in chart archives",
		},
		{
			name: "hard link",
			data: testTgz(t, append(testChartEntries("mychart"), tarEntry{name: "mychart/templates/b.yaml", typ: tar.TypeLink, link: "/etc/shadow"})...),
			want: "entry mychart/templates/b.yaml is a hard link to /etc/shadow: links are not allowed in chart archives",
		},
		{
			name: "character device",
			data: testTgz(t, append(testChartEntries("mychart"), tarEntry{name: "mychart/null", typ: tar.TypeChar})...),
			want: "entry mychart/null is a character device: devices and fifos are not allowed in chart archives",
		},
		{
			name: "fifo",
			data: testTgz(t, append(testChartEntries("mychart"), tarEntry{name: "mychart/pipe", typ: tar.TypeFifo})...),
			want: "entry mychart/pipe is a fifo: devices and fifos are not allowed in chart archives",
		},
		{
			name: "file whose mode says directory",
			data: testTgz(t, append(testChartEntries("mychart"), tarEntry{name: "mychart/values.schema.json", body: "{}", mode: 0o40755})...),
			want: "entry mychart/values.schema.json is a file with mode drwxr-xr-x: its mode and type disagree",
		},
		{
			name: "two top-level directories",
			data: testTgz(t, append(testChartEntries("mychart"), regFile("other/templates/evil.yaml", "x"))...),
			want: "archive has two top-level directories, mychart and other: a chart archive has one",
		},
		{
			name: "file at the top level",
			data: testTgz(t, append(testChartEntries("mychart"), regFile("Chart.yaml", testChartYAML))...),
			want: "entry Chart.yaml is not inside a top-level directory",
		},
		{
			name: "file appearing twice",
			data: testTgz(t, append(testChartEntries("mychart"), regFile("mychart/values.yaml", "replicas: 9\n"))...),
			want: "entry mychart/values.yaml appears twice",
		},
		{
			name: "missing Chart.yaml",
			data: testTgz(t, regFile("mychart/values.yaml", "x"), regFile("mychart/templates/cm.yaml", "x")),
			want: "archive has no mychart/Chart.yaml",
		},
		{
			name: "Chart.yaml not in the top directory",
			data: testTgz(t, regFile("mychart/values.yaml", "x"), regFile("mychart/sub/Chart.yaml", testChartYAML)),
			want: "archive has no mychart/Chart.yaml",
		},
		{
			name: "Chart.yaml a directory",
			data: testTgz(t, tarEntry{name: "mychart/Chart.yaml/", typ: tar.TypeDir}, regFile("mychart/values.yaml", "x")),
			want: "archive has no mychart/Chart.yaml",
		},
		{
			name: "no entries",
			data: testTgz(t),
			want: "archive has no entries",
		},
		{
			name: "empty",
			data: nil,
			want: "archive is empty",
		},
		{
			name: "truncated archive",
			data: good[:len(good)/2],
			want: "archive is truncated: unexpected EOF",
		},
		{
			name: "truncated gzip header",
			data: good[:5],
			want: "archive is truncated: unexpected EOF",
		},
		{
			name: "not gzip at all",
			data: []byte("<html><head><title>404 Not Found</title></head><body>nope</body></html>\n"),
			want: "archive is not gzip-compressed: its content looks like text/html; charset=utf-8",
		},
		{
			name: "gzip magic with a bad header",
			data: append([]byte{0x1f, 0x8b, 0x07}, good[3:]...),
			want: "archive is corrupt: gzip: invalid header",
		},
		{
			name: "gzip header followed by garbage",
			data: append(good[:10:10], []byte(garbage)...),
			want: "archive is corrupt: flate: corrupt input before offset 8",
		},
		{
			name: "bad gzip checksum",
			data: func() []byte {
				b := bytes.Clone(good)
				b[len(b)-8] ^= 0xff
				return b
			}(),
			want: "archive is corrupt: gzip: invalid checksum",
		},
		{
			name: "gzip of garbage",
			data: testGzip(t, []byte(garbage)),
			want: "tar stream is corrupt: archive/tar: invalid tar header",
		},
		{
			name: "gzip of a short text",
			data: testGzip(t, []byte("hello\n")),
			want: "tar stream is truncated: unexpected EOF",
		},
		{
			name: "header claiming a size larger than the data",
			data: testTgz(t, regFile("mychart/Chart.yaml", testChartYAML), tarEntry{name: "mychart/values.yaml", body: "replicas: 1\n", size: 1000}),
			want: "entry mychart/values.yaml is truncated: the tar stream ends inside it",
		},
		{
			name: "too many entries",
			data: testTgz(t, many...),
			lim:  Limits{MaxEntries: 10},
			want: "archive has more than 10 entries",
		},
		{
			name: "archive larger than MaxArchive",
			data: good,
			lim:  Limits{MaxArchive: 100},
			want: fmt.Sprintf("archive is %d bytes, more than the limit of 100", len(good)),
		},
		{
			name: "file larger than MaxFile",
			data: testTgz(t, big...),
			lim:  Limits{MaxFile: 500},
			want: "entry mychart/files/a.txt is larger than the limit of 500 bytes",
		},
		{
			name: "files larger than MaxDecompressed together",
			data: testTgz(t, big...),
			lim:  Limits{MaxDecompressed: 1000},
			want: "archive decompresses to more than the limit of 1000 bytes",
		},
		{
			name: "hostile subchart archive",
			data: testTgz(t, append(testChartEntries("mychart"), regFile("mychart/charts/sub.tgz", string(badSub)))...),
			want: "entry mychart/charts/sub.tgz: entry sub/templates/a.yaml is a symlink to /etc/passwd: links are not allowed in chart archives",
		},
		{
			name: "hostile subchart archive in a directory subchart",
			data: testTgz(t, append(testChartEntries("mychart"),
				regFile("mychart/charts/dir/Chart.yaml", "apiVersion: v2\nname: dir\nversion: 0.1.0\n"),
				regFile("mychart/charts/dir/charts/sub.tgz", string(badSub)))...),
			want: "entry mychart/charts/dir/charts/sub.tgz: entry sub/templates/a.yaml is a symlink to /etc/passwd: links are not allowed in chart archives",
		},
		{
			name: "broken subchart archive",
			data: testTgz(t, append(testChartEntries("mychart"), regFile("mychart/charts/sub.tgz", "<html></html>"))...),
			want: "entry mychart/charts/sub.tgz: archive is not gzip-compressed: its content looks like text/html; charset=utf-8",
		},
		{
			name: "subchart archives counted in the limits",
			data: testTgz(t, append(testChartEntries("mychart"), regFile("mychart/charts/sub.tgz", string(testTgz(t, big...))))...),
			lim:  Limits{MaxDecompressed: 1500},
			want: "entry mychart/charts/sub.tgz: archive decompresses to more than the limit of 1500 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := CheckArchive(tt.data, tt.lim); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckArchive error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckArchiveNesting(t *testing.T) {
	data := testTgz(t, testChartEntries("c0")...)
	for i := 1; i <= maxNesting+1; i++ {
		data = testTgz(t, append(testChartEntries(fmt.Sprintf("c%d", i)), regFile(fmt.Sprintf("c%d/charts/c%d.tgz", i, i-1), string(data)))...)
	}
	want := "entry c9/charts/c8.tgz: entry c8/charts/c7.tgz: entry c7/charts/c6.tgz: entry c6/charts/c5.tgz: " +
		"entry c5/charts/c4.tgz: entry c4/charts/c3.tgz: entry c3/charts/c2.tgz: entry c2/charts/c1.tgz: " +
		"entry c1/charts/c0.tgz: subchart archives nest more than 8 deep"
	got := ""
	if err := CheckArchive(data, Limits{}); err != nil {
		got = err.Error()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CheckArchive error (-want +got):\n%s", diff)
	}
}

// TestCheckArchiveBombs checks that archives of 200 MiB of zeros fail
// without CheckArchive allocating anything near that.
func TestCheckArchiveBombs(t *testing.T) {
	const size = 200 << 20
	tests := []struct {
		name string
		data []byte
		lim  Limits
		want string
	}{
		{
			name: "one huge entry",
			data: bombEntry(t, size),
			want: "entry mychart/files/zeros is larger than the limit of 20971520 bytes",
		},
		{
			name: "one huge entry, file limit above the total limit",
			data: bombEntry(t, size),
			lim:  Limits{MaxFile: 1 << 30, MaxDecompressed: 50 << 20},
			want: "archive decompresses to more than the limit of 52428800 bytes",
		},
		{
			name: "zeros after the end of the tar stream",
			data: bombTrailer(t, size),
			want: "archive decompresses to a tar stream of more than 146866176 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.data) > 1<<20 {
				t.Fatalf("bomb is %d bytes compressed, want it small", len(tt.data))
			}
			var err error
			alloc := bytesAllocated(func() { err = CheckArchive(tt.data, tt.lim) })
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckArchive error (-want +got):\n%s", diff)
			}
			if alloc > 8<<20 {
				t.Errorf("CheckArchive allocated %d bytes, want less than 8 MiB", alloc)
			}
		})
	}
}

// bytesAllocated returns the bytes f allocates.
func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestLoad(t *testing.T) {
	sub := testTgz(t, testChartEntries("sub")...)
	type summary struct {
		Name, Version string
		Templates     []string
		Dependencies  []string
	}
	tests := []struct {
		name                  string
		data                  []byte
		wantName, wantVersion string
		want                  summary
		wantErr               string
	}{
		{
			name:        "good",
			data:        testTgz(t, testChartEntries("mychart")...),
			wantName:    "mychart",
			wantVersion: "1.2.3",
			want:        summary{Name: "mychart", Version: "1.2.3", Templates: []string{"templates/cm.yaml"}},
		},
		{
			name: "no expectations",
			data: testTgz(t, testChartEntries("mychart")...),
			want: summary{Name: "mychart", Version: "1.2.3", Templates: []string{"templates/cm.yaml"}},
		},
		{
			name:     "with a subchart archive",
			data:     testTgz(t, append(testChartEntries("mychart"), regFile("mychart/charts/sub.tgz", string(sub)))...),
			wantName: "mychart",
			want:     summary{Name: "mychart", Version: "1.2.3", Templates: []string{"templates/cm.yaml"}, Dependencies: []string{"sub"}},
		},
		{
			name: "backslash separators and a pax global header",
			data: testTgz(t, tarEntry{name: "pax_global_header", typ: tar.TypeXGlobalHeader},
				regFile(`mychart\Chart.yaml`, testChartYAML), regFile(`mychart\templates\cm.yaml`, "x")),
			want: summary{Name: "mychart", Version: "1.2.3", Templates: []string{"templates/cm.yaml"}},
		},
		{
			name:     "wrong name",
			data:     testTgz(t, testChartEntries("mychart")...),
			wantName: "other",
			wantErr:  "archive holds chart mychart, not other",
		},
		{
			name:        "wrong version",
			data:        testTgz(t, testChartEntries("mychart")...),
			wantName:    "mychart",
			wantVersion: "1.2.4",
			wantErr:     "archive holds version 1.2.3 of chart mychart, not 1.2.4",
		},
		{
			name:    "hostile archive",
			data:    testTgz(t, append(testChartEntries("mychart"), regFile("mychart/../evil", "x"))...),
			wantErr: "entry mychart/../evil has a .. element",
		},
		{
			name:    "invalid Chart.yaml",
			data:    testTgz(t, regFile("mychart/Chart.yaml", "apiVersion: v2\nname: mychart\nversion: one\n")),
			wantErr: `load archive: validation: chart.metadata.version "one" is invalid`,
		},
		{
			name:    "Chart.yaml not YAML",
			data:    testTgz(t, regFile("mychart/Chart.yaml", "name: [\n")),
			wantErr: "load archive: cannot load Chart.yaml: error converting YAML to JSON: yaml: line 1: did not find expected node content",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.data, Limits{}, tt.wantName, tt.wantVersion)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Fatalf("Load error (-want +got):\n%s", diff)
			}
			if err != nil {
				if c != nil {
					t.Errorf("Load returned a chart with its error")
				}
				return
			}
			got := summary{Name: c.Name(), Version: c.Metadata.Version}
			for _, f := range c.Templates {
				got.Templates = append(got.Templates, f.Name)
			}
			for _, d := range c.Dependencies() {
				got.Dependencies = append(got.Dependencies, d.Name())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadHelmLimit checks that a Helm loader limit lower than ours is
// reported as such. It changes Helm's package variable, so it must not run
// in parallel.
func TestLoadHelmLimit(t *testing.T) {
	old := helmarchive.MaxDecompressedChartSize
	helmarchive.MaxDecompressedChartSize = 50
	defer func() { helmarchive.MaxDecompressedChartSize = old }()

	_, err := Load(testTgz(t, testChartEntries("mychart")...), Limits{}, "", "")
	got := ""
	if err != nil {
		got = err.Error()
	}
	want := "archive holds 72 bytes of files, and Helm's loader takes less than 50 (archive.MaxDecompressedChartSize)"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load error (-want +got):\n%s", diff)
	}
}

func TestIsSubchartArchive(t *testing.T) {
	tests := []struct {
		rel  string
		want bool
	}{
		{"charts/sub.tgz", true},
		{"charts/dir/charts/sub.tgz", true},
		{"charts/dir/charts/deeper/charts/sub.tgz", true},
		{"charts/_sub.tgz", false},
		{"charts/.sub.tgz", false},
		{"charts/_dir/charts/sub.tgz", false},
		{"charts/sub.tgz.prov", false},
		{"charts/sub.tar.gz", false},
		{"charts/sub.tgz/x", false},
		{"charts/dir/sub.tgz", false},
		{"files/charts/sub.tgz", false},
		{"sub.tgz", false},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			if got := isSubchartArchive(tt.rel); got != tt.want {
				t.Errorf("isSubchartArchive(%q) = %v, want %v", tt.rel, got, tt.want)
			}
		})
	}
}
