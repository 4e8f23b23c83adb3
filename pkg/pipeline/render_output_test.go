package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/pkg/pipeline"
)

// TestRenderOutput writes an output as wookie render does: the first
// render writes it, the same render again is Unchanged with the same
// summary and messages (rendering's warnings among them), and a check that fails writes nothing and says
// why in a *CheckError with its report among the messages.
func TestRenderOutput(t *testing.T) {
	ctx := context.Background()
	var warnings []string
	cfg := setup(t, `targets: "local-k3d": enable: true
clusters: "wookie-local": batches: services: bundles: odd: {
	namespace: "wookie"
	manifests: w: [{apiVersion: "example.org/v1", kind: "Widget", metadata: name: "w"}]
}`, &warnings)
	p, pl := locked(t, cfg)
	dir := filepath.Join(t.TempDir(), "out")
	o := pipeline.OutputOptions{Dir: dir, Render: pipeline.RenderOptions{LeaveOutInputRefs: true, AllowUnknownKinds: true}}

	before := len(warnings)
	first, err := p.RenderOutput(ctx, pl, o)
	if err != nil {
		t.Fatal(err)
	}
	// A skipped render repeats rendering's warnings, which went to
	// Config.Warn, and then the messages.
	var replay []pipeline.Message
	for _, w := range warnings[before:] {
		replay = append(replay, pipeline.Message{Kind: pipeline.MessageWarning, Text: w})
	}
	replay = append(replay, first.Messages...)
	if first.Unchanged || first.Objects == 0 || first.Clusters != 1 {
		t.Errorf("first render: %+v", first)
	}
	if _, err := os.Stat(filepath.Join(dir, "wookie-local", "services", "odd.yaml")); err != nil {
		t.Errorf("first render: %v", err)
	}
	again, err := p.RenderOutput(ctx, pl, o)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Unchanged {
		t.Error("the same render again was not Unchanged")
	}
	if diff := cmp.Diff(first.Summary(), again.Summary()); diff != "" {
		t.Errorf("summary of the skipped render (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(replay, again.Messages); diff != "" {
		t.Errorf("messages of the skipped render (-want +got):\n%s", diff)
	}

	checked := o
	checked.Dir = filepath.Join(t.TempDir(), "checked")
	checked.Check = true
	out, err := p.RenderOutput(ctx, pl, checked)
	var ce *pipeline.CheckError
	if !errors.As(err, &ce) || ce.Report == nil || ce.Report.Errors == 0 {
		t.Fatalf("render with a check of an undeclared kind: %v, want a *pipeline.CheckError with errors", err)
	}
	if out == nil || len(out.Messages) == 0 {
		t.Fatalf("render with a failed check: output %+v, want the report among the messages", out)
	}
	if last := out.Messages[len(out.Messages)-1]; last.Kind != pipeline.MessageCheck || !strings.Contains(last.Text, "Widget") {
		t.Errorf("last message: %+v, want the checks' report naming the Widget", last)
	}
	if _, err := os.Stat(checked.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed check wrote its output: %v", err)
	}
}

// TestChartUsage lists the Plan's charts with their pins and the bundles
// that use each.
func TestChartUsage(t *testing.T) {
	ctx := context.Background()
	var warnings []string
	p, pl := loaded(t, setup(t, `targets: "local-k3d": enable: true`, &warnings))
	before, err := p.ChartUsage(pl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Lock(ctx, pl, pipeline.LockOptions{}); err != nil {
		t.Fatal(err)
	}
	after, err := p.ChartUsage(pl)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for i, u := range after {
		got[u.Chart] = u.Bundles
		if before[i].Digest != "" || before[i].Cache != "-" {
			t.Errorf("chart %s before wookie lock: %+v, want not pinned", u.Chart, before[i])
		}
		if u.Digest == "" || u.ResolvedVersion == "" {
			t.Errorf("chart %s after wookie lock: %+v, want pinned", u.Chart, u)
		}
	}
	want := map[string][]string{
		"base":    {"wookie-local/istio-base"},
		"istiod":  {"wookie-local/istiod"},
		"gateway": {"wookie-local/istio-ingressgateway"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bundles per chart (-want +got):\n%s", diff)
	}
}
