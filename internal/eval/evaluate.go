package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/token"

	"wookie.dev/wookie/internal/plan"
)

// Result is an evaluated configuration.
type Result struct {
	// Value is the whole evaluated configuration.
	Value cue.Value
	// Plan is the configuration's Plan, validated and in deploy order.
	Plan *plan.Plan
	// Warnings are the messages of the warnings that apply, and notes about
	// dropped dependencies, in a stable order.
	Warnings []string
	// Sources are the files that took part.
	Sources []Source
}

// Evaluate loads the configuration, checks its assertions and turns it into
// a validated Plan.
func Evaluate(cfg Config) (*Result, error) {
	v, sources, err := Load(cfg)
	if err != nil {
		return nil, err
	}
	res := &Result{Value: v, Sources: sources}
	if err := checkAssertions(v); err != nil {
		return nil, err
	}
	warnings, err := collectWarnings(v)
	if err != nil {
		return nil, err
	}
	p, dropped, where, err := toPlan(v)
	if err != nil {
		return nil, err
	}
	res.Warnings = append(warnings, dropped...)
	if err := plan.Normalize(p); err != nil {
		return nil, locatePlanErrors(err, where)
	}
	res.Plan = p
	return res, nil
}

// checkAssertions fails with the message of every assertion that does not
// hold.
func checkAssertions(v cue.Value) error {
	var failed []string
	err := eachField(v.LookupPath(cue.ParsePath("assertions")), func(name string, a cue.Value) error {
		ok, err := a.LookupPath(cue.ParsePath("assertion")).Bool()
		if err != nil {
			return formatError(err)
		}
		if !ok {
			msg, err := a.LookupPath(cue.ParsePath("message")).String()
			if err != nil {
				return formatError(err)
			}
			failed = append(failed, fmt.Sprintf("assertion %s failed: %s", name, msg))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "\n"))
	}
	return nil
}

// collectWarnings returns the message of every warning whose condition holds.
func collectWarnings(v cue.Value) ([]string, error) {
	var out []string
	err := eachField(v.LookupPath(cue.ParsePath("warnings")), func(name string, w cue.Value) error {
		on, err := w.LookupPath(cue.ParsePath("when")).Bool()
		if err != nil {
			return formatError(err)
		}
		if on {
			msg, err := w.LookupPath(cue.ParsePath("message")).String()
			if err != nil {
				return formatError(err)
			}
			out = append(out, msg)
		}
		return nil
	})
	return out, err
}

// eachField calls fn for every regular field of the struct v, in order.
func eachField(v cue.Value, fn func(name string, f cue.Value) error) error {
	if !v.Exists() {
		return nil
	}
	it, err := v.Fields()
	if err != nil {
		return formatError(err)
	}
	for it.Next() {
		if err := fn(it.Selector().Unquoted(), it.Value()); err != nil {
			return err
		}
	}
	return nil
}

// The shapes of the configuration's clusters as CUE marshals them. Decoding
// is strict, so a field added to the schema must be mapped here.
type cueCluster struct {
	Name        string                      `json:"name"`
	Target      string                      `json:"target"`
	Context     string                      `json:"context"`
	Kubeconfig  string                      `json:"kubeconfig,omitempty"`
	KubeVersion string                      `json:"kubeVersion"`
	K3d         *plan.K3dCluster            `json:"k3d,omitempty"`
	Mesh        *cueMesh                    `json:"mesh,omitempty"`
	GitOps      *plan.ClusterGitOps         `json:"gitops,omitempty"`
	Provides    *plan.Provides              `json:"provides,omitempty"`
	DependsOn   []string                    `json:"dependsOn,omitempty"`
	Inputs      map[string]plan.InputSource `json:"inputs,omitempty"`
	Batches     map[string]cueBatch         `json:"batches"`
}

// cueMesh is a cluster's place in a multi-cluster mesh. It stays in CUE,
// where projects read it, and is not copied into the Plan: what it means
// for a cluster reaches the Plan as the bundles and values projects make
// of it, and no later stage needs the role itself.
type cueMesh struct {
	ClusterRole string `json:"clusterRole"`
	Network     string `json:"network"`
	APIServer   string `json:"apiServer,omitempty"`
	Primary     string `json:"primary,omitempty"`
}

type cueBatch struct {
	Priority int                  `json:"priority"`
	Bundles  map[string]cueBundle `json:"bundles"`
}

type cueBundle struct {
	Enabled           bool                    `json:"enabled"`
	Namespace         string                  `json:"namespace"`
	Chart             *plan.Chart             `json:"chart,omitempty"`
	Manifests         []plan.Object           `json:"manifests,omitempty"`
	Generate          *plan.Generate          `json:"generate,omitempty"`
	Sensitive         bool                    `json:"sensitive"`
	DependsOn         []string                `json:"dependsOn"`
	Labels            map[string]string       `json:"labels"`
	CRDs              string                  `json:"crds"`
	Scopes            map[string]string       `json:"resourceScopes"`
	Wait              bool                    `json:"wait"`
	Timeout           string                  `json:"timeout,omitempty"`
	Readiness         []plan.Readiness        `json:"readiness"`
	Prune             bool                    `json:"prune"`
	IgnoreDifferences []plan.IgnoreDifference `json:"ignoreDifferences"`
	Checks            plan.Checks             `json:"checks"`
}

// waitOf is the Plan's form of a bundle's wait: nil for the default, true.
func waitOf(wait bool) *bool {
	if wait {
		return nil
	}
	return &wait
}

// checksOf is the Plan's form of a bundle's checks: nil when it skips
// nothing.
func checksOf(c plan.Checks) *plan.Checks {
	if len(c.Skip) == 0 {
		return nil
	}
	return &c
}

// nilIfEmpty returns nil for an empty slice, so the Plan leaves it out.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// bundleKey identifies a bundle of a cluster.
type bundleKey struct{ cluster, bundle string }

// toPlan converts the evaluated clusters into a Plan (not yet normalized).
// Disabled bundles are left out, and dependencies on them dropped with a
// note. It also returns each bundle's CUE value, for positions in errors.
func toPlan(v cue.Value) (*plan.Plan, []string, map[bundleKey]cue.Value, error) {
	p := &plan.Plan{APIVersion: plan.APIVersion, Kind: plan.Kind, Clusters: []plan.Cluster{}}
	where := map[bundleKey]cue.Value{}
	var notes []string
	var problems []error
	err := eachField(v.LookupPath(cue.ParsePath("clusters")), func(name string, cv cue.Value) error {
		if err := cv.Validate(cue.Concrete(true)); err != nil {
			problems = append(problems, formatErrorIn(err, v))
			return nil
		}
		raw, err := cv.MarshalJSON()
		if err != nil {
			problems = append(problems, formatError(err))
			return nil
		}
		var cc cueCluster
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cc); err != nil {
			return fmt.Errorf("clusters.%s: %w", name, err)
		}
		c := plan.Cluster{
			Name:        cc.Name,
			Target:      cc.Target,
			Context:     cc.Context,
			Kubeconfig:  cc.Kubeconfig,
			KubeVersion: cc.KubeVersion,
			K3d:         cc.K3d,
			GitOps:      cc.GitOps,
			Provides:    cc.Provides,
			DependsOn:   cc.DependsOn,
			Batches:     []plan.Batch{},
		}
		for _, in := range sortedKeys(cc.Inputs) {
			c.Inputs = append(c.Inputs, plan.Input{Name: in, From: cc.Inputs[in]})
		}
		disabled := map[string]bool{}
		for _, b := range cc.Batches {
			for bn, bb := range b.Bundles {
				if !bb.Enabled {
					disabled[bn] = true
				}
			}
		}
		for _, bname := range sortedKeys(cc.Batches) {
			cb := cc.Batches[bname]
			batch := plan.Batch{Name: bname, Priority: cb.Priority, Bundles: []plan.Bundle{}}
			for _, bn := range sortedKeys(cb.Bundles) {
				bb := cb.Bundles[bn]
				if !bb.Enabled {
					continue
				}
				where[bundleKey{name, bn}] = cv.LookupPath(cue.MakePath(cue.Str("batches"), cue.Str(bname), cue.Str("bundles"), cue.Str(bn)))
				var deps []string
				for _, d := range bb.DependsOn {
					if disabled[d] {
						notes = append(notes, fmt.Sprintf("cluster %s: bundle %s: dependsOn %s, which is disabled: dependency dropped", name, bn, d))
						continue
					}
					deps = append(deps, d)
				}
				labels := bb.Labels
				if len(labels) == 0 {
					labels = nil
				}
				batch.Bundles = append(batch.Bundles, plan.Bundle{
					Name:              bn,
					Namespace:         bb.Namespace,
					Chart:             bb.Chart,
					Manifests:         bb.Manifests,
					Generate:          bb.Generate,
					Sensitive:         bb.Sensitive,
					DependsOn:         deps,
					Labels:            labels,
					CRDs:              bb.CRDs,
					ResourceScopes:    bb.Scopes,
					Wait:              waitOf(bb.Wait),
					Timeout:           bb.Timeout,
					Readiness:         nilIfEmpty(bb.Readiness),
					Prune:             bb.Prune,
					IgnoreDifferences: nilIfEmpty(bb.IgnoreDifferences),
					Checks:            checksOf(bb.Checks),
				})
			}
			c.Batches = append(c.Batches, batch)
		}
		p.Clusters = append(p.Clusters, c)
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if g := v.LookupPath(cue.ParsePath("gitops")); g.Exists() {
		if err := g.Validate(cue.Concrete(true)); err != nil {
			problems = append(problems, formatErrorIn(err, v))
		} else if raw, err := g.MarshalJSON(); err != nil {
			problems = append(problems, formatError(err))
		} else {
			p.GitOps = &plan.GitOps{}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(p.GitOps); err != nil {
				return nil, nil, nil, fmt.Errorf("gitops: %w", err)
			}
		}
	}
	if len(problems) > 0 {
		return nil, nil, nil, errors.Join(problems...)
	}
	return p, notes, where, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// locatePlanErrors prefixes each Plan problem with the position in the
// configuration of the bundle (or the bundle's field) it is about.
func locatePlanErrors(err error, where map[bundleKey]cue.Value) error {
	var perrs plan.Errors
	if !errors.As(err, &perrs) {
		return err
	}
	lines := make([]string, 0, len(perrs))
	for _, pe := range perrs {
		line := pe.Error()
		if bv, ok := where[bundleKey{pe.Cluster, pe.Bundle}]; ok && pe.Bundle != "" {
			target := bv
			if pe.Field != "" {
				if fv := bv.LookupPath(cue.ParsePath(pe.Field)); fv.Exists() {
					target = fv
				}
			}
			if pos := bestPos(target); pos.IsValid() {
				line = posString(pos) + ": " + line
			}
		}
		lines = append(lines, line)
	}
	return errors.New(strings.Join(lines, "\n"))
}

// bestPos returns the position of v in a user file when it has one there,
// and otherwise its first position.
func bestPos(v cue.Value) token.Pos {
	var all []token.Pos
	if p := v.Pos(); p.IsValid() {
		all = append(all, p)
	}
	if op, args := v.Expr(); op == cue.AndOp {
		for _, a := range args {
			if p := a.Pos(); p.IsValid() {
				all = append(all, p)
			}
		}
	}
	for _, p := range all {
		if !isEmbedded(p) {
			return p
		}
	}
	if len(all) > 0 {
		return all[0]
	}
	return token.NoPos
}
