package deploy

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// keeperChart makes, like pxc-db, a CA with genCA and a token with
// randAlphaNum at render time, unless lookup finds the Secret that holds
// them, through a helper the Secret's template includes.
func keeperChart() charttest.Chart {
	return charttest.Chart{Name: "keeper", Version: "1.0.0", Files: map[string]string{
		"templates/_helpers.tpl": `{{- define "keeper.existing" -}}
{{- lookup "v1" "Secret" .Release.Namespace "keeper-ca" | toJson -}}
{{- end -}}
`,
		"templates/secret.yaml": `{{- $existing := include "keeper.existing" . | fromJson -}}
{{- $crt := "" -}}{{- $token := "" -}}
{{- if $existing -}}
{{- $crt = index $existing.data "ca.crt" -}}{{- $token = index $existing.data "token" -}}
{{- else -}}
{{- $ca := genCA "keeper-ca" 365 -}}{{- $crt = $ca.Cert | b64enc -}}{{- $token = randAlphaNum 24 | b64enc -}}
{{- end -}}
apiVersion: v1
kind: Secret
metadata:
  name: keeper-ca
type: Opaque
data:
  ca.crt: {{ $crt }}
  token: {{ $token }}
`,
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keeper-plain\ndata:\n  a: b\n",
	}}
}

// secretData returns the data of Secret keeper/keeper-ca in a rendering.
func secretData(t *testing.T, r *render.Result) map[string]any {
	t.Helper()
	for _, b := range r.Clusters[0].Batches {
		for _, u := range b.Bundles {
			for _, o := range u.Objects {
				if o.GetKind() == "Secret" && o.GetName() == "keeper-ca" {
					data, _ := o.Object["data"].(map[string]any)
					return data
				}
			}
		}
	}
	t.Fatal("no Secret keeper-ca rendered")
	return nil
}

// A chart that keeps its generated Secret through lookup keeps it across
// deploys: deploy renders it again with lookup answered by the cluster
// (the rendering it is given answered it offline, with new keys), so the
// second deploy and a diff leave the Secret as the first deploy made it;
// and that rendering never reaches the render cache.
func TestDeployLookupKeepsSecret(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "lookup")
	ctx := testContext(t)
	charts := archives{"keeper": charttest.Package(t, keeperChart())}
	p := k.newPlan(t, batch("apps", 0, plan.Bundle{Name: "keeper", Namespace: "keep", Chart: &plan.Chart{Repo: "./charts", Name: "keeper"}}))
	cacheDir := t.TempDir()
	// As the CLI does: the Plan rendered offline, through the cache, then
	// handed to deploy with the same render options.
	ropts := render.Options{Charts: charts, IncludeSecrets: true, Cache: &render.Cache{Dir: cacheDir}, Version: "test"}
	offline := func() *render.Result {
		t.Helper()
		r, err := render.Render(ctx, p, render.Options{Charts: charts, IncludeSecrets: true})
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		if got := r.Clusters[0].Batches[0].Bundles[0].Lookups; len(got) == 0 {
			t.Fatal("the offline rendering does not say the chart calls lookup")
		}
		return r
	}
	live := func() map[string]any {
		t.Helper()
		s := k.get(ctx, t, "v1", "Secret", "keep", "keeper-ca")
		if s == nil {
			t.Fatal("Secret keep/keeper-ca does not exist")
		}
		data, _ := s.Object["data"].(map[string]any)
		return data
	}

	first := offline()
	if _, events, err := deployRendered(ctx, t, p, first, Options{Render: ropts}); err != nil {
		t.Fatalf("first deploy: %v\n%s", err, eventLines(events))
	}
	kept := live()

	second := offline()
	if cmp.Equal(secretData(t, second), kept) {
		t.Fatal("two offline renders made the same keys: the test proves nothing")
	}
	changes, err := Diff(ctx, p, second, Options{Render: ropts})
	if err != nil {
		t.Fatalf("diff: %v", err)
	}
	if len(changes) > 0 {
		t.Errorf("diff after the first deploy reports changes: %+v", changes)
	}
	sum, events, err := deployRendered(ctx, t, p, second, Options{Render: ropts})
	if err != nil {
		t.Fatalf("second deploy: %v\n%s", err, eventLines(events))
	}
	if diff := cmp.Diff(kept, live()); diff != "" {
		t.Errorf("the second deploy changed the Secret (-first +second):\n%s", diff)
	}
	if sum.Configured != 0 || sum.Created != 0 {
		t.Errorf("second deploy: %+v, want nothing created or configured", sum)
	}
	if cached, _ := filepath.Glob(filepath.Join(cacheDir, "render", "*", "*.json")); len(cached) > 0 {
		t.Errorf("a rendering with live lookups was cached: %v", cached)
	}
}

// liveLookup answers as Helm's lookup does: the object, an empty map when
// there is none, lists with items, the namespace of a cluster-scoped kind
// ignored, an error for a kind the cluster does not serve.
func TestLiveLookup(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "lookup-live")
	ctx := testContext(t)
	for _, o := range []string{
		`{apiVersion: v1, kind: Namespace, metadata: {name: look}}`,
		`{apiVersion: v1, kind: Secret, metadata: {name: one, namespace: look}, stringData: {k: v}}`,
		`{apiVersion: v1, kind: Secret, metadata: {name: two, namespace: look}, stringData: {k: w}}`,
	} {
		u := &unstructured.Unstructured{Object: obj(t, "%s", o)}
		if err := k.c.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	lk := &liveLookup{cluster: clusterName, connect: func() (*conn, error) {
		return connect(Target{Kubeconfig: k.env.Kubeconfig, Context: k.env.Context})
	}}
	tests := []struct {
		name                             string
		apiVersion, kind, namespace, obj string
		want                             string // "name", "items:N" or "{}"
		wantErr                          string
	}{
		{name: "object", apiVersion: "v1", kind: "Secret", namespace: "look", obj: "one", want: "one"},
		{name: "no such object", apiVersion: "v1", kind: "Secret", namespace: "look", obj: "three", want: "{}"},
		{name: "no such namespace", apiVersion: "v1", kind: "Secret", namespace: "nowhere", obj: "one", want: "{}"},
		{name: "namespaced kind without a namespace", apiVersion: "v1", kind: "Secret", obj: "one", want: "{}"},
		{name: "list", apiVersion: "v1", kind: "Secret", namespace: "look", want: "items:2"},
		{name: "empty list", apiVersion: "v1", kind: "Secret", namespace: "nowhere", want: "items:0"},
		{name: "cluster-scoped, namespace ignored", apiVersion: "v1", kind: "Namespace", namespace: "look", obj: "look", want: "look"},
		{name: "unknown kind", apiVersion: "example.com/v1", kind: "Gadget", namespace: "look", obj: "g",
			wantErr: "cluster " + clusterName + " does not serve example.com/v1 Gadget"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lk.Lookup(ctx, tc.apiVersion, tc.kind, tc.namespace, tc.obj)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, lookupSummary(got)); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

// lookupSummary is the name of the object a lookup returned, items:N for
// a list, or {} for nothing.
func lookupSummary(m map[string]any) string {
	if items, ok := m["items"].([]any); ok {
		return fmt.Sprintf("items:%d", len(items))
	}
	if len(m) == 0 {
		return "{}"
	}
	name, _, _ := unstructured.NestedString(m, "metadata", "name")
	return name
}
