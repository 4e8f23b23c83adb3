package deploy

import (
	"fmt"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/runtime/cel"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"wookie.dev/wookie/internal/plan"
)

// jobRule makes a Job ready when it has completed, not when it has started
// (which is all kstatus asks of a Job).
var jobRule = plan.Readiness{
	APIVersion: "batch/v1",
	Kind:       "Job",
	Current:    "has(status.conditions) && status.conditions.exists(c, c.type == 'Complete' && c.status == 'True')",
	Failed:     "has(status.conditions) && status.conditions.exists(c, c.type == 'Failed' && c.status == 'True')",
}

// withJobRule adds the built-in Job rule to a bundle's rules unless they
// have their own for Jobs.
func withJobRule(rules []plan.Readiness) []plan.Readiness {
	for _, r := range rules {
		if gk := schema.FromAPIVersionAndKind(r.APIVersion, r.Kind).GroupKind(); gk.Group == "batch" && (r.Kind == "" || r.Kind == "Job") {
			return rules
		}
	}
	return append(append([]plan.Readiness(nil), rules...), jobRule)
}

// statusReaders turns a bundle's readiness rules, plus the built-in Job
// rule, into kstatus status readers.
func statusReaders(rules []plan.Readiness) ([]func(meta.RESTMapper) engine.StatusReader, error) {
	var checks []kustomize.CustomHealthCheck
	for _, r := range withJobRule(rules) {
		checks = append(checks, kustomize.CustomHealthCheck{
			APIVersion: r.APIVersion,
			Kind:       r.Kind,
			HealthCheckExpressions: kustomize.HealthCheckExpressions{
				Current: r.Current, Failed: r.Failed, InProgress: r.InProgress,
			},
		})
	}
	reader, err := cel.NewStatusReader(checks)
	if err != nil {
		return nil, fmt.Errorf("readiness: %w", err)
	}
	return []func(meta.RESTMapper) engine.StatusReader{reader}, nil
}
