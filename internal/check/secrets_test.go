package check

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// archives is a render.ChartSource of charts built by the test, by name.
type archives map[string][]byte

func (a archives) Archive(_ context.Context, c *plan.Chart) ([]byte, error) {
	data, ok := a[c.Name]
	if !ok {
		return nil, fmt.Errorf("chart %s: not found", c.Name)
	}
	return data, nil
}

// shorts lists the findings of r in short.
func shorts(r *Report) []short {
	var out []short
	for _, f := range r.Findings {
		out = append(out, short{f.Object, f.Rule, f.Path, f.Severity})
	}
	return out
}

// placeholder is an object for bundle app of the fixture, replaced after
// validation.
func placeholder(t *testing.T) plan.Object {
	t.Helper()
	return obj(t, "{apiVersion: v1, kind: ConfigMap, metadata: {name: placeholder}}")
}

// sslChart is a chart that makes a TLS Secret with a key at render time,
// as the pxc-db chart does, and a ConfigMap.
func sslChart() charttest.Chart {
	return charttest.Chart{Name: "db", Version: "1.0.0", Files: map[string]string{
		"templates/ssl.yaml": `apiVersion: v1
kind: Secret
metadata: {name: {{ .Release.Name }}-ssl}
type: kubernetes.io/tls
data: {tls.crt: Y2VydA==, tls.key: a2V5}
`,
		"templates/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-config}\n",
	}}
}

// TestSecretFromChart: a Secret with data that a chart renders is a
// warning naming its template and what to do, shown once in the text.
func TestSecretFromChart(t *testing.T) {
	p := fixture(t, "services", []plan.Object{placeholder(t)})
	c := &p.Clusters[0]
	for i := range c.Batches[2].Bundles {
		if u := &c.Batches[2].Bundles[i]; u.Name == "app" {
			u.Manifests, u.Chart = nil, &plan.Chart{Repo: "./charts", Name: "db", Version: "1.0.0"}
		}
	}
	src := archives{"db": charttest.Package(t, sslChart())}
	res, err := render.Render(context.Background(), p, render.Options{Charts: src, IncludeSecrets: true, LeaveOutInputRefs: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(p, res, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := shorts(r)
	if diff := cmp.Diff([]short{{"Secret app/app-ssl", "secret", "", Warning}}, got); diff != "" {
		t.Fatalf("findings (-want +got):\n%s", diff)
	}
	f := r.Findings[0]
	want := "a Secret with data, made by the chart (db/templates/ssl.yaml): wookie render and every GitOps format leave it out (wookie deploy applies it), so a GitOps engine would lack it: " +
		"give the chart an existing Secret (its values name one) or have an operator make it, mark the bundle sensitive: true, or skip rule secret with the reason"
	if f.Source != "db/templates/ssl.yaml" || f.Message != want {
		t.Errorf("finding: source %q, message %q", f.Source, f.Message)
	}
	if r.Failed(false) || !r.Failed(true) {
		t.Errorf("a warning fails only with --strict: errors %d, warnings %d", r.Errors, r.Warnings)
	}
	var text strings.Builder
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(text.String(), "db/templates/ssl.yaml"); n != 1 {
		t.Errorf("the template is named %d times:\n%s", n, text.String())
	}
}

// TestInputRule: rule input flags an input reference left in any string
// of an object, in sensitive bundles too; rendered with LeaveOutInputRefs,
// as render and check do, such objects are not there to flag.
func TestInputRule(t *testing.T) {
	const (
		cm      = `{apiVersion: v1, kind: ConfigMap, metadata: {name: cm}, data: {url: "https://((input hub-address)):15443"}}`
		service = `{apiVersion: v1, kind: Service, metadata: {name: istiod}, spec: {type: ExternalName, externalName: "((input istiod-address))"}}`
		text    = `{apiVersion: v1, kind: ConfigMap, metadata: {name: text}, data: {note: "((not an input)) (input x)"}}`
	)
	tests := []struct {
		name      string
		doc       string
		sensitive bool
		leaveOut  bool
		want      []short
	}{
		{name: "reference in a ConfigMap", doc: cm, want: []short{{"ConfigMap app/cm", "input", "data.url", Error}}},
		{name: "reference in a Service", doc: service, want: []short{{"Service app/istiod", "input", "spec.externalName", Error}}},
		{name: "reference in a sensitive bundle", doc: cm, sensitive: true, want: []short{{"ConfigMap app/cm", "input", "data.url", Error}}},
		{name: "left out by render", doc: service, leaveOut: true},
		{name: "parentheses that are no reference", doc: text},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fixture(t, "services", []plan.Object{placeholder(t)})
			// After validation, which rejects references to inputs the
			// cluster does not declare: the rule is a safety net.
			for i := range p.Clusters[0].Batches[2].Bundles {
				if u := &p.Clusters[0].Batches[2].Bundles[i]; u.Name == "app" {
					u.Manifests, u.Sensitive = []plan.Object{obj(t, tt.doc)}, tt.sensitive
				}
			}
			res, err := render.Render(context.Background(), p, render.Options{IncludeSecrets: true, LeaveOutInputRefs: tt.leaveOut})
			if err != nil {
				t.Fatal(err)
			}
			r, err := Run(p, res, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := shorts(r)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("findings (-want +got):\n%s", diff)
			}
			if len(got) > 0 && !strings.Contains(r.Findings[0].Message, "which only wookie deploy fills in: a GitOps engine would apply it as written") {
				t.Errorf("message: %s", r.Findings[0].Message)
			}
			if tt.leaveOut && len(res.OmittedObjects) != 1 {
				t.Errorf("omitted objects: %+v", res.OmittedObjects)
			}
		})
	}
}
