package plan

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// DefaultInputTimeout is how long deploy waits for an input's value when
// the input sets no timeout.
const DefaultInputTimeout = 5 * time.Minute

// Input is a value of a cluster's bundles that is only known at deploy
// time, such as a LoadBalancer's address or a service-account token: deploy
// reads it from the live state of another cluster of the Plan, and puts it
// in place of every InputRef(Name) in the chart values and manifests of
// this cluster's bundles before rendering them.
//
// Deploy orders batches, not clusters, by inputs: a batch whose bundles
// refer to the input starts once the batch of the source cluster that
// makes the input's object (the first whose rendered objects include one
// of the same API group, kind, namespace and name) is deployed, every
// bundle ready; when no batch of the source cluster makes it (a controller
// does), once the whole source cluster is deployed. Two clusters may so
// read inputs from each other, as long as no batch waits, through such
// links, for itself.
type Input struct {
	// Name identifies the input in its cluster (a DNS-1123 label).
	Name string `json:"name"`
	// From says where the value is read.
	From InputSource `json:"from"`
}

// InputSource is the live object an input is read from, and how its value
// is taken from the object.
type InputSource struct {
	// Cluster is the Plan cluster the object lives in; never the input's
	// own cluster. The batches of the input's cluster that refer to the
	// input deploy after the batch of Cluster that makes the object (see
	// Input).
	Cluster string `json:"cluster"`
	// APIVersion and Kind are the object's type, e.g. v1 and Service.
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Namespace is the object's namespace; empty for a cluster-scoped
	// object.
	Namespace string `json:"namespace,omitempty"`
	// Name is the object's name.
	Name string `json:"name"`
	// Expression is a CEL expression over the object, whose fields are at
	// the top level, that yields the value as a string, e.g.
	// "status.loadBalancer.ingress[0].ip" or
	// "string(base64.decode(data.token))". CompileInputExpression says
	// which functions it may use.
	Expression string `json:"expression"`
	// Timeout bounds the wait for a value, as a Go duration ("5m", "90s");
	// empty means DefaultInputTimeout. Deploy reads the object again until
	// the expression yields a non-empty string.
	Timeout string `json:"timeout,omitempty"`
}

// TimeoutOrDefault returns the source's Timeout as a duration, or
// DefaultInputTimeout when it is empty or not a positive duration
// (validation reports the latter).
func (s *InputSource) TimeoutOrDefault() time.Duration {
	if d, err := time.ParseDuration(s.Timeout); err == nil && d > 0 {
		return d
	}
	return DefaultInputTimeout
}

// The text around an input's name in an input reference.
const (
	inputRefOpen  = "((input "
	inputRefClose = "))"
)

// InputRef returns the reference to the input name that bundles write, in
// any string of their chart values or manifests, where the input's value
// belongs: "((input NAME))". It may be all of the string or a part of it,
// as in "https://((input api-host)):6443", and a string may hold several.
// Only string values are replaced; validation rejects a reference in an
// object key. There is no escape: "((", optional spaces and the word input
// always start a reference, and validation rejects one that is not exactly
// InputRef(NAME) with NAME a DNS-1123 label.
func InputRef(name string) string {
	return inputRefOpen + name + inputRefClose
}

// ref is an input reference found in a string: s[start:end]. name is the
// input's name, or empty when the reference is malformed.
type ref struct {
	start, end int
	name       string
}

// findRefs returns the input references in s, in order, malformed ones
// included: every "((" followed by optional spaces and the word input
// starts one, and the first "))" after it ends it (or the end of s).
func findRefs(s string) []ref {
	var out []ref
	for i := 0; ; {
		j := strings.Index(s[i:], "((")
		if j < 0 {
			return out
		}
		start := i + j
		rest := strings.TrimLeft(s[start+2:], " \t")
		word, ok := strings.CutPrefix(rest, "input")
		if !ok || word != "" && word[0] != ' ' && word[0] != '\t' && word[0] != ')' {
			i = start + 1
			continue
		}
		end := len(s)
		if k := strings.Index(s[start:], inputRefClose); k >= 0 {
			end = start + k + len(inputRefClose)
		}
		r := ref{start: start, end: end}
		if name, ok := strings.CutPrefix(s[start:end], inputRefOpen); ok {
			name, ok = strings.CutSuffix(name, inputRefClose)
			if ok && len(content.IsDNS1123Label(name)) == 0 {
				r.name = name
			}
		}
		out = append(out, r)
		i = end
	}
}

// malformedRef says what is wrong with the malformed reference text.
func malformedRef(text string) string {
	return fmt.Sprintf("%q is not an input reference: write ((input NAME)), NAME a DNS-1123 label, with one space and no others", text)
}

// SubstituteInputs returns a copy of c in which every input reference in
// the chart values and manifests of its bundles is replaced by the value
// of the input in values. c is not changed. It fails when a reference
// names an input that values lacks, naming every such input, or is
// malformed.
func SubstituteInputs(c *Cluster, values map[string]string) (*Cluster, error) {
	return substitute(c, values, false)
}

// SubstituteKnownInputs is SubstituteInputs for some of c's inputs: a
// reference to an input that values lacks stays in its place. It fails
// only on a malformed reference.
func SubstituteKnownInputs(c *Cluster, values map[string]string) (*Cluster, error) {
	return substitute(c, values, true)
}

// substitute is SubstituteInputs, or SubstituteKnownInputs with known.
func substitute(c *Cluster, values map[string]string, known bool) (*Cluster, error) {
	out := *c
	out.Batches = slices.Clone(c.Batches)
	s := &substituter{values: values, unknown: map[string]bool{}}
	for bi := range out.Batches {
		b := &out.Batches[bi]
		b.Bundles = slices.Clone(b.Bundles)
		for ui := range b.Bundles {
			s.bundle(&b.Bundles[ui])
		}
	}
	var problems []string
	if len(s.unknown) > 0 && !known {
		var names []string
		for _, n := range slices.Sorted(maps.Keys(s.unknown)) {
			names = append(names, strconv.Quote(n))
		}
		problems = append(problems, "no value for input "+strings.Join(names, ", "))
	}
	if len(s.malformed) > 0 {
		slices.Sort(s.malformed)
		problems = append(problems, malformedRef(s.malformed[0]))
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return &out, nil
}

// BundleInputs returns the names of the inputs that the chart values and
// manifests of b refer to, sorted, without duplicates; malformed
// references are left out. b is not changed.
func BundleInputs(b *Bundle) []string {
	s := &substituter{unknown: map[string]bool{}}
	u := *b
	s.bundle(&u)
	return slices.Sorted(maps.Keys(s.unknown))
}

// substituter replaces input references in free-form values.
type substituter struct {
	values    map[string]string
	unknown   map[string]bool
	malformed []string
}

// bundle replaces the references in u's chart values and manifests, in
// copies of them.
func (s *substituter) bundle(u *Bundle) {
	if u.Chart != nil {
		ch := *u.Chart
		if ch.Values != nil {
			ch.Values = s.value(ch.Values).(Object)
		}
		u.Chart = &ch
	}
	if u.Manifests != nil {
		ms := make([]Object, len(u.Manifests))
		for i, m := range u.Manifests {
			if m != nil {
				ms[i] = s.value(m).(Object)
			}
		}
		u.Manifests = ms
	}
}

// value returns a copy of v with the references in its strings replaced.
// Values of Go types that a decoded Plan does not hold are kept as they
// are, except []string and map[string]string.
func (s *substituter) value(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = s.value(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = s.value(e)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(v))
		for k, e := range v {
			out[k] = s.str(e)
		}
		return out
	case []string:
		out := make([]string, len(v))
		for i, e := range v {
			out[i] = s.str(e)
		}
		return out
	case string:
		return s.str(v)
	}
	return v
}

// str returns text with its references replaced.
func (s *substituter) str(text string) string {
	refs := findRefs(text)
	if len(refs) == 0 {
		return text
	}
	var b strings.Builder
	last := 0
	for _, r := range refs {
		b.WriteString(text[last:r.start])
		last = r.end
		value, ok := s.values[r.name]
		switch {
		case r.name == "":
			s.malformed = append(s.malformed, text[r.start:r.end])
		case !ok:
			s.unknown[r.name] = true
		}
		if r.name == "" || !ok {
			b.WriteString(text[r.start:r.end])
			continue
		}
		b.WriteString(value)
	}
	b.WriteString(text[last:])
	return b.String()
}

// ClusterDependencies returns the names of the clusters c is tied to:
// those of its DependsOn, which c deploys after, and those its inputs are
// read from, whose batches that make the inputs' objects some batches of
// c deploy after (see Input); sorted, without duplicates and empty names.
func ClusterDependencies(c *Cluster) []string {
	var out []string
	for _, d := range c.DependsOn {
		if d != "" {
			out = append(out, d)
		}
	}
	for _, in := range c.Inputs {
		if in.From.Cluster != "" {
			out = append(out, in.From.Cluster)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// InputNames returns the names of c's inputs in order.
func InputNames(c *Cluster) []string {
	out := make([]string, 0, len(c.Inputs))
	for _, in := range c.Inputs {
		out = append(out, in.Name)
	}
	return out
}

// canonicalLinks sorts c's dependsOn and its inputs by name, and replaces
// empty lists by nil.
func canonicalLinks(c *Cluster) {
	slices.Sort(c.DependsOn)
	if len(c.DependsOn) == 0 {
		c.DependsOn = nil
	}
	slices.SortStableFunc(c.Inputs, func(a, b Input) int { return strings.Compare(a.Name, b.Name) })
	if len(c.Inputs) == 0 {
		c.Inputs = nil
	}
}
