package render

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
)

// sortedDoc is what renderChart takes from one sorted document: where it
// came from, its kind, hook events and weight, and its object (as JSON) or
// that it is no object.
type sortedDoc struct {
	Path, Kind string
	Events     []release.HookEvent
	Weight     int
	Object     string
	Err        bool
}

func docOf(path, kind string, events []release.HookEvent, weight int, objs string, err error) sortedDoc {
	return sortedDoc{Path: path, Kind: kind, Events: events, Weight: weight, Object: objs, Err: err != nil}
}

func objectJSON(t testing.TB, v any) string {
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
}

// helmSorted is what releaseutil.SortManifests and decodeDocs made of the
// templates before sortTemplates.
func helmSorted(t testing.TB, files map[string]string) (objects, hooks []sortedDoc, err error) {
	hs, ms, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range ms {
		objs, err := decodeDocs(m.Name, m.Content)
		objects = append(objects, docOf(m.Name, m.Head.Kind, nil, 0, objectJSON(t, objs), err))
	}
	for _, h := range hs {
		objs, err := decodeDocs(h.Path, h.Manifest)
		hooks = append(hooks, docOf(h.Path, h.Kind, h.Events, h.Weight, objectJSON(t, objs), err))
	}
	return objects, hooks, nil
}

// wookieSorted is what sortTemplates makes of the templates, in the same
// terms.
func wookieSorted(t testing.TB, files map[string]string) (objects, hooks []sortedDoc, err error) {
	os, hs, err := sortTemplates(files, nil)
	if err != nil {
		return nil, nil, err
	}
	conv := func(ds []templateDoc) []sortedDoc {
		var out []sortedDoc
		for _, d := range ds {
			u, err := d.object()
			var objs any = []any(nil)
			if err == nil && u != nil {
				objs = []any{u}
			}
			out = append(out, docOf(d.path, d.kind, d.events, d.weight, objectJSON(t, objs), err))
		}
		return out
	}
	return conv(os), conv(hs), nil
}

// checkSortParity compares sortTemplates with Helm's SortManifests on files.
func checkSortParity(t testing.TB, files map[string]string) {
	t.Helper()
	wantObjs, wantHooks, wantErr := helmSorted(t, files)
	gotObjs, gotHooks, gotErr := wookieSorted(t, files)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("error:\n got %v\nwant %v", gotErr, wantErr)
	}
	if diff := cmp.Diff(wantObjs, gotObjs); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantHooks, gotHooks); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
}

const sortMixed = `apiVersion: v1
kind: Service
metadata: {name: s}
---
# a comment only
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---apiVersion: v1
kind: ConfigMap
metadata: {name: glued}
---
null
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, annotations: {team: x}}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa}
`

const sortHooks = `apiVersion: batch/v1
kind: Job
metadata:
  name: pre
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-5"
    helm.sh/hook-delete-policy: before-hook-creation
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: post
  annotations: {helm.sh/hook: " Post-Install ", helm.sh/hook-weight: "3"}
---
apiVersion: v1
kind: Pod
metadata:
  name: t
  annotations: {helm.sh/hook: test-success}
---
apiVersion: v1
kind: Pod
metadata:
  name: unknown
  annotations: {helm.sh/hook: pre-install,later}
---
apiVersion: v1
kind: Pod
metadata:
  annotations: {helm.sh/hook: "pre-delete"}
---
kind: Pod
metadata:
  annotations: {helm.sh/hook: "sometime"}
---
apiVersion: v1
kind: Secret
metadata:
  name: empty-hook
  annotations: {helm.sh/hook: ""}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: weight-not-a-number
  annotations: {helm.sh/hook: post-upgrade, helm.sh/hook-weight: "heavy"}
`

// TestSortTemplatesParity: sortTemplates sorts rendered templates into
// objects and hooks as Helm's releaseutil.SortManifests does, and fails
// where it fails, with its message.
func TestSortTemplatesParity(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{{
		name: "kinds across files, partials and blank files skipped",
		files: map[string]string{
			"c/templates/b.yaml":            sortMixed,
			"c/templates/a.yaml":            "apiVersion: v1\nkind: Service\nmetadata: {name: first}\n",
			"c/templates/_helpers.tpl":      "apiVersion: v1\nkind: Namespace\nmetadata: {name: partial}\n",
			"c/templates/blank.yaml":        "\n  \n",
			"c/charts/sub/templates/x.yaml": "---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n",
		},
	}, {
		name:  "hooks",
		files: map[string]string{"c/templates/hooks.yaml": sortHooks, "c/templates/a.yaml": sortMixed},
	}, {
		name: "fields that are no strings",
		files: map[string]string{"c/templates/x.yaml": `apiVersion: v1
kind: 5
metadata: {name: five}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: w
  annotations: {helm.sh/hook: pre-install, helm.sh/hook-weight: 7}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: n
  annotations: {helm.sh/hook: post-install, helm.sh/hook-weight: null}
---
apiVersion: v1
kind: ConfigMap
metadata: null
---
apiVersion: v1
kind:
metadata: {name: k}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: 12}
`},
	}, {
		name: "keys that match only without case",
		files: map[string]string{"c/templates/x.yaml": `apiVersion: v1
Kind: Job
kind: ConfigMap
metadata: {name: a}
---
apiVersion: v1
kind: ConfigMap
Metadata:
  name: b
  annotations: {helm.sh/hook: pre-delete}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  Annotations: {helm.sh/hook: pre-install}
`},
	}, {
		name:  "not YAML",
		files: map[string]string{"c/templates/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n"},
	}, {
		name:  "a list",
		files: map[string]string{"c/templates/x.yaml": "- apiVersion: v1\n  kind: ConfigMap\n"},
	}, {
		name:  "a string",
		files: map[string]string{"c/templates/x.yaml": "hello\n"},
	}, {
		name:  "metadata a list",
		files: map[string]string{"c/templates/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [a]\n"},
	}, {
		name:  "annotations a list",
		files: map[string]string{"c/templates/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, annotations: [b]}\n"},
	}, {
		name:  "no name, no kind",
		files: map[string]string{"c/templates/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n---\napiVersion: v1\nmetadata: {name: x}\n"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkSortParity(t, tt.files)
		})
	}
}

// FuzzSortTemplates compares sortTemplates with Helm's SortManifests on
// arbitrary template output.
func FuzzSortTemplates(f *testing.F) {
	for _, seed := range []string{sortMixed, sortHooks, "- a\n", "kind: [x]\n", "metadata: {annotations: {helm.sh/hook: test}}\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, stream string) {
		if strings.Contains(stream, "\x00") {
			t.Skip()
		}
		checkSortParity(t, map[string]string{"c/templates/x.yaml": stream, "c/templates/a.yaml": sortHooks})
	})
}
