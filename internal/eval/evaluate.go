package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
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
	K3d         *cueK3d                     `json:"k3d,omitempty"`
	Mesh        *cueMesh                    `json:"mesh,omitempty"`
	GitOps      *plan.ClusterGitOps         `json:"gitops,omitempty"`
	Provides    *cueProvides                `json:"provides,omitempty"`
	DependsOn   listOf[string]              `json:"dependsOn"`
	Inputs      map[string]plan.InputSource `json:"inputs,omitempty"`
	Batches     map[string]cueBatch         `json:"batches"`
}

type cueK3d struct {
	Name           string               `json:"name"`
	Servers        int                  `json:"servers"`
	Agents         int                  `json:"agents"`
	Image          string               `json:"image"`
	Network        string               `json:"network,omitempty"`
	APIPort        int                  `json:"apiPort"`
	Ports          listOf[plan.K3dPort] `json:"ports"`
	DisableTraefik bool                 `json:"disableTraefik"`
	K3sArgs        listOf[plan.K3sArg]  `json:"k3sArgs"`
	Registries     *cueRegistries       `json:"registries,omitempty"`
}

type cueRegistries struct {
	Use    listOf[string] `json:"use"`
	Config string         `json:"config,omitempty"`
}

type cueProvides struct {
	Namespaces listOf[string]    `json:"namespaces"`
	Kinds      map[string]string `json:"kinds,omitempty"`
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
	Enabled           bool                          `json:"enabled"`
	Namespace         string                        `json:"namespace"`
	Chart             *plan.Chart                   `json:"chart,omitempty"`
	Manifests         listOf[plan.Object]           `json:"manifests"`
	Generate          *plan.Generate                `json:"generate,omitempty"`
	Sensitive         bool                          `json:"sensitive"`
	DependsOn         listOf[string]                `json:"dependsOn"`
	Labels            map[string]string             `json:"labels"`
	CRDs              string                        `json:"crds"`
	Scopes            map[string]string             `json:"resourceScopes"`
	Wait              bool                          `json:"wait"`
	Timeout           string                        `json:"timeout,omitempty"`
	Readiness         listOf[plan.Readiness]        `json:"readiness"`
	Prune             bool                          `json:"prune"`
	IgnoreDifferences listOf[plan.IgnoreDifference] `json:"ignoreDifferences"`
	Checks            struct {
		Skip listOf[plan.CheckSkip] `json:"skip"`
	} `json:"checks"`
	Tests listOf[plan.Test] `json:"tests"`
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
func checksOf(skip []plan.CheckSkip) *plan.Checks {
	if len(skip) == 0 {
		return nil
	}
	return &plan.Checks{Skip: skip}
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

// bundleSource is where a bundle of the Plan comes from: its CUE value,
// and for each of its list options the origin of every item.
type bundleSource struct {
	value cue.Value
	lists map[string][]itemOrigin
}

// toPlan converts the evaluated clusters into a Plan (not yet normalized).
// Disabled bundles are left out, and dependencies on them dropped with a
// note. It also returns where each bundle comes from, for positions in
// errors.
func toPlan(v cue.Value) (*plan.Plan, []string, map[bundleKey]bundleSource, error) {
	p := &plan.Plan{APIVersion: plan.APIVersion, Kind: plan.Kind, Clusters: []plan.Cluster{}}
	where := map[bundleKey]bundleSource{}
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
		// names reports the bad definition names of one list option, at
		// the option's position.
		names := func(at func() cue.Value, bad []string) {
			if len(bad) == 0 {
				return
			}
			prefix := ""
			if pos := bestPos(at()); pos.IsValid() {
				prefix = posString(pos) + ": "
			}
			for _, b := range bad {
				problems = append(problems, errors.New(prefix+b))
			}
		}
		// clusterPath returns the value and path of a list option of the
		// cluster.
		clusterPath := func(sels ...string) (func() cue.Value, func() string) {
			path := cue.MakePath(cue.Str("clusters"), cue.Str(name))
			for _, s := range sels {
				path = cue.MakePath(append(path.Selectors(), cue.Str(s))...)
			}
			return func() cue.Value { return v.LookupPath(path) }, path.String
		}
		c := plan.Cluster{
			Name:        cc.Name,
			Target:      cc.Target,
			Context:     cc.Context,
			Kubeconfig:  cc.Kubeconfig,
			KubeVersion: cc.KubeVersion,
			GitOps:      cc.GitOps,
			DependsOn:   mergeSet(cc.DependsOn),
			Batches:     []plan.Batch{},
		}
		at, path := clusterPath("dependsOn")
		names(at, cc.DependsOn.badDefinitionNames(path))
		if k := cc.K3d; k != nil {
			c.K3d = &plan.K3dCluster{
				Name:           k.Name,
				Servers:        k.Servers,
				Agents:         k.Agents,
				Image:          k.Image,
				Network:        k.Network,
				APIPort:        k.APIPort,
				DisableTraefik: k.DisableTraefik,
			}
			c.K3d.Ports, _ = k.Ports.merge()
			c.K3d.K3sArgs, _ = k.K3sArgs.merge()
			at, path := clusterPath("k3d", "ports")
			names(at, k.Ports.badDefinitionNames(path))
			at, path = clusterPath("k3d", "k3sArgs")
			names(at, k.K3sArgs.badDefinitionNames(path))
			if r := k.Registries; r != nil {
				c.K3d.Registries = &plan.K3dRegistries{Use: mergeSet(r.Use), Config: r.Config}
				at, path := clusterPath("k3d", "registries", "use")
				names(at, r.Use.badDefinitionNames(path))
			}
		}
		if pr := cc.Provides; pr != nil {
			c.Provides = &plan.Provides{Namespaces: mergeSet(pr.Namespaces), Kinds: pr.Kinds}
			at, path := clusterPath("provides", "namespaces")
			names(at, pr.Namespaces.badDefinitionNames(path))
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
				src := bundleSource{
					value: cv.LookupPath(cue.MakePath(cue.Str("batches"), cue.Str(bname), cue.Str("bundles"), cue.Str(bn))),
					lists: map[string][]itemOrigin{},
				}
				where[bundleKey{name, bn}] = src
				bundlePath := func(opt string) func() string {
					return func() string {
						return "clusters." + selector(name) + ".batches." + selector(bname) + ".bundles." + selector(bn) + "." + opt
					}
				}
				for _, o := range []struct {
					opt string
					bad []string
				}{
					{"checks.skip", bb.Checks.Skip.badDefinitionNames(bundlePath("checks.skip"))},
					{"dependsOn", bb.DependsOn.badDefinitionNames(bundlePath("dependsOn"))},
					{"ignoreDifferences", bb.IgnoreDifferences.badDefinitionNames(bundlePath("ignoreDifferences"))},
					{"manifests", bb.Manifests.badDefinitionNames(bundlePath("manifests"))},
					{"readiness", bb.Readiness.badDefinitionNames(bundlePath("readiness"))},
					{"tests", bb.Tests.badDefinitionNames(bundlePath("tests"))},
				} {
					names(func() cue.Value { return src.value.LookupPath(cue.ParsePath(o.opt)) }, o.bad)
				}
				var deps []string
				for _, d := range mergeSet(bb.DependsOn) {
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
				manifests, from := bb.Manifests.merge()
				src.lists["manifests"] = from
				readiness, from := bb.Readiness.merge()
				src.lists["readiness"] = from
				ignore, from := bb.IgnoreDifferences.merge()
				src.lists["ignoreDifferences"] = from
				skip, from := bb.Checks.Skip.merge()
				src.lists["checks.skip"] = from
				tests, from := bb.Tests.merge()
				src.lists["tests"] = from
				batch.Bundles = append(batch.Bundles, plan.Bundle{
					Name:              bn,
					Namespace:         bb.Namespace,
					Chart:             bb.Chart,
					Manifests:         manifests,
					Generate:          bb.Generate,
					Sensitive:         bb.Sensitive,
					DependsOn:         deps,
					Labels:            labels,
					CRDs:              bb.CRDs,
					ResourceScopes:    bb.Scopes,
					Wait:              waitOf(bb.Wait),
					Timeout:           bb.Timeout,
					Readiness:         readiness,
					Prune:             bb.Prune,
					IgnoreDifferences: ignore,
					Checks:            checksOf(skip),
					Tests:             nilIfEmpty(tests),
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
func locatePlanErrors(err error, where map[bundleKey]bundleSource) error {
	var perrs plan.Errors
	if !errors.As(err, &perrs) {
		return err
	}
	lines := make([]string, 0, len(perrs))
	for _, pe := range perrs {
		line := pe.Error()
		if src, ok := where[bundleKey{pe.Cluster, pe.Bundle}]; ok && pe.Bundle != "" {
			target := src.value
			if pe.Field != "" {
				if fv := src.value.LookupPath(cue.ParsePath(src.cuePath(pe.Field))); fv.Exists() {
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

// cuePath turns the path of a field of the Plan's bundle into the path of
// the bundle's CUE value: manifests[2] is the item of the definition it
// comes from, such as manifests.wookie[0].
func (s bundleSource) cuePath(field string) string {
	for opt, from := range s.lists {
		rest, ok := strings.CutPrefix(field, opt+"[")
		if !ok {
			continue
		}
		n, after, ok := strings.Cut(rest, "]")
		i, err := strconv.Atoi(n)
		if !ok || err != nil || i < 0 || i >= len(from) {
			return opt
		}
		return fmt.Sprintf("%s.%s[%d]%s", opt, selector(from[i].def), from[i].index, after)
	}
	return field
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
