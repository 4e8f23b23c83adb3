package eval

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"wookie.dev/wookie/internal/plan"
)

// TestListMerge: the definitions of a list option concatenate like a NixOS
// listOf option's: mkBefore first, the others by name, mkAfter last, and
// mkForce alone when it is there; sets drop repeated items.
func TestListMerge(t *testing.T) {
	tests := []struct {
		name string
		list listOf[string]
		want []string
		from []itemOrigin
		set  []string
	}{{
		name: "none",
		list: nil,
	}, {
		name: "one definition",
		list: listOf[string]{"wookie": {"a", "b"}},
		want: []string{"a", "b"},
		from: []itemOrigin{{"wookie", 0}, {"wookie", 1}},
		set:  []string{"a", "b"},
	}, {
		name: "by name",
		list: listOf[string]{"wookie": {"istiod"}, "mine": {"extra", "istiod"}},
		want: []string{"extra", "istiod", "istiod"},
		from: []itemOrigin{{"mine", 0}, {"mine", 1}, {"wookie", 0}},
		set:  []string{"extra", "istiod"},
	}, {
		name: "mkBefore and mkAfter",
		list: listOf[string]{"b": {"2"}, mkAfter: {"3"}, "a": {"1"}, mkBefore: {"0"}},
		want: []string{"0", "1", "2", "3"},
		from: []itemOrigin{{mkBefore, 0}, {"a", 0}, {"b", 0}, {mkAfter, 0}},
		set:  []string{"0", "1", "2", "3"},
	}, {
		name: "mkForce replaces every other definition",
		list: listOf[string]{"wookie": {"istiod"}, mkBefore: {"x"}, mkForce: {"mine", "mine"}},
		want: []string{"mine", "mine"},
		from: []itemOrigin{{mkForce, 0}, {mkForce, 1}},
		set:  []string{"mine"},
	}, {
		name: "an empty mkForce empties the list",
		list: listOf[string]{"wookie": {"istiod"}, mkForce: {}},
		want: nil,
		set:  nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, from := tt.list.merge()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("merge (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.from, from, cmp.AllowUnexported(itemOrigin{})); diff != "" {
				t.Errorf("origins (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.set, mergeSet(tt.list), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("mergeSet (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBadDefinitionNames(t *testing.T) {
	l := listOf[string]{"mkForse": nil, "mkForce": nil, "mkbefore": nil, "mine": nil, "mkAfterAll": nil}
	want := []string{
		"x.mkAfterAll: unknown list modifier: want mkBefore, mkAfter or mkForce (did you mean mkAfter?)",
		"x.mkForse: unknown list modifier: want mkBefore, mkAfter or mkForce (did you mean mkForce?)",
	}
	if diff := cmp.Diff(want, l.badDefinitionNames(func() string { return "x" })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestClosest(t *testing.T) {
	tests := []struct {
		name       string
		candidates []string
		want       string
	}{
		{"project", []string{"projects", "targets", "clusters"}, "projects"},
		{"target", []string{"projects", "targets", "clusters"}, "targets"},
		{"istoi", []string{"enable", "istio", "pxc"}, "istio"},
		{"local-k8d", []string{"kubeconfig", "local-k3d", "multi-k3d"}, "local-k3d"},
		{"Projects", []string{"projects"}, "projects"},
		{"hello", []string{"projects", "targets"}, ""},
		{"ab", []string{"cd", "xy"}, ""},
		{"istio", []string{"istio"}, ""},
	}
	for _, tt := range tests {
		if got := closest(tt.name, tt.candidates); got != tt.want {
			t.Errorf("closest(%q, %q) = %q, want %q", tt.name, tt.candidates, got, tt.want)
		}
	}
}

// bundleOf returns the bundle name of the only cluster of res.
func bundleOf(t *testing.T, res *Result, name string) plan.Bundle {
	t.Helper()
	for _, b := range res.Plan.Clusters[0].Batches {
		for _, u := range b.Bundles {
			if u.Name == name {
				return u
			}
		}
	}
	t.Fatalf("no bundle %s", name)
	return plan.Bundle{}
}

// TestListOptions: a user's files add to the list options of a module's
// bundles instead of conflicting with them, and can order or replace them.
func TestListOptions(t *testing.T) {
	const gw = `clusters: "wookie-local": batches: services: bundles: "istio-ingressgateway": `
	const extra = `clusters: "wookie-local": batches: services: bundles: extra: {namespace: "wookie", manifests: mine: [{apiVersion: "v1", kind: "ConfigMap", metadata: name: "extra"}]}
`
	skip := func(rule, reason string) plan.CheckSkip { return plan.CheckSkip{Rule: rule, Reason: reason} }
	moduleSkip := plan.CheckSkip{Rule: "image-tag", Kind: "Deployment", Reason: "the gateway chart sets image: auto, which Istio's sidecar injector replaces with the pinned proxy image when the pod is created"}
	tests := []struct {
		name  string
		files [][2]string
		check func(t *testing.T, gw plan.Bundle)
	}{{
		name:  "dependsOn joins the module's, without repeats",
		files: [][2]string{{"a.cue", base + extra + gw + `dependsOn: mine: ["extra", "istiod"]` + "\n"}},
		check: func(t *testing.T, gw plan.Bundle) {
			if diff := cmp.Diff([]string{"extra", "istiod"}, gw.DependsOn); diff != "" {
				t.Errorf("dependsOn (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "definitions from a CUE and a YAML file",
		files: [][2]string{
			{"a.cue", base + extra},
			{"b.yaml", "clusters:\n  wookie-local:\n    batches:\n      services:\n        bundles:\n          istio-ingressgateway:\n            dependsOn:\n              ops: [extra]\n            checks:\n              skip:\n                ops:\n                  - {rule: schema, reason: checked upstream}\n"},
		},
		check: func(t *testing.T, gw plan.Bundle) {
			if diff := cmp.Diff([]string{"extra", "istiod"}, gw.DependsOn); diff != "" {
				t.Errorf("dependsOn (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(&plan.Checks{Skip: []plan.CheckSkip{skip("schema", "checked upstream"), moduleSkip}}, gw.Checks); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
		},
	}, {
		name:  "mkForce replaces the module's definition",
		files: [][2]string{{"a.cue", base + extra + gw + `dependsOn: mkForce: ["extra"]` + "\n"}},
		check: func(t *testing.T, gw plan.Bundle) {
			if diff := cmp.Diff([]string{"extra"}, gw.DependsOn); diff != "" {
				t.Errorf("dependsOn (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "mkBefore and mkAfter order checks.skip around the module's",
		files: [][2]string{{"a.cue", base + gw + `checks: skip: {
	mkAfter: [{rule: "secret", reason: "last"}]
	mkBefore: [{rule: "schema", reason: "first"}]
	zz: [{rule: "kind", reason: "after wookie by name"}]
}
`}},
		check: func(t *testing.T, gw plan.Bundle) {
			want := []plan.CheckSkip{skip("schema", "first"), moduleSkip, skip("kind", "after wookie by name"), skip("secret", "last")}
			if diff := cmp.Diff(&plan.Checks{Skip: want}, gw.Checks); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
		},
	}, {
		name:  "an empty mkForce removes the module's items",
		files: [][2]string{{"a.cue", base + gw + "checks: skip: mkForce: []\n"}},
		check: func(t *testing.T, gw plan.Bundle) {
			if gw.Checks != nil {
				t.Errorf("checks: %+v, want none", gw.Checks)
			}
		},
	}, {
		name:  "a values override deep in the chart's values",
		files: [][2]string{{"a.cue", base + gw + `chart: values: service: annotations: "example.com/lb": "internal"` + "\n"}},
		check: func(t *testing.T, gw plan.Bundle) {
			got := gw.Chart.Values["service"].(map[string]any)["annotations"]
			if diff := cmp.Diff(map[string]any{"example.com/lb": "internal"}, got); diff != "" {
				t.Errorf("values.service.annotations (-want +got):\n%s", diff)
			}
			if gw.Chart.Values["autoscaling"] == nil {
				t.Error("the module's values are gone")
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, names := writeFiles(t, tt.files)
			res, err := Evaluate(Config{Dir: dir, Files: names})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, bundleOf(t, res, "istio-ingressgateway"))
		})
	}
}

// TestListOptionsManifests: the manifests of a user's bundle in two files,
// ordered with mkBefore, and the items of a target's list options.
func TestListOptionsManifests(t *testing.T) {
	cm := func(name string) string {
		return `[{apiVersion: "v1", kind: "ConfigMap", metadata: name: "` + name + `"}]`
	}
	res := evalConfig(t, base+`
clusters: "wookie-local": batches: services: bundles: app: {
	namespace: "wookie"
	manifests: app: `+cm("b")+`
	manifests: mkBefore: `+cm("a")+`
	manifests: extra: `+cm("c")+`
}
targets: "local-k3d": k3sArgs: {
	base: [{arg: "--one"}]
	mkBefore: [{arg: "--zero"}]
}
targets: "local-k3d": registries: use: {a: ["r:1", "r:2"], b: ["r:2"]}
`, "")
	var names []string
	for _, m := range bundleOf(t, res, "app").Manifests {
		names = append(names, m["metadata"].(map[string]any)["name"].(string))
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, names); diff != "" {
		t.Errorf("manifests (-want +got):\n%s", diff)
	}
	k := res.Plan.Clusters[0].K3d
	if diff := cmp.Diff([]plan.K3sArg{{Arg: "--zero", NodeFilters: []string{"server:*"}}, {Arg: "--one", NodeFilters: []string{"server:*"}}}, k.K3sArgs); diff != "" {
		t.Errorf("k3sArgs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&plan.K3dRegistries{Use: []string{"r:1", "r:2"}}, k.Registries); diff != "" {
		t.Errorf("registries (-want +got):\n%s", diff)
	}
}

// TestClosedErrors: every misspelling and every reach into a module's
// internals is an error at the user's file:line:col, with the name meant
// where one is near; imports, cycles and the syntax of YAML and JSON files
// are located too.
func TestClosedErrors(t *testing.T) {
	const gw = `clusters: "wookie-local": batches: services: bundles: "istio-ingressgateway": `
	tests := []struct {
		name  string
		files [][2]string
		want  string
	}{{
		name:  "top-level field misspelt",
		files: [][2]string{{"wookie.cue", "project: wookie: enable: true\ntargets: \"local-k3d\": enable: true\n"}},
		want:  "wookie.cue:1:1: project: field not allowed (did you mean projects?)",
	}, {
		name:  "top-level field nobody declares",
		files: [][2]string{{"wookie.cue", base + "helpers: x: 1\n"}},
		want:  "wookie.cue:3:1: helpers: field not allowed: the top level holds assertions, charts, clusters, gitops, projects, targets, warnings; name your own helpers _helpers (hidden) or with let",
	}, {
		name:  "gitops field misspelt",
		files: [][2]string{{"wookie.cue", base + "gitops: revison: \"main\"\n"}},
		want:  "wookie.cue:3:9: gitops.revison: field not allowed (did you mean revision?)",
	}, {
		name:  "assertion field misspelt",
		files: [][2]string{{"wookie.cue", base + "assertions: mine: {assertion: true, mesage: \"x\", message: \"y\"}\n"}},
		want:  "wookie.cue:3:37: assertions.mine.mesage: field not allowed (did you mean message?)",
	}, {
		name:  "hidden field of a module",
		files: [][2]string{{"wookie.cue", base + "_mesh: \"wookie-local\": role: \"primary\"\n"}},
		want:  "wookie.cue:3:1: _mesh: internal to wookie's modules (declared at embedded:modules/projects/wookie/wookie.cue:238:1), not an option: a configuration file cannot set it; 'wookie options' lists what can be set",
	}, {
		name:  "hidden field of the schema inside an option",
		files: [][2]string{{"wookie.cue", base + `clusters: "wookie-local": inputs: x: {_name: "y", cluster: "z", apiVersion: "v1", kind: "Secret", name: "s", expression: "data"}` + "\n"}},
		want:  "wookie.cue:3:39: _name: internal to wookie's modules",
	}, {
		name:  "unknown import",
		files: [][2]string{{"wookie.cue", "import \"example.com/lib\"\n" + base + "_x: lib.y\n"}},
		want:  `wookie.cue:1:8: import "example.com/lib": a configuration file imports only packages of CUE's standard library (strings, list, regexp, ...)`,
	}, {
		name:  "unknown standard package",
		files: [][2]string{{"wookie.cue", "import \"strngs\"\n" + base + "_x: strngs.ToUpper(\"a\")\n"}},
		want:  `wookie.cue:1:8: import "strngs": no such package in CUE's standard library`,
	}, {
		name:  "structural cycle",
		files: [][2]string{{"wookie.cue", base + "_a: b: _a\nclusters: \"wookie-local\": labels: _a\n"}},
		want:  "wookie.cue:3:5: _a.b: structural cycle",
	}, {
		name:  "YAML syntax",
		files: [][2]string{{"a.yaml", "projects:\n  wookie:\n    enable: true\n   clusterRole: primary\n"}},
		want:  "a.yaml:4:4: YAML syntax error: did not find expected key",
	}, {
		name:  "JSON syntax",
		files: [][2]string{{"a.json", "{\"projects\": {\"wookie\": {\"enable\": true,}}}\n"}},
		want:  "a.json:1:41: JSON syntax error: invalid character '}' looking for beginning of object key string",
	}, {
		name:  "type error in YAML with the option's doc",
		files: [][2]string{{"a.yaml", "targets:\n  local-k3d:\n    enable: true\n    agents: two\n"}},
		want:  `a.yaml:4:13: targets."local-k3d".agents: "two" is not allowed: want int — Number of k3s agent (worker) nodes.`,
	}, {
		name:  "enum error in JSON with the option's doc",
		files: [][2]string{{"a.json", `{"projects": {"wookie": {"enable": true, "istio": {"pluginCA": "some"}}}}`}},
		want:  `a.json:1:64: projects.wookie.istio.pluginCA: "some" is not allowed: want "all" | "mesh" | "none" — Where Istio's plug-in CA replaces istiod's self-signed one: mesh (the istiods of a multi-cluster mesh, which must share a root to trust each other), all (standalone clusters too) or none.`,
	}, {
		name:  "a plain list beside a module's definitions",
		files: [][2]string{{"wookie.cue", base + gw + `dependsOn: ["istio-base"]` + "\n"}},
		want:  `wookie.cue:3:90: clusters."wookie-local".batches.services.bundles."istio-ingressgateway".dependsOn: a list option takes its definitions by name, not a list: write dependsOn: <name>: [...], such as dependsOn: mine: [...], and it joins the definitions of the modules and of other files (mkBefore, mkAfter and mkForce order or replace them)`,
	}, {
		name:  "a list modifier misspelt",
		files: [][2]string{{"wookie.cue", base + gw + `dependsOn: mkForse: ["istio-base"]` + "\n"}},
		want:  `wookie.cue:3:79: clusters."wookie-local".batches.services.bundles."istio-ingressgateway".dependsOn.mkForse: unknown list modifier: want mkBefore, mkAfter or mkForce (did you mean mkForce?)`,
	}, {
		name:  "cluster misspelt",
		files: [][2]string{{"wookie.cue", base + `clusters: "wookie-locl": gitops: argocd: name: "x"` + "\n"}},
		want:  `wookie.cue:3:11: clusters."wookie-locl": no target contributes this cluster, so it has no target, context or kubeVersion (did you mean "wookie-local"?)`,
	}, {
		name:  "batch misspelt",
		files: [][2]string{{"wookie.cue", base + `clusters: "wookie-local": batches: servces: bundles: "istio-ingressgateway": dependsOn: mine: ["istiod"]` + "\n"}},
		want:  `wookie.cue:3:54: clusters."wookie-local".batches.servces.bundles."istio-ingressgateway".namespace: field is required but not present (did you mean services?)`,
	}, {
		name:  "bundle misspelt",
		files: [][2]string{{"wookie.cue", base + `clusters: "wookie-local": batches: services: bundles: "istio-ingresgateway": dependsOn: mine: ["istiod"]` + "\n"}},
		want:  `wookie.cue:3:55: clusters."wookie-local".batches.services.bundles."istio-ingresgateway".namespace: field is required but not present (did you mean "istio-ingressgateway"?)`,
	}, {
		name:  "chart group misspelt",
		files: [][2]string{{"wookie.cue", base + `charts: istoi: base: repo: "./mirror"` + "\n"}},
		want:  `wookie.cue:3:16: charts.istoi.base.name: field is required but not present (did you mean istio?)`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := evalFilesErr(t, tt.files).Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("error:\n got %s\nwant %s...", got, tt.want)
			}
		})
	}
}

// TestSettings: the values of a configuration with where each comes from,
// for wookie options --config.
func TestSettings(t *testing.T) {
	dir, names := writeFiles(t, [][2]string{{"wookie.cue", base + `projects: wookie: istio: meshID: "mesh1"
clusters: "wookie-local": batches: services: bundles: "istio-ingressgateway": dependsOn: mine: ["istio-base"]
`}})
	v, _, err := Load(Config{Dir: dir, Files: names})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Setting{}
	for _, s := range Settings(v) {
		got[s.Path] = s
	}
	const gw = `clusters."wookie-local".batches.services.bundles."istio-ingressgateway".`
	tests := []struct {
		path    string
		value   string
		defined []string
	}{
		{"projects.wookie.istio.meshID", `"mesh1"`, []string{"wookie.cue:3"}},
		{"projects.wookie.istio.version", `"1.30.3"`, nil},
		{gw + "dependsOn", `["istio-base","istiod"]`, []string{"mine at wookie.cue:4", "wookie at embedded:modules/projects/wookie/wookie.cue:401 (module projects/wookie)"}},
		{gw + "namespace", `"istio-ingress"`, []string{"embedded:modules/projects/wookie/wookie.cue:400 (module projects/wookie)"}},
		{`clusters."wookie-local".k3d.servers`, `1`, []string{"embedded:modules/targets/local-k3d/local-k3d.cue:95 (module targets/local-k3d)"}},
	}
	for _, tt := range tests {
		s, ok := got[tt.path]
		if !ok {
			t.Errorf("no setting %s", tt.path)
			continue
		}
		var defined []string
		for _, d := range s.Defined {
			defined = append(defined, d.String())
		}
		if diff := cmp.Diff(tt.defined, defined); diff != "" {
			t.Errorf("%s: defined by (-want +got):\n%s", tt.path, diff)
		}
		var value any
		if err := json.Unmarshal(s.Value, &value); err != nil {
			t.Errorf("%s: value %s: %v", tt.path, s.Value, err)
		}
		if string(s.Value) != tt.value {
			t.Errorf("%s: value %s, want %s", tt.path, s.Value, tt.value)
		}
	}
}

// TestMergedInCUE: #Merged, for modules that read a list option of their
// own, merges as the Plan does.
func TestMergedInCUE(t *testing.T) {
	tests := []struct {
		in   string
		list listOf[int]
	}{
		{`{}`, listOf[int]{}},
		{`{b: [2], a: [1, 1]}`, listOf[int]{"b": {2}, "a": {1, 1}}},
		{`{b: [2], mkAfter: [9], a: [1], mkBefore: [0, 0]}`, listOf[int]{"b": {2}, mkAfter: {9}, "a": {1}, mkBefore: {0, 0}}},
		{`{b: [2], mkForce: [7], mkBefore: [0]}`, listOf[int]{"b": {2}, mkForce: {7}, mkBefore: {0}}},
	}
	for _, tt := range tests {
		dir, names := writeFiles(t, [][2]string{{"wookie.cue", "_out: (#Merged & {in: " + tt.in + "}).out\n"}})
		v, _, err := Load(Config{Dir: dir, Files: names})
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		if err := lookupSegments(v, []string{"_out"}).Decode(&got); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		want, _ := tt.list.merge()
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-Go +CUE):\n%s", tt.in, diff)
		}
	}
}
