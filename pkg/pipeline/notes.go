package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"wookie.dev/wookie/internal/render"
)

// SecretBundles counts the bundles of res whose output holds secrets: the
// sensitive and generated ones with objects, and any other with a Secret
// with data or a private key.
func SecretBundles(res *Result) int {
	n := 0
	for _, c := range res.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				if u.Sensitive && len(u.Objects) > 0 || slices.ContainsFunc(u.Objects, render.CarriesSecrets) {
					n++
				}
			}
		}
	}
	return n
}

// OmittedNotes say, a line per bundle and then a line per object, what
// rendering left out of res: bundles and Secrets that carry secrets, and
// objects holding input references.
func OmittedNotes(res *Result) []string {
	var out []string
	for _, o := range res.Omitted {
		why := map[string]string{
			render.WhySensitive:   "it carries secrets (sensitive); wookie deploy applies it, --include-secrets writes it",
			render.WhyGenerated:   "it is generated from the certificate store and holds a private key; wookie deploy applies it, --include-secrets writes it",
			render.WhyNoGenerator: "no certificate store (no state directory)",
		}[o.Why]
		out = append(out, fmt.Sprintf("cluster %s: bundle %s is left out: %s", o.Cluster, o.Bundle, why))
	}
	return append(out, ObjectNotes(res)...)
}

// ObjectNotes say, a line per object, which objects rendering left out of
// the bundles of res that stay, and why.
func ObjectNotes(res *Result) []string {
	var out []string
	for _, o := range res.OmittedObjects {
		why := "it carries secrets; wookie deploy applies it, --include-secrets writes it"
		if o.Why == render.WhyInputRefs {
			noun := "input"
			if len(o.Inputs) > 1 {
				noun = "inputs"
			}
			why = fmt.Sprintf("it refers to %s %s, which only wookie deploy reads from a live cluster; wookie deploy fills it in and applies it", noun, strings.Join(o.Inputs, ", "))
		}
		out = append(out, fmt.Sprintf("cluster %s: bundle %s: %s (%s) is left out: %s", o.Cluster, o.Bundle, o.Object, o.Source, why))
	}
	return out
}
