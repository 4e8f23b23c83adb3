package eval

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
)

// TestPXCOptions: the options of projects.wookie.pxc give the bundles,
// values, namespace labels and readiness rule they promise, and bad
// combinations fail with the assertion's message.
func TestPXCOptions(t *testing.T) {
	kubeconfig := "targets: kubeconfig: {enable: true, clusterName: \"prod\", context: \"prod\", kubeVersion: \"1.31.4\"}\nprojects: wookie: enable: true\n"
	tests := []struct {
		name, config string
		// pxc and haproxy size, affinity key, injection label of ns-pxc
		size, haproxy int
		affinity      string
		injection     string
		wantErr       string
	}{
		{name: "one node by default", config: base + "projects: wookie: pxc: enable: true\n", size: 1, haproxy: 1, affinity: "", injection: "disabled"},
		{name: "three nodes", config: kubeconfig + "projects: wookie: pxc: {enable: true, size: 3}\n", size: 3, haproxy: 3, affinity: "", injection: "disabled"},
		{name: "three nodes on a two-node k3d cluster relax anti-affinity", config: base + "targets: \"local-k3d\": agents: 1\nprojects: wookie: pxc: {enable: true, size: 3}\n", size: 3, haproxy: 3, affinity: "none", injection: "disabled"},
		{name: "three nodes on a three-node k3d cluster keep it", config: base + "targets: \"local-k3d\": agents: 2\nprojects: wookie: pxc: {enable: true, size: 3}\n", size: 3, haproxy: 3, affinity: "", injection: "disabled"},
		{name: "anti-affinity off", config: kubeconfig + "projects: wookie: pxc: {enable: true, size: 3, antiAffinity: \"none\"}\n", size: 3, haproxy: 3, affinity: "none", injection: "disabled"},
		{name: "sidecars on", config: base + "projects: wookie: pxc: {enable: true, sidecars: true}\n", size: 1, haproxy: 1, injection: "enabled"},
		{name: "without Istio no injection label", config: base + "projects: wookie: {istio: enable: false, pxc: enable: true}\n", size: 1, haproxy: 1, injection: "-"},
		{name: "size 1 without unsafe flags", config: base + "projects: wookie: pxc: {enable: true, values: db: unsafeFlags: proxySize: false}\n",
			wantErr: "assertion wookie-pxc-size failed: projects.wookie.pxc: size 1 needs values.db.unsafeFlags.pxcSize and proxySize true"},
		{name: "size 2", config: base + "projects: wookie: pxc: {enable: true, size: 2}\n", wantErr: "projects.wookie.pxc.size"},
		{name: "an Istio namespace", config: base + "projects: wookie: pxc: {enable: true, namespace: \"istio-system\"}\n", wantErr: `invalid value "istio-system"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := evalConfig(t, tt.config, tt.wantErr)
			if res == nil {
				return
			}
			bundles := map[string]*plan.Bundle{}
			batchOf := map[string]string{}
			for _, b := range res.Plan.Clusters[0].Batches {
				for i := range b.Bundles {
					bundles[b.Bundles[i].Name] = &b.Bundles[i]
					batchOf[b.Bundles[i].Name] = b.Name
				}
			}
			for name, batch := range map[string]string{"ns-pxc": "namespaces", "pxc-operator": "operators", "pxc-db": "services"} {
				if batchOf[name] != batch {
					t.Errorf("bundle %s in batch %q, want %s", name, batchOf[name], batch)
				}
			}
			db, op := bundles["pxc-db"], bundles["pxc-operator"]
			if db == nil || op == nil {
				t.Fatal("no pxc bundles")
			}
			if op.Chart.Values["watchNamespace"] != "pxc" || op.Namespace != "pxc" || db.Namespace != "pxc" {
				t.Errorf("operator values %v, namespaces %s %s", op.Chart.Values, op.Namespace, db.Namespace)
			}
			if diff := cmp.Diff([]string{"pxc-operator"}, db.DependsOn); diff != "" {
				t.Errorf("dependsOn (-want +got):\n%s", diff)
			}
			v := db.Chart.Values
			get := func(path ...string) any {
				var cur any = v
				for _, p := range path {
					m, _ := cur.(map[string]any)
					cur = m[p]
				}
				return cur
			}
			num := func(x any) int {
				n, _ := x.(interface{ Int64() (int64, error) }).Int64()
				return int(n)
			}
			if num(get("pxc", "size")) != tt.size || num(get("haproxy", "size")) != tt.haproxy {
				t.Errorf("sizes %v %v", get("pxc", "size"), get("haproxy", "size"))
			}
			if a, _ := get("pxc", "affinity", "antiAffinityTopologyKey").(string); a != tt.affinity {
				t.Errorf("pxc anti-affinity %q, want %q", a, tt.affinity)
			}
			if tt.size == 1 && (get("unsafeFlags", "pxcSize") != true || get("backup", "enabled") != false || get("logcollector", "enabled") != false) {
				t.Errorf("size 1 values: %v", v)
			}
			ns := bundles["ns-pxc"].Manifests[0]["metadata"].(map[string]any)
			label := "-"
			if l, ok := ns["labels"].(map[string]any); ok {
				label, _ = l["istio-injection"].(string)
			}
			if label != tt.injection {
				t.Errorf("istio-injection %q, want %q", label, tt.injection)
			}
			want := []plan.Readiness{{APIVersion: "pxc.percona.com/v1", Kind: "PerconaXtraDBCluster",
				Current: "has(status.state) && status.state == 'ready'", Failed: "has(status.state) && status.state == 'error'"}}
			if diff := cmp.Diff(want, db.Readiness); diff != "" || db.Timeout != "15m" {
				t.Errorf("readiness (-want +got):\n%s timeout %s", diff, db.Timeout)
			}
		})
	}
}
