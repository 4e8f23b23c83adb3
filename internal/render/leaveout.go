package render

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wookie.dev/wookie/internal/plan"
)

// OmittedObject is a rendered object that Render left out of a bundle that
// stays: a Secret with data when secrets were not asked for
// (Options.IncludeSecrets), or an object holding a deploy-time input
// reference (Options.LeaveOutInputRefs).
type OmittedObject struct {
	Cluster string
	Batch   string
	Bundle  string
	// Object identifies the object as Object.ID does: "Secret pxc/pxc-db-ssl".
	Object string
	// Source is the chart template or manifests[i] that made it.
	Source string
	// Why is WhySecretData or WhyInputRefs.
	Why string
	// Inputs names the inputs it refers to, sorted, for WhyInputRefs.
	Inputs []string
}

// The reasons of OmittedObject.Why.
const (
	// WhySecretData: a Secret with data or stringData in a bundle that is
	// not sensitive, and secrets were not asked for.
	WhySecretData = "secret data"
	// WhyInputRefs: the object holds an input reference, whose value only
	// wookie deploy reads.
	WhyInputRefs = "input references"
)

// IsSecretWithData reports whether o is a Secret of the core group with
// data or stringData. A Secret without either (a service-account token
// Secret, which the cluster fills in) holds nothing yet.
func IsSecretWithData(o *unstructured.Unstructured) bool {
	gvk := o.GroupVersionKind()
	if gvk.Group != "" || gvk.Kind != "Secret" {
		return false
	}
	for _, field := range []string{"data", "stringData"} {
		if m, _, _ := unstructured.NestedMap(o.Object, field); len(m) > 0 {
			return true
		}
	}
	return false
}

// IsPrivateKeyPEM reports whether s holds a PEM private key: a block
// "-----BEGIN ... PRIVATE KEY-----".
func IsPrivateKeyPEM(s string) bool {
	i := strings.Index(s, "-----BEGIN")
	return i >= 0 && strings.Contains(s[i:], "PRIVATE KEY-----")
}

// holdsPrivateKey reports whether any string in v holds a PEM private key.
func holdsPrivateKey(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			if holdsPrivateKey(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if holdsPrivateKey(e) {
				return true
			}
		}
	case string:
		return IsPrivateKeyPEM(v)
	}
	return false
}

// CarriesSecrets reports whether an object holds secret material as
// written: a Secret with data, or a PEM private key in any string.
func CarriesSecrets(o *Object) bool {
	return IsSecretWithData(o.Unstructured) || holdsPrivateKey(o.Object)
}

// leaveOutObjects removes from the bundles of c the objects opts leaves
// out, and returns them: with opts.LeaveOutInputRefs, every object that
// holds an input reference; without opts.IncludeSecrets, every Secret with
// data of a bundle that is not sensitive. Bundles stay, empty or not.
func leaveOutObjects(c *Cluster, opts Options) []OmittedObject {
	if opts.IncludeSecrets && !opts.LeaveOutInputRefs {
		return nil
	}
	var out []OmittedObject
	for bi := range c.Batches {
		b := &c.Batches[bi]
		for ui := range b.Bundles {
			u := &b.Bundles[ui]
			var kept []*Object
			for _, o := range u.Objects {
				om := OmittedObject{Cluster: c.Name, Batch: b.Name, Bundle: u.Name, Object: o.ID(), Source: o.Source}
				if opts.LeaveOutInputRefs {
					om.Inputs = plan.ValueInputs(o.Object)
				}
				switch {
				case len(om.Inputs) > 0:
					om.Why = WhyInputRefs
				case !opts.IncludeSecrets && !u.Sensitive && IsSecretWithData(o.Unstructured):
					om.Why = WhySecretData
				default:
					kept = append(kept, o)
					continue
				}
				out = append(out, om)
			}
			if len(kept) < len(u.Objects) {
				u.Objects = kept
			}
		}
	}
	return out
}
