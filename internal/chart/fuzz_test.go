package chart

import (
	"bytes"
	"compress/gzip"
	"io"
	"reflect"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/chart/charttest"
)

// fuzzLimits keep each fuzz input quick.
var fuzzLimits = Limits{MaxArchive: 1 << 20, MaxDecompressed: 4 << 20, MaxFile: 1 << 20, MaxEntries: 200}

// gunzip returns the tar stream of a .tgz.
func gunzip(t testing.TB, tgz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// gzipped compresses data.
func gzipped(data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(data)
	_ = zw.Close()
	return buf.Bytes()
}

// FuzzLoad reads chart archives: the fuzzer mutates the tar stream, which
// is compressed before Load reads it (or, with raw, handed over as it
// is). Nothing panics, a CheckArchive error is one line, and an archive
// Load accepts passes CheckArchive and holds a named chart.
func FuzzLoad(f *testing.F) {
	seeds := [][]byte{
		charttest.Package(f, charttest.Chart{Name: "alpha", Version: "1.0.0", Files: map[string]string{
			"values.yaml":       "replicas: 1\nimage: {tag: v1}\n",
			"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
		}}),
		charttest.Package(f, charttest.Chart{Name: "parent", Version: "0.1.0", Files: map[string]string{
			"charts/child/Chart.yaml": "apiVersion: v2\nname: child\nversion: 0.2.0\n",
			"values.yaml":             "child: {enabled: true}\n",
		}}),
		charttest.Archive(f, charttest.Entry{Name: "x/Chart.yaml", Body: "apiVersion: v2\nname: x\nversion: 1.0.0\n"},
			charttest.Entry{Name: "x/../../etc/passwd", Body: "root"}),
		charttest.Archive(f, charttest.Entry{Name: "x/Chart.yaml", Body: "apiVersion: v2\nname: x\nversion: 1.0.0\n"},
			charttest.Entry{Name: "x/templates/l", Typeflag: '2', Linkname: "/etc/passwd"}),
		charttest.Archive(f, charttest.Entry{Name: "x/Chart.yaml", Body: "name: x", Size: 1 << 30}),
	}
	for _, s := range seeds {
		f.Add(gunzip(f, s), false)
	}
	f.Add([]byte("\x1f\x8b\x08\x00"), true)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		if !raw {
			data = gzipped(data)
		}
		checkErr := CheckArchive(data, fuzzLimits)
		if checkErr != nil && strings.Contains(checkErr.Error(), "\n") {
			t.Errorf("CheckArchive error is not one line: %q", checkErr)
		}
		c, err := Load(data, fuzzLimits, "", "")
		if err != nil {
			return
		}
		if checkErr != nil {
			t.Errorf("Load accepted what CheckArchive refuses: %v", checkErr)
		}
		if c.Metadata == nil || c.Name() == "" {
			t.Errorf("Load returned a chart without a name")
		}
	})
}

// FuzzValuesMerge merges values as rendering does: a chart's values.yaml
// and values.schema.json, read from an archive by Load, with a bundle's
// values (chartutil.ProcessDependencies, then Helm's
// ToRenderValuesWithSchemaValidation, as internal/render calls them).
// Nothing panics, the merge is deterministic, does not change the bundle's
// values, and a bundle's top-level scalar wins over the chart's default.
func FuzzValuesMerge(f *testing.F) {
	for _, s := range [][3]string{
		{"replicas: 1\nimage: {repository: x, tag: v1}\n", "", "replicas: 3\nimage: {tag: v2}\n"},
		{"a: {b: {c: 1}}\nlist: [1, 2]\n", "", "a: {b: null}\nlist: [3]\n"},
		{"child: {enabled: true, x: 1}\nglobal: {g: 1}\n", "", "child: {x: 2}\nglobal: {h: 2}\n"},
		{"port: 80\n", `{"type": "object", "properties": {"port": {"type": "integer", "maximum": 65535}}}`, "port: 70000\n"},
		{"", `{"$ref": "#"}`, "x: 1\n"},
		{"a: &x {b: 1}\nc: *x\n", "", "c: {b: 2}\n"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	caps := common.DefaultCapabilities
	opts := common.ReleaseOptions{Name: "r", Namespace: "ns", Revision: 1, IsInstall: true}
	f.Fuzz(func(t *testing.T, chartValues, schema, bundleValues string) {
		entries := []charttest.Entry{{Name: "x/Chart.yaml", Body: "apiVersion: v2\nname: x\nversion: 1.0.0\n" +
			"dependencies:\n- name: child\n  version: 0.1.0\n  condition: child.enabled\n"},
			{Name: "x/charts/child/Chart.yaml", Body: "apiVersion: v2\nname: child\nversion: 0.1.0\n"},
			{Name: "x/values.yaml", Body: chartValues}}
		if schema != "" {
			entries = append(entries, charttest.Entry{Name: "x/values.schema.json", Body: schema})
		}
		var vals map[string]any
		if err := yaml.Unmarshal([]byte(bundleValues), &vals); err != nil {
			return
		}
		merge := func() (common.Values, error) {
			ch, err := Load(charttest.Archive(t, entries...), fuzzLimits, "", "")
			if err != nil {
				return nil, err
			}
			if err := chartutil.ProcessDependencies(ch, vals); err != nil {
				return nil, err
			}
			return util.ToRenderValuesWithSchemaValidation(ch, vals, opts, caps, false)
		}
		before, err := yaml.Marshal(vals)
		if err != nil {
			return
		}
		first, err1 := merge()
		second, err2 := merge()
		if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
			t.Fatalf("not deterministic: %v, then %v", err1, err2)
		}
		if after, _ := yaml.Marshal(vals); !bytes.Equal(before, after) {
			t.Errorf("the merge changed the bundle's values:\n%s\n%s", before, after)
		}
		if err1 != nil {
			return
		}
		if !reflect.DeepEqual(first["Values"], second["Values"]) {
			t.Fatalf("not deterministic:\n%v\n%v", first["Values"], second["Values"])
		}
		merged, _ := first["Values"].(common.Values)
		for k, v := range vals {
			switch v.(type) {
			case string, bool, float64, int64:
				if !reflect.DeepEqual(merged[k], v) {
					t.Errorf("values.%s: the bundle's %v lost to %v", k, v, merged[k])
				}
			}
		}
	})
}
