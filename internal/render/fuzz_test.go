package render

import (
	"strings"
	"testing"
)

// FuzzDecodeDocs feeds the manifest decoder (a template's output, a crds/
// file, raw manifests) arbitrary streams: it never panics, an error is one
// line naming the source, and every object it returns has apiVersion, kind
// and a name, and encodes to YAML.
func FuzzDecodeDocs(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n",
		"---\n# comment only\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n",
		"apiVersion: v1\nkind: List\nitems: []\n",
		"- a\n- b\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n: bad\n",
		"null\n",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: '1'}\n...\n",
		"a: &x [*x]\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, stream string) {
		objs, err := decodeDocs("templates/t.yaml", stream)
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "templates/t.yaml: ") {
				t.Fatalf("error not one line naming the source: %q", msg)
			}
			return
		}
		for _, o := range objs {
			if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
				t.Fatalf("object without apiVersion, kind or name: %v", o.Object)
			}
			if _, err := MarshalYAML([]*Object{{Unstructured: o}}); err != nil {
				t.Fatalf("object does not encode: %v", err)
			}
		}
	})
}
